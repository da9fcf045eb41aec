"""Training machinery: simulated brackets, frozen configs, the training loop, checkpoints.

The simulator (:mod:`expokit.train.simulate`) and the config loader
(:mod:`expokit.train.config`) need only NumPy and OpenCV; the loop (:mod:`expokit.train.loop`)
needs PyTorch and is imported on first use. :data:`RECIPES` lists the models that can be
trained (:mod:`expokit.train.recipe`); :func:`run_recipe` trains one of them by name.
"""

from __future__ import annotations

from typing import Any

from .config import config_to_dict, dump_config, load_config
from .recipe import RECIPES, Recipe, RecipeEntry, run_recipe
from .simulate import (
    Camera,
    SimulatedBracket,
    load_radiance,
    random_camera,
    simulate_bracket,
    simulate_exposures,
)

__all__ = ["RECIPES", "Camera", "LoopConfig", "Recipe", "RecipeEntry", "SimulatedBracket",
           "TrainResult", "config_to_dict", "dump_config", "load_config", "load_radiance",
           "random_camera", "run_recipe", "simulate_bracket", "simulate_exposures", "train"]

_LAZY = {"LoopConfig", "TrainResult", "train"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:  # the loop needs torch: import it only when asked for
        from . import loop

        return getattr(loop, name)
    raise AttributeError(f"module 'expokit.train' has no attribute {name!r}")
