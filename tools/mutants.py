"""Hand-written mutants: apply one at a time to src/, run the tests that should catch it, and
report KILLED or SURVIVED, then restore the file. A test that cannot fail is not trusted.

    python tools/mutants.py          # every mutant (about a minute)
    python tools/mutants.py M1 M4    # some of them

Needs an editable install (pip install -e ".[dev]" -c constraints.txt): the tests must import
the mutated source.
"""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
S = ROOT / "src/pytest_onepixel"
MUTANTS = [
    (
        "M1 DE mutation replaced by fresh random candidates",
        "engine/search.py",
        "            trials[~fresh] = self._mutate(np.flatnonzero(~fresh))",
        "            trials[~fresh] = _initial_populations([self._rngs[i] for i in np.flatnonzero(~fresh)], self._popsize, self._settings, self._evaluator)",
        "tests/engine/test_operators.py tests/attack/test_attack.py",
    ),
    (
        "M2 partners may include the member itself",
        "engine/operators.py",
        "    chosen = [own]\n    for n in range(3):\n        pick = np.floor(uniforms[..., n] * (popsize - 1 - n)).astype(np.intp)",
        "    chosen = []\n    for n in range(3):\n        pick = np.floor(uniforms[..., n] * (popsize - n)).astype(np.intp)",
        "tests/engine/test_operators.py tests/attack/test_attack.py",
    ),
    (
        "M3 partners may repeat each other",
        "engine/operators.py",
        "        for excluded in np.moveaxis(np.sort(np.stack(chosen, axis=-1), axis=-1), -1, 0):",
        "        for excluded in np.moveaxis(np.sort(np.stack(chosen[:1], axis=-1), axis=-1), -1, 0):",
        "tests/engine/test_operators.py tests/attack/test_attack.py",
    ),
    (
        "M4 rand/1 without the scale F",
        "engine/operators.py",
        "    return r1 + scale * (r2 - r3)",
        "    return r1 + (r2 - r3)",
        "tests/engine/test_operators.py tests/attack/test_attack.py",
    ),
    (
        "M5 greedy selection accepts ties",
        "engine/operators.py",
        "    better = trial_fitness < fitness",
        "    better = trial_fitness <= fitness",
        "tests/engine/test_operators.py tests/attack/test_attack.py",
    ),
    (
        "M6 crossover without the forced parameter",
        "engine/operators.py",
        "    np.put_along_axis(take, forced[..., None], True, axis=-1)\n",
        "",
        "tests/engine/test_operators.py tests/attack/test_attack.py",
    ),
    (
        "M7 redraw keeps positions on the far edge",
        "engine/operators.py",
        "    outside = (positions < 0) | (positions >= bounds)",
        "    outside = (positions < 0) | (positions > bounds)",
        "tests/engine/test_operators.py tests/attack/test_attack.py",
    ),
    (
        "M8 no extreme-colour seeding",
        "engine/operators.py",
        "    values[:extremes] = np.where(ends < 0.5, lo, hi)\n",
        "",
        "tests/engine/test_operators.py tests/attack/test_attack.py",
    ),
    (
        "M9 last generation not cut at the budget",
        "engine/search.py",
        "        counts = np.minimum(self._popsize, self._settings.budget - self._queries)",
        "        counts = np.full(len(self._queries), self._popsize)",
        "tests/engine/test_operators.py tests/attack/test_attack.py",
    ),
    (
        "M10 first_success_query off by one",
        "engine/search.py",
        "int(before[i] + first[i] + 1)",
        "int(before[i] + first[i])",
        "tests/engine/test_operators.py tests/attack/test_attack.py",
    ),
    (
        "M11 early verdict stops on an undecided criterion",
        "gate/early.py",
        "        if low == high and not low:",
        "        if low == high:",
        "tests/gate/test_gate.py",
    ),
    (
        "M12 the engine imports pytest",
        "engine/search.py",
        "import numpy as np\n",
        "import numpy as np\nimport pytest  # noqa\n",
        "tests/project/test_layers.py",
    ),
    (
        "M13 plugin start-up imports numpy",
        "plugin/options.py",
        "import pytest\n",
        "import numpy  # noqa\nimport pytest\n",
        "tests/project/test_import.py",
    ),
    (
        "M14 gate layer imports the plugin (a cycle)",
        "gate/run.py",
        "from .spec import GateSpec\n",
        "from .spec import GateSpec\nfrom ..plugin import session  # noqa\n",
        "tests/project/test_layers.py",
    ),
    (
        "M16 waves sized by max_batch",
        "executors/local.py",
        "WaveSchedule(len(self._jobs), search.popsize, early=stop_when is not None)",
        "WaveSchedule(len(self._jobs), search.popsize, early=stop_when is not None, wave=max(1, min(16, evaluators[0].max_batch)))",
        "tests/attack/test_attack.py",
    ),
    (
        "M15 check() keywords lose to the marker",
        "settings/layers.py",
        "            **self.marker,\n            **self.call,",
        "            **self.call,\n            **self.marker,",
        "tests/plugin/test_plugin_settings.py",
    ),
    (
        "M17 progress written while output is captured",
        "plugin/progress_line.py",
        "        with self._capture.global_and_fixture_disabled():\n            yield",
        "        yield",
        "tests/plugin/test_progress.py",
    ),
    (
        "M18 DE/best/1 moves around r1 instead of the best member",
        "engine/operators.py",
        "    best = np.take_along_axis(population, fitness.argmin(axis=-1)[..., None, None], axis=-2)",
        "    best = np.take_along_axis(population, partners[..., [0]], axis=-2)",
        "tests/engine/test_operators.py",
    ),
    (
        "M19 corner snapping sends the mid-point down",
        "engine/operators.py",
        "    return np.where(values < (lo + hi) / 2, lo, hi).astype(np.float64)",
        "    return np.where(values <= (lo + hi) / 2, lo, hi).astype(np.float64)",
        "tests/engine/test_operators.py",
    ),
    (
        "M20 distinct trials forget what was visited",
        "engine/operators.py",
        "    repeated = np.flatnonzero(np.isin(keys, visited) | ~first)",
        "    repeated = np.flatnonzero(~first)",
        "tests/engine/test_operators.py",
    ),
    (
        "M21 exhaustive first success off by one",
        "engine/exhaustive.py",
        "            first = at + 1 if found[i] else None",
        "            first = at if found[i] else None",
        "tests/engine/test_exhaustive.py",
    ),
    (
        "M22 merge accepts a duplicated shard",
        "gate/merge.py",
        "        if index in seen:",
        "        if False:",
        "tests/gate/test_shards.py",
    ),
    (
        "M23 shards overlap",
        "engine/schedule.py",
        "    chosen = [np.flatnonzero(mask)[index - 1 :: count] for mask in (attacked, ~attacked)]",
        "    chosen = [np.flatnonzero(mask)[index - 1 :: max(count - 1, 1)] for mask in (attacked, ~attacked)]",
        "tests/gate/test_shards.py",
    ),
    (
        "M24 the Ray driver ignores the stop rule",
        "executors/ray_search.py",
        "        self._schedule = WaveSchedule(len(self._jobs), search.popsize, early=stop_when is not None)",
        "        self._schedule = WaveSchedule(len(self._jobs), search.popsize, early=False)",
        "tests/executors/test_ray.py",
    ),
    (
        "M25 a cache key without the settings",
        "gate/cache.py",
        '        "settings": kept,',
        '        "settings": {},',
        "tests/gate/test_cache.py",
    ),
    (
        "M26 an unstable model passes the consistency check",
        "engine/consistency.py",
        "    stable = differences[worst] <= TOLERANCE",
        "    stable = True",
        "tests/attack/test_model_checks.py",
    ),
    (
        "M27 the twin is used without verification",
        "backends.py",
        "    if disagree or difference > TWIN_TOLERANCE:",
        "    if False:",
        "tests/models/test_twin.py",
    ),
    (
        "M28 batch timing ignores what the search will cost",
        "engine/batch_size.py",
        "        if planned_queries is None:\n            if size / rate > SLOW_CALL:",
        "        if True:\n            if size / rate > SLOW_CALL:",
        "tests/engine/test_batch_size.py",
    ),
    (
        "M29 batch sizes beyond the candidates in flight are timed",
        "engine/batch_size.py",
        "    limit = min(cap or DEFAULT_CAP, max(in_flight or DEFAULT_CAP, LADDER[0]))",
        "    limit = cap or DEFAULT_CAP",
        "tests/engine/test_batch_size.py",
    ),
    (
        "M30 the report writes the measured batch over the requested max_batch",
        "gate/outcome.py",
        '            "settings": self.settings.to_json(),',
        '            "settings": {**self.settings.to_json(), "max_batch": self.measured.batch["size"]},',
        "tests/plugin/test_plugin_settings.py",
    ),
    (
        "M31 a bad marker key waits for check()",
        "plugin/__init__.py",
        '    if item.get_closest_marker("onepixel") is not None:\n        from .gates import check_marker',
        '    if False:\n        from .gates import check_marker',
        "tests/plugin/test_plugin_settings.py",
    ),
    (
        "M32 the log's header line is missing",
        "plugin/__init__.py",
        "    return [OnePixelSession.of(config).header()]",
        "    return []",
        "tests/plugin/test_plugin_settings.py",
    ),
    (
        "M33 a certify gate passes on the bracket's lower end instead of its upper end",
        "gate/verdict.py",
        "    if spec.passes(high, total):",
        "    if spec.passes(low, total):",
        "tests/certify/test_certify_gate.py tests/plugin/test_plugin_certify.py",
    ),
    (
        "M34 confirmations batched whether or not the model scores rows exactly",
        "engine/batches.py",
        "    return check_batch(max_batch) if exact else CONFIRM_BATCH",
        "    return check_batch(max_batch)",
        "tests/engine/test_confirmations.py",
    ),
    (
        "M35 a remembered batch size is used without checking it",
        "engine/batch_store.py",
        '    problem = "" if value is None else entry_problem(value, limit, planned_queries)',
        '    problem = ""',
        "tests/engine/test_batch_store.py tests/plugin/test_batch_choice_cache.py",
    ),
    (
        "M36 the guide ranks candidates at random",
        "engine/guidance.py",
        "    rankings = [ranking(margin_changes(g, pixels, colours), limit) for g in gradients]",
        "    space = pixels[0].size // images.channels * len(colours)\n"
        "    rankings = [np.stack([np.random.default_rng(int(o)).permutation(space)[:limit]\n"
        "                          for o in owners]) for _ in gradients]",
        "tests/engine/test_guidance.py tests/attack/test_guided.py",
    ),
    (
        "M37 a repeat is replaced at random although the image has a ranking",
        "engine/distinct.py",
        "        ranked = self._ranked[rows]",
        "        ranked = np.random.default_rng(0).permutation(self._ranked[rows], axis=-1)",
        "tests/engine/test_guidance.py tests/engine/test_distinct.py tests/attack/test_guided.py",
    ),
    (
        "M38 the gradient's charge is not counted against the budget",
        "engine/search.py",
        "        return ranked, self._guide.charge",
        "        return ranked, 0",
        "tests/attack/test_guided.py tests/plugin/options/test_option_guidance.py",
    ),
    (
        "M39 the black/white start takes any corner",
        "engine/operators.py",
        "    if black_white:\n",
        "    if False:\n",
        "tests/engine/test_operators.py",
    ),
]


def main(only: list[str]) -> int:
    imported = subprocess.run(
        [sys.executable, "-c", "import pytest_onepixel; print(pytest_onepixel.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if S not in pathlib.Path(imported).resolve().parents:
        print(f"the tests would import {imported}, not src/: pip install -e first", file=sys.stderr)
        return 2
    bad = 0
    for name, rel, old, new, tests in MUTANTS:
        if only and name.split()[0] not in only:
            continue
        bad += run_mutant(name, rel, old, new, tests) != "KILLED"
    return 1 if bad else 0


def run_mutant(name: str, rel: str, old: str, new: str, tests: str) -> str:
    path = S / rel
    source = path.read_text()
    assert old in source, f"{name}: the code it mutates has changed; update tools/mutants.py"
    path.write_text(source.replace(old, new, 1))
    try:
        command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
        run = subprocess.run([*command, *tests.split()], cwd=ROOT, capture_output=True, text=True)
    finally:
        path.write_text(source)
    failed = [line for line in run.stdout.splitlines() if line.startswith("FAILED tests/")]
    # 1: a test failed; 0: all passed; anything else (no test collected, a usage error) proves
    # nothing about the mutant.
    status = {1: "KILLED", 0: "SURVIVED"}.get(run.returncode, f"ERROR {run.returncode}")
    last = failed[0] if failed else run.stdout.strip().splitlines()[-1]
    print(f"{status:9} {name}: {last}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
