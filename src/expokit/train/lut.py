"""Training the look-up-table fusion (``expokit fuse --method lut``) with the MEF-SSIM loss.

The tables (:class:`expokit.train.lut_model.FusionLUT`) are learned without labels, like DeepFuse
and on the same data (:mod:`expokit.train.deepfuse`): MEFB's input pairs minus every Ma 2015
scene and the validation scenes, plus brackets simulated from the CC0 radiance maps
(``DataConfig.sim_sources``, ``hdr_cc0`` and ``hdr_cc0_more``).

What differs from DeepFuse's training is the sample: the tables act through a guided filter on
a low-resolution copy whose size is fixed (``model.low_side``), so a sample is a **whole
image** rendered at a random size (longer side uniform in ``data.sides``), its low-resolution
luma computed by :func:`expokit.fusion.lut.low_resolution` exactly as at inference. A batch is
``loop.batch_size`` such images (of different sizes; the loss is their mean), all with the same
number of shots N, drawn per step from ``data.n_inputs``: N = 2 from real pairs (share
``1 - sim_fraction``) or simulated brackets (darkest and brightest shot with probability 0.7),
N > 2 from simulated brackets (a random subset that keeps the extremes). N = 5, 6 go through
the 4-shot tables by the interpolation rule, so those are trained for longer brackets too.

Loss: ``1 - MEF-SSIM`` of the fused luma against the shots' luma
(:func:`expokit.nn.losses.mef_ssim_loss`, float64), plus ``smooth_weight`` times the mean
squared second difference of the logits along the luma axis (tables without kinks; MEFLUT's
tables are smooth too). No brightness term is needed: the fused luma is a convex combination
of the shots.

Validation ``mef_ssim``: the NumPy inference (:func:`expokit.fusion.lut.fuse_lut`, what users
run) on the MEFB validation scenes downscaled to ``val_max_side``, as for DeepFuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..errors import InputError
from ..fusion.lut import low_resolution
from ..nn.losses import mef_ssim_loss
from .config import config_class_from, config_to_dict, default_data_root
from .deepfuse import (
    TrainData,  # the same data: real Y stacks, the simulated pool, validation stacks
    _downscale,
    _read_y,
    data_record,
    export_with_record,
    render_sim_pool,
)
from .heldout import list_mefb_scenes
from .loop import LoopConfig
from .lut_model import FusionLUT
from .recipe import Recipe, export_run

__all__ = ["RECIPE", "DataConfig", "LUTTrainConfig", "ModelConfig", "export_lut"]

#: The tables' settings: one field per keyword argument of :class:`FusionLUT`.
ModelConfig = config_class_from(FusionLUT.__init__, "ModelConfig", module=__name__)


@dataclass(frozen=True)
class DataConfig:
    """Training and validation data (the simulated-bracket fields mean what they mean for
    DeepFuse: :class:`expokit.train.deepfuse.DataConfig`).

    Attributes:
        data_root: folder holding ``mefb/``, ``ma2015/``, ``hdr_cc0/``, ``hdr_cc0_more/``;
            empty: ``$EXPOKIT_DATA``.
        sides: range ``(lo, hi)`` of the longer side a training image is rendered at.
        sim_fraction: share of N = 2 samples taken from simulated rather than real brackets.
        n_inputs: shot counts a batch may have, drawn uniformly per step (a count given twice
            is drawn twice as often: each table set learns only from its own N).
        sim_sources: radiance maps to simulate from (stems of ``hdr_cc0`` or globs under
            ``data_root``).
        sim_pool: simulated brackets rendered once at the start.
        sim_size: side of the square simulated brackets.
        sim_max_side: radiance maps are downscaled to at most this many pixels first.
        sim_exposures: shots per simulated bracket (>= max(n_inputs)).
        sim_ev_spacing: range of the EV step between consecutive simulated shots.
        train_max_side: real images are read downscaled to at most this many pixels.
        val_scenes: MEFB scenes held out for validation.
        val_max_side: validation images are downscaled to at most this many pixels.
        smooth_weight: weight of the tables' second-difference penalty.
    """

    data_root: str = ""
    sides: tuple[int, int] = (192, 512)
    sim_fraction: float = 0.4
    n_inputs: tuple[int, ...] = (2, 2, 3, 3, 4, 5, 6)
    sim_sources: tuple[str, ...] = ("city", "courtyard", "forest", "interior", "night",
                                    "studio", "sunrise", "sunset", "hdr_cc0_more/*.exr")
    sim_pool: int = 192
    sim_size: int = 512
    sim_max_side: int = 1024
    sim_exposures: int = 6
    sim_ev_spacing: tuple[float, float] = (0.7, 2.0)
    train_max_side: int = 1024
    val_scenes: tuple[str, ...] = ("Arno", "Igloo", "Mask", "Studio", "Villa")
    val_max_side: int = 512
    smooth_weight: float = 1e-3

    def __post_init__(self) -> None:
        lo, hi = self.sides
        if not 32 <= lo <= hi:
            raise InputError(f"data.sides must be 32 <= lo <= hi, got {self.sides}")
        if not 0.0 <= self.sim_fraction <= 1.0:
            raise InputError(f"data.sim_fraction must be in [0, 1], got {self.sim_fraction}")
        if not self.n_inputs or any(n < 2 for n in self.n_inputs):
            raise InputError(f"data.n_inputs must be shot counts >= 2, got {self.n_inputs}")
        if max(self.n_inputs) > 2 and (self.sim_pool <= 0
                                       or max(self.n_inputs) > self.sim_exposures):
            raise InputError(f"data.n_inputs asks for up to {max(self.n_inputs)} shots: that "
                             f"needs data.sim_pool > 0 and data.sim_exposures >= "
                             f"{max(self.n_inputs)} (got {self.sim_pool}, {self.sim_exposures})")
        if self.smooth_weight < 0:
            raise InputError(f"data.smooth_weight must be >= 0, got {self.smooth_weight}")


def _default_loop() -> LoopConfig:
    return LoopConfig(steps=1500, batch_size=2, lr=2e-2, weight_decay=0.0, scheduler="cosine",
                      warmup_steps=25, grad_clip=1.0, val_every=100, ckpt_every=50,
                      log_every=10, seed=0, device="cpu", threads=1)


@dataclass(frozen=True)
class LUTTrainConfig:
    """A whole LUT training run (``configs/lut.toml``)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    loop: LoopConfig = field(default_factory=_default_loop)


def prepare_data(cfg: LUTTrainConfig) -> TrainData:
    """Load the MEFB training and validation scenes and render the simulated pool."""
    d = cfg.data
    root = Path(d.data_root) if d.data_root else default_data_root()
    scenes = list_mefb_scenes(root, d.val_scenes)
    real = [_read_y(p, d.train_max_side) for p in scenes.train.values()]
    sim = render_sim_pool(d, root, cfg.loop.seed)  # type: ignore[arg-type]  (same fields)
    val = {k: _read_y(p, d.val_max_side) for k, p in scenes.val.items()}
    return TrainData(scenes, real, sim, val)


def _subset(k: int, n: int, rng: np.random.Generator) -> list[int]:
    """n of k shots, darkest first; the extremes kept (always for n > 2, mostly for pairs)."""
    if n >= k:
        return list(range(k))
    if n == 2:
        return [0, k - 1] if rng.random() < 0.7 else sorted(rng.choice(k, 2, replace=False))
    middle = sorted(rng.choice(np.arange(1, k - 1), n - 2, replace=False).tolist())
    return [0, *middle, k - 1]


def _sample(stack: np.ndarray, n: int, side: int, low_side: int, rng: np.random.Generator
            ) -> tuple[Tensor, Tensor]:
    """One whole image at longer side ``side``: ``(N, H, W)`` luma and its low-resolution
    ``(N, h, w)`` luma, shots ordered darkest first (as :func:`fuse_lut` orders them)."""
    ys = stack[_subset(stack.shape[0], n, rng)]
    h, w = ys.shape[1:]
    s = side / max(h, w)
    if s < 1:
        ys = np.stack([_downscale(y, side) for y in ys])
    if rng.random() < 0.5:
        ys = ys[:, :, ::-1]
    if rng.random() < 0.5:
        ys = ys.transpose(0, 2, 1)
    ys = np.ascontiguousarray(ys, dtype=np.float32)
    low = np.stack([low_resolution(y, low_side) for y in ys])
    order = np.argsort(low.reshape(len(low), -1).mean(axis=1), kind="stable")
    return torch.from_numpy(ys[order]), torch.from_numpy(np.ascontiguousarray(low[order]))


def make_batch_fn(data: TrainData, cfg: LUTTrainConfig):  # noqa: ANN201
    """``batch_fn(step, rng) -> [(y, low), ...]``: ``loop.batch_size`` whole images."""
    d = cfg.data
    n_choices = [n for n in d.n_inputs if n == 2 or data.sim]
    if not data.real and not data.sim:
        raise InputError("no training data: MEFB scenes and the simulated pool are both empty")

    def batch_fn(step: int, rng: np.random.Generator) -> list[tuple[Tensor, Tensor]]:
        n = int(n_choices[int(rng.integers(len(n_choices)))])
        items = []
        for _ in range(cfg.loop.batch_size):
            use_sim = n > 2 or not data.real or (bool(data.sim) and rng.random() < d.sim_fraction)
            pool = data.sim if use_sim else data.real
            stack = pool[int(rng.integers(len(pool)))]
            side = int(rng.integers(d.sides[0], d.sides[1] + 1))
            items.append(_sample(stack, n, side, cfg.model.low_side, rng))
        return items

    return batch_fn


def lut_loss(model: FusionLUT, batch: list[tuple[Tensor, Tensor]], *, smooth_weight: float = 0.0
             ) -> Tensor:
    """Mean ``1 - MEF-SSIM`` over the batch's images plus the tables' smoothness penalty."""
    losses = []
    for y, low in batch:
        fused = model(y[None], low[None])
        losses.append(mef_ssim_loss(fused.double(), y[None, :, None].double()))
    loss = torch.stack(losses).mean().float()
    if smooth_weight:
        curv = [torch.diff(getattr(model, f"logits_{n}"), n=2, dim=1) for n in (2, 3, 4)]
        loss = loss + smooth_weight * torch.cat([c.reshape(-1) for c in curv]).pow(2).mean()
    return loss


def validate(model: FusionLUT, val: Mapping[str, np.ndarray]) -> dict[str, float]:
    """``{"mef_ssim": mean over the validation scenes}``, fused by the NumPy inference."""
    from ..fusion.lut import fuse_lut
    from ..metrics import mef_ssim

    if not val:
        return {}
    lut = model.to_numpy()
    scores = []
    for stack in val.values():
        fused = fuse_lut([y[..., None] for y in stack], weights=lut, threads=1)[..., 0]
        scores.append(mef_ssim(fused, list(stack), data_range=1.0))
    return {"mef_ssim": float(np.mean(scores))}


def _model(cfg: LUTTrainConfig) -> FusionLUT:
    return FusionLUT(**config_to_dict(cfg.model))


def export_lut(out_dir: str | Path, dest: str | Path) -> str:
    """Export a run's tables (``dest.safetensors`` + ``dest.json``); returns the SHA-256."""
    return export_run("lut", out_dir, dest)


#: The LUT fusion training recipe (:data:`expokit.train.recipe.RECIPES` ``["lut"]``).
RECIPE = Recipe(
    name="lut",
    config_cls=LUTTrainConfig,
    build_model=_model,
    prepare_data=prepare_data,
    data_record=lambda cfg, data: data_record(data.scenes, len(data.sim), cfg.data.sim_sources),
    make_batch_fn=lambda cfg, data: make_batch_fn(data, cfg),
    loss=lambda cfg, model, batch: lut_loss(model, batch, smooth_weight=cfg.data.smooth_weight),
    validate=lambda cfg, model, data: validate(model, data.val),
    export=lambda run, dest: export_with_record(run, dest, "lut"),
)
