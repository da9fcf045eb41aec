"""A plain, resumable training loop: AdamW, warm-up + cosine schedule, CSV log, checkpoints.

The loop owns nothing model-specific: the caller gives a ``loss_fn(model, batch)``, a
``batch_fn(step, rng)`` and optionally a ``validate_fn(model)``. Data order depends only on
``(seed, step)``: step ``s`` always sees ``batch_fn(s, np.random.default_rng([seed, s]))``, so a
run stopped at step ``k`` (Ctrl-C, a crash, a time limit) and started again with the same
arguments continues with exactly the batches, weights, optimiser moments, learning rate and
random state an uninterrupted run would have had.

Files in ``out_dir``:

- ``checkpoint.pt``: resumable training state (model, optimiser, scheduler, step, torch/CUDA/
  NumPy/Python RNG states, last validation scores), written atomically every ``ckpt_every``
  steps, at the end and on Ctrl-C; it loads with ``torch.load(..., weights_only=True)``.
  Deployable weights are exported separately with :func:`expokit.models.zoo.export_weights`.
- ``config.toml``: the resolved run config (:func:`expokit.train.config.dump_config`).
- ``log.csv``: ``step, loss, lr, seconds`` and one ``val_<name>`` column per validation score;
  ``loss`` is the mean over the steps since the previous row, ``seconds`` the training time so
  far (summed over resumed sessions).

References:
    I. Loshchilov and F. Hutter, "Decoupled Weight Decay Regularization", ICLR 2019 (AdamW).
    I. Loshchilov and F. Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts",
    ICLR 2017 (cosine schedule).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn

from ..errors import InputError
from ..io import atomic_path
from ..nn.runtime import load_state_strict, resolve_device, torch_threads
from .config import config_to_dict, dump_config

__all__ = ["LoopConfig", "TrainResult", "load_checkpoint", "lr_factor", "train"]

logger = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"
LOG_NAME = "log.csv"
CONFIG_NAME = "config.toml"
_FORMAT = 1
_BASE_COLUMNS = ("step", "loss", "lr", "seconds")
# Loop settings that may change between a run and its resumption without breaking exactness
# of the steps already taken (``steps`` does change a cosine schedule's remaining shape).
_RESUMABLE_CHANGES = frozenset(
    {"steps", "val_every", "ckpt_every", "log_every", "device", "threads"}
)


@dataclass(frozen=True)
class LoopConfig:
    """Settings of :func:`train`.

    Attributes:
        steps: optimiser steps in the whole run (resumed sessions included).
        batch_size: samples per batch. The loop does not batch: ``batch_fn`` builds batches of
            this size (a recipe's ``make_batch_fn`` gets the whole run config, see
            :mod:`expokit.train.recipe`).
        lr: peak learning rate of AdamW.
        weight_decay: AdamW's decoupled weight decay.
        scheduler: ``"cosine"`` (linear warm-up, then cosine decay to 0 at ``steps``) or
            ``"constant"`` (linear warm-up, then ``lr``).
        warmup_steps: steps of linear warm-up from ``lr / (warmup_steps + 1)`` to ``lr``.
        grad_clip: clip the global gradient norm to this value (None: no clipping).
        val_every: run ``validate_fn`` every this many steps (and at the last step); 0 = only
            at the last step.
        ckpt_every: write ``checkpoint.pt`` every this many steps (and at the end); 0 = only at
            the end and on Ctrl-C.
        log_every: write a ``log.csv`` row every this many steps (and at the end).
        seed: seeds the torch/NumPy/Python RNGs at the start and every step's data RNG.
        device: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``.
        threads: ``torch.set_num_threads`` for the call on CPU (None: leave it as it is).
    """

    steps: int = 1000
    batch_size: int = 8
    lr: float = 1e-3
    weight_decay: float = 0.0
    scheduler: Literal["cosine", "constant"] = "cosine"
    warmup_steps: int = 0
    grad_clip: float | None = None
    val_every: int = 200
    ckpt_every: int = 200
    log_every: int = 20
    seed: int = 0
    device: str = "auto"
    threads: int | None = None

    def __post_init__(self) -> None:
        positive = {"steps": self.steps, "batch_size": self.batch_size, "log_every": self.log_every}
        for name, value in positive.items():
            if value < 1:
                raise InputError(f"LoopConfig.{name} must be >= 1, got {value}")
        for name in ("val_every", "ckpt_every", "warmup_steps"):
            if getattr(self, name) < 0:
                raise InputError(f"LoopConfig.{name} must be >= 0, got {getattr(self, name)}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise InputError(f"LoopConfig.lr must be a positive number, got {self.lr}")
        if not (self.weight_decay >= 0 and math.isfinite(self.weight_decay)):
            raise InputError(f"LoopConfig.weight_decay must be >= 0, got {self.weight_decay}")
        if self.scheduler not in ("cosine", "constant"):
            raise InputError(
                f"LoopConfig.scheduler must be 'cosine' or 'constant', got {self.scheduler!r}"
            )
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise InputError(f"LoopConfig.grad_clip must be > 0 or None, got {self.grad_clip}")
        if self.threads is not None and self.threads < 1:
            raise InputError(f"LoopConfig.threads must be >= 1 or None, got {self.threads}")


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        step: optimiser steps completed (equals ``config.steps`` after a full run).
        out_dir: the run folder.
        log_path: ``out_dir / "log.csv"``.
        checkpoint: ``out_dir / "checkpoint.pt"``.
        val: the last validation scores (empty without ``validate_fn``).
        seconds: wall time of this call.
    """

    step: int
    out_dir: Path
    log_path: Path
    checkpoint: Path
    val: dict[str, float]
    seconds: float


def lr_factor(step: int, config: LoopConfig) -> float:
    """Learning-rate multiplier after ``step`` optimiser steps (LambdaLR's lambda).

    Args:
        step: optimiser steps taken so far (0 for the first step).
        config: the loop config (``steps``, ``warmup_steps``, ``scheduler``).

    Returns:
        ``(step + 1) / (warmup_steps + 1)`` during warm-up, then 1 (constant) or
        ``0.5 * (1 + cos(pi * t))`` with ``t`` going from 0 to 1 over the remaining steps.

    Example:
        >>> cfg = LoopConfig(steps=10, warmup_steps=1)
        >>> [round(lr_factor(s, cfg), 3) for s in (0, 1, 10)]
        [0.5, 1.0, 0.0]
    """
    warm = config.warmup_steps
    if step < warm:
        return (step + 1) / (warm + 1)
    if config.scheduler == "constant":
        return 1.0
    t = min(1.0, (step - warm) / max(1, config.steps - warm))
    return 0.5 * (1.0 + math.cos(math.pi * t))


def _to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # namedtuple
        return type(batch)(*(_to_device(v, device) for v in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


def _rng_state(device: torch.device) -> dict[str, Any]:
    np_state = np.random.get_state(legacy=False)
    py_state = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "bit_generator": np_state["bit_generator"],
            "key": torch.from_numpy(np.asarray(np_state["state"]["key"], dtype=np.int64)),
            "pos": int(np_state["state"]["pos"]),
            "has_gauss": int(np_state["has_gauss"]),
            "gauss": float(np_state["gauss"]),
        },
        "python": [py_state[0], list(py_state[1]), py_state[2]],
        "cuda": None,
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: Mapping[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    npst = state["numpy"]
    np.random.set_state(
        {
            "bit_generator": npst["bit_generator"],
            "state": {"key": npst["key"].numpy().astype(np.uint32), "pos": npst["pos"]},
            "has_gauss": npst["has_gauss"],
            "gauss": npst["gauss"],
        }
    )
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if device.type == "cuda" and state.get("cuda") is not None:
        torch.cuda.set_rng_state_all(state["cuda"])


def _seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


class _CsvLog:
    """``log.csv`` with a header that grows when new validation scores appear."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.columns: list[str] = list(_BASE_COLUMNS)
        self.rows: list[dict[str, str]] = []

    def load(self, upto_step: int) -> None:
        """Keep rows of an earlier session up to the checkpoint's step (later ones are redone)."""
        if not self.path.is_file():
            return
        with open(self.path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            columns = list(reader.fieldnames or [])
            rows = [r for r in reader if r.get("step", "").isdigit()]
        if columns:
            self.columns = columns + [c for c in _BASE_COLUMNS if c not in columns]
        self.rows = [r for r in rows if int(r["step"]) <= upto_step]
        self._rewrite()

    def _rewrite(self) -> None:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=self.columns, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        with atomic_path(self.path) as tmp:
            tmp.write_text(buf.getvalue(), encoding="utf-8")

    def add(self, row: Mapping[str, float]) -> None:
        text = {k: (str(v) if isinstance(v, int) else f"{v:.8g}") for k, v in row.items()}
        self.rows.append(text)
        new = [k for k in text if k not in self.columns]
        if new or not self.path.is_file():
            self.columns += new
            self._rewrite()
            return
        with open(self.path, "a", newline="", encoding="utf-8") as fh:
            csv.DictWriter(fh, fieldnames=self.columns, restval="", lineterminator="\n").writerow(
                text
            )


def _validate(
    model: nn.Module, validate_fn: Callable[[nn.Module], dict[str, float]], step: int
) -> dict[str, float]:
    model.eval()
    try:
        with torch.no_grad():
            scores = validate_fn(model)
    finally:
        model.train()
    if not isinstance(scores, Mapping):
        raise InputError(
            f"validate_fn must return a dict of name -> float, got {type(scores).__name__}"
        )
    out = {}
    for name, value in scores.items():
        try:
            out[str(name)] = float(value)
        except (TypeError, ValueError):
            raise InputError(
                f"validate_fn returned {name!r} = {value!r} at step {step}; scores must be numbers"
            ) from None
    return out


def _run_config_dict(run_config: Any) -> Any:
    if run_config is None:
        return None
    return config_to_dict(run_config)


def _without_resumable(cfg: Any) -> Any:
    """``cfg`` with the resumable loop settings left out of every LoopConfig section in it, so
    a run config may change them between sessions just as the loop config may."""
    if not isinstance(cfg, dict):
        return cfg
    is_loop = {f.name for f in dataclasses.fields(LoopConfig)} <= set(cfg)
    return {k: _without_resumable(v) for k, v in cfg.items()
            if not (is_loop and k in _RESUMABLE_CHANGES)}


def _check_same_run(
    ckpt: Mapping[str, Any], run_config: Any, config: LoopConfig, path: Path
) -> None:
    how = (f"use a new out_dir or pass resume=False (--no-resume on the command line) to "
           f"start over (overwriting {path.parent})")
    saved = _without_resumable(ckpt.get("run_config"))
    given = _without_resumable(_run_config_dict(run_config))
    if saved != given:
        diff = ""
        if isinstance(saved, dict) and isinstance(given, dict):
            keys = _diff_keys(saved, given, "")
            diff = f" (differs in {', '.join(keys[:5])})" if keys else ""
        raise InputError(f"checkpoint {path} was written with a different run_config{diff}; {how}")
    saved_loop = ckpt.get("loop_config", {})
    given_loop = config_to_dict(config)
    changed = [
        k
        for k, v in given_loop.items()
        if k not in _RESUMABLE_CHANGES and k in saved_loop and saved_loop[k] != v
    ]
    if changed:
        detail = ", ".join(f"{k}: {saved_loop[k]!r} -> {given_loop[k]!r}" for k in changed)
        raise InputError(
            f"checkpoint {path} was written with different loop settings ({detail}); {how}"
        )


def _diff_keys(a: Mapping[str, Any], b: Mapping[str, Any], prefix: str) -> list[str]:
    out = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += _diff_keys(va, vb, f"{prefix}{key}.")
        elif va != vb:
            out.append(prefix + key)
    return out


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a training checkpoint written by :func:`train` (weights only, on the CPU).

    Raises:
        InputError: the file is not readable as a weights-only torch checkpoint, or not an
            expokit training checkpoint.
    """
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same advice
        raise InputError(
            f"checkpoint {path} cannot be read as a weights-only torch checkpoint "
            f"({type(exc).__name__}); delete it or pass resume=False to start over"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != _FORMAT:
        raise InputError(
            f"checkpoint {path} is not an expokit training checkpoint (format {_FORMAT}); "
            "use a new out_dir or pass resume=False"
        )
    return ckpt


def train(
    model: nn.Module,
    *,
    loss_fn: Callable[[nn.Module, Any], Tensor],
    batch_fn: Callable[[int, np.random.Generator], Any],
    config: LoopConfig,
    out_dir: str | Path,
    validate_fn: Callable[[nn.Module], dict[str, float]] | None = None,
    run_config: Any = None,
    resume: bool = True,
    progress: bool = True,
) -> TrainResult:
    """Train ``model`` for ``config.steps`` AdamW steps, resuming from ``out_dir`` when possible.

    Each step ``s`` calls ``batch_fn(s, np.random.default_rng([config.seed, s]))``, moves the
    tensors in the batch (a tensor or a tuple/list/dict of them) to the device, computes
    ``loss_fn(model, batch)`` (a scalar tensor), back-propagates, clips (``grad_clip``), steps
    AdamW and the scheduler. Validation runs in ``model.eval()`` under ``torch.no_grad()``
    every ``val_every`` steps and at the last step, then the model returns to ``train()``.

    On a fresh start the torch, NumPy and Python RNGs are seeded with ``config.seed``; on
    resume their states come from the checkpoint. Ctrl-C (``KeyboardInterrupt``) writes a
    checkpoint of the last completed step and re-raises, so running the same call again
    continues where it stopped. The model is moved to the device in place and left in
    ``train()`` mode.

    Args:
        model: the network; its parameters with ``requires_grad`` are optimised.
        loss_fn: ``loss_fn(model, batch) -> scalar tensor``.
        batch_fn: ``batch_fn(step, rng) -> batch``; must use only ``rng`` for randomness so
            that data order depends on ``(seed, step)`` alone.
        config: the loop settings.
        out_dir: run folder for ``checkpoint.pt``, ``config.toml`` and ``log.csv``.
        validate_fn: ``validate_fn(model) -> {name: score}`` (optional).
        run_config: the whole run's config (a dataclass), saved as ``config.toml`` and stored
            in the checkpoint; resuming with a different one is refused. None saves ``config``.
        resume: continue from ``out_dir/checkpoint.pt`` when present; False starts over and
            overwrites the folder's checkpoint and log.
        progress: show a tqdm progress bar.

    Returns:
        A :class:`TrainResult`.

    Raises:
        InputError: for a checkpoint from a different run_config or loop settings, an
            unreadable checkpoint, an unavailable device, a non-scalar or non-finite loss.
        KeyboardInterrupt: re-raised after the checkpoint is written.
    """
    started = time.perf_counter()
    if not isinstance(config, LoopConfig):
        raise InputError(f"config must be a LoopConfig, got {type(config).__name__}")
    if not isinstance(model, nn.Module):
        raise InputError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"out_dir {out} is a file; give a folder for the run")
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / CHECKPOINT_NAME
    log = _CsvLog(out / LOG_NAME)
    device = resolve_device(config.device, what="LoopConfig.device")

    with torch_threads(config.threads if device.type == "cpu" else None):
        return _train(
            model, loss_fn, batch_fn, config, out, ckpt_path, log, device,
            validate_fn, run_config, resume, progress, started,
        )  # fmt: skip


def _train(
    model: nn.Module,
    loss_fn: Callable[[nn.Module, Any], Tensor],
    batch_fn: Callable[[int, np.random.Generator], Any],
    config: LoopConfig,
    out: Path,
    ckpt_path: Path,
    log: _CsvLog,
    device: torch.device,
    validate_fn: Callable[[nn.Module], dict[str, float]] | None,
    run_config: Any,
    resume: bool,
    progress: bool,
    started: float,
) -> TrainResult:
    from tqdm.auto import tqdm

    model.to(device)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise InputError("model has no parameters with requires_grad=True; nothing to train")
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, config))

    step = 0
    val: dict[str, float] = {}
    window: list[float] = []
    trained_seconds = 0.0
    if resume and ckpt_path.is_file():
        ckpt = load_checkpoint(ckpt_path)
        _check_same_run(ckpt, run_config, config, ckpt_path)
        load_state_strict(model, ckpt["model"], source=f"checkpoint {ckpt_path}",
                          hint="use a new out_dir or pass resume=False")
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        _set_rng_state(ckpt["rng"], device)
        step = int(ckpt["step"])
        val = dict(ckpt.get("val", {}))
        window = [float(v) for v in ckpt.get("window", [])]
        trained_seconds = float(ckpt.get("seconds", 0.0))
        log.load(upto_step=step)
        logger.info("resuming %s at step %d", out, step)
    else:
        _seed_all(config.seed)
        if log.path.exists():
            log.path.unlink()
    if run_config is not None:
        dump_config(run_config, out / CONFIG_NAME)
    else:
        dump_config({"loop": config_to_dict(config)}, out / CONFIG_NAME)

    def save(at_step: int) -> None:
        state = {
            "format": _FORMAT,
            "step": at_step,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": _rng_state(device),
            "val": dict(val),
            "window": list(window),  # losses since the last log row, so rows match on resume
            "seconds": trained_seconds + (time.perf_counter() - session_start),
            "run_config": _run_config_dict(run_config),
            "loop_config": config_to_dict(config),
        }
        with atomic_path(ckpt_path) as tmp:
            torch.save(state, tmp)

    session_start = time.perf_counter()
    done = step
    updating = False
    bar = tqdm(total=config.steps, initial=step, disable=not progress, desc=out.name)
    try:
        for s in range(step, config.steps):
            rng = np.random.default_rng([config.seed, s])
            batch = _to_device(batch_fn(s, rng), device)
            loss = loss_fn(model, batch)
            if not isinstance(loss, Tensor) or loss.numel() != 1:
                raise InputError(
                    f"loss_fn must return a scalar tensor, got {type(loss).__name__}"
                    + (f" of shape {tuple(loss.shape)}" if isinstance(loss, Tensor) else "")
                )
            value = float(loss.detach())
            if not math.isfinite(value):
                raise InputError(
                    f"loss is {value} at step {s} (out_dir {out}); lower LoopConfig.lr, set "
                    "grad_clip, or check batch_fn's data; the last checkpoint is kept"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.reshape(()).backward()
            if config.grad_clip is not None:
                nn.utils.clip_grad_norm_(params, config.grad_clip)
            lr = optimizer.param_groups[0]["lr"]
            updating = True  # Ctrl-C from here to `done = s + 1` leaves a half-taken step
            optimizer.step()
            scheduler.step()
            window.append(value)
            done = s + 1
            updating = False
            bar.update(1)
            bar.set_postfix(loss=f"{value:.4g}", refresh=False)

            last = done == config.steps
            validated = False
            if validate_fn is not None and (
                last or (config.val_every and done % config.val_every == 0)
            ):
                val = _validate(model, validate_fn, done)
                validated = True
            if last or validated or done % config.log_every == 0:
                row: dict[str, float] = {
                    "step": done,
                    "loss": float(np.mean(window)),
                    "lr": lr,
                    "seconds": trained_seconds + (time.perf_counter() - session_start),
                }
                if validated:
                    row.update({f"val_{k}": v for k, v in val.items()})
                log.add(row)
                window = []
            if last or (config.ckpt_every and done % config.ckpt_every == 0):
                save(done)
    except KeyboardInterrupt:
        bar.close()
        if updating:
            logger.warning(
                "interrupted during the optimiser update of step %d; keeping the last periodic "
                "checkpoint in %s",
                done + 1,
                ckpt_path,
            )
        else:
            save(done)
            logger.warning("interrupted: checkpoint at step %d in %s", done, ckpt_path)
        raise
    bar.close()
    if done == step and not ckpt_path.is_file():
        save(done)
    return TrainResult(
        step=done,
        out_dir=out,
        log_path=log.path,
        checkpoint=ckpt_path,
        val=dict(val),
        seconds=time.perf_counter() - started,
    )
