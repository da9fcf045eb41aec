"""HC-MEF (issue 12): the paper's ablation table on held-out simulated pairs, MEFB pairs never
trained on, and the student's CPU time on a 12-megapixel pair.

    python benchmarks/quality_hcmef.py [--data DIR] [--weights DIR] [--size 256]
                                       [--per-scene 3] [--threads N] [--csv per_sample.csv]
                                       [--mefb-limit N] [--no-mefb] [--no-timing] [--repeat 2]

**1. Held-out simulated pairs** (the paper's ablation table). Samples:
``expokit.train.hcmef.heldout_pairs`` of the 8 radiance maps of
``expokit.train.ahdr.TEST_SCENES`` (``hdr_cc0_more``; no HC-MEF weights were trained or
validated on them), ``--per-scene`` ``--size`` square crops each, rendered with the fixed seed
:data:`SEED` (validation uses 12345): a random camera shoots one under-exposed (-3..-2 EV) and
one over-exposed (+2..+3 EV) uint8 shot, and the reference is
``tonemap(crop, method="mantiuk")``, the training target. EEG: ``simulated_eeg`` of the
held-out simulated subjects ``TEST_SUBJECTS`` (9 and 10; SYNTHETIC, MNE needed) watching each
sample's under, over and reference image. Rows:

* ``image-only`` (``hcmef_imageonly``), ``two-stage`` (``hcmef_twostage``), ``joint``
  (``hcmef_joint``), ``bi-level`` (``hcmef``), ``concatenation (bi-level)``
  (``hcmef_concat``): the students, ``expokit.fusion.fuse_hcmef([under, over], model=...)``;
* ``EEG fusion w/o distillation`` (``hcmef_teacher``): ``HCMEFTeacher.forward`` on the whole
  pair with each test subject's three epochs; its score is the mean over the two subjects;
* context: ``Mertens`` (``fuse_mertens([under, over])``) and ``DeepFuse``
  (``fuse_deepfuse([under, over])``, shipped weights).

Metrics (``expokit.metrics``, float outputs against the float reference, ``data_range=1``):
PSNR, SSIM and MS-SSIM (5 scales: it needs both sides >= 161 px, so it is left out, and said
so, for ``--size`` below 161). Printed: the mean per metric, then each student's per-sample
PSNR minus image-only's (mean +- standard error, samples it wins), and whether the paper's
ordering bi-level > joint > two-stage > image-only holds on mean PSNR, each inequality with
its numbers.

**2. MEFB** (``<data>/mefb/input``, 100 real under/over pairs, the first ``--mefb-limit`` by
name; ``--no-mefb`` skips it): the darkest and the brightest shot
(``expokit.metrics.score.extreme_pair``, mean luma; every MEFB scene but ArchSequence has
exactly two, and ArchSequence's third file is ``ev.txt``) are fused by Mertens, DeepFuse and
each HC-MEF student, rounded to 8 bits as a file would store
them, and scored with ``mef_ssim`` (Ma et al. 2015, single scale, against the two shots),
``qabf`` (MEFB's Q^AB/F, the two shots) and ``brisque`` (the fused image alone, lower is
better). HC-MEF never saw MEFB. DeepFuse's shipped weights were trained on most MEFB input
pairs (``expokit.train.deepfuse``: MEFB minus Ma 2015), so its MEFB row is not held out; the
script counts how many of the scored scenes its record lists. Methods are ranked on the
images that every method scored in a metric; images left out are named.

**3. CPU time** (``--no-timing`` skips it): the bi-level student (``hcmef``) through
``fuse_hcmef`` and ``fuse_mertens`` on one synthetic 4000x3000 pair (a smooth random radiance
map over 4 decades, shot at -2 and +2 EV with a 2.2 gamma, uint8), ``--threads`` threads
(default: all CPUs), median of ``--repeat`` runs with no warm-up (so the first run's one-time
set-up counts; ``--repeat 1`` is a single run), and the ratio.

``--weights DIR``: read every HC-MEF network from ``DIR/<name>.safetensors`` (with its
``.json`` sidecar) instead of the shipped weights; a row whose weights cannot be loaded is
named and left out. ``--csv FILE``: one row per (part, sample, method) with every metric.
Exit status 2 when a metric scored no image of a method that ran.
"""

from __future__ import annotations

import argparse
import ast
import csv
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import data_root  # noqa: E402

#: (row label, weights name) of the HC-MEF rows, in the table's order.
HCMEF_ROWS = (("image-only", "hcmef_imageonly"),
              ("EEG fusion w/o distillation", "hcmef_teacher"),
              ("two-stage", "hcmef_twostage"),
              ("joint", "hcmef_joint"),
              ("bi-level", "hcmef"),
              ("concatenation (bi-level)", "hcmef_concat"))
TEACHER = "EEG fusion w/o distillation"
BASELINE = "image-only"
CONTEXT = ("Mertens", "DeepFuse")
#: The paper's ordering on PSNR, best first.
PAPER_ORDER = ("bi-level", "joint", "two-stage", "image-only")
#: Seed of the held-out samples (validation's is 12345).
SEED = 2026
SIM_METRICS = {"psnr": "PSNR (dB)", "ssim": "SSIM", "ms_ssim": "MS-SSIM"}
MEFB_METRICS = {"mef_ssim": "MEF-SSIM", "qabf": "Qabf", "brisque": "BRISQUE"}
HIGHER_IS_BETTER = {"psnr": True, "ssim": True, "ms_ssim": True, "mef_ssim": True,
                    "qabf": True, "brisque": False}
MS_SSIM_MIN = 161  # five scales, the coarsest at least 11x11 (expokit.metrics.ms_ssim)

Scores = dict[str, dict[str, dict[str, float]]]  # method -> sample -> metric -> value


# ---------------------------------------------------------------------------------------------
# Pure helpers (tests/test_quality_hcmef.py)
# ---------------------------------------------------------------------------------------------
def paired_difference(values: Sequence[float], base: Sequence[float]
                      ) -> tuple[float, float, int, int]:
    """Per-sample ``values - base`` over the samples both scored (not NaN).

    Returns:
        ``(mean, standard error, samples where values > base, samples compared)``; the
        standard error is ``std(ddof=1) / sqrt(n)`` (NaN below 2 samples), the mean NaN for none.
    """
    d = np.array([v - b for v, b in zip(values, base, strict=True)
                  if not (math.isnan(v) or math.isnan(b))], dtype=np.float64)
    if d.size == 0:
        return math.nan, math.nan, 0, 0
    se = float(d.std(ddof=1) / math.sqrt(d.size)) if d.size > 1 else math.nan
    return float(d.mean()), se, int((d > 0).sum()), int(d.size)


def check_ordering(means: Mapping[str, float], order: Sequence[str], *, unit: str = "dB"
                   ) -> tuple[list[str], bool | None]:
    """Whether ``means[order[0]] > means[order[1]] > ...`` (strictly).

    Returns:
        One line per adjacent inequality (``"bi-level 25.10 > joint 24.90 dB: yes"``) and
        True / False, or None when a row is absent or NaN (then it cannot be checked).
    """
    lines: list[str] = []
    verdicts: list[bool | None] = []
    for a, b in zip(order[:-1], order[1:], strict=True):
        va, vb = means.get(a, math.nan), means.get(b, math.nan)
        if math.isnan(va) or math.isnan(vb):
            gone = [n for n, v in ((a, va), (b, vb)) if math.isnan(v)]
            lines.append(f"{a} > {b}: cannot check ({', '.join(gone)} not scored)")
            verdicts.append(None)
            continue
        ok = bool(va > vb)
        lines.append(f"{a} {va:.2f} > {b} {vb:.2f} {unit} ({va - vb:+.2f}): "
                     f"{'yes' if ok else 'NO'}")
        verdicts.append(ok)
    if False in verdicts:
        return lines, False
    return lines, None if None in verdicts else True


def common_samples(scores: Scores, metric: str, samples: Sequence[str]
                   ) -> tuple[list[str], dict[str, list[str]]]:
    """The samples every method scored in ``metric``, and for the others the methods that
    did not (a value that is NaN or absent)."""
    kept, missing = [], {}
    for s in samples:
        lacking = [m for m, per in scores.items()
                   if math.isnan(per.get(s, {}).get(metric, math.nan))]
        if lacking:
            missing[s] = lacking
        else:
            kept.append(s)
    return kept, missing


def rank(means: Mapping[str, float], *, higher_is_better: bool) -> dict[str, int]:
    """Rank 1 = best; equal means share the better rank (``1, 1, 3``)."""
    sign = -1.0 if higher_is_better else 1.0
    values = {m: sign * v for m, v in means.items()}
    return {m: 1 + sum(w < v for w in values.values()) for m, v in values.items()}


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------
def load_networks(weights: Path | None) -> tuple[dict[str, Any], dict[str, str]]:
    """HC-MEF networks by row label, and the reason for every row that could not load."""
    from expokit.errors import InputError, MissingResourceError
    from expokit.models.hcmef import HCMEFStudent, HCMEFTeacher

    nets: dict[str, Any] = {}
    failed: dict[str, str] = {}
    for label, name in HCMEF_ROWS:
        cls = HCMEFTeacher if label == TEACHER else HCMEFStudent
        try:
            if weights is None:
                net = cls.from_pretrained(name)
            else:
                net = cls.from_pretrained(path=weights / f"{name}.safetensors")
        except (InputError, MissingResourceError) as exc:
            failed[label] = f"{name}: {exc}"
            continue
        nets[label] = net.eval()
    return nets, failed


def _safe(fn: Callable[[], float], errors: dict[str, str], key: str) -> float:
    """``fn()``, or NaN with the first error message kept under ``key``."""
    try:
        return float(fn())
    except Exception as exc:  # noqa: BLE001 - a failed score is reported, not fatal
        errors.setdefault(key, f"{type(exc).__name__}: {exc}")
        return math.nan


def _fail_on_unscored(scores: Scores, metrics: Sequence[str], errors: dict[str, str],
                      part: str) -> str | None:
    """The exit-2 message when some (method, metric) scored no sample, else None."""
    bad = []
    for k in metrics:
        none = [m for m, per in scores.items()
                if per and all(math.isnan(v.get(k, math.nan)) for v in per.values())]
        if none:
            why = errors.get(f"{none[0]}/{k}") or errors.get(f"{none[0]}/fuse", "no value")
            bad.append(f"{k} scored no {part} image of {', '.join(none)} (first error: {why})")
    return "; ".join(bad) if bad else None


# ---------------------------------------------------------------------------------------------
# 1. Held-out simulated pairs
# ---------------------------------------------------------------------------------------------
def _sim_metrics(out: np.ndarray, ref: np.ndarray, with_ms: bool, errors: dict[str, str],
                 method: str) -> dict[str, float]:
    from expokit.metrics import ms_ssim, psnr, ssim

    out = np.clip(out, 0.0, 1.0).astype(np.float32)
    fns = {"psnr": psnr, "ssim": ssim, **({"ms_ssim": ms_ssim} if with_ms else {})}
    row = {k: _safe(partial(fn, out, ref, data_range=1.0), errors, f"{method}/{k}")
           for k, fn in fns.items()}
    return row


#: The teacher's PSNR per held-out subject, with each pair's own EEG ("own") and with the EEG
#: recorded for the next pair ("other"): does the teacher use what the EEG says?
TEACHER_DETAIL: dict[tuple[int, str], list[float]] = {}


def print_teacher_detail() -> None:
    if not TEACHER_DETAIL:
        return
    print("\nEEG teacher per held-out subject, PSNR with each pair's own EEG / with the next "
          "pair's EEG (a control: what the teacher gets from the EEG's content):")
    for subject in sorted({s for s, _ in TEACHER_DETAIL}):
        own, other = (float(np.mean(TEACHER_DETAIL[(subject, k)])) for k in ("own", "other"))
        print(f"  subject {subject}: {own:.2f} / {other:.2f} dB")


def heldout_table(root: Path, nets: dict[str, Any], args: argparse.Namespace,
                  errors: dict[str, str]) -> tuple[Scores, list[str], list[str], str]:
    """Scores of every row on the held-out pairs: ``(scores, samples, metrics, what)``."""
    import torch

    from expokit.fusion import fuse_deepfuse, fuse_hcmef, fuse_mertens
    from expokit.metrics import psnr
    from expokit.train.ahdr import TEST_SCENES
    from expokit.train.hcmef import TEST_SUBJECTS, heldout_pairs, simulated_eeg

    names, under, over, ref = heldout_pairs(root, TEST_SCENES, size=args.size,
                                            per_scene=args.per_scene, seed=SEED)
    eeg = None
    if TEACHER in nets:
        try:
            eeg = simulated_eeg(names, under, over, ref, list(TEST_SUBJECTS))
        except Exception as exc:  # noqa: BLE001 - e.g. MNE missing: the row is dropped
            errors[f"{TEACHER}/eeg"] = f"{type(exc).__name__}: {exc}"
            print(f"note: no EEG for the teacher row ({exc}); row left out", file=sys.stderr)
    with_ms = args.size >= MS_SSIM_MIN
    metrics = [k for k in SIM_METRICS if with_ms or k != "ms_ssim"]
    labels = [lab for lab, _ in HCMEF_ROWS if lab in nets and (lab != TEACHER or eeg is not None)]
    scores: Scores = {lab: {} for lab in [*labels, *CONTEXT]}
    t = args.threads
    for i, name in enumerate(names):
        pair = [under[i], over[i]]
        outs: dict[str, Any] = {
            "Mertens": _fused(partial(fuse_mertens, pair, threads=t), errors, "Mertens"),
            "DeepFuse": _fused(partial(fuse_deepfuse, pair, threads=t), errors, "DeepFuse")}
        for lab in labels:
            if lab != TEACHER:
                outs[lab] = _fused(partial(fuse_hcmef, pair, model=nets[lab], threads=t),
                                   errors, lab)
        if TEACHER in labels and eeg is not None:
            u, o = (torch.from_numpy(a[i]).permute(2, 0, 1)[None].float() / 255.0
                    for a in (under, over))
            per_subject = []
            with torch.no_grad():
                for s in range(eeg.shape[0]):
                    for key, j in (("own", i), ("other", (i + 1) % len(names))):
                        e = torch.from_numpy(eeg[s, j:j + 1].astype(np.float32))
                        y = nets[TEACHER](u, o, e[:, 0], e[:, 1], e[:, 2])
                        img = y[0].permute(1, 2, 0).numpy()
                        if key == "own":
                            per_subject.append(img)
                        TEACHER_DETAIL.setdefault((TEST_SUBJECTS[s], key), []).append(
                            psnr(img, ref[i], data_range=1.0))
            outs[TEACHER] = per_subject
        for lab in scores:
            out = outs.get(lab)
            if out is None:
                scores[lab][name] = {k: math.nan for k in metrics}
            elif isinstance(out, list):  # the teacher: mean over the subjects
                rows = [_sim_metrics(x, ref[i], with_ms, errors, lab) for x in out]
                scores[lab][name] = {k: float(np.mean([r[k] for r in rows])) for k in metrics}
            else:
                scores[lab][name] = _sim_metrics(out, ref[i], with_ms, errors, lab)
        print(f"  held-out {i + 1}/{len(names)} {name}", file=sys.stderr, flush=True)
    what = (f"{len(names)} held-out pairs ({args.per_scene} per scene) of "
            f"{len(TEST_SCENES)} hdr_cc0_more radiance maps (TEST_SCENES), {args.size}x"
            f"{args.size}, seed {SEED}; reference tonemap(crop, 'mantiuk'); teacher EEG: "
            f"simulated subjects {', '.join(map(str, TEST_SUBJECTS))} (SYNTHETIC), score = "
            "mean over the subjects")
    return scores, list(names), metrics, what


def _fused(fn: Callable[[], np.ndarray], errors: dict[str, str], method: str
           ) -> np.ndarray | None:
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - the sample is named as missing instead
        errors.setdefault(f"{method}/fuse", f"{type(exc).__name__}: {exc}")
        return None


def _fmt(v: float, metric: str) -> str:
    if math.isnan(v):
        return "-"
    return f"{v:.2f}" if metric == "psnr" else f"{v:.4f}"


def print_heldout(scores: Scores, samples: list[str], metrics: list[str], what: str,
                  failed: dict[str, str]) -> None:
    print(f"\n## Held-out simulated pairs\n\n{what}\n")
    kept: dict[str, list[str]] = {}
    for k in metrics:
        kept[k], missing = common_samples(scores, k, samples)
        for s, methods in missing.items():
            print(f"note: {SIM_METRICS[k]} of {s} left out: not scored by {', '.join(methods)}")
    print("| method | " + " | ".join(SIM_METRICS[k] for k in metrics) + " |")
    print("|---|" + "---:|" * len(metrics))
    means: dict[str, dict[str, float]] = {}
    for lab in [lab for lab, _ in HCMEF_ROWS] + list(CONTEXT):
        if lab not in scores:
            print(f"| {lab} | " + " | ".join("not run" for _ in metrics) + " |")
            continue
        means[lab] = {k: float(np.mean([scores[lab][s][k] for s in kept[k]])) if kept[k]
                      else math.nan for k in metrics}
        print(f"| {lab} | " + " | ".join(_fmt(means[lab][k], k) for k in metrics) + " |")
    if "ms_ssim" not in metrics:
        print(f"\nMS-SSIM left out: it needs images of at least {MS_SSIM_MIN} px (5 scales); "
              "use --size 256.")
    for lab, why in failed.items():
        print(f"not run: {lab} ({why})")
    if BASELINE in scores:
        print(f"\nPSNR per sample minus {BASELINE} (mean +- standard error, samples better):")
        base = [scores[BASELINE][s]["psnr"] for s in samples]
        for lab, _ in HCMEF_ROWS:
            if lab in (BASELINE, TEACHER) or lab not in scores:
                continue
            mean, se, wins, n = paired_difference([scores[lab][s]["psnr"] for s in samples],
                                                  base)
            print(f"  {lab}: {mean:+.2f} +- {se:.2f} dB, {wins}/{n}")
    lines, holds = check_ordering({lab: m["psnr"] for lab, m in means.items()}, PAPER_ORDER)
    print("\nPaper's ordering on PSNR (" + " > ".join(PAPER_ORDER) + "):")
    for line in lines:
        print(f"  {line}")
    print({True: "ordering holds", False: "ordering does NOT hold",
           None: "ordering cannot be checked (a row was not scored)"}[holds])
    pairs = [*zip(PAPER_ORDER[:-1], PAPER_ORDER[1:], strict=True),
             ("bi-level", "concatenation (bi-level)"), (TEACHER, BASELINE)]
    pairs = [(a, b) for a, b in pairs if a in scores and b in scores]
    if pairs:
        print("\nThe same comparisons per sample (PSNR of a minus b: mean +- standard error, "
              "samples where a is better):")
    for a, b in pairs:
        mean, se, wins, n = paired_difference([scores[a][s]["psnr"] for s in samples],
                                              [scores[b][s]["psnr"] for s in samples])
        print(f"  {a} - {b}: {mean:+.2f} +- {se:.2f} dB, {wins}/{n}")


# ---------------------------------------------------------------------------------------------
# 2. MEFB
# ---------------------------------------------------------------------------------------------
def mefb_scores(mefb: Path, nets: dict[str, Any], args: argparse.Namespace,
                errors: dict[str, str]) -> tuple[Scores, list[str]]:
    from expokit.fusion import fuse_deepfuse, fuse_hcmef, fuse_mertens
    from expokit.io import read_image, to_code_values
    from expokit.metrics import brisque, mef_ssim
    from expokit.metrics._mefb_data import source_paths
    from expokit.metrics.features import qabf
    from expokit.metrics.score import extreme_pair

    scenes = sorted((p.name for p in (mefb / "input").iterdir() if p.is_dir()),
                    key=str.lower)
    if args.mefb_limit is not None:
        scenes = scenes[: args.mefb_limit]
    students = [lab for lab, _ in HCMEF_ROWS if lab in nets and lab != TEACHER]
    methods = [*CONTEXT, *students]
    scores: Scores = {m: {} for m in methods}
    t = args.threads
    for i, scene in enumerate(scenes):
        paths = source_paths(mefb, scene)
        shots = [read_image(p) for p in paths]
        pair = [shots[k] for k in extreme_pair(shots)]
        fuse: dict[str, Callable[[], np.ndarray]] = {
            "Mertens": partial(fuse_mertens, pair, threads=t),
            "DeepFuse": partial(fuse_deepfuse, pair, threads=t)}
        for lab in students:
            fuse[lab] = partial(fuse_hcmef, pair, model=nets[lab], threads=t)
        for m in methods:
            out = _fused(fuse[m], errors, m)
            if out is None:
                scores[m][scene] = {k: math.nan for k in MEFB_METRICS}
                continue
            f8 = to_code_values(out, 8)
            scores[m][scene] = {
                "mef_ssim": _safe(partial(mef_ssim, f8, pair), errors, f"{m}/mef_ssim"),
                "qabf": _safe(partial(qabf, f8, pair), errors, f"{m}/qabf"),
                "brisque": _safe(partial(brisque, f8), errors, f"{m}/brisque")}
        print(f"  MEFB {i + 1}/{len(scenes)} {scene}", file=sys.stderr, flush=True)
    return scores, scenes


def deepfuse_mefb_scenes() -> set[str] | None:
    """The MEFB scenes the shipped DeepFuse weights record as trained on (lower case)."""
    import json

    from expokit.models.zoo import WEIGHTS_DIR

    try:
        data = json.loads((WEIGHTS_DIR / "deepfuse.json").read_text())["data"]
        names = data.get("mefb_train_scenes", [])
        if isinstance(names, str):
            names = ast.literal_eval(names)
        return {str(n).lower() for n in names}
    except (OSError, KeyError, ValueError, SyntaxError):
        return None


def _mefb_table(scores: Scores, scenes: list[str]) -> None:
    kept: dict[str, list[str]] = {}
    for k, name in MEFB_METRICS.items():
        kept[k], missing = common_samples(scores, k, scenes)
        for s, methods in missing.items():
            print(f"note: {name} of {s} left out of the ranking: not scored by "
                  f"{', '.join(methods)}")
    means = {m: {k: float(np.mean([per[s][k] for s in kept[k]])) if kept[k] else math.nan
                 for k in MEFB_METRICS} for m, per in scores.items()}
    ranks = {k: rank({m: v[k] for m, v in means.items()}, higher_is_better=HIGHER_IS_BETTER[k])
             for k in MEFB_METRICS}
    order = sorted(means, key=lambda m: (ranks["mef_ssim"][m], m))
    print("Mean (rank) over the images every method scored; ranked by MEF-SSIM.\n")
    print("| method | " + " | ".join(f"{n} (n={len(kept[k])})" + (", lower better"
                                     if not HIGHER_IS_BETTER[k] else "")
                                     for k, n in MEFB_METRICS.items()) + " |")
    print("|---|" + "---:|" * len(MEFB_METRICS))
    for m in order:
        cells = [f"{means[m][k]:.4f} ({ranks[k][m]})" if k != "brisque" else
                 f"{means[m][k]:.2f} ({ranks[k][m]})" for k in MEFB_METRICS]
        print(f"| {m} | " + " | ".join(cells) + " |")


def print_mefb(scores: Scores, scenes: list[str]) -> None:
    """The MEFB table over all scored scenes, then over those DeepFuse never trained on (the
    ones held out for every method)."""
    print(f"\n## MEFB ({len(scenes)} real pairs, never seen by HC-MEF)\n")
    _mefb_table(scores, scenes)
    seen = deepfuse_mefb_scenes()
    if seen is None:
        print("\nDeepFuse: its record does not list its MEFB training scenes.")
        return
    n = sum(s.lower() in seen for s in scenes)
    print(f"\nDeepFuse's shipped weights were trained on {n} of these {len(scenes)} "
          "scenes (its record's mefb_train_scenes): its row above is not a held-out score.")
    fresh = [s for s in scenes if s.lower() not in seen]
    if fresh and n:
        print(f"\n### The {len(fresh)} MEFB pairs no method was trained on\n")
        _mefb_table(scores, fresh)


# ---------------------------------------------------------------------------------------------
# 3. CPU time
# ---------------------------------------------------------------------------------------------
def pair_12mp() -> list[np.ndarray]:
    """A smooth random 4000x3000 radiance map over 4 decades, shot at -2 and +2 EV (uint8)."""
    import cv2

    rng = np.random.default_rng(0)
    small = rng.uniform(-2.0, 2.0, (60, 80, 3)).astype(np.float32)
    rad = 10.0 ** cv2.resize(small, (4000, 3000), interpolation=cv2.INTER_CUBIC)
    out = []
    for ev in (-2.0, 2.0):
        v = np.clip(rad * np.float32(2.0 ** ev / 10.0), 0.0, 1.0) ** np.float32(1 / 2.2)
        out.append((v * 255.0 + 0.5).astype(np.uint8))
    return out


def _median_time(fn: Callable[[], object], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def print_timing(nets: dict[str, Any], args: argparse.Namespace) -> None:
    from expokit.fusion import fuse_hcmef, fuse_mertens

    print(f"\n## CPU time, 12 MP pair (4000x3000, synthetic), {args.threads} threads, "
          + (f"median of {args.repeat} runs" if args.repeat > 1 else "one run")
          + " (no warm-up)\n")
    pair = pair_12mp()
    net = nets.get("bi-level")
    if net is None:
        print("  HC-MEF student: not timed (hcmef weights not loaded)")
    else:
        n = sum(p.numel() for p in net.parameters())
        ts = _median_time(lambda: fuse_hcmef(pair, model=net, threads=args.threads),
                          args.repeat)
        print(f"  HC-MEF student (hcmef, {n:,} parameters, fuse_hcmef): {ts:.2f} s")
    tm = _median_time(lambda: fuse_mertens(pair, threads=args.threads), args.repeat)
    print(f"  Mertens (fuse_mertens): {tm:.2f} s")
    if net is not None:
        print(f"  ratio HC-MEF / Mertens: {ts / tm:.2f}")


# ---------------------------------------------------------------------------------------------
def write_csv(path: Path, parts: list[tuple[str, Scores]]) -> None:
    from expokit.io import atomic_path

    fields = [*SIM_METRICS, *MEFB_METRICS]
    with atomic_path(path) as tmp, tmp.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["part", "sample", "method", *fields])
        for part, scores in parts:
            for m, per in scores.items():
                for s, row in per.items():
                    w.writerow([part, s, m, *[("" if k not in row or math.isnan(row[k])
                                               else f"{row[k]:.6f}") for k in fields]])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None,
                    help="data root (default $EXPOKIT_DATA or ../shared/data)")
    ap.add_argument("--weights", type=Path, default=None,
                    help="folder of <name>.safetensors + .json for every HC-MEF name "
                    "(default: the shipped weights)")
    ap.add_argument("--size", type=int, default=256, help="side of the held-out samples")
    ap.add_argument("--per-scene", type=int, default=3, help="held-out samples per scene")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--csv", type=Path, default=None, help="per-sample scores to this file")
    ap.add_argument("--mefb-limit", type=int, default=None, help="only the first N MEFB pairs")
    ap.add_argument("--no-mefb", action="store_true")
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--repeat", type=int, default=2, help="timed runs (median)")
    args = ap.parse_args(argv)
    if args.size < 32:
        ap.error(f"--size must be >= 32, got {args.size}")
    if args.per_scene < 1 or args.threads < 1 or args.repeat < 1:
        ap.error("--per-scene, --threads and --repeat must be >= 1")
    if args.mefb_limit is not None and args.mefb_limit < 1:
        ap.error("--mefb-limit must be >= 1")
    if args.weights is not None and not args.weights.is_dir():
        ap.error(f"--weights {args.weights} is not a folder")

    import cv2
    import torch

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    root = args.data or data_root()
    nets, failed = load_networks(args.weights)
    for lab, why in failed.items():
        print(f"note: row {lab!r} left out: {why}", file=sys.stderr)
    errors: dict[str, str] = {}
    parts: list[tuple[str, Scores]] = []
    status: list[str] = []

    if (root / "hdr_cc0_more").is_dir():
        scores, samples, metrics, what = heldout_table(root, nets, args, errors)
        print_heldout(scores, samples, metrics, what, failed)
        print_teacher_detail()
        parts.append(("heldout", scores))
        msg = _fail_on_unscored(scores, metrics, errors, "held-out")
        if msg:
            status.append(msg)
    else:
        print(f"\nskipped held-out table: {root / 'hdr_cc0_more'} is absent "
              "(set --data or $EXPOKIT_DATA)")

    if args.no_mefb:
        pass
    elif (root / "mefb" / "input").is_dir():
        scores, scenes = mefb_scores(root / "mefb", nets, args, errors)
        msg = _fail_on_unscored(scores, list(MEFB_METRICS), errors, "MEFB")
        if msg:
            status.append(msg)
        else:
            print_mefb(scores, scenes)
        parts.append(("mefb", scores))
    else:
        print(f"\nskipped MEFB: {root / 'mefb' / 'input'} is absent (set --data or "
              "$EXPOKIT_DATA)")

    if args.csv and parts:
        write_csv(args.csv, parts)
    if not args.no_timing:
        print_timing(nets, args)
    if status:
        for msg in status:
            print(f"error: {msg}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
