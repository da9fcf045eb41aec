"""Training recipes: what a learned model's training provides, the table of them, one runner.

A **recipe** (:class:`Recipe`) says everything that is model-specific about training: the run
config (a frozen dataclass with a ``loop`` section, :class:`~expokit.train.loop.LoopConfig`),
how to build the model, load the data once, draw a batch, compute the loss, validate, describe
the data (``data.json``, copied into the weights' record) and export the trained weights.
:func:`run_recipe` does the rest the same way for every model: it resolves the config (file,
mapping or instance, plus dotted overrides), loads the data, seeds torch and builds the model,
writes ``data.json``, runs :func:`expokit.train.loop.train` (which saves the resolved config,
checkpoints and ``log.csv``, and shows the only progress bar) and optionally exports.

:data:`RECIPES` maps a name to a :class:`RecipeEntry`: a one-line summary and an example for
help texts (the CLI makes one ``expokit train NAME`` command per entry) and a ``load``
function that imports the recipe's module, so reading the table needs neither torch nor the
models. A new learned model adds its recipe module (``train/<model>.py`` defining a
``RECIPE``) and one entry here; the loop knows no model by name.

Example:
    >>> sorted(RECIPES)
    ['ahdr', 'deepfuse', 'hcmef', 'lut', 'uec']
    >>> RECIPES["uec"].summary.split(" ")[0]
    'Train'
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, MissingResourceError
from ..io import atomic_path
from ..nn.runtime import torch_threads
from .config import config_to_dict, load_config

if TYPE_CHECKING:
    import numpy as np
    from torch import Tensor, nn

    from .loop import TrainResult

__all__ = ["RECIPES", "FinishedRun", "Recipe", "RecipeEntry", "RecipeResult", "export_run",
           "get_recipe", "load_finished_run", "load_run_config", "run_recipe", "train_function"]

DATA_RECORD_NAME = "data.json"


@dataclass(frozen=True)
class Recipe:
    """What a model's training provides; every hook takes the resolved run config first.

    Attributes:
        name: the recipe's name (its key in :data:`RECIPES`, ``expokit train NAME``).
        config_cls: the run config, a frozen dataclass whose ``loop`` field is a
            :class:`~expokit.train.loop.LoopConfig` (``configs/<name>.toml`` is one).
        build_model: ``(cfg) -> nn.Module``, called right after ``torch.manual_seed(
            cfg.loop.seed)`` so that the initial weights depend on the seed alone.
        prepare_data: ``(cfg) -> data``: everything the run reads, loaded once (torch runs on
            ``cfg.loop.threads`` threads meanwhile). Raises for a config the data cannot serve.
        data_record: ``(cfg, data) -> dict``: what the run trains on, written to ``data.json``
            and copied into the exported weights' record.
        make_batch_fn: ``(cfg, data) -> batch_fn(step, rng)``: batches of
            ``cfg.loop.batch_size`` samples, drawn with ``rng`` only (see the loop).
        loss: ``(cfg, model, batch) -> scalar tensor``.
        validate: ``(cfg, model, data) -> {name: score}`` on held-out data.
        export: ``(run, dest) -> sha256``: write ``dest.safetensors`` and ``dest.json`` from a
            :class:`FinishedRun` (see :func:`expokit.models.zoo.export_weights`).
    """

    name: str
    config_cls: type
    build_model: Callable[[Any], nn.Module]
    prepare_data: Callable[[Any], Any]
    data_record: Callable[[Any, Any], dict[str, Any]]
    make_batch_fn: Callable[[Any, Any], Callable[[int, np.random.Generator], Any]]
    loss: Callable[[Any, nn.Module, Any], Tensor]
    validate: Callable[[Any, nn.Module, Any], dict[str, float]]
    export: Callable[[FinishedRun, Path], str]


@dataclass(frozen=True)
class RecipeEntry:
    """One row of :data:`RECIPES`: help texts, and ``load()`` returning the :class:`Recipe`.

    Attributes:
        summary: one line saying what is trained on what (the CLI command's help).
        example: a command line that trains with the shipped config.
        load: imports the recipe's module (torch and the model) and returns its recipe.
    """

    summary: str
    example: str
    load: Callable[[], Recipe]


@dataclass(frozen=True)
class FinishedRun:
    """A run folder read back for export: its config, trained model, checkpoint facts.

    Attributes:
        out_dir: the run folder.
        config: the run config stored in the checkpoint (an instance of ``config_cls``).
        model: the model with the checkpoint's weights, in ``eval()`` mode on the CPU.
        step: optimiser steps taken.
        seconds: training time summed over sessions.
        val: the last validation scores stored in the checkpoint.
        record: the run's ``data.json`` (empty when absent).
    """

    out_dir: Path
    config: Any
    model: nn.Module
    step: int
    seconds: float
    val: dict[str, float]
    record: dict[str, Any]


@dataclass(frozen=True)
class RecipeResult:
    """What :func:`run_recipe` returns.

    Attributes:
        train: the loop's result (``step``, ``val``, ``seconds``, paths).
        exported: the exported weights' path without suffix, or None.
        sha256: the exported ``.safetensors`` file's SHA-256, or None.
    """

    train: TrainResult
    exported: Path | None = None
    sha256: str | None = None


def _ahdr() -> Recipe:
    from .ahdr import RECIPE

    return RECIPE


def _deepfuse() -> Recipe:
    from .deepfuse import RECIPE

    return RECIPE


def _hcmef() -> Recipe:
    from .hcmef import RECIPE

    return RECIPE


def _lut() -> Recipe:
    from .lut import RECIPE

    return RECIPE


def _uec() -> Recipe:
    from .uec import RECIPE

    return RECIPE


#: The training recipes, by name: ``expokit train NAME`` for each.
RECIPES: dict[str, RecipeEntry] = {
    "ahdr": RecipeEntry(
        summary="Train AHDR multi-frame HDR reconstruction, alone or with semantic knowledge "
                "transfer, on simulated dynamic brackets.",
        example="expokit train ahdr --config configs/ahdr_skt.toml --out runs/ahdr_skt",
        load=_ahdr),
    "deepfuse": RecipeEntry(
        summary="Train DeepFuse with the MEF-SSIM loss on MEFB pairs (minus Ma 2015) and "
                "simulated brackets.",
        example="expokit train deepfuse --config configs/deepfuse.toml --out runs/deepfuse",
        load=_deepfuse),
    "hcmef": RecipeEntry(
        summary="Train HC-MEF (EEG-guided teacher, image-only student; bi-level, joint, "
                "two-stage, image-only or teacher) on simulated under/over pairs with "
                "simulated EEG.",
        example="expokit train hcmef --config configs/hcmef.toml --out runs/hcmef",
        load=_hcmef),
    "lut": RecipeEntry(
        summary="Train the look-up-table fusion (--method lut) with the MEF-SSIM loss on MEFB "
                "pairs (minus Ma 2015) and simulated brackets.",
        example="expokit train lut --config configs/lut.toml --out runs/lut",
        load=_lut),
    "uec": RecipeEntry(
        summary="Train UEC exposure correction on simulated multi-exposure sequences "
                "(no labels).",
        example="expokit train uec --config configs/uec.toml --out runs/uec",
        load=_uec),
}


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``.

    Raises:
        InputError: for a name not in :data:`RECIPES` (the message lists them).
    """
    entry = RECIPES.get(name) if isinstance(name, str) else None
    if entry is None:
        raise InputError(f"no training recipe called {name!r}; choose one of "
                         f"{', '.join(sorted(RECIPES))}")
    return entry.load()


def load_run_config(name: str, config: str | os.PathLike[str] | Mapping[str, Any] | Any = None,
                    overrides: Mapping[str, Any] | None = None) -> Any:
    """The resolved run config of recipe ``name``: file, mapping, instance or defaults, plus
    dotted ``overrides`` (``{"loop.steps": 20}``; strings are parsed as TOML values).

    Raises:
        InputError: an absent config file (the message names the shipped one), an unknown
            key, a wrong type (see :func:`expokit.train.config.load_config`).
    """
    cls = get_recipe(name).config_cls
    if isinstance(config, cls):
        if not overrides:
            return config
        config = config_to_dict(config)
    elif isinstance(config, (str, os.PathLike)) and not Path(config).is_file():
        raise InputError(f"config {config} does not exist: give a TOML file such as "
                         f"configs/{name}.toml")
    return load_config(cls, config, **dict(overrides or {}))


def run_recipe(
    name: str,
    config: str | os.PathLike[str] | Mapping[str, Any] | Any,
    out_dir: str | os.PathLike[str],
    *,
    resume: bool = True,
    overrides: Mapping[str, Any] | None = None,
    export: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> RecipeResult:
    """Train the model of recipe ``name`` into ``out_dir`` (resuming), optionally export it.

    Args:
        name: a key of :data:`RECIPES`.
        config: a TOML file (``configs/<name>.toml``), a mapping, a config instance, or None
            for the defaults.
        out_dir: the run folder: ``checkpoint.pt``, ``config.toml``, ``log.csv``,
            ``data.json``.
        resume: continue from ``out_dir/checkpoint.pt`` when present (bit-exact: see
            :func:`expokit.train.loop.train`); False starts over.
        overrides: dotted keys, e.g. ``{"loop.steps": 20}``.
        export: after training, write the weights to this path (``.safetensors`` and
            ``.json`` beside it; a ``.safetensors`` suffix may be given or not).
        progress: show the loop's progress bar.

    Returns:
        A :class:`RecipeResult`.

    Raises:
        InputError: an unknown recipe, a bad config, a checkpoint of another run.
        MissingResourceError: absent training data.
    """
    import torch

    from .loop import train

    recipe = get_recipe(name)
    cfg = load_run_config(name, config, overrides)
    with torch_threads(cfg.loop.threads):
        data = recipe.prepare_data(cfg)
    torch.manual_seed(cfg.loop.seed)
    model = recipe.build_model(cfg)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"out_dir {out} is a file; give a folder for the run")
    out.mkdir(parents=True, exist_ok=True)
    record = recipe.data_record(cfg, data)
    with atomic_path(out / DATA_RECORD_NAME) as tmp:
        tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
    result = train(
        model,
        loss_fn=lambda m, batch: recipe.loss(cfg, m, batch),
        batch_fn=recipe.make_batch_fn(cfg, data),
        config=cfg.loop,
        out_dir=out,
        validate_fn=lambda m: recipe.validate(cfg, m, data),
        run_config=cfg,
        resume=resume,
        progress=progress,
    )
    if export is None:
        return RecipeResult(result)
    dest = _export_path(export)
    return RecipeResult(result, dest, export_run(name, out, dest))


def _export_path(dest: str | os.PathLike[str]) -> Path:
    path = Path(dest)
    return path.with_suffix("") if path.suffix == ".safetensors" else path


def load_finished_run(name: str, out_dir: str | os.PathLike[str]) -> FinishedRun:
    """Read a run folder of recipe ``name`` back: config, model with its weights, facts.

    Raises:
        MissingResourceError: the folder has no checkpoint.
        InputError: the checkpoint is not a training checkpoint or does not fit the model.
    """
    from .loop import CHECKPOINT_NAME, load_checkpoint

    recipe = get_recipe(name)
    out = Path(out_dir)
    ckpt_path = out / CHECKPOINT_NAME
    if not ckpt_path.is_file():
        raise MissingResourceError(f"{ckpt_path} is absent: train first "
                                   f"(expokit train {name} --out {out})")
    ckpt = load_checkpoint(ckpt_path)
    cfg = load_config(recipe.config_cls, ckpt.get("run_config") or {})
    model = recipe.build_model(cfg)
    try:
        model.load_state_dict(ckpt["model"], strict=True)
    except RuntimeError as exc:
        raise InputError(f"checkpoint {ckpt_path} does not fit the {name} model "
                         f"({str(exc).splitlines()[0]})") from None
    model.eval()
    record_path = out / DATA_RECORD_NAME
    record = json.loads(record_path.read_text(encoding="utf-8")) if record_path.is_file() else {}
    return FinishedRun(out, cfg, model, int(ckpt["step"]), float(ckpt.get("seconds", 0.0)),
                       {str(k): float(v) for k, v in dict(ckpt.get("val", {})).items()}, record)


def export_run(name: str, out_dir: str | os.PathLike[str], dest: str | os.PathLike[str]) -> str:
    """Export the trained weights of a run folder with their data record, config and scores.

    Args:
        name: the recipe (a key of :data:`RECIPES`).
        out_dir: a run folder written by :func:`run_recipe`.
        dest: destination without suffix or ending in ``.safetensors``; ``dest.safetensors``
            and ``dest.json`` are written.

    Returns:
        The SHA-256 of the weights file.
    """
    run = load_finished_run(name, out_dir)
    return get_recipe(name).export(run, _export_path(dest))


def train_function(name: str) -> Callable[..., TrainResult]:
    """``train_<name>(config, out_dir, *, resume=True, overrides=None, progress=True)``: the
    training function of recipe ``name``, ``run_recipe(name, ...)`` returning the loop's
    :class:`~expokit.train.loop.TrainResult` (for the recipe modules' ``train_deepfuse`` style
    names)."""

    def train_fn(
        config: str | os.PathLike[str] | Mapping[str, Any] | Any,
        out_dir: str | os.PathLike[str],
        *,
        resume: bool = True,
        overrides: Mapping[str, Any] | None = None,
        progress: bool = True,
    ) -> TrainResult:
        return run_recipe(name, config, out_dir, resume=resume, overrides=overrides,
                          progress=progress).train

    train_fn.__name__ = train_fn.__qualname__ = f"train_{name}"
    train_fn.__doc__ = (
        f"Train the {name} model into ``out_dir``: ``run_recipe({name!r}, ...).train``.\n\n"
        f"    Args, raises: see :func:`expokit.train.recipe.run_recipe`; the validation scores "
        f"are the recipe's (``result.val``).\n    ")
    return train_fn
