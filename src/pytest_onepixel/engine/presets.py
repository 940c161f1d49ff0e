"""DE presets and the default population size, free of numpy (the settings table names them).

`PRESETS` holds four: `paper` keeps Su et al.'s exact setting (population 400, DE/rand/1,
F = 0.5, no crossover, colours from N(mid, half-range)); `default` is ours, chosen by
measurement (bench/popsize.md, bench/strategy.md, bench/strength.md), guided by the model's
gradient where it has one; `blackbox` is the default's DE without guidance (scores only, the
paper's threat model); `continuous` is the default of version 0.1.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import InputError

#: The names of the DE mutations a preset may choose: the keys of engine/operators.py's
#: `STRATEGIES`, where each name's function lives. Spelled again here because this module must
#: not import numpy; tests/engine/test_operators.py checks that the two lists agree.
STRATEGY_NAMES = ("rand1", "best1")


@dataclass(frozen=True)
class Preset:
    """DE settings. `popsize=None` takes `default_popsize(budget)`.

    - `strategy`: the mutation, a name in `STRATEGY_NAMES` (operators.STRATEGIES holds its
      function): "rand1" (x_r1 + F (x_r2 - x_r3), the paper's) or "best1" (x_best + F (x_r2 -
      x_r3), Storn & Price's DE/best/1: the population's fittest member is moved around).
    - `extreme_fraction`: the share of the initial population whose values sit at the ends of
      the pixel range (each channel at its min or max). The paper preset uses none.
    - `corners`: every candidate's colour snapped to a corner of the colour cube (each channel
      at the low or high end): colour genes choose among the 2^C extreme colours.
    - `distinct`: a trial that repeats a candidate already evaluated for that image (or another
      trial of the step) is replaced by a random unvisited one, so no query is spent twice;
      needs `corners` (what makes two candidates the same).
    - `black_white`: the extreme members of the initial population are black or white (every
      channel at the same end) rather than any corner: black and white alone fool all 31
      corner-fooled colour-model images (bench/baselines.md), and starting there found 74 of
      93 at budget 100 against 62 (blackbox preset, 3 seeds; 91 against 87 at 400; half the
      members black or white: 64 and 87). On photos, where they fool 5 of 9, the difference
      was within seed noise (10 against 8 of 27 at budget 100, 17 against 20 at 400).
    - `guided`: the preset takes a guide (the `guidance` setting, engine/guidance.py): its
      initial population and the replacements of repeats come from a ranking of the corner
      candidates by the model's gradient. Needs `distinct`.

    On the bench models `corners`, `strategy="best1"` and `distinct`, added one by one to the
    `continuous` preset, bought most of the default's strength at small budgets
    (bench/strategy.md says what each bought).
    """

    name: str
    popsize: int | None
    mutation: float = 0.5
    crossover: float | None = None
    extreme_fraction: float = 0.0
    strategy: str = "rand1"
    corners: bool = False
    distinct: bool = False
    black_white: bool = False
    guided: bool = False

    def __post_init__(self) -> None:
        checks = {
            "mutation": 0 < self.mutation <= 2,
            "crossover": self.crossover is None or 0 <= self.crossover <= 1,
            "extreme_fraction": 0 <= self.extreme_fraction <= 1,
            "popsize": self.popsize is None or self.popsize >= 4,
            "strategy": self.strategy in STRATEGY_NAMES,
            "distinct": self.corners or not self.distinct,
            "guided": self.distinct or not self.guided,
        }
        for name, ok in checks.items():
            if not ok:
                raise InputError(
                    f"Preset {self.name!r}: {name}={getattr(self, name)!r} is out of range "
                    "(mutation in (0, 2], crossover and extreme_fraction in [0, 1], popsize >= 4, "
                    f"strategy one of {STRATEGY_NAMES}, distinct only with corners, guided only "
                    "with distinct)."
                )


#: The search methods: differential evolution with a preset, exhaustive over corner colours, or
#: certify (DE, then a proof for each image it did not fool: proving.py, certify/).
SEARCH_METHODS = ("de", "exhaustive", "certify")
#: The `guidance` setting: a gradient guide where the preset and model allow one (`auto`), a
#: gradient guide or a usage error (`gradient`), or none (black-box); engine/guidance.py.
GUIDANCE_CHOICES = ("auto", "gradient", "none")
#: certify's default proof limit per image in model-pass equivalents (the same number as
#: certify.DEFAULT_CERTIFY_BUDGET, which needs torch to import; tests/certify checks they agree).
DEFAULT_CERTIFY_BUDGET = 4_000_000

_DEFAULT = Preset(
    "default",
    popsize=None,
    extreme_fraction=1.0,
    strategy="best1",
    corners=True,
    distinct=True,
    black_white=True,
    guided=True,
)

PRESETS = {
    "paper": Preset("paper", popsize=400),
    "default": _DEFAULT,
    # The default's DE without gradients: the paper's threat model (scores only) with our
    # measured search (bench/baselines.md).
    "blackbox": replace(_DEFAULT, name="blackbox", guided=False),
    # The default of version 0.1: DE/rand/1 with continuous colours, three quarters of the
    # initial population at extreme colours. For models whose weak spots need mid colours.
    "continuous": Preset("continuous", popsize=None, extreme_fraction=0.75),
}

#: Generations the paper ran at most (Su et al., Section IV): up to 40,400 queries per image at
#: population 400.
PAPER_GENERATIONS = 100


def default_popsize(budget: int) -> int:
    """Population size for a budget, chosen by measurement (bench/popsize.md): about budget / 5,
    so the search runs ~5 generations, never below 10 or above the paper's 400."""
    return _bounded_popsize(budget / 5)


def guided_popsize(budget: int) -> int:
    """Population size for a guided search: about budget / 10, half the unguided size, since its
    initial population already holds the best-ranked candidates and DE's generations around
    them pay more than a wider start (colour bench model, budget 100: 86 of 93 fooled images
    over 3 seeds at population 10, 84 at 20, 78 at 80; bench/guidance.md)."""
    return _bounded_popsize(budget / 10)


def _bounded_popsize(size: float) -> int:
    """`size` rounded, never below 10 members or above the paper's 400."""
    return min(max(round(size), 10), 400)


def generations(budget: int, popsize: int) -> int:
    """Whole DE generations a budget pays for after the initial population (0: random search)."""
    return max(budget - popsize, 0) // popsize


def no_generation_text(preset: str, budget: int, popsize: int) -> str:
    """Why a search that never mutates is not the DE its preset names."""
    return (
        f"preset {preset!r} with population {popsize} runs no DE generation at budget {budget}: "
        f"every query is a random initial candidate (random search). One generation needs a "
        f"budget of at least {2 * popsize}; Su et al. ran up to {PAPER_GENERATIONS} generations "
        f"({(PAPER_GENERATIONS + 1) * popsize:,} queries per image). Raise `budget`, or lower "
        "`popsize` (the default preset sizes it to the budget)."
    )
