"""The engine's search plan for a gate's settings: the preset, the population, and what the
budget leaves for DE. (The guide that orders the search's candidates is added by guiding.py,
once the attacked set is known.)"""

from __future__ import annotations

import warnings

from .engine.presets import PRESETS, Preset, default_popsize, generations, no_generation_text
from .engine.search import SearchSettings
from .errors import OnePixelWarning
from .settings.gate_settings import GateSettings


def search_plan(
    settings: GateSettings, custom: Preset | None
) -> tuple[SearchSettings, tuple[str, ...]]:
    """The engine's search settings: the preset, and the population resolved once (the
    setting, else the preset's, else sized to the budget; never above the budget). With it the
    note, also warned, when the budget leaves no generation after the initial population (the
    search is then random sampling, whatever the preset's name)."""
    preset = custom or PRESETS[settings.preset]
    popsize = settings.popsize or preset.popsize or default_popsize(settings.budget)
    popsize = min(popsize, settings.budget)
    notes: tuple[str, ...] = ()
    if generations(settings.budget, popsize) == 0 and settings.search != "exhaustive":
        notes = (no_generation_text(preset.name, settings.budget, popsize),)
        warnings.warn(notes[0], OnePixelWarning, 4)
    plan = SearchSettings(
        settings.budget, settings.pixels, popsize, preset, settings.seed, settings.search
    )
    return plan, notes
