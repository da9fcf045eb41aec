"""Training AHDR, alone or with semantic knowledge transfer, on simulated dynamic brackets.

Data: every bracket is rendered by :func:`expokit.simulate.simulate_bracket` from a real CC0
radiance map (``<data_root>/hdr_cc0_more`` and ``<data_root>/hdr_cc0``): a random crop, a
random camera (:func:`~expokit.simulate.random_camera`: response, ISO noise, 8 bits, JPEG),
three exposures at ``data.evs`` (default -2, 0, +2 EV) around a random offset of up to
``data.ev_jitter`` stops, camera shake of up to ``data.shake_px`` pixels on the non-reference
frames and 0 to ``data.max_objects`` moving objects (with occlusion). The ground truth is the
reference (middle) frame's radiance, times the shortest exposure time and clipped to [0, 1]:
1 is the level at which the shortest frame saturates (Kalantari's convention of HDR in [0, 1]).
The network sees the frames with their exposure times relative to the shortest one.

Held out: :data:`TEST_SCENES` (the benchmark, ``benchmarks/quality_hdr.py``) and
:data:`VAL_SCENES` (validation during training) of ``hdr_cc0_more`` are never trained on; Ma
2015's Memorial scene is not used at all.

Loss (``transfer.enabled = false``): the ORM's own loss, L1 of the mu-law tonemapped output
against the mu-law ground truth. With transfer (the paper's Eq. 14 plus Eq. 13 for the
teacher)::

    L = L_org + lambda1 L_content + lambda2 L_color + L_feat + L_spg

``L_spg`` trains only the SPGRM (its input, the ORM's tonemapped output, is detached); the
teacher's output and features are detached in ``L_content``, ``L_color`` and ``L_feat``, so
they pull the ORM towards the teacher and never the teacher towards the ORM. Each term can be
switched off (``transfer.content``, ``transfer.color``, ``transfer.skam``) and the prior can be
``"none"`` (the paper's Table 3 ablations).

Validation score ``psnr_mu``: the ORM's PSNR-mu on :data:`VAL_SCENES` brackets.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from ..errors import InputError, MissingResourceError
from ..models.ahdr import AHDR, ahdr_inputs, mu_law_torch
from .config import config_class_from, config_to_dict, default_data_root
from .loop import LoopConfig
from .recipe import FinishedRun, Recipe, export_run, load_run_config, train_function

__all__ = [
    "RECIPE",
    "TEST_SCENES",
    "VAL_SCENES",
    "AHDRTrainConfig",
    "DataConfig",
    "DynamicBracket",
    "SKTModel",
    "TransferConfig",
    "export_ahdr",
    "load_train_config",
    "render_dynamic",
    "skt_loss",
    "train_ahdr",
]

logger = logging.getLogger(__name__)

#: ``hdr_cc0_more`` radiance maps of the benchmark: never trained or validated on.
TEST_SCENES = ("leadenhall_market", "st_peters_square_night", "chinese_garden",
               "studio_small_05", "forest_slope", "sepulchral_chapel_rotunda",
               "potsdamer_platz", "kiara_1_dawn")
#: ``hdr_cc0_more`` radiance maps of validation during training.
VAL_SCENES = ("lab", "riverwalk", "noon_grass")

#: AHDR's layer sizes (one field per keyword argument of :class:`AHDR`, the paper's defaults).
ModelConfig = config_class_from(AHDR.__init__, "ModelConfig", module=__name__)


@dataclass(frozen=True)
class DataConfig:
    """Simulated dynamic brackets.

    Attributes:
        data_root: folder holding ``hdr_cc0_more/`` and ``hdr_cc0/``; empty: ``$EXPOKIT_DATA``.
        max_side: radiance maps are downscaled to at most this many pixels first.
        brackets_per_scene: training brackets rendered (once, at the start) per radiance map.
        size: side of the square crop each bracket is rendered from.
        patch: side of the square training patches (a multiple of 16).
        evs: the three exposures in stops; the middle one is the reference.
        ev_jitter: the exposures are shifted by a random offset in +-this many stops.
        shake_px: maximum camera-shake translation of the non-reference frames.
        max_objects: moving objects per bracket, drawn from 0..max_objects.
        val_size: side of the validation brackets.
        scenes_root: optional real training scenes in the Kalantari 2017 or Tel et al. layout
            (:func:`expokit.datasets.load_hdr_scenes`, e.g. Kalantari's ``Training`` folder),
            added to the simulated pool; their ground truth ``HDRImg.hdr`` is taken to be in
            the units of the frame with time 1 (``2 ** 0``), as the authors' loaders use it.
        scenes_layout: ``"kalantari"`` or ``"tel"``.
        real_fraction: with ``scenes_root``, the share of training crops taken from it.
    """

    data_root: str = ""
    max_side: int = 512
    brackets_per_scene: int = 6
    size: int = 160
    patch: int = 64
    evs: tuple[float, float, float] = (-2.0, 0.0, 2.0)
    ev_jitter: float = 1.0
    shake_px: float = 4.0
    max_objects: int = 3
    val_size: int = 256
    scenes_root: str = ""
    scenes_layout: str = "kalantari"
    real_fraction: float = 0.5

    def __post_init__(self) -> None:
        if self.scenes_layout not in ("kalantari", "tel"):
            raise InputError(f"data.scenes_layout must be 'kalantari' or 'tel', got "
                             f"{self.scenes_layout!r}")
        if not 0.0 <= self.real_fraction <= 1.0:
            raise InputError(f"data.real_fraction must be in [0, 1], got {self.real_fraction}")
        if self.patch < 16 or self.patch % 16:
            raise InputError(f"data.patch must be a multiple of 16, got {self.patch}")
        if self.size < self.patch:
            raise InputError(f"data.size ({self.size}) must be >= data.patch ({self.patch})")
        if len(self.evs) != 3 or not self.evs[0] < self.evs[1] < self.evs[2]:
            raise InputError(f"data.evs must be three increasing exposures, got {self.evs}")
        if self.brackets_per_scene < 1:
            raise InputError("data.brackets_per_scene must be >= 1")


@dataclass(frozen=True)
class TransferConfig:
    """Semantic knowledge transfer (off: the ORM trains alone on its own loss).

    Attributes:
        enabled: train with the SPGRM teacher and the transfer losses.
        prior: ``"classical"`` (SLIC + fixed descriptor), ``"torchscript"`` (``prior_path``) or
            ``"none"`` (no prior features, one whole-image segment: the "without prior"
            ablation).
        prior_path: the TorchScript backbone for ``prior = "torchscript"``.
        segments: SLIC superpixels per patch of the classical prior.
        content: use L_content (Eq. 5).
        color: use L_color (Eq. 10).
        skam: use L_feat (SKAM, Eqs. 11-12).
        lambda1: weight of L_content (1e-3 in the paper).
        lambda2: weight of L_color (100 in the paper).
        perceptual_weight: lambda inside L_content (1e-2 in the paper).
        vgg_path: a local torchvision VGG19 state dict for the perceptual term; empty: the
            fixed multi-scale descriptor stands in (docs/hdr_learned.md).
        spgrm_channels: SPGRM width; 0: the ORM's ``features``.
        skam_latent: SKAM latent channels.
        mask_ratio: SKAM's probability of taking a latent element from the teacher.
        ramp: the transfer terms' weight rises linearly from 0 to 1 over this fraction of the
            run's steps (0: full weight from the start). The teacher starts as the identity and
            both nets start untrained: full-weight transfer from step 0 pulled the ORM towards
            a teacher no better than itself, and the histogram term's gradients swamped L_org
            under gradient clipping (docs/hdr_learned.md).
    """

    enabled: bool = False
    prior: str = "classical"
    prior_path: str = ""
    segments: int = 16
    content: bool = True
    color: bool = True
    skam: bool = True
    lambda1: float = 1e-3
    lambda2: float = 100.0
    perceptual_weight: float = 1e-2
    vgg_path: str = ""
    spgrm_channels: int = 0
    skam_latent: int = 16
    mask_ratio: float = 0.5
    ramp: float = 0.3

    def __post_init__(self) -> None:
        if not 0.0 <= self.ramp <= 1.0:
            raise InputError(f"transfer.ramp must be in [0, 1], got {self.ramp}")
        if self.prior not in ("classical", "torchscript", "none"):
            raise InputError(f"transfer.prior must be 'classical', 'torchscript' or 'none', got "
                             f"{self.prior!r}")
        if self.prior == "torchscript" and not self.prior_path:
            raise InputError("transfer.prior = 'torchscript' needs transfer.prior_path")


def _default_loop() -> LoopConfig:
    return LoopConfig(steps=3000, batch_size=4, lr=5e-4, weight_decay=0.0, scheduler="cosine",
                      warmup_steps=100, grad_clip=1.0, val_every=500, ckpt_every=250,
                      log_every=50, seed=0, device="cpu", threads=1)


@dataclass(frozen=True)
class AHDRTrainConfig:
    """A whole AHDR training run (``configs/ahdr.toml``, ``configs/ahdr_skt.toml``)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    transfer: TransferConfig = field(default_factory=TransferConfig)
    loop: LoopConfig = field(default_factory=_default_loop)


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DynamicBracket:
    """A simulated three-frame dynamic bracket in the network's units.

    Attributes:
        frames: uint8 ``(3, H, W, 3)``, shortest exposure first, the middle one the reference.
        times: exposure times in seconds (ascending).
        hdr: float32 ``(H, W, 3)`` ground truth in [0, 1]: reference radiance times
            ``times[0]``, clipped (1 = the shortest frame's saturation).
        radiance: float32 ground-truth radiance (unclipped), aligned to the reference.
    """

    frames: np.ndarray
    times: np.ndarray
    hdr: np.ndarray
    radiance: np.ndarray


def render_dynamic(radiance: np.ndarray, rng: np.random.Generator, *, size: int,
                   evs: tuple[float, ...] = (-2.0, 0.0, 2.0), ev_jitter: float = 1.0,
                   shake_px: float = 4.0, max_objects: int = 3, min_objects: int = 0
                   ) -> DynamicBracket:
    """Render one dynamic bracket of a random ``size`` crop of ``radiance`` (see the module):
    ``min_objects..max_objects`` moving objects, shake of up to ``shake_px`` pixels."""
    from ..simulate import random_camera, simulate_bracket

    h, w = radiance.shape[:2]
    scale = float(rng.uniform(1.0, 1.5))
    ch, cw = min(h, int(size * scale)), min(w, int(size * scale))
    y0 = int(rng.integers(0, h - ch + 1))
    x0 = int(rng.integers(0, w - cw + 1))
    crop = cv2.resize(np.ascontiguousarray(radiance[y0:y0 + ch, x0:x0 + cw]), (size, size),
                      interpolation=cv2.INTER_AREA)
    off = float(rng.uniform(-ev_jitter, ev_jitter)) if ev_jitter > 0 else 0.0
    br = simulate_bracket(crop, evs=tuple(e + off for e in evs), camera=random_camera(rng),
                          seed=int(rng.integers(2**31)),
                          shake_px=float(rng.uniform(0.0, shake_px)),
                          moving_objects=int(rng.integers(min_objects, max_objects + 1)),
                          reference_index=1)
    times = np.asarray(br.exposure_times, np.float64)
    hdr = np.clip(br.radiance * np.float32(times[0]), 0.0, 1.0).astype(np.float32)
    return DynamicBracket(np.stack(br.images), times, hdr, br.radiance)


def _radiance_paths(root: Path, names: tuple[str, ...] | None, *, exclude: tuple[str, ...] = ()
                    ) -> list[Path]:
    more = root / "hdr_cc0_more"
    if names is not None:
        paths = [more / f"{n}.exr" for n in names]
        absent = [p for p in paths if not p.is_file()]
        if absent:
            raise MissingResourceError(f"{absent[0]} is absent: the held-out HDR scenes are "
                                       f"read from {more}")
        return paths
    paths = sorted(p for p in more.glob("*.exr") if p.stem not in exclude)
    paths += sorted((root / "hdr_cc0").glob("*.exr"))
    if not paths:
        raise MissingResourceError(
            f"no radiance maps in {more} or {root / 'hdr_cc0'}: set data.data_root or "
            "$EXPOKIT_DATA to the folder holding hdr_cc0_more/ and hdr_cc0/")
    return paths


def held_out_brackets(root: str | Path, names: tuple[str, ...], *, size: int, seed: int,
                      per_scene: int = 1, **kwargs: Any) -> list[tuple[str, DynamicBracket]]:
    """Deterministic dynamic brackets of the named ``hdr_cc0_more`` scenes (validation, test)."""
    from ..simulate import load_radiance

    out = []
    for path in _radiance_paths(Path(root), names):
        rad = load_radiance(path, max_side=max(512, size))
        for k in range(per_scene):
            rng = np.random.default_rng([seed, k, *path.stem.encode()])
            out.append((path.stem, render_dynamic(rad, rng, size=size, **kwargs)))
    return out


@dataclass
class TrainData:
    """The rendered training pool, the validation brackets and where they came from."""

    sources: list[str]
    frames: np.ndarray  # (K, 3, S, S, 3) uint8
    times: np.ndarray  # (K, 3) relative to the shortest
    hdr: np.ndarray  # (K, S, S, 3) float32
    val: list[tuple[str, DynamicBracket]]
    real: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    """Real scenes: frames float32 ``(3, H, W, 3)`` in [0, 1], times relative to the shortest,
    ground truth ``(H, W, 3)`` in the shortest frame's units, clipped to [0, 1]."""


def load_real_scenes(folder: str | Path, layout: str) -> list[tuple[np.ndarray, np.ndarray,
                                                                    np.ndarray]]:
    """A Kalantari/Tel-layout folder as training triples (see :attr:`TrainData.real`)."""
    from ..datasets import load_hdr_scenes, read_hdr_scene

    out = []
    for scene in load_hdr_scenes(folder, layout=layout):  # type: ignore[arg-type]
        sample = read_hdr_scene(scene)
        if sample.frames.shape[0] != AHDR.FRAMES or sample.frames.shape[-1] != 3:
            raise InputError(f"scene {scene.folder}: AHDR trains on three RGB frames, got "
                             f"{sample.frames.shape[0]} of {sample.frames.shape[-1]} channels")
        t = sample.exposure_times
        gt = np.clip(sample.radiance * np.float32(t[0]), 0.0, 1.0).astype(np.float32)
        out.append((sample.frames, (t / t[0]).astype(np.float32), gt))
    return out


def prepare_data(cfg: AHDRTrainConfig) -> TrainData:
    """Render the training pool (deterministic from the seed) and the validation brackets."""
    from tqdm.auto import tqdm

    from ..simulate import load_radiance

    d = cfg.data
    root = Path(d.data_root) if d.data_root else default_data_root()
    paths = _radiance_paths(root, None, exclude=TEST_SCENES + VAL_SCENES)
    frames, times, hdrs, sources = [], [], [], []
    rng = np.random.default_rng([cfg.loop.seed, 4099])
    for path in tqdm(paths, desc="rendering brackets", leave=False):
        rad = load_radiance(path, max_side=d.max_side)
        for _ in range(d.brackets_per_scene):
            b = render_dynamic(rad, rng, size=d.size, evs=d.evs, ev_jitter=d.ev_jitter,
                               shake_px=d.shake_px, max_objects=d.max_objects)
            frames.append(b.frames)
            times.append(b.times / b.times[0])
            hdrs.append(b.hdr)
        sources.append(f"{path.parent.name}/{path.name}")
    val = held_out_brackets(root, VAL_SCENES, size=d.val_size, seed=12345, evs=d.evs,
                            ev_jitter=d.ev_jitter, shake_px=d.shake_px,
                            max_objects=d.max_objects)
    real = load_real_scenes(d.scenes_root, d.scenes_layout) if d.scenes_root else []
    if real:
        sources.append(f"{d.scenes_root} ({len(real)} {d.scenes_layout}-layout scenes)")
    return TrainData(sources, np.stack(frames), np.stack(times).astype(np.float32),
                     np.stack(hdrs), val, real)


def make_batch_fn(data: TrainData, cfg: AHDRTrainConfig):  # noqa: ANN201
    """``batch_fn(step, rng) -> (inputs (B, 3, 6, P, P), hdr (B, 3, P, P), ramp weight ())``."""
    p = cfg.data.patch
    bsz = cfg.loop.batch_size
    ramp_steps = cfg.transfer.ramp * cfg.loop.steps

    def batch_fn(step: int, rng: np.random.Generator) -> tuple[Tensor, Tensor, Tensor]:
        xs, ys = [], []
        for _ in range(bsz):
            # Only a config with real scenes draws this number: simulated-only runs keep the
            # random stream they were trained with.
            if data.real and rng.random() < cfg.data.real_fraction:
                frames_k, times_k, hdr_k = data.real[int(rng.integers(len(data.real)))]
                h, w = hdr_k.shape[:2]
                y0, x0 = int(rng.integers(0, h - p + 1)), int(rng.integers(0, w - p + 1))
                f = frames_k[:, y0:y0 + p, x0:x0 + p]
                g = hdr_k[y0:y0 + p, x0:x0 + p]
            else:
                k = int(rng.integers(len(data.frames)))
                s = data.frames.shape[2]
                y0, x0 = (int(v) for v in rng.integers(0, s - p + 1, size=2))
                f = data.frames[k, :, y0:y0 + p, x0:x0 + p].astype(np.float32) / 255.0
                g = data.hdr[k, y0:y0 + p, x0:x0 + p]
                times_k = data.times[k]
            if rng.random() < 0.5:
                f, g = f[:, :, ::-1], g[:, ::-1]
            if rng.random() < 0.5:
                f, g = f[:, ::-1], g[::-1]
            if rng.random() < 0.5:
                f, g = f.transpose(0, 2, 1, 3), g.transpose(1, 0, 2)
            frames = torch.from_numpy(np.ascontiguousarray(f)).permute(0, 3, 1, 2)
            xs.append(ahdr_inputs(frames[None], torch.from_numpy(times_k)[None])[0])
            ys.append(torch.from_numpy(np.ascontiguousarray(g)).permute(2, 0, 1))
        weight = min(1.0, (step + 1) / ramp_steps) if ramp_steps > 0 else 1.0
        return torch.stack(xs), torch.stack(ys), torch.tensor(weight, dtype=torch.float32)

    return batch_fn


# ---------------------------------------------------------------------------------------------
# Model and loss
# ---------------------------------------------------------------------------------------------
class SKTModel(nn.Module):
    """What is trained: the ORM, and with transfer the SPGRM teacher and SKAM."""

    def __init__(self, cfg: AHDRTrainConfig) -> None:
        super().__init__()
        from ..models.semantic import SKAM, SPGRM, ClassicalPrior

        self.orm = AHDR(**config_to_dict(cfg.model))
        t = cfg.transfer
        self.spgrm: nn.Module | None = None
        self.skam: nn.Module | None = None
        if t.enabled:
            width = t.spgrm_channels or cfg.model.features
            if t.prior == "classical":
                channels: tuple[int, ...] | None = ClassicalPrior.channels
            elif t.prior == "torchscript":
                prior = _prior(t)
                probe = torch.zeros(1, 3, 32, 32)
                channels = tuple(int(f.shape[1]) for f in prior(probe)[0])
            else:
                channels = None
            self.spgrm = SPGRM(channels, channels=width, modules=cfg.model.blocks)
            if t.skam:
                self.skam = SKAM([cfg.model.features] * cfg.model.blocks,
                                 [width] * cfg.model.blocks, latent=t.skam_latent,
                                 mask_ratio=t.mask_ratio)


_PRIORS: dict[tuple[str, str, int], Any] = {}


def _prior(t: TransferConfig) -> Any:
    from ..models.semantic import ClassicalPrior, TorchScriptPrior

    key = (t.prior, t.prior_path, t.segments)
    if key not in _PRIORS:
        _PRIORS[key] = (ClassicalPrior(t.segments) if t.prior == "classical"
                        else TorchScriptPrior(t.prior_path) if t.prior == "torchscript"
                        else None)
    return _PRIORS[key]


_VGG: dict[str, Any] = {}


def _vgg(path: str) -> Any:
    from ..models.semantic import VGG19Features

    if path and path not in _VGG:
        _VGG[path] = VGG19Features(path)
    return _VGG.get(path)


def skt_loss(cfg: AHDRTrainConfig, model: SKTModel,
             batch: tuple[Tensor, Tensor] | tuple[Tensor, Tensor, Tensor]) -> Tensor:
    """The run's loss (the module docstring): L_org alone, or Eq. 14 plus L_spg, the transfer
    terms times the batch's ramp weight (1 when the batch has none)."""
    from ..models.semantic import content_loss, semantic_color_loss

    x, gt = batch[0], batch[1]
    ramp = batch[2] if len(batch) > 2 else 1.0
    hdr, feats = model.orm.forward_features(x)
    hs = mu_law_torch(hdr)
    target = mu_law_torch(gt)
    loss = F.l1_loss(hs, target)
    t = cfg.transfer
    if model.spgrm is None:
        return loss
    prior = _prior(t)
    src = hs.detach()
    if prior is not None:
        pf, masks = prior(src)
    else:
        pf, masks = None, torch.ones_like(src[:, :1])
    refined, t_feats = model.spgrm(src, pf)
    loss = loss + F.l1_loss(refined, target)  # L_spg: trains the teacher only
    teacher = refined.detach()
    transfer = torch.zeros((), dtype=loss.dtype, device=loss.device)
    if t.content:
        vgg = _vgg(t.vgg_path)
        transfer = transfer + t.lambda1 * content_loss(
            hs, teacher, perceptual_weight=t.perceptual_weight,
            vgg=None if vgg is None else vgg.to(hs.device))
    if t.color:
        transfer = transfer + t.lambda2 * semantic_color_loss(hs, teacher, masks)
    if model.skam is not None:
        transfer = transfer + model.skam(feats, [f.detach() for f in t_feats])
    return loss + ramp * transfer


def validate(model: SKTModel, val: list[tuple[str, DynamicBracket]]) -> dict[str, float]:
    """``{"psnr_mu": mean PSNR-mu of the ORM on the validation brackets}``, merged by
    :func:`expokit.hdr.merge_ahdr` (the inference path) on the ORM's device and thread count."""
    from ..hdr.learned import merge_ahdr
    from ..metrics.hdr import psnr_mu

    device = str(next(model.orm.parameters()).device)
    scores = []
    for _, b in val:
        radiance = merge_ahdr(list(b.frames), b.times, model=model.orm, device=device,
                              threads=torch.get_num_threads())
        scores.append(psnr_mu(np.clip(radiance * np.float32(b.times[0]), 0.0, 1.0), b.hdr))
    return {"psnr_mu": float(np.mean(scores))}


def load_train_config(config: Any, overrides: Any = None) -> AHDRTrainConfig:
    """The resolved run config: file (or mapping, or defaults) plus dotted overrides."""
    return load_run_config("ahdr", config, overrides)


#: ``train_ahdr(config, out_dir, *, resume=True, overrides=None, progress=True)``.
train_ahdr = train_function("ahdr")


def _data_record(cfg: AHDRTrainConfig, data: TrainData) -> dict[str, Any]:
    t = cfg.transfer
    how = ("ORM trained alone (L_org)" if not t.enabled else
           f"ORM + semantic knowledge transfer (prior {t.prior}, content {t.content}, "
           f"color {t.color}, SKAM {t.skam})")
    return {
        "summary": (f"{len(data.frames)} simulated dynamic brackets "
                    f"({'/'.join(f'{e:+g}' for e in cfg.data.evs)} EV, camera shake, moving "
                    f"objects) from {len(data.sources)} CC0 radiance maps "
                    f"(hdr_cc0_more minus {len(TEST_SCENES)} test and {len(VAL_SCENES)} "
                    f"validation scenes, plus hdr_cc0); {how}"),
        "radiance_maps": data.sources,
        "test_scenes_held_out": [f"hdr_cc0_more/{s}.exr" for s in TEST_SCENES],
        "val_scenes": [f"hdr_cc0_more/{s}.exr" for s in VAL_SCENES],
        "brackets": len(data.frames),
    }


def _export(run: FinishedRun, dest: Path) -> str:
    from ..models.zoo import export_weights

    orm = run.model.orm
    name = "ahdr_skt" if run.config.transfer.enabled else "ahdr"
    data = {**run.record, "steps": run.step, "train_seconds": round(run.seconds, 1)}
    scores = {f"val_{k}": v for k, v in run.val.items()}
    return export_weights(orm, dest, name=name, architecture=orm.architecture,
                          config=config_to_dict(run.config), data=data, scores=scores)


def export_ahdr(out_dir: str | Path, dest: str | Path) -> str:
    """Export a run's ORM (only the ORM runs at inference) with its record; returns SHA-256."""
    return export_run("ahdr", out_dir, dest)


#: The AHDR training recipe (:data:`expokit.train.recipe.RECIPES` ``["ahdr"]``).
RECIPE = Recipe(
    name="ahdr",
    config_cls=AHDRTrainConfig,
    build_model=SKTModel,
    prepare_data=prepare_data,
    data_record=_data_record,
    make_batch_fn=lambda cfg, data: make_batch_fn(data, cfg),
    loss=skt_loss,
    validate=lambda cfg, model, data: validate(model, data.val),
    export=_export,
)
