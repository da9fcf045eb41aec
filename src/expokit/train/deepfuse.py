"""Training DeepFuse with the MEF-SSIM loss on real MEFB pairs and simulated brackets.

Data (all unlabeled: the loss needs only the source exposures):

* **Real**: MEFB's input pairs (``<data_root>/mefb/input/<scene>/``; every image file of a scene
  folder is a source, names vary in case and extension), **excluding every scene that is also in
  Ma 2015** (``<data_root>/ma2015``, the held-out benchmark), found three ways: (1) the scene
  name, case-, space- and underscore-insensitive, equals the scene part of a ``ma2015`` sequence
  folder (``"Belgium House_Dani Lischinski"`` -> ``belgiumhouse``); (2) a source's pixels are
  identical (SHA-256 of the decoded array) to a ``ma2015`` source; (3) a 32x32 grey thumbnail of
  a source correlates with one of a ``ma2015`` source at >= 0.97 with the same aspect ratio
  (within 3 %), which catches resized or re-encoded copies (MEFB's ``tower`` is a resized
  ``Tower_Jacques Joffre06``; ``TableLamp`` is ``Lamp_hdr-projects.com`` under another name).
  A few more scenes (``DataConfig.val_scenes``) are held out for validation.
* **Simulated**: brackets rendered by :func:`expokit.simulate.simulate_bracket` from the
  CC0 HDR panoramas in ``<data_root>/hdr_cc0`` with random cameras, exposure spacings and crops.
  A pool is rendered once at the start, deterministically from the seed. The Memorial radiance
  map is refused as a source: Ma 2015 has a Memorial sequence.

A run may start from trained weights (``init``, e.g. the shipped ``"deepfuse_3k"``): the shipped
``"deepfuse"`` is such a second stage, which adds the learned merge of N exposures
(``model.merge = "softmax"``, whose scores start at zero, so the start is the first stage's
network exactly) and trains on N from 2 to 6.

Each step draws the number of exposures ``N`` of the whole batch from ``DataConfig.n_inputs``
(real pairs give N = 2 only; N > 2 comes from simulated brackets), crops ``patch``-pixel
patches, flips/rotates them, and minimises ``1 - MEF-SSIM`` of the fused Y against the sources'
Y (:func:`expokit.nn.losses.mef_ssim_loss`, the metric's own patch-wise index, computed in
float64), plus two small brightness terms that the paper does not have: MEF-SSIM ignores
luminance entirely (local means are subtracted), so without them the output's brightness
drifts (a first run fused to a mean Y of 0.17 for sources averaging 0.40) and is then clipped,
which destroys structure. ``range_weight`` penalises fused values outside [0, 1]
and ``mean_weight`` pulls each patch's mean towards the mean of its sources.

Validation score ``mef_ssim``: the mean over the validation scenes of
:func:`expokit.metrics.mef_ssim` of the fused Y (clipped, as inference returns it) against the
sources' Y, on whole images downscaled to at most ``val_max_side`` pixels.

References:
    K. R. Prabhakar, V. S. Srikar and R. V. Babu, "DeepFuse: A Deep Unsupervised Approach for
    Exposure Fusion with Extreme Exposure Image Pairs", ICCV 2017 (training with MEF-SSIM).
    X. Zhang, "Benchmarking and comparing multi-exposure image fusion algorithms",
    Information Fusion 74:111-131, 2021 (MEFB).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import Tensor

from .._checks import dtype_scale
from ..color import rgb_to_ycbcr
from ..errors import InputError, MissingResourceError
from ..io import read_image
from ..models.deepfuse import DeepFuse
from ..nn.losses import mef_ssim_loss
from .config import config_class_from, config_to_dict, default_data_root
from .heldout import SceneList, list_mefb_scenes
from .loop import LoopConfig
from .recipe import FinishedRun, Recipe, export_run, load_run_config, train_function

__all__ = [
    "RECIPE",
    "DataConfig",
    "DeepFuseTrainConfig",
    "ModelConfig",
    "TrainData",
    "export_deepfuse",
    "list_mefb_scenes",
    "prepare_data",
    "train_deepfuse",
]

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Configs
# ---------------------------------------------------------------------------------------------
#: DeepFuse's layer sizes: one field per keyword argument of :class:`DeepFuse`, with its
#: default (the paper's network, 88,961 parameters).
ModelConfig = config_class_from(DeepFuse.__init__, "ModelConfig", module=__name__)


@dataclass(frozen=True)
class DataConfig:
    """Training and validation data.

    Attributes:
        data_root: folder holding ``mefb/``, ``ma2015/`` and ``hdr_cc0/``; empty: ``$EXPOKIT_DATA``.
        patch: side of the square training patches (>= 16; the MEF-SSIM window is 11).
        sim_fraction: fraction of N = 2 samples taken from simulated rather than real brackets.
        n_inputs: exposure counts a batch may have; drawn uniformly per step (N > 2 batches are
            all simulated).
        sim_sources: radiance maps to simulate from: stems of ``hdr_cc0`` files, or paths
            (globs allowed) under ``data_root``, e.g. ``"hdr_cc0_more/*.exr"``
            (:func:`sim_source_paths`).
        sim_pool: simulated brackets rendered once at the start.
        sim_size: side of the square radiance crop each simulated bracket is rendered from.
        sim_max_side: radiance maps are downscaled to at most this many pixels first.
        sim_exposures: exposures per simulated bracket (>= max(n_inputs)).
        sim_ev_spacing: range ``(lo, hi)`` of the EV step between consecutive exposures.
        train_max_side: real images are downscaled to at most this many pixels (0: keep).
        val_scenes: MEFB scenes held out for validation (never trained on).
        val_max_side: validation images are downscaled to at most this many pixels.
        range_weight: weight of the penalty ``mean(relu(y - 1)^2 + relu(-y)^2)`` on the fused Y.
        mean_weight: weight of ``(mean(fused patch) - mean(source patches))^2``, which anchors
            the brightness of each patch to the average exposure (MEF-SSIM ignores it).
    """

    data_root: str = ""
    patch: int = 64
    sim_fraction: float = 0.4
    n_inputs: tuple[int, ...] = (2, 3, 4, 6)
    sim_sources: tuple[str, ...] = ("city", "courtyard", "forest", "interior", "night",
                                    "studio", "sunrise", "sunset")
    sim_pool: int = 96
    sim_size: int = 192
    sim_max_side: int = 1024
    sim_exposures: int = 6
    sim_ev_spacing: tuple[float, float] = (0.7, 2.0)
    train_max_side: int = 800
    val_scenes: tuple[str, ...] = ("Arno", "Igloo", "Mask", "Studio", "Villa")
    val_max_side: int = 512
    range_weight: float = 100.0
    mean_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.patch < 16:
            raise InputError(f"data.patch must be >= 16 pixels, got {self.patch}")
        if not 0.0 <= self.sim_fraction <= 1.0:
            raise InputError(f"data.sim_fraction must be in [0, 1], got {self.sim_fraction}")
        if not self.n_inputs or any(n < 2 for n in self.n_inputs):
            raise InputError(f"data.n_inputs must be exposure counts >= 2, got {self.n_inputs}")
        if self.sim_pool > 0 and max(self.n_inputs) > self.sim_exposures:
            raise InputError(
                f"data.n_inputs asks for up to {max(self.n_inputs)} exposures but simulated "
                f"brackets have data.sim_exposures = {self.sim_exposures}; raise it"
            )
        lo, hi = self.sim_ev_spacing
        if not 0 < lo <= hi:
            raise InputError(f"data.sim_ev_spacing must be 0 < lo <= hi, got {self.sim_ev_spacing}")
        if self.sim_size < self.patch:
            raise InputError(f"data.sim_size ({self.sim_size}) must be >= data.patch "
                             f"({self.patch})")
        if self.range_weight < 0 or self.mean_weight < 0:
            raise InputError(f"data.range_weight and data.mean_weight must be >= 0, got "
                             f"{self.range_weight} and {self.mean_weight}")


def _default_loop() -> LoopConfig:
    return LoopConfig(steps=3000, batch_size=8, lr=1e-3, weight_decay=0.0, scheduler="cosine",
                      warmup_steps=100, grad_clip=1.0, val_every=500, ckpt_every=250,
                      log_every=50, seed=0, device="cpu", threads=1)


@dataclass(frozen=True)
class DeepFuseTrainConfig:
    """A whole DeepFuse training run (``configs/deepfuse.toml``)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    loop: LoopConfig = field(default_factory=_default_loop)
    #: weights to start from (a shipped name or a .safetensors path; "" = random). Layers the
    #: model has and the weights lack (the ``"softmax"`` merge's scores) keep their zero start.
    init: str = ""


# ---------------------------------------------------------------------------------------------
# Data: MEFB scenes minus Ma 2015, simulated brackets
# ---------------------------------------------------------------------------------------------
def _downscale(img: np.ndarray, max_side: int) -> np.ndarray:
    h, w = img.shape[:2]
    if max_side <= 0 or max(h, w) <= max_side:
        return img
    s = max_side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    out = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    return out if out.ndim == img.ndim else out[..., None]


def _luma(img: np.ndarray) -> np.ndarray:
    """``(H, W)`` float32 Y in [0, 1] of a display-referred image (grey passes through)."""
    img = img if img.ndim == 3 else img[..., None]
    if img.shape[2] == 1:
        scale = dtype_scale(img.dtype)
        return (img[..., 0].astype(np.float32) * np.float32(scale))
    return np.ascontiguousarray(rgb_to_ycbcr(img)[..., 0])


def _read_y(paths: Sequence[Path], max_side: int) -> np.ndarray:
    """``(N, H, W)`` float32 Y stack of a scene (all files cropped to the smallest size)."""
    ys = [_luma(read_image(p)) for p in paths]
    h = min(y.shape[0] for y in ys)
    w = min(y.shape[1] for y in ys)
    return np.stack([_downscale(y[:h, :w], max_side) for y in ys])


def sim_source_paths(sources: Sequence[str], root: Path) -> list[Path]:
    """The radiance files that ``data.sim_sources`` names, in order.

    A plain stem (``"city"``) is ``<root>/hdr_cc0/<stem>.exr``; an entry with a ``/`` is a path
    under ``root`` and may be a glob (``"hdr_cc0_more/*.exr"``: every file, sorted by name).
    Anything named like Memorial is refused (Ma 2015 has a Memorial sequence).

    Raises:
        InputError: a Memorial source.
        MissingResourceError: a named file, or a glob's folder, that does not exist.
    """
    paths: list[Path] = []
    for entry in sources:
        if "memorial" in entry.lower():
            raise InputError(f"data.sim_sources: {entry!r} is refused: Ma 2015's Memorial "
                             "sequence is held out for testing")
        if "/" in entry:
            found = sorted(root.glob(entry)) if any(c in entry for c in "*?[") else [root / entry]
            if not found or not all(p.is_file() for p in found):
                raise MissingResourceError(f"data.sim_sources names {entry!r} but {root / entry} "
                                           "matches no file")
        else:
            found = [root / "hdr_cc0" / f"{entry}.exr"]
            if not found[0].is_file():
                raise MissingResourceError(f"{found[0]} is absent (data.sim_sources names "
                                           f"{entry!r})")
        for p in found:
            if "memorial" in p.name.lower():
                raise InputError(f"data.sim_sources: {p} is refused: Ma 2015's Memorial "
                                 "sequence is held out for testing")
        paths.extend(found)
    return paths


def render_sim_pool(data: DataConfig, root: Path, seed: int) -> list[np.ndarray]:
    """Pre-render ``data.sim_pool`` simulated Y stacks, deterministic from ``seed``.

    Each bracket: a random radiance map of ``data.sim_sources``, a random ``sim_size`` crop
    (after a random downscale of 1-2x), a random camera (:func:`~expokit.simulate.
    random_camera`), ``data.sim_exposures`` EVs spaced by ``s`` (uniform in
    ``data.sim_ev_spacing``) around a random offset of up to +-1 EV.

    Returns:
        ``(sim_exposures, S, S)`` float32 Y stacks, darkest first.
    """
    from ..simulate import load_radiance, random_camera, simulate_bracket

    if data.sim_pool <= 0:
        return []
    radiances = [load_radiance(p, max_side=data.sim_max_side)
                 for p in sim_source_paths(data.sim_sources, root)]
    rng = np.random.default_rng([seed, 7919])
    pool = []
    size = data.sim_size
    for i in range(data.sim_pool):
        rad = radiances[int(rng.integers(len(radiances)))]
        scale = float(rng.uniform(1.0, 2.0))
        h, w = rad.shape[:2]
        ch = min(h, int(size * scale))
        cw = min(w, int(size * scale))
        y0 = int(rng.integers(0, h - ch + 1))
        x0 = int(rng.integers(0, w - cw + 1))
        crop = cv2.resize(np.ascontiguousarray(rad[y0:y0 + ch, x0:x0 + cw]), (size, size),
                          interpolation=cv2.INTER_AREA)
        s = float(rng.uniform(*data.sim_ev_spacing))
        off = float(rng.uniform(-1.0, 1.0))
        k = data.sim_exposures
        evs = tuple(off + s * (i - (k - 1) / 2.0) for i in range(k))
        br = simulate_bracket(crop, evs=evs, camera=random_camera(rng),
                              seed=int(rng.integers(2**31)))
        pool.append(np.stack([_luma(im) for im in br.images]))
        logger.debug("simulated bracket %d/%d", i + 1, data.sim_pool)
    return pool


@dataclass
class TrainData:
    """Everything a run reads, loaded once: real Y stacks, the simulated pool, validation."""

    scenes: SceneList
    real: list[np.ndarray]
    sim: list[np.ndarray]
    val: dict[str, np.ndarray]


def prepare_data(cfg: DeepFuseTrainConfig, *, seed: int | None = None) -> TrainData:
    """Load the real training scenes, render the simulated pool and load validation scenes."""
    d = cfg.data
    root = Path(d.data_root) if d.data_root else default_data_root()
    scenes = list_mefb_scenes(root, d.val_scenes)
    real = [_read_y(p, d.train_max_side) for p in scenes.train.values()]
    real = [r for r in real if min(r.shape[1:]) >= d.patch]
    sim = render_sim_pool(d, root, cfg.loop.seed if seed is None else seed)
    val = {k: _read_y(p, d.val_max_side) for k, p in scenes.val.items()}
    return TrainData(scenes, real, sim, val)


def _crop(stack: np.ndarray, patch: int, rng: np.random.Generator, n: int) -> np.ndarray:
    """A random ``(n, patch, patch)`` crop of a Y stack (n of its exposures, extremes kept)."""
    k = stack.shape[0]
    if n == 2:
        idx = [0, k - 1] if k == 2 or rng.random() < 0.7 else sorted(
            rng.choice(k, 2, replace=False).tolist())
    else:
        idx = sorted(rng.choice(k, n, replace=False).tolist()) if k > n else list(range(k))
    _, h, w = stack.shape
    y0 = int(rng.integers(0, h - patch + 1))
    x0 = int(rng.integers(0, w - patch + 1))
    out = stack[idx, y0:y0 + patch, x0:x0 + patch]
    if rng.random() < 0.5:
        out = out[:, :, ::-1]
    if rng.random() < 0.5:
        out = out[:, ::-1, :]
    if rng.random() < 0.5:
        out = out.transpose(0, 2, 1)
    return np.ascontiguousarray(out)


def make_batch_fn(data: TrainData, cfg: DeepFuseTrainConfig):  # noqa: ANN201
    """``batch_fn(step, rng) -> (B, N, 1, P, P)`` float32 tensor for the training loop."""
    d = cfg.data
    n_choices = [n for n in d.n_inputs if n == 2 or data.sim]
    if not data.real and not data.sim:
        raise InputError("no training data: MEFB scenes and the simulated pool are both empty")
    bsz = cfg.loop.batch_size

    def batch_fn(step: int, rng: np.random.Generator) -> Tensor:
        n = int(n_choices[int(rng.integers(len(n_choices)))])
        items = []
        for _ in range(bsz):
            use_sim = n > 2 or not data.real or (data.sim and rng.random() < d.sim_fraction)
            pool = data.sim if use_sim else data.real
            stack = pool[int(rng.integers(len(pool)))]
            items.append(_crop(stack, d.patch, rng, n))
        return torch.from_numpy(np.stack(items))[:, :, None]

    return batch_fn


def deepfuse_loss(model: torch.nn.Module, batch: Tensor, *, range_weight: float = 0.0,
                  mean_weight: float = 0.0) -> Tensor:
    """``1 - MEF-SSIM`` of the fused Y against the sources' Y, plus optional brightness terms.

    With both weights 0 this is exactly the paper's loss, ``1 - MEF-SSIM`` (which equals
    ``1 - expokit.metrics.mef_ssim``, see ``tests/test_deepfuse.py``).

    Args:
        model: a :class:`~expokit.models.deepfuse.DeepFuse`.
        batch: ``(B, N, 1, H, W)`` source Y channels in [0, 1].
        range_weight: weight of ``mean(relu(y - 1)^2 + relu(-y)^2)`` (values clipped later).
        mean_weight: weight of ``mean_b (mean(fused_b) - mean(sources_b))^2`` per patch.

    Returns:
        Scalar loss tensor.
    """
    fused = model(batch)
    # float64: in float32 the loss's clamp of the structural consistency to 1 - eps rounds to
    # 1, tan(pi / 2) turns large and negative and the weights become NaN on flat/saturated
    # patches (seen at step 4 of a real run).
    loss = mef_ssim_loss(fused.double(), batch.double()).to(fused.dtype)
    if range_weight:
        loss = loss + range_weight * (torch.relu(fused - 1.0) ** 2 + torch.relu(-fused) ** 2).mean()
    if mean_weight:
        diff = fused.mean(dim=(1, 2, 3)) - batch.mean(dim=(1, 2, 3, 4))
        loss = loss + mean_weight * (diff * diff).mean()
    return loss


def validate(model: DeepFuse, val: Mapping[str, np.ndarray]) -> dict[str, float]:
    """``{"mef_ssim": mean MEF-SSIM of the clipped fused Y over the validation scenes}``."""
    from ..fusion.deepfuse import fuse_y
    from ..metrics import mef_ssim

    if not val:
        return {}
    scores = []
    for stack in val.values():
        fused = np.clip(fuse_y(list(stack), model, tile=512, overlap=16), 0.0, 1.0)
        scores.append(mef_ssim(fused, list(stack), data_range=1.0))
    return {"mef_ssim": float(np.mean(scores))}


def _model(cfg: DeepFuseTrainConfig) -> DeepFuse:
    model = DeepFuse(**config_to_dict(cfg.model))
    if cfg.init:
        state = DeepFuse.resolve(cfg.init, label="init").state_dict()
        own = model.state_dict()
        wrong = [k for k, v in state.items() if k not in own or own[k].shape != v.shape]
        missing = [k for k in own if k not in state and not k.startswith("score.")]
        if wrong or missing:
            raise InputError(f"init weights {cfg.init!r} do not fit the [model] section "
                             f"(wrong or unknown: {wrong}, missing: {missing}); give weights "
                             "of the same layer sizes")
        model.load_state_dict(state, strict=False)
    return model


def load_train_config(config: str | Path | Mapping[str, Any] | None,
                      overrides: Mapping[str, Any] | None = None) -> DeepFuseTrainConfig:
    """The resolved run config: file (or mapping, or defaults) plus dotted overrides."""
    return load_run_config("deepfuse", config, overrides)


#: ``train_deepfuse(config, out_dir, *, resume=True, overrides=None, progress=True)``: trains
#: DeepFuse into ``out_dir``; ``run_recipe("deepfuse", ...).train``.
train_deepfuse = train_function("deepfuse")


def data_record(scenes: SceneList, simulated: int, sources: Sequence[str], init: str = ""
                ) -> dict[str, Any]:
    """What a run on MEFB minus Ma 2015 plus simulated brackets trained on (``data.json``);
    DeepFuse's and the LUT fusion's recipes share it."""
    return {
        "summary": (f"MEFB inputs minus Ma 2015: {len(scenes.train)} scenes; "
                    f"{simulated} simulated brackets from {', '.join(sources)}"
                    + (f"; started from the weights {init!r}" if init else "")),
        "mefb_train_scenes": sorted(scenes.train),
        "mefb_val_scenes": sorted(scenes.val),
        "mefb_excluded_ma2015": dict(sorted(scenes.excluded.items())),
        "simulated_sources": list(sources),
        "simulated_pool": simulated,
    }


def export_with_record(run: FinishedRun, dest: Path, name: str) -> str:
    """Export a finished run's model as ``name`` with its data record, config and validation
    scores (the ``export`` hook of DeepFuse's and the LUT fusion's recipes)."""
    from ..models.zoo import export_weights

    data = {**run.record, "steps": run.step, "train_seconds": round(run.seconds, 1)}
    scores = {f"val_{k}": v for k, v in run.val.items()}
    return export_weights(run.model, dest, name=name, architecture=run.model.architecture,
                          config=config_to_dict(run.config), data=data, scores=scores)


def export_deepfuse(out_dir: str | Path, dest: str | Path) -> str:
    """Export a run's trained weights with their data record, config and validation scores.

    Args:
        out_dir: a run folder written by :func:`train_deepfuse`.
        dest: destination path without suffix (``.../deepfuse``) or ending in ``.safetensors``;
            ``dest.safetensors`` and ``dest.json`` are written.

    Returns:
        The SHA-256 of the weights file.

    Raises:
        MissingResourceError: the run folder has no checkpoint.
    """
    return export_run("deepfuse", out_dir, dest)


#: The DeepFuse training recipe (:data:`expokit.train.recipe.RECIPES` ``["deepfuse"]``).
RECIPE = Recipe(
    name="deepfuse",
    config_cls=DeepFuseTrainConfig,
    build_model=_model,
    prepare_data=prepare_data,
    data_record=lambda cfg, data: data_record(data.scenes, len(data.sim), cfg.data.sim_sources,
                                              cfg.init),
    make_batch_fn=lambda cfg, data: make_batch_fn(data, cfg),
    loss=lambda cfg, model, batch: deepfuse_loss(model, batch, range_weight=cfg.data.range_weight,
                                                 mean_weight=cfg.data.mean_weight),
    validate=lambda cfg, model, data: validate(model, data.val),
    export=lambda run, dest: export_with_record(run, dest, "deepfuse"),
)
