"""Training machinery: frozen configs, the training loop, checkpoints, the recipes.

The config loader (:mod:`expokit.train.config`) needs no PyTorch; the loop
(:mod:`expokit.train.loop`) needs PyTorch and is imported on first use. Training data are
simulated with :mod:`expokit.simulate`. :data:`RECIPES` lists the models that can be
trained (:mod:`expokit.train.recipe`); :func:`run_recipe` trains one of them by name.
"""

from __future__ import annotations

from typing import Any

from .config import config_to_dict, dump_config, load_config
from .recipe import RECIPES, Recipe, RecipeEntry, run_recipe

__all__ = ["RECIPES", "LoopConfig", "Recipe", "RecipeEntry", "TrainResult", "config_to_dict",
           "dump_config", "load_config", "run_recipe", "train"]

_LAZY = {"LoopConfig", "TrainResult", "train"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:  # the loop needs torch: import it only when asked for
        from . import loop

        return getattr(loop, name)
    raise AttributeError(f"module 'expokit.train' has no attribute {name!r}")
