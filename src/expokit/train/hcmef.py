"""Training HC-MEF: EEG-guided teacher, image-only student, and how the two are coupled.

**Data** (``data.sice_root`` empty): every sample is a ``data.size`` square crop of a real CC0
radiance map (``<data_root>/hdr_cc0_more`` minus the held-out scenes, and ``hdr_cc0``), shot by
a random camera (:func:`expokit.simulate.random_camera`) at one exposure in
``data.under_ev`` and one in ``data.over_ev`` stops around the crop's auto exposure (the most
under- and the most over-exposed shot), with the reference
``expokit.tonemap.tonemap(crop, method="mantiuk")`` (default parameters; the same call as the
benchmark). With ``data.sice_root`` the samples are SICE scenes instead (darkest and brightest
shot, the ``Label`` image as reference; the last ``data.sice_val`` scenes validate).

**EEG**: with ``eeg.manifest`` empty, each of ``eeg.subjects`` simulated subjects (numbers 1 to
N; :func:`expokit.eeg.simulate_session`, SYNTHETIC) watches every sample's under, over and
normal (reference) image in blocks, and the recordings are read back through
:func:`expokit.eeg.load_epochs` (the reader real data uses). A batch takes each sample's three
epochs from one random training subject. ``eeg.manifest``: real recordings (a manifest whose
``scene`` column names the samples: SICE folder names).

Held out: :data:`~expokit.train.ahdr.TEST_SCENES` (the benchmark,
``benchmarks/quality_hcmef.py``) and :data:`~expokit.train.ahdr.VAL_SCENES` (validation) of
``hdr_cc0_more``, and simulated subjects :data:`TEST_SUBJECTS` (benchmark) and
:data:`VAL_SUBJECT` (validation), never trained on.

**Variants** (``distill.variant``), the paper's table:

* ``imageonly``: the student alone, ``L1(S, y)``.
* ``teacher``: the teacher alone ("EEG fusion without distillation"), ``L1(T, y)``.
* ``twostage``: a trained teacher (``distill.teacher``, frozen) distils into the student:
  ``L1(S, y) + beta * D(S, sg(T))``.
* ``joint``: both at every step, ``L1(T, y) + L1(S, y) + beta * D(S, sg(T))``.
* ``bilevel``: alternating gradient descent, teacher on even steps, student on odd ones.
  Upper level (student): ``L1(S, y) + beta * D(S, sg(T))``. Lower level (teacher):
  ``L1(T, y) + gamma * A(T; S)``, where the absorbability term ``A`` is ``D``'s feature and
  token parts measured from the teacher towards the current student (``sg(S)``): it depends
  on the student's parameters, so the teacher is pulled towards representations the student
  can reach. With ``distill.unrolled`` the teacher's step instead adds
  ``gamma * L1(S', y)``, where ``S'`` is the student after one virtual SGD step of size
  ``distill.inner_lr`` on ``D(S, T)``: the one-step unrolled hypergradient (``torch.func``),
  which differentiates through the student's response to the teacher.

``D(S, T) = L1(S_out, T_out) + feature_weight * mean_l ||S_l - T_l||^2 / ||T_l||^2
+ token_weight * mean ||v_S - v_T||^2`` over the five blocks' features and the three token sets.
The budget is counted in updates per network: ``loop.steps`` updates of each network that
trains (bilevel takes ``2 * steps`` loop steps, alternating; two-stage's teacher had its own
``steps`` in the ``teacher`` run).
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from ..errors import InputError, MissingResourceError
from ..models.hcmef import HCMEFStudent, HCMEFTeacher
from .config import config_to_dict, default_data_root
from .loop import LoopConfig
from .recipe import FinishedRun, Recipe, export_run, load_run_config, train_function

__all__ = [
    "RECIPE",
    "TEST_SUBJECTS",
    "VAL_SUBJECT",
    "VARIANTS",
    "DataConfig",
    "DistillConfig",
    "EEGConfig",
    "HCMEFTrainConfig",
    "ModelConfig",
    "PairData",
    "distill_loss",
    "export_hcmef",
    "hcmef_loss",
    "load_train_config",
    "render_pair",
    "train_hcmef",
]

logger = logging.getLogger(__name__)

VARIANTS = ("imageonly", "teacher", "twostage", "joint", "bilevel")
#: Simulated subjects of the benchmark and of validation: never trained on.
TEST_SUBJECTS = (9, 10)
VAL_SUBJECT = 11
#: Shipped weights name of each variant's exported network.
EXPORT_NAMES = {"imageonly": "hcmef_imageonly", "teacher": "hcmef_teacher",
                "twostage": "hcmef_twostage", "joint": "hcmef_joint", "bilevel": "hcmef"}


@dataclass(frozen=True)
class ModelConfig:
    """Sizes shared by teacher and student (:mod:`expokit.models.hcmef`)."""

    width: int = 16
    dim: int = 32
    tokens: int = 4
    heads: int = 2
    mixing: str = "attention"
    prior_size: int = 64
    eeg_width: int = 32
    eeg_layers: int = 1


@dataclass(frozen=True)
class DataConfig:
    """Training pairs.

    Attributes:
        data_root: folder holding ``hdr_cc0_more/`` and ``hdr_cc0/``; empty: ``$EXPOKIT_DATA``.
        max_side: radiance maps are downscaled to at most this many pixels first.
        crops_per_scene: samples rendered (once, at the start) per radiance map.
        size: side of a sample (the image a subject watches; the student's prior sees it whole).
        patch: side of the training patches (a multiple of 4, at most ``size``).
        under_ev: range of the under-exposed shot's exposure, stops from auto exposure.
        over_ev: range of the over-exposed shot's exposure.
        val_size: side of the validation samples.
        sice_root: train on SICE scenes (:func:`expokit.datasets.load_sice_scenes`) instead.
        sice_max_side: SICE images are resized (area) to this square side: samples share one
            size so that they batch; SICE's 4:3 and 3:2 frames are squeezed a little.
        sice_val: the last this many SICE scenes validate instead of training.
    """

    data_root: str = ""
    max_side: int = 512
    crops_per_scene: int = 8
    size: int = 128
    patch: int = 64
    under_ev: tuple[float, float] = (-3.0, -2.0)
    over_ev: tuple[float, float] = (2.0, 3.0)
    val_size: int = 256
    sice_root: str = ""
    sice_max_side: int = 256
    sice_val: int = 10

    def __post_init__(self) -> None:
        if self.patch < 8 or self.patch % 4:
            raise InputError(f"data.patch must be a multiple of 4 and >= 8, got {self.patch}")
        if self.size < self.patch:
            raise InputError(f"data.size ({self.size}) must be >= data.patch ({self.patch})")
        for name in ("under_ev", "over_ev"):
            lo, hi = getattr(self, name)
            if not lo <= hi:
                raise InputError(f"data.{name} must be (low, high), got {(lo, hi)}")
        if not self.under_ev[1] < self.over_ev[0]:
            raise InputError("data.under_ev must lie below data.over_ev")
        if self.crops_per_scene < 1:
            raise InputError("data.crops_per_scene must be >= 1")


@dataclass(frozen=True)
class EEGConfig:
    """Where the teacher's EEG comes from.

    Attributes:
        manifest: real recordings: a manifest (docs/eeg.md) whose ``scene`` column names the
            training samples; empty: simulate.
        subjects: simulated training subjects (numbers 1..N; :data:`TEST_SUBJECTS` and
            :data:`VAL_SUBJECT` are others).
        sfreq: the simulated recordings' rate in Hz (epochs are resampled to 250 Hz anyway).
        seed: the simulation's seed.
    """

    manifest: str = ""
    subjects: int = 8
    sfreq: float = 250.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.subjects < min(TEST_SUBJECTS):
            raise InputError(f"eeg.subjects must be 1..{min(TEST_SUBJECTS) - 1} (subjects "
                             f"{TEST_SUBJECTS} and {VAL_SUBJECT} are held out), got "
                             f"{self.subjects}")


@dataclass(frozen=True)
class DistillConfig:
    """Which variant trains, and the distillation's weights (docs/hcmef.md says why).

    Attributes:
        variant: one of :data:`VARIANTS`.
        beta: weight of the distillation term ``D`` in the student's loss.
        feature_weight: weight of the feature part of ``D``.
        token_weight: weight of the token part of ``D``.
        gamma: weight of the teacher's absorbability term (bilevel).
        teacher: two-stage: the trained teacher's exported weights (``.safetensors``).
        unrolled: bilevel: the one-step unrolled hypergradient instead of ``A``.
        inner_lr: the unrolled virtual student step's size.
    """

    variant: str = "bilevel"
    beta: float = 0.5
    feature_weight: float = 1.0
    token_weight: float = 1.0
    gamma: float = 0.1
    teacher: str = ""
    unrolled: bool = False
    inner_lr: float = 1e-2

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise InputError(f"distill.variant must be one of {', '.join(VARIANTS)}, got "
                             f"{self.variant!r}")
        if self.variant == "twostage" and not self.teacher:
            raise InputError("distill.variant = 'twostage' needs distill.teacher: the exported "
                             "weights of a 'teacher' run (expokit train hcmef --export)")
        if self.unrolled and self.variant != "bilevel":
            raise InputError("distill.unrolled applies to the bilevel variant only")


def _default_loop() -> LoopConfig:
    return LoopConfig(steps=8000, batch_size=8, lr=2e-4, weight_decay=1e-4, scheduler="cosine",
                      warmup_steps=200, grad_clip=1.0, val_every=500, ckpt_every=250,
                      log_every=50, seed=0, device="cpu", threads=1)


@dataclass(frozen=True)
class HCMEFTrainConfig:
    """A whole HC-MEF training run (``configs/hcmef.toml``)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    eeg: EEGConfig = field(default_factory=EEGConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    loop: LoopConfig = field(default_factory=_default_loop)


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------
def render_pair(radiance: np.ndarray, rng: np.random.Generator, *, size: int,
                under_ev: tuple[float, float] = (-3.0, -2.0),
                over_ev: tuple[float, float] = (2.0, 3.0)
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One sample of a random ``size`` crop of ``radiance``: ``(under, over)`` uint8 shots by a
    random camera and the reference ``tonemap(crop, method="mantiuk")`` float32 in [0, 1]."""
    import cv2

    from ..simulate import random_camera, simulate_bracket
    from ..tonemap import tonemap

    h, w = radiance.shape[:2]
    scale = float(rng.uniform(1.0, 1.5))
    ch, cw = min(h, int(size * scale)), min(w, int(size * scale))
    y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    crop = cv2.resize(np.ascontiguousarray(radiance[y0:y0 + ch, x0:x0 + cw]), (size, size),
                      interpolation=cv2.INTER_AREA)
    evs = (float(rng.uniform(*under_ev)), float(rng.uniform(*over_ev)))
    br = simulate_bracket(crop, evs=evs, camera=random_camera(rng),
                          seed=int(rng.integers(2**31)))
    ref = tonemap(crop, method="mantiuk")
    return br.images[0], br.images[1], np.asarray(ref, np.float32)


@dataclass
class PairData:
    """Samples (all one size in a batch pool) with their EEG epochs.

    Attributes:
        names: one per sample (the ``scene`` of its EEG rows).
        under, over: uint8 ``(K, S, S, 3)``.
        ref: float32 ``(K, S, S, 3)`` in [0, 1].
        eeg: float16 ``(n_subjects, K, 3, channels, times)``: each subject's epochs of the
            sample's under, over and normal image (z-scored per channel, so float16 holds them).
        subjects: the subjects' labels.
        sources: what the samples came from (the record).
    """

    names: list[str]
    under: np.ndarray
    over: np.ndarray
    ref: np.ndarray
    eeg: np.ndarray
    subjects: list[str]
    sources: list[str]


@dataclass
class TrainData:
    """The training pool and the validation samples, each with its EEG."""

    train: PairData
    val: PairData


def simulated_eeg(names: list[str], under: np.ndarray, over: np.ndarray, ref: np.ndarray,
                  subjects: list[int], *, sfreq: float = 250.0, seed: int = 0,
                  progress: bool = True) -> np.ndarray:
    """SYNTHETIC EEG of ``subjects`` watching each sample's under, over and normal image.

    Every subject sees the blocks under, over, normal (Cog-Expo's design); each recording is
    written as FIF in a temporary folder and read back by :func:`expokit.eeg.load_epochs`.

    Returns:
        float16 ``(len(subjects), K, 3, channels, times)``.
    """
    from tqdm.auto import tqdm

    from ..eeg import EpochConfig, load_epochs, simulate_session

    ref8 = (np.clip(ref, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    images = ([(n, "under", u) for n, u in zip(names, under, strict=True)]
              + [(n, "over", o) for n, o in zip(names, over, strict=True)]
              + [(n, "normal", r) for n, r in zip(names, ref8, strict=True)])
    out = []
    with tempfile.TemporaryDirectory(prefix="expokit-eeg-") as tmp:
        for subject in tqdm(subjects, desc="simulating EEG", leave=False, disable=not progress):
            manifest = simulate_session(images, subject, tmp, sfreq=sfreq, seed=seed)
            epochs = load_epochs(manifest, EpochConfig())
            out.append(_arrange(epochs, names, manifest))
            for path in Path(tmp).iterdir():
                path.unlink()
    return np.stack(out)


def _arrange(epochs: Any, names: list[str], source: Any) -> np.ndarray:
    """``(K, 3, C, T)`` float16 of one subject's epochs in sample order (under, over, normal)."""
    index = {(r.scene, r.exposure): i for i, r in enumerate(epochs.rows)}
    order = []
    for n in names:
        for e in ("under", "over", "normal"):
            if (n, e) not in index:
                raise InputError(f"{source}: no {e!r} epoch of scene {n!r} for subject "
                                 f"{epochs.rows[0].subject}: every training scene needs its "
                                 "under, over and normal epoch")
            order.append(index[(n, e)])
    data = epochs.data[order].astype(np.float16)
    return data.reshape(len(names), 3, *data.shape[1:])


def real_eeg(manifest: str | Path, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """Real recordings' epochs for the samples ``names``, per subject of the manifest."""
    from ..eeg import EpochConfig, load_epochs

    epochs = load_epochs(manifest, EpochConfig())
    subjects = sorted({r.subject for r in epochs.rows})
    out = []
    for s in subjects:
        keep = [i for i, r in enumerate(epochs.rows) if r.subject == s]
        sub = replace(epochs, data=epochs.data[keep], rows=[epochs.rows[i] for i in keep])
        out.append(_arrange(sub, names, manifest))
    return np.stack(out), subjects


def _radiance_samples(paths: list[Path], rng: np.random.Generator, per_scene: int, size: int,
                      d: DataConfig, max_side: int
                      ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    from tqdm.auto import tqdm

    from ..simulate import load_radiance

    names, us, os_, refs = [], [], [], []
    for path in tqdm(paths, desc="rendering pairs", leave=False):
        rad = load_radiance(path, max_side=max_side)
        for k in range(per_scene):
            u, o, r = render_pair(rad, rng, size=size, under_ev=d.under_ev, over_ev=d.over_ev)
            names.append(f"{path.stem}#{k}")
            us.append(u)
            os_.append(o)
            refs.append(r)
    return names, np.stack(us), np.stack(os_), np.stack(refs)


def heldout_pairs(root: str | Path, scenes: tuple[str, ...], *, size: int, per_scene: int,
                  seed: int, d: DataConfig | None = None
                  ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Deterministic samples of the named ``hdr_cc0_more`` scenes (validation, benchmark)."""
    from .ahdr import _radiance_paths

    d = d or DataConfig()
    rng = np.random.default_rng([seed, 7919])
    return _radiance_samples(_radiance_paths(Path(root), scenes), rng, per_scene, size, d,
                             max(512, size))


def _sice_samples(d: DataConfig) -> tuple[PairData, PairData]:
    import cv2

    from ..datasets import load_sice_scenes, read_sice_scene
    from ..datasets import sice_extreme_pair as extreme_pair

    scenes = load_sice_scenes(d.sice_root)
    if len(scenes) <= d.sice_val:
        raise InputError(f"{d.sice_root}: {len(scenes)} SICE scene(s), but data.sice_val = "
                         f"{d.sice_val} of them validate: give more scenes or lower sice_val")
    side = d.sice_max_side

    def load(chunk: list[Any]) -> PairData:
        names, us, os_, refs = [], [], [], []
        for scene in chunk:
            sample = read_sice_scene(scene, resize="label")
            u, o = extreme_pair(sample)
            if u.shape[2] != 3:
                raise InputError(f"SICE scene {scene.folder}: HC-MEF trains on RGB shots, this "
                                 f"scene's are grey: remove it from {d.sice_root}")
            # one square size so samples batch; SICE's aspect ratios differ little (4:3, 3:2)
            u, o, r = (cv2.resize(np.ascontiguousarray(a), (side, side),
                                  interpolation=cv2.INTER_AREA) for a in (u, o, sample.label))
            names.append(scene.name)
            us.append(u)
            os_.append(o)
            refs.append(r.astype(np.float32) / 255.0)
        return PairData(names, np.stack(us), np.stack(os_), np.stack(refs),
                        np.zeros((0,), np.float16), [], [f"SICE {d.sice_root}"])

    return load(scenes[: -d.sice_val]), load(scenes[-d.sice_val:])


def prepare_data(cfg: HCMEFTrainConfig) -> TrainData:
    """Render (or read) the samples and their EEG; deterministic from the seeds."""
    from .ahdr import TEST_SCENES, VAL_SCENES, _radiance_paths

    d = cfg.data
    train_subjects = list(range(1, cfg.eeg.subjects + 1))
    if d.sice_root:
        train, val = _sice_samples(d)
    else:
        root = Path(d.data_root) if d.data_root else default_data_root()
        paths = _radiance_paths(root, None, exclude=TEST_SCENES + VAL_SCENES)
        rng = np.random.default_rng([cfg.loop.seed, 6007])
        names, u, o, r = _radiance_samples(paths, rng, d.crops_per_scene, d.size, d,
                                           d.max_side)
        train = PairData(names, u, o, r, np.zeros((0,), np.float16), [],
                         [f"{p.parent.name}/{p.name}" for p in paths])
        vn, vu, vo, vr = heldout_pairs(root, VAL_SCENES, size=d.val_size, per_scene=2,
                                       seed=12345, d=d)
        val = PairData(vn, vu, vo, vr, np.zeros((0,), np.float16), [], list(VAL_SCENES))
    if cfg.distill.variant == "imageonly":
        return TrainData(train, val)  # no teacher, no EEG
    if cfg.eeg.manifest:
        train.eeg, train.subjects = real_eeg(cfg.eeg.manifest, train.names)
        val.eeg, val.subjects = real_eeg(cfg.eeg.manifest, val.names)
    else:
        train.eeg = simulated_eeg(train.names, train.under, train.over, train.ref,
                                  train_subjects, sfreq=cfg.eeg.sfreq, seed=cfg.eeg.seed)
        train.subjects = [f"sub-{s:02d} (simulated)" for s in train_subjects]
        val.eeg = simulated_eeg(val.names, val.under, val.over, val.ref, [VAL_SUBJECT],
                                sfreq=cfg.eeg.sfreq, seed=cfg.eeg.seed)
        val.subjects = [f"sub-{VAL_SUBJECT:02d} (simulated)"]
    return TrainData(train, val)


def _to_tensor(images: np.ndarray) -> Tensor:
    x = torch.from_numpy(np.ascontiguousarray(images))
    if x.dtype == torch.uint8:
        x = x.float() / 255.0
    return x.permute(0, 3, 1, 2).float()


def make_batch_fn(data: TrainData, cfg: HCMEFTrainConfig):  # noqa: ANN201
    """``batch_fn(step, rng) -> dict`` of patches, the whole samples' prior input, the epochs
    (when the variant has a teacher) and ``phase`` (bilevel: 0 teacher step, 1 student)."""
    from ..models.hcmef import prior_inputs

    tr = data.train
    p, s = cfg.data.patch, tr.under.shape[1]
    bsz = cfg.loop.batch_size
    size = cfg.model.prior_size
    has_eeg = tr.eeg.size > 0

    def batch_fn(step: int, rng: np.random.Generator) -> dict[str, Tensor]:
        ks = rng.integers(len(tr.names), size=bsz)
        ys = rng.integers(0, s - p + 1, size=bsz)
        xs = rng.integers(0, s - p + 1, size=bsz)
        flips = rng.random(bsz) < 0.5  # vertical only: left/right hemifields reach the EEG
        subj = rng.integers(max(1, len(tr.subjects)), size=bsz)
        u = _to_tensor(tr.under[ks])
        o = _to_tensor(tr.over[ks])
        r = _to_tensor(tr.ref[ks])
        flip = torch.from_numpy(flips)[:, None, None, None]
        u, o, r = (torch.where(flip, t.flip(2), t) for t in (u, o, r))
        prior = prior_inputs(u, o, size)

        def crop(t: Tensor) -> Tensor:
            return torch.stack([t[i, :, ys[i]:ys[i] + p, xs[i]:xs[i] + p] for i in range(bsz)])

        batch = {"under": crop(u), "over": crop(o), "ref": crop(r), "prior": prior,
                 "phase": torch.tensor(step % 2)}
        if has_eeg:
            e = torch.from_numpy(tr.eeg[subj, ks].astype(np.float32))  # (B, 3, C, T)
            batch.update(eeg_under=e[:, 0], eeg_over=e[:, 1], eeg_normal=e[:, 2])
        return batch

    return batch_fn


# ---------------------------------------------------------------------------------------------
# Model and loss
# ---------------------------------------------------------------------------------------------
class HCMEFModel(nn.Module):
    """What a run holds: the student (absent for ``teacher``) and the teacher (absent for
    ``imageonly``; loaded and frozen for ``twostage``)."""

    def __init__(self, cfg: HCMEFTrainConfig) -> None:
        super().__init__()
        m, v = cfg.model, cfg.distill.variant
        self.student: HCMEFStudent | None = None
        self.teacher: HCMEFTeacher | None = None
        if v != "teacher":
            self.student = HCMEFStudent(m.width, m.dim, m.tokens, m.heads, m.mixing,
                                        m.prior_size)
        if v == "twostage":
            self.teacher = _frozen_teacher(cfg.distill.teacher)
        elif v != "imageonly":
            self.teacher = HCMEFTeacher(64, m.width, m.dim, m.tokens, m.heads, m.mixing,
                                        m.eeg_width, m.eeg_layers)


def _frozen_teacher(path: str) -> HCMEFTeacher:
    if not Path(path).is_file():
        raise MissingResourceError(f"distill.teacher {path} does not exist: train and export a "
                                   "'teacher' run first (see configs/hcmef.toml)")
    teacher = HCMEFTeacher.from_pretrained(path=path)
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


def _student_out(model: HCMEFModel, batch: dict[str, Tensor]
                 ) -> tuple[Tensor, list[Tensor], tuple[Tensor, Tensor, Tensor]]:
    assert model.student is not None
    tokens = model.student.prior(batch["prior"])
    out, feats = model.student.fuse_with(batch["under"], batch["over"], tokens)
    return out, feats, tokens


def _teacher_out(model: HCMEFModel, batch: dict[str, Tensor]
                 ) -> tuple[Tensor, list[Tensor], tuple[Tensor, Tensor, Tensor]]:
    assert model.teacher is not None
    tokens = model.teacher.tokens(batch["eeg_under"], batch["eeg_over"], batch["eeg_normal"])
    out, feats = model.teacher.fuse_with(batch["under"], batch["over"], tokens)
    return out, feats, tokens


def _feature_gap(a: list[Tensor], b: list[Tensor]) -> Tensor:
    """Mean over levels of ``||a_l - b_l||^2 / ||b_l||^2`` (scale-free per level)."""
    return torch.stack([F.mse_loss(x, y) / (y.detach().pow(2).mean() + 1e-6)
                        for x, y in zip(a, b, strict=True)]).mean()


def _token_gap(a: tuple[Tensor, ...], b: tuple[Tensor, ...]) -> Tensor:
    return torch.stack([F.mse_loss(x, y) for x, y in zip(a, b, strict=True)]).mean()


def distill_loss(cfg: HCMEFTrainConfig, student: tuple[Tensor, list[Tensor], tuple[Tensor, ...]],
                 teacher: tuple[Tensor, list[Tensor], tuple[Tensor, ...]]) -> Tensor:
    """``D(S, T)`` (the module docstring); the caller decides what is detached."""
    d = cfg.distill
    return (F.l1_loss(student[0], teacher[0])
            + d.feature_weight * _feature_gap(student[1], teacher[1])
            + d.token_weight * _token_gap(student[2], teacher[2]))


def _detach(out: tuple[Tensor, list[Tensor], tuple[Tensor, ...]]
            ) -> tuple[Tensor, list[Tensor], tuple[Tensor, ...]]:
    return out[0].detach(), [f.detach() for f in out[1]], tuple(t.detach() for t in out[2])


def hcmef_loss(cfg: HCMEFTrainConfig, model: HCMEFModel, batch: dict[str, Tensor]) -> Tensor:
    """The variant's loss for this step (the module docstring)."""
    d = cfg.distill
    y = batch["ref"]
    if d.variant == "imageonly":
        return F.l1_loss(_student_out(model, batch)[0], y)
    if d.variant == "teacher":
        return F.l1_loss(_teacher_out(model, batch)[0], y)
    if d.variant == "twostage":
        with torch.no_grad():
            t = _teacher_out(model, batch)
        s = _student_out(model, batch)
        return F.l1_loss(s[0], y) + d.beta * distill_loss(cfg, s, t)
    if d.variant == "joint":
        t = _teacher_out(model, batch)
        s = _student_out(model, batch)
        return (F.l1_loss(t[0], y) + F.l1_loss(s[0], y)
                + d.beta * distill_loss(cfg, s, _detach(t)))
    # bilevel: alternating gradient descent
    if int(batch["phase"]) == 1:  # upper level: the student approaches the teacher
        with torch.no_grad():
            t = _teacher_out(model, batch)
        s = _student_out(model, batch)
        return F.l1_loss(s[0], y) + d.beta * distill_loss(cfg, s, t)
    t = _teacher_out(model, batch)  # lower level: the teacher, given the student
    if d.unrolled:
        return F.l1_loss(t[0], y) + d.gamma * _unrolled_term(cfg, model, batch, t)
    with torch.no_grad():
        s = _student_out(model, batch)
    absorb = d.feature_weight * _feature_gap(t[1], s[1]) + d.token_weight * _token_gap(t[2], s[2])
    return F.l1_loss(t[0], y) + d.gamma * absorb


def _unrolled_term(cfg: HCMEFTrainConfig, model: HCMEFModel, batch: dict[str, Tensor],
                   t: tuple[Tensor, list[Tensor], tuple[Tensor, ...]]) -> Tensor:
    """``L1(S', y)`` with ``S'`` the student after one virtual SGD step on ``D(S, T)``;
    differentiable in the teacher's parameters (second order through the inner gradient), not
    in the student's (they are used as constants: the student's own step is the upper level).
    """
    from torch.func import functional_call

    student = model.student
    assert student is not None
    names = [n for n, _ in student.named_parameters()]
    params = [p.detach().requires_grad_(True) for _, p in student.named_parameters()]

    def run(ps: list[Tensor]) -> tuple[Tensor, list[Tensor], tuple[Tensor, ...]]:
        mapping = dict(zip(names, ps, strict=True))
        prior = functional_call(student.prior, {k[len("prior."):]: v for k, v in
                                                mapping.items() if k.startswith("prior.")},
                                (batch["prior"],))
        v_under, v_over, v_target = prior
        out, feats = functional_call(
            student.net, {k[len("net."):]: v for k, v in mapping.items() if k.startswith("net.")},
            (batch["under"], batch["over"], torch.cat([v_under, v_over], dim=1), v_target))
        return out, feats, prior

    inner = distill_loss(cfg, run(params), t)
    grads = torch.autograd.grad(inner, params, create_graph=True)
    stepped = [p - cfg.distill.inner_lr * g for p, g in zip(params, grads, strict=True)]
    return F.l1_loss(run(stepped)[0], batch["ref"])


def validate(cfg: HCMEFTrainConfig, model: HCMEFModel, data: TrainData) -> dict[str, float]:
    """PSNR (dB) against the reference on the validation samples: the student's (``psnr``,
    image only) and, where the run trains a teacher, the teacher's (``teacher_psnr``, with the
    validation subject's EEG)."""
    from ..metrics import psnr

    v = data.val
    acc: dict[str, list[float]] = {}
    device = next(model.parameters()).device
    with torch.no_grad():
        for i in range(len(v.names)):
            u = _to_tensor(v.under[i:i + 1]).to(device)
            o = _to_tensor(v.over[i:i + 1]).to(device)
            outs = {}
            if model.student is not None:
                outs["psnr"] = model.student(u, o)
            if model.teacher is not None and v.eeg.size and cfg.distill.variant != "twostage":
                e = torch.from_numpy(v.eeg[0, i:i + 1].astype(np.float32)).to(device)
                key = "teacher_psnr" if model.student is not None else "psnr"
                outs[key] = model.teacher(u, o, e[:, 0], e[:, 1], e[:, 2])
            for k, img in outs.items():
                arr = img[0].permute(1, 2, 0).cpu().numpy()
                acc.setdefault(k, []).append(psnr(arr, v.ref[i], data_range=1.0))
    return {k: float(np.mean(s)) for k, s in acc.items()}


def load_train_config(config: Any, overrides: Any = None) -> HCMEFTrainConfig:
    """The resolved run config: file (or mapping, or defaults) plus dotted overrides."""
    return load_run_config("hcmef", config, overrides)


#: ``train_hcmef(config, out_dir, *, resume=True, overrides=None, progress=True)``.
train_hcmef = train_function("hcmef")


def _data_record(cfg: HCMEFTrainConfig, data: TrainData) -> dict[str, Any]:
    from .ahdr import TEST_SCENES, VAL_SCENES

    tr = data.train
    eeg = ("no EEG (image only)" if cfg.distill.variant == "imageonly" else
           f"real EEG from {cfg.eeg.manifest}" if cfg.eeg.manifest else
           f"SYNTHETIC EEG of {len(tr.subjects)} simulated subjects (expokit.eeg.simulate)")
    source = (f"SICE scenes from {cfg.data.sice_root}" if cfg.data.sice_root else
              f"{len(tr.sources)} CC0 radiance maps (hdr_cc0_more minus {len(TEST_SCENES)} "
              f"test and {len(VAL_SCENES)} validation scenes, plus hdr_cc0), reference "
              "tonemap(radiance, method='mantiuk')")
    return {
        "summary": (f"{len(tr.names)} under/over pairs ({cfg.data.size} px) from {source}; "
                    f"{eeg}; variant {cfg.distill.variant}"),
        "sources": tr.sources,
        "subjects": tr.subjects,
        "test_scenes_held_out": [f"hdr_cc0_more/{s}.exr" for s in TEST_SCENES],
        "val_scenes": [f"hdr_cc0_more/{s}.exr" for s in VAL_SCENES],
        "test_subjects_held_out": list(TEST_SUBJECTS),
        "samples": len(tr.names),
    }


def _export(run: FinishedRun, dest: Path) -> str:
    from ..models.zoo import export_weights

    cfg: HCMEFTrainConfig = run.config
    v = cfg.distill.variant
    net = run.model.teacher if v == "teacher" else run.model.student
    name = EXPORT_NAMES[v]
    if v == "bilevel" and cfg.model.mixing == "concat":
        name = "hcmef_concat"
    data = {**run.record, "steps": run.step, "train_seconds": round(run.seconds, 1)}
    scores = {f"val_{k}": val for k, val in run.val.items()}
    return export_weights(net, dest, name=name, architecture=net.architecture,
                          config=config_to_dict(cfg), data=data, scores=scores)


def export_hcmef(out_dir: str | Path, dest: str | Path) -> str:
    """Export a run's student (the teacher for the ``teacher`` variant) with its record."""
    return export_run("hcmef", out_dir, dest)


#: The HC-MEF training recipe (:data:`expokit.train.recipe.RECIPES` ``["hcmef"]``).
RECIPE = Recipe(
    name="hcmef",
    config_cls=HCMEFTrainConfig,
    build_model=HCMEFModel,
    prepare_data=prepare_data,
    data_record=_data_record,
    make_batch_fn=lambda cfg, data: make_batch_fn(data, cfg),
    loss=hcmef_loss,
    validate=validate,
    export=_export,
)
