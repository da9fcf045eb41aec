"""Training UEC (Cui, Niu & Hu, ECCV 2024) without labels, on simulated multi-exposure sequences.

Every training sample is a **sequence**: a random square crop of a scene's linear radiance,
resized to the encoder's 256 pixels and photographed by a random simulated camera
(:func:`expokit.simulate.random_camera`) at -3, -2, ..., +3 EV from its automatic
exposure (:func:`expokit.simulate.simulate_exposures`). The shots of a sequence are each
other's ground truth (paper, section 3.3):

* **restoration** (weight 1): input shot ``i`` corrected toward the exposure feature of shot
  ``j != i`` of the *same* sequence must equal shot ``j`` (mean squared error);
* **monotonicity** (weight 1): the input corrected toward two shots ``j1 < j2`` of a
  *different* sequence (the next sample of the batch) must be pixel-wise brighter for the
  brighter reference: ``mean(relu(out(ref_j1) - out(ref_j2)))`` (a hinge on the difference).
  As in the authors' code this uses one corrector pass;
* **total variation** (weight 0.1, 0 in the authors' later code): mean squared difference of
  horizontally and vertically adjacent output pixels.

Data: the CC0 HDR panoramas of ``hdr_cc0`` (real radiance; one held out for validation) and
MEFB input photos linearised with the inverse sRGB curve, minus every scene of Ma et al. 2015
(by name, by decoded-pixel SHA-256 and by thumbnail against all Ma source images), because
Ma 2015 is the held-out benchmark (``benchmarks/quality_correction.py``). The Memorial
radiance map is **not** used: it shows the scene of Ma's ``Memorial_Debevec97`` sequence.

After training, :func:`export_uec` stores the default reference feature (mean exposure feature
of EV 0 shots of training scenes) and the per-EV table in the model's buffers and writes the
weights with their data record.

    expokit train uec --config configs/uec.toml --out runs/uec
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor

from .._checks import to_float32
from ..errors import InputError, MissingResourceError
from ..models.uec import ENCODER_HEIGHT, EV_STOPS, UEC, thumbnail
from ..simulate import (
    Camera,
    auto_exposure_time,
    load_radiance,
    random_camera,
    simulate_exposures,
)
from .config import default_data_root, dump_config
from .heldout import list_mefb_scenes
from .loop import LoopConfig
from .recipe import FinishedRun, Recipe, export_run, train_function

#: MEFB scenes that are Ma 2015 sequences (folder names, compared case-insensitively).
MA2015_IN_MEFB = ("Balloons", "BelgiumHouse", "Candle", "Cave", "ChineseGarden", "Farmhouse",
                  "House", "Kluki", "Lamp", "Landscape", "Lighthouse", "MadisonCapitol",
                  "Memorial", "Office", "Tower", "Venice")
_IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}


@dataclass(frozen=True)
class UECDataConfig:
    """Where the training sequences come from.

    Attributes:
        data_root: folder with ``hdr_cc0/``, ``mefb/``, ``ma2015/``; "" = ``$EXPOKIT_DATA``.
        hdr_scenes: ``hdr_cc0`` panoramas to train on.
        val_scene: the ``hdr_cc0`` panorama held out for validation.
        use_mefb: also train on MEFB photos (minus Ma 2015), linearised.
        hdr_fraction: share of sequences drawn from the HDR panoramas (the rest from MEFB).
        patch: side of the square crops (the encoder sees 256-high copies: keep 256).
        min_crop: smallest crop side as a fraction of the source's shorter side.
        evs: exposure offsets of a sequence, in stops.
        mefb_max_side: MEFB photos are downscaled to this longer side when loaded.
        window: side of the random window the last pass and the monotonicity term are
            evaluated on (0 = the whole crop); see :func:`uec_losses`.
        base_ev_jitter: the sequence's EV 0 is the automatic exposure times
            ``2**u``, ``u`` uniform in ``[-base_ev_jitter, base_ev_jitter]``, so that inputs
            and references also come darker and brighter than -3..+3 EV from a good exposure
            (real brackets, Ma 2015's included, reach -9 and +8 EV from their middle shot).
        val_sequences: validation sequences (fixed crops and cameras).
        val_pairs: (input, reference) pairs per validation sequence.
        stats_sequences: training sequences averaged for the default / per-EV features.
    """

    data_root: str = ""
    hdr_scenes: tuple[str, ...] = ("city", "courtyard", "forest", "interior", "night", "studio",
                                   "sunrise")
    val_scene: str = "sunset"
    use_mefb: bool = True
    hdr_fraction: float = 0.5
    patch: int = 256
    min_crop: float = 0.3
    evs: tuple[float, ...] = EV_STOPS
    mefb_max_side: int = 512
    window: int = 96
    base_ev_jitter: float = 0.0
    val_sequences: int = 6
    val_pairs: int = 8
    stats_sequences: int = 96


@dataclass(frozen=True)
class UECLossConfig:
    """Weights of the paper's three losses (section 3.3)."""

    restoration: float = 1.0
    monotonic: float = 1.0
    tv: float = 0.1


@dataclass(frozen=True)
class UECTrainConfig:
    """A UEC training run: data, loss weights and loop settings."""

    data: UECDataConfig = field(default_factory=UECDataConfig)
    loss: UECLossConfig = field(default_factory=UECLossConfig)
    loop: LoopConfig = field(default_factory=lambda: LoopConfig(
        steps=600, batch_size=4, lr=2e-3, scheduler="cosine", warmup_steps=30, grad_clip=1.0,
        val_every=100, ckpt_every=50, log_every=10, seed=0, device="cpu", threads=1))


# --- data ------------------------------------------------------------------------------------
def data_root(config: UECDataConfig) -> Path:
    """``config.data_root``, else ``$EXPOKIT_DATA`` (MissingResourceError when neither is set)."""
    return Path(config.data_root) if config.data_root else default_data_root()


def mefb_training_files(root: Path) -> tuple[list[Path], dict[str, Any]]:
    """MEFB input files safe to train on when Ma 2015 is held out, and a record of the checks.

    The scenes :func:`expokit.train.heldout.list_mefb_scenes` keeps (the MEFB scenes named
    like Ma 2015 sequences, :data:`MA2015_IN_MEFB`, and any scene with a file whose pixels or
    thumbnail copy a Ma 2015 source image are dropped), every file of them, in path order.

    Raises:
        MissingResourceError: MEFB or Ma 2015 absent under ``root``.
    """
    scenes = list_mefb_scenes(root)
    keep = sorted(p for files in scenes.train.values() for p in files)
    by_name, by_hash, by_thumb = [], [], []
    for scene, why in scenes.excluded.items():
        if why.startswith("name matches"):
            by_name.append(scene)
        else:
            file = why.split(":", 1)[0]
            (by_hash if "identical pixels" in why else by_thumb).append(f"{scene}/{file}")
    record = {"mefb_files": len(keep), "excluded_by_name": by_name,
              "excluded_by_pixel_hash": by_hash, "excluded_by_thumbnail": by_thumb,
              "ma2015_images_checked": scenes.ma2015_images}
    return keep, record


@dataclass
class _Sources:
    hdr: list[np.ndarray]
    mefb: list[np.ndarray]
    record: dict[str, Any]


def load_sources(config: UECDataConfig) -> _Sources:
    """Load the training radiance: HDR panoramas and linearised MEFB photos."""
    root = data_root(config)
    hdr_dir = root / "hdr_cc0"
    if config.val_scene in config.hdr_scenes:
        raise InputError(f"data.val_scene {config.val_scene!r} is also in data.hdr_scenes: "
                         "the validation panorama must be held out")
    hdr = []
    for name in config.hdr_scenes:
        p = hdr_dir / f"{name}.exr"
        if not p.is_file():
            raise MissingResourceError(f"{p} is absent (set EXPOKIT_DATA or data.data_root)")
        hdr.append(load_radiance(p))
    mefb: list[np.ndarray] = []
    record: dict[str, Any] = {"hdr_cc0": list(config.hdr_scenes),
                              "memorial": "excluded (same scene as Ma 2015 Memorial_Debevec97)"}
    if config.use_mefb:
        files, checks = mefb_training_files(root)
        mefb = [load_radiance(f, max_side=config.mefb_max_side) for f in files]
        record.update(checks)
    return _Sources(hdr, mefb, record)


def _crop(rad: np.ndarray, patch: int, min_crop: float, rng: np.random.Generator) -> np.ndarray:
    h, w = rad.shape[:2]
    side_max = min(h, w)
    side = int(rng.uniform(min_crop, 1.0) * side_max)
    side = max(min(side, side_max), min(16, side_max))
    y = int(rng.integers(0, h - side + 1))
    x = int(rng.integers(0, w - side + 1))
    crop = rad[y:y + side, x:x + side]
    crop = cv2.resize(crop, (patch, patch), interpolation=cv2.INTER_AREA if side > patch
                      else cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return np.ascontiguousarray(crop)


def sample_sequence(sources: _Sources, config: UECDataConfig, rng: np.random.Generator,
                    camera: Camera | None = None, jitter: bool = True) -> np.ndarray:
    """One simulated sequence: float32 ``(len(evs), 3, patch, patch)`` in [0, 1], darkest first.

    ``jitter=False`` keeps EV 0 at the automatic exposure (for the reference-feature table).
    """
    use_hdr = not sources.mefb or rng.random() < config.hdr_fraction
    pool = sources.hdr if use_hdr else sources.mefb
    rad = pool[int(rng.integers(len(pool)))]
    crop = _crop(rad, config.patch, config.min_crop, rng)
    cam = camera if camera is not None else random_camera(rng)
    base = None
    if jitter and config.base_ev_jitter > 0:
        u = float(rng.uniform(-config.base_ev_jitter, config.base_ev_jitter))
        base = auto_exposure_time(crop) * 2.0**u
    shots = simulate_exposures(crop, config.evs, camera=cam, seed=int(rng.integers(2**31)),
                               base_time=base)
    stack = np.stack([to_float32(im) for im in shots.images])
    return np.ascontiguousarray(stack.transpose(0, 3, 1, 2))


def make_batch(sources: _Sources, config: UECDataConfig, batch_size: int,
               rng: np.random.Generator) -> dict[str, Tensor]:
    """A batch: input, same-sequence reference (= target), two references of another sequence.

    Returns:
        ``{"x", "ref", "mono_dark", "mono_bright"}``, each ``(B, 3, P, P)``, and ``"win"``:
        ``(y0, x0, size)`` of the window the per-pixel losses use (see :func:`uec_losses`).
    """
    seqs = [sample_sequence(sources, config, rng) for _ in range(batch_size)]
    n = len(config.evs)
    xs, refs, darks, brights = [], [], [], []
    for b, seq in enumerate(seqs):
        i, j = rng.choice(n, size=2, replace=False)
        j1, j2 = sorted(rng.choice(n, size=2, replace=False))
        other = seqs[(b + 1) % batch_size] if batch_size > 1 else seq
        xs.append(seq[i])
        refs.append(seq[j])
        darks.append(other[j1])
        brights.append(other[j2])
    batch = {k: torch.from_numpy(np.stack(v)) for k, v in
             (("x", xs), ("ref", refs), ("mono_dark", darks), ("mono_bright", brights))}
    size = min(config.window, config.patch) if config.window > 0 else 0
    y0 = int(rng.integers(0, config.patch - size + 1)) if size else 0
    x0 = int(rng.integers(0, config.patch - size + 1)) if size else 0
    batch["win"] = torch.tensor([y0, x0, size])
    return batch


# --- losses ----------------------------------------------------------------------------------
def tv_loss(img: Tensor) -> Tensor:
    """Mean squared difference of horizontally and vertically adjacent pixels."""
    dh = img[..., :, 1:] - img[..., :, :-1]
    dv = img[..., 1:, :] - img[..., :-1, :]
    return dh.pow(2).mean() + dv.pow(2).mean()


def uec_losses(model: UEC, batch: dict[str, Tensor], weights: UECLossConfig
               ) -> dict[str, Tensor]:
    """The three losses of one batch and their weighted sum under ``"total"``.

    The passes run as in :meth:`UEC.forward` on the 256-high inputs: each pass predicts its
    ``lambda`` from the whole current image. The corrector being per pixel, the last pass and
    the two monotonicity outputs are evaluated on the window ``batch["win"]`` only (``(y0,
    x0, size)``, a random window per step; size 0 = the whole image): the window's mean
    squared error, hinge and total variation are unbiased estimates of the whole image's, at
    a fraction of the cost.
    """
    x, ref = batch["x"], batch["ref"]
    y0, x0, size = (int(v) for v in batch["win"])
    if size <= 0:
        y0, x0, size = 0, 0, max(x.shape[-2:])

    def win(t: Tensor) -> Tensor:
        return t[..., y0:y0 + size, x0:x0 + size]

    small = thumbnail(x)
    if small is not x:
        raise InputError(f"training inputs must be {ENCODER_HEIGHT} pixels high (data.patch), "
                         f"got {tuple(x.shape[-2:])}")
    f_ref = model.encoder(thumbnail(ref))
    f_in = model.encoder(small)
    cur, feat = small, f_in
    for i in range(model.passes):
        k = model.predictor(feat, f_ref)
        if i + 1 < model.passes:
            cur = model.corrector(cur, k)
            feat = model.encoder(cur)
    out = model.corrector(win(cur), k)
    target = win(ref)
    losses = {"restoration": F.mse_loss(out, target)}
    if weights.monotonic > 0:
        f_dark = model.encoder(thumbnail(batch["mono_dark"]))
        f_bright = model.encoder(thumbnail(batch["mono_bright"]))
        xw = win(x)
        o_dark = model.corrector(xw, model.predictor(f_in, f_dark))
        o_bright = model.corrector(xw, model.predictor(f_in, f_bright))
        losses["monotonic"] = F.relu(o_dark - o_bright).mean()
    if weights.tv > 0:
        losses["tv"] = tv_loss(out)
    total = weights.restoration * losses["restoration"]
    if "monotonic" in losses:
        total = total + weights.monotonic * losses["monotonic"]
    if "tv" in losses:
        total = total + weights.tv * losses["tv"]
    losses["total"] = total
    return losses


# --- validation ------------------------------------------------------------------------------
def _psnr(a: Tensor, b: Tensor) -> Tensor:
    mse = (a - b).pow(2).flatten(1).mean(1).clamp_min(1e-12)
    return 10.0 * torch.log10(1.0 / mse)


def validation_set(config: UECDataConfig, seed: int = 1234) -> dict[str, Tensor]:
    """Fixed sequences from the held-out panorama and fixed (input, reference) pairs."""
    root = data_root(config)
    p = root / "hdr_cc0" / f"{config.val_scene}.exr"
    if not p.is_file():
        raise MissingResourceError(f"{p} is absent (set EXPOKIT_DATA or data.data_root)")
    sources = _Sources([load_radiance(p)], [], {})
    rng = np.random.default_rng(seed)
    xs, refs = [], []
    n = len(config.evs)
    for _ in range(config.val_sequences):
        seq = sample_sequence(sources, config, rng, jitter=False)
        for _ in range(config.val_pairs):
            i, j = rng.choice(n, size=2, replace=False)
            xs.append(seq[i])
            refs.append(seq[j])
    return {"x": torch.from_numpy(np.stack(xs)), "ref": torch.from_numpy(np.stack(refs))}


def validate(model: UEC, val: dict[str, Tensor], chunk: int = 8) -> dict[str, float]:
    """Mean PSNR (dB) of the corrected input against the reference shot, and of the input."""
    got, base = [], []
    with torch.no_grad():
        for s in range(0, val["x"].shape[0], chunk):
            x, ref = val["x"][s:s + chunk], val["ref"][s:s + chunk]
            got.append(_psnr(model(x, model.encode(ref)), ref))
            base.append(_psnr(x, ref))
    return {"val_psnr": float(torch.cat(got).mean()),
            "val_psnr_input": float(torch.cat(base).mean())}


# --- training --------------------------------------------------------------------------------
@dataclass
class UECData:
    """What a UEC run reads, loaded once: training sources and the fixed validation set."""

    sources: _Sources
    val: dict[str, Tensor]


def prepare_data(cfg: UECTrainConfig) -> UECData:
    """Load the training radiance (:func:`load_sources`) and the validation set."""
    if cfg.data.patch < 32:
        raise InputError(f"data.patch must be >= 32, got {cfg.data.patch}")
    return UECData(load_sources(cfg.data), validation_set(cfg.data))


def make_batch_fn(cfg: UECTrainConfig, data: UECData):  # noqa: ANN201
    """``batch_fn(step, rng)`` drawing :func:`make_batch` batches of ``cfg.loop.batch_size``."""

    def batch_fn(step: int, rng: np.random.Generator) -> dict[str, Tensor]:
        return make_batch(data.sources, cfg.data, cfg.loop.batch_size, rng)

    return batch_fn


#: ``train_uec(config, out_dir, *, resume=True, overrides=None, progress=True)``: trains
#: UEC into ``out_dir``; ``run_recipe("uec", ...).train``.
train_uec = train_function("uec")


# --- reference features and export -----------------------------------------------------------
def reference_features(model: UEC, config: UECDataConfig, seed: int = 4321) -> Tensor:
    """Mean exposure feature of training shots at each EV of ``EV_STOPS``: ``(7, 96)``.

    ``config.stats_sequences`` sequences from the training sources, each with an sRGB camera
    without noise (the default ``Camera()``), so the table describes a clean, well-behaved
    rendering of each exposure.
    """
    stops = tuple(float(s) for s in EV_STOPS)
    stats_cfg = UECDataConfig(**{**asdict(config), "evs": stops})
    sources = load_sources(stats_cfg)
    rng = np.random.default_rng(seed)
    total = torch.zeros(len(stops), model.default_feature.shape[0], dtype=torch.float64)
    with torch.no_grad():
        for _ in range(config.stats_sequences):
            seq = torch.from_numpy(sample_sequence(sources, stats_cfg, rng, camera=Camera(),
                                                   jitter=False))
            total += model.encode(seq).double()
    return (total / config.stats_sequences).float()


def _export(run: FinishedRun, dest: Path) -> str:
    from ..models.zoo import export_weights

    cfg: UECTrainConfig = run.config
    model: UEC = run.model  # type: ignore[assignment]
    feats = reference_features(model, cfg.data)
    model.ev_features.copy_(feats)
    zero = EV_STOPS.index(0.0)
    model.default_feature.copy_(feats[zero])
    scores = validate(model, validation_set(cfg.data))
    record = run.record
    data = {
        "summary": (f"simulated -3..+3 EV sequences (random cameras) from hdr_cc0 "
                    f"{', '.join(cfg.data.hdr_scenes)}"
                    + (f" and {record.get('mefb_files', '?')} linearised MEFB photos minus "
                       "every Ma 2015 scene" if cfg.data.use_mefb else "")
                    + f"; validation: hdr_cc0 {cfg.data.val_scene}; Memorial radiance excluded "
                    "(Ma 2015 Memorial_Debevec97 is held out)"),
        **record,
        "default_feature": "mean exposure feature of EV 0 shots (auto exposure, key 0.18, "
                           f"sRGB camera) of {cfg.data.stats_sequences} training crops",
        "ev_features": f"same, at EV {list(EV_STOPS)}",
        "steps": run.step,
        "train_seconds": run.seconds,
    }
    return export_weights(model, dest, name=dest.name, architecture={"passes": model.passes},
                          config=cfg, data=data, scores=scores)


def export_uec(out_dir: str | os.PathLike[str], dest: str | os.PathLike[str]) -> str:
    """Export a trained run: weights + default/per-EV reference features + data record.

    Reads ``out_dir/checkpoint.pt`` (weights and run config), computes the reference
    features (:func:`reference_features`) into the model's buffers, scores the held-out
    validation set, and writes ``dest.safetensors`` and ``dest.json``.

    Returns:
        SHA-256 of the ``.safetensors`` file.

    Raises:
        MissingResourceError: no checkpoint in ``out_dir``.
    """
    return export_run("uec", out_dir, dest)


def write_default_config(path: str | os.PathLike[str]) -> None:
    """Write the default :class:`UECTrainConfig` as TOML (a starting point)."""
    dump_config(UECTrainConfig(), path)


#: The UEC training recipe (:data:`expokit.train.recipe.RECIPES` ``["uec"]``).
RECIPE = Recipe(
    name="uec",
    config_cls=UECTrainConfig,
    build_model=lambda cfg: UEC(),
    prepare_data=prepare_data,
    data_record=lambda cfg, data: data.sources.record,
    make_batch_fn=make_batch_fn,
    loss=lambda cfg, model, batch: uec_losses(model, batch, cfg.loss)["total"],
    validate=lambda cfg, model, data: validate(model, data.val),
    export=_export,
)
