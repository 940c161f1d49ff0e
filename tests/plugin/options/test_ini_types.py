"""Every pytest that pyproject.toml allows (7.4 up) starts the plugin and reads its ini keys
(issue 20 point 7): each older pytest refuses the newer `addini` types with an AssertionError,
so the type is chosen by pytest's version. CI's lowest-versions job runs this file under the
lowest declared pytest itself; here the older pytests are stood in for by their `addini` check."""

from __future__ import annotations

import types

import pytest
from options_helpers import requested, run_gate, write_gate, write_ini

from pytest_onepixel.plugin import options
from pytest_onepixel.settings.table import ini_name

pytestmark = pytest.mark.smoke

TAGS_7 = {None, "string", "paths", "pathlist", "args", "linelist", "bool"}
TAGS_8_4 = TAGS_7 | {"int", "float"}  # pytest 8.4 added the "int" and "float" tags
UNIONS_9_2 = {int | str, float | str, bool | str}  # pytest 9.2 took type expressions


class OlderParser:
    """A stand-in for the `pytest.Parser` of another pytest: its `addini` asserts on the type
    as that pytest does, and records what each key was registered as."""

    def __init__(self, accepted: set) -> None:
        self.accepted = accepted
        self.ini: dict[str, object] = {}

    def getgroup(self, *args: object) -> types.SimpleNamespace:
        return types.SimpleNamespace(addoption=lambda *a, **k: None)

    def addini(self, name: str, help: str, type: object = None, default: object = None) -> None:
        assert type in self.accepted, f"pytest refuses type={type!r} for {name}"
        self.ini[name] = type


@pytest.mark.parametrize(
    ("version", "accepted", "budget_type"),
    [
        ((7, 4, 0), TAGS_7, "string"),
        ((8, 3, 5), TAGS_7, "string"),
        ((8, 4, 2), TAGS_8_4, "int"),
        ((9, 0, 3), TAGS_8_4, "int"),
        ((9, 1, 1), TAGS_8_4, "int"),
        ((9, 2, 0), TAGS_8_4 | UNIONS_9_2, int | str),
    ],
)
def test_every_ini_key_registers_on_each_declared_pytest(
    monkeypatch: pytest.MonkeyPatch, version: tuple, accepted: set, budget_type: object
) -> None:
    monkeypatch.setattr(pytest, "version_tuple", version)
    parser = OlderParser(accepted)
    options.add_options(parser)  # type: ignore[arg-type]
    assert set(parser.ini) == {ini_name(key) for key in options.INI_KEYS}
    assert parser.ini["onepixel_budget"] == budget_type
    assert parser.ini["onepixel_full"] in ("bool", bool | str)


def test_the_plugin_starts_on_the_running_pytest(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*--onepixel-budget*", "*onepixel_budget*"])


def test_ini_numbers_read_as_text_reach_the_gate_before_pytest_8_4(
    repo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pytest, "version_tuple", (7, 4, 0))
    write_gate(repo, budget=None, max_success_rate=None)
    write_ini(repo, budget=10, max_success_rate=0.9)
    result, gate = run_gate(repo)
    result.assert_outcomes(passed=1)
    assert requested(gate, "budget") == 10 and requested(gate, "max_success_rate") == 0.9


def test_an_ini_number_that_is_not_one_names_the_key_before_pytest_8_4(
    repo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pytest, "version_tuple", (7, 4, 0))
    write_gate(repo, budget=None)
    write_ini(repo, budget="lots")
    result = repo.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ini key onepixel_budget*must be an integer >= 1*'lots'*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
