"""Fusion quality on Ma 2015 (held out from training): expokit Mertens and DeepFuse vs 8 methods.

    python benchmarks/quality_fusion.py [--jobs J] [--csv scores.csv] [--metrics QABF,EN,...]
                                        [--weights deepfuse] [--from-csv scores.csv]

For each of the 17 source sequences of Ma, Zeng & Wang's MEF database (3-30 exposures each,
``$EXPOKIT_DATA/ma2015``) the script fuses **all** exposures with expokit's Mertens
(:func:`expokit.fusion.fuse_mertens`, default weights) and DeepFuse
(:func:`expokit.fusion.deepfuse.fuse_deepfuse`, shipped weights unless ``--weights``), rounds
both to 8 bits as a PNG would store them, and scores them next to the 8 published algorithms'
fused images of ``ma2015/fused images`` (Gu12, Li12, Li13, Mertens07, Raman09, Shutao Li12,
gsaverage, lsaverage).

Metrics, computed the way ``benchmarks/validate_ma2015.py`` and ``expokit eval`` compute them:

* ``mef_ssim`` (:func:`expokit.metrics.mef_ssim`, single scale) and ``mef_ms_ssim`` (3 scales)
  of the colour fused image against **every** exposure of the sequence (8-bit images, grey by
  MATLAB ``rgb2gray`` weights inside the metric);
* MEFB's metrics (:mod:`expokit.metrics.mefb`): the fusion metrics among them (QABF, NMI, VIF,
  QCB, ...) are defined for MEFB's two inputs, so they get the **darkest and the brightest
  exposure** (by mean grey level); EN, SD, SF and AG look at the fused image alone.

Prints one markdown table (rows = methods, mean over the 17 sequences), a per-sequence
MEF-SSIM table, and whether DeepFuse's mean MEF-SSIM reaches Mertens's (the DeepFuse paper
reports 0.987 vs 0.979 on its own test set).

Ma 2015 is held out: ``expokit.train.deepfuse`` excludes every MEFB scene that is also a Ma
2015 sequence (by name, identical pixels and thumbnail correlation). The database's copyright
notice is in ``ma2015/Readme.txt``.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import data_root  # noqa: E402

from expokit.bench.datasets import MA2015_METHODS, ma2015_sequence_folders  # noqa: E402
from expokit.io import read_image, to_code_values  # noqa: E402
from expokit.metrics.mef import mef_ms_ssim, mef_ssim  # noqa: E402

OURS = ("expokit-mertens", "expokit-deepfuse")
METHODS = OURS + MA2015_METHODS
#: MEFB metrics shown by default (all 20 are available with --metrics).
DEFAULT_MEFB = ("QABF", "NMI", "VIF", "QCB", "EN", "SD", "SF", "AG")
#: MEFB metrics of the fused image alone (the sources are not used).
NO_SOURCE = frozenset({"EN", "SD", "SF", "AG", "EI"})


def _images(folder: Path) -> list[Path]:
    exts = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}
    return sorted((p for p in folder.iterdir() if p.suffix.lower() in exts),
                  key=lambda p: p.name.lower())


def _extremes(sources: list[np.ndarray]) -> list[np.ndarray]:
    means = [float(s.mean()) for s in sources]
    return [sources[int(np.argmin(means))], sources[int(np.argmax(means))]]


def score_sequence(job: tuple[str, Path, Path, list[str], str]) -> tuple[str, dict]:
    """Fuse one sequence with expokit's methods and score all 10 fused images."""
    import torch

    from expokit.fusion import fuse_mertens
    from expokit.fusion.deepfuse import fuse_deepfuse
    from expokit.metrics.mefb import MEFB_FUNCTIONS

    torch.set_num_threads(1)
    seq, folder, fused_dir, mefb_names, weights = job
    paths = _images(folder)
    sources = [read_image(p) for p in paths]
    pair = _extremes(sources)
    t0 = time.perf_counter()
    ours = {"expokit-mertens": fuse_mertens(sources, threads=1, paths=paths)}
    t1 = time.perf_counter()
    ours["expokit-deepfuse"] = fuse_deepfuse(sources, weights=weights, threads=1, paths=paths)
    t2 = time.perf_counter()
    fused = {m: to_code_values(img, 8) for m, img in ours.items()}
    for m in MA2015_METHODS:
        fused[m] = read_image(fused_dir / f"{seq}_{m}.png")
    scores: dict[str, dict[str, float]] = {}
    for m, img in fused.items():
        row = {"mef_ssim": mef_ssim(img, sources), "mef_ms_ssim": mef_ms_ssim(img, sources)}
        for name in mefb_names:
            row[name] = float(MEFB_FUNCTIONS[name](img, pair))
        scores[m] = row
    return seq, {"scores": scores, "n": len(sources), "size": sources[0].shape[:2],
                 "seconds": {"mertens": t1 - t0, "deepfuse": t2 - t1}}


def _read_csv(path: Path) -> tuple[dict[str, dict], list[str]]:
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    names = [c for c in rows[0] if c not in ("sequence", "method", "exposures")]
    results: dict[str, dict] = {}
    for r in rows:
        res = results.setdefault(r["sequence"], {"scores": {}, "n": int(r["exposures"]),
                                                 "seconds": {}})
        res["scores"][r["method"]] = {n: float(r[n]) for n in names}
    return results, names


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (sequences)")
    ap.add_argument("--csv", type=Path, help="write every score to this CSV file")
    ap.add_argument("--from-csv", type=Path, help="print the tables of an earlier --csv run")
    ap.add_argument("--metrics", default=",".join(DEFAULT_MEFB),
                    help="comma-separated MEFB metrics (besides mef_ssim and mef_ms_ssim)")
    ap.add_argument("--weights", default="deepfuse",
                    help="DeepFuse weights: shipped name or .safetensors path")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    root = data_root() / "ma2015"
    seq_root = root / "source image sequences"
    if not seq_root.is_dir():
        raise SystemExit(f"{seq_root} is absent: set EXPOKIT_DATA to the shared data folder")
    sequences = sorted({p.name.rsplit("_", 1)[0] for p in (root / "fused images").iterdir()
                        if p.suffix == ".png" and p.stem.endswith("_Gu12")})
    folders = ma2015_sequence_folders(root, sequences)
    from expokit.metrics.mefb import MEFB_FUNCTIONS

    mefb_names = [m.strip().upper() for m in args.metrics.split(",") if m.strip()]
    unknown = [m for m in mefb_names if m not in MEFB_FUNCTIONS]
    if unknown:
        raise SystemExit(f"unknown MEFB metric(s) {unknown}; choose from "
                         f"{', '.join(MEFB_FUNCTIONS)}")

    t0 = time.perf_counter()
    if args.from_csv:
        results, metric_names = _read_csv(args.from_csv)
    else:
        jobs = [(s, folders[s], root / "fused images", mefb_names, args.weights)
                for s in sequences]
        results = {}
        if args.jobs > 1:
            with ProcessPoolExecutor(args.jobs) as pool:
                for seq, res in pool.map(score_sequence, jobs):
                    results[seq] = res
                    print(f"  {seq:<15} {res['n']:>2} exposures, fused in "
                          f"{res['seconds']['deepfuse']:.1f} s (DeepFuse), "
                          f"{res['seconds']['mertens']:.1f} s (Mertens)", flush=True)
        else:
            for job in jobs:
                seq, res = score_sequence(job)
                results[seq] = res
                print(f"  {seq:<15} {res['n']:>2} exposures, fused in "
                      f"{res['seconds']['deepfuse']:.1f} s (DeepFuse), "
                      f"{res['seconds']['mertens']:.1f} s (Mertens)", flush=True)
        metric_names = ["mef_ssim", "mef_ms_ssim", *mefb_names]
        if args.csv:
            with args.csv.open("w", newline="") as fh:
                wr = csv.writer(fh)
                wr.writerow(["sequence", "method", "exposures", *metric_names])
                for seq in sequences:
                    for m in METHODS:
                        wr.writerow([seq, m, results[seq]["n"],
                                     *[f"{results[seq]['scores'][m][k]:.6f}"
                                       for k in metric_names]])

    seqs = [s for s in sequences if s in results]
    print(f"\nMa 2015, {len(seqs)} sequences (all exposures; held out from DeepFuse's training). "
          "Mean over the sequences; MEFB fusion metrics get the darkest and brightest exposure, "
          f"{', '.join(sorted(NO_SOURCE & set(metric_names)))} the fused image alone.\n")
    print("| method | " + " | ".join(metric_names) + " |")
    print("|---|" + "---:|" * len(metric_names))
    means = {}
    for m in METHODS:
        vals = [np.mean([results[s]["scores"][m][k] for s in seqs]) for k in metric_names]
        means[m] = dict(zip(metric_names, vals, strict=True))
        name = f"**{m}**" if m in OURS else m
        print(f"| {name} | " + " | ".join(f"{v:.4f}" for v in vals) + " |")

    print("\nMEF-SSIM per sequence:\n")
    print("| sequence | N | " + " | ".join(METHODS) + " |")
    print("|---|---:|" + "---:|" * len(METHODS))
    for s in seqs:
        print(f"| {s} | {results[s]['n']} | " + " | ".join(
            f"{results[s]['scores'][m]['mef_ssim']:.4f}" for m in METHODS) + " |")

    df, me = means["expokit-deepfuse"]["mef_ssim"], means["expokit-mertens"]["mef_ssim"]
    wins = sum(results[s]["scores"]["expokit-deepfuse"]["mef_ssim"]
               >= results[s]["scores"]["expokit-mertens"]["mef_ssim"] for s in seqs)
    verdict = "yes" if df >= me else "NO"
    print(f"\nDeepFuse mean MEF-SSIM {df:.4f} vs expokit Mertens {me:.4f} "
          f"(gap {df - me:+.4f}; DeepFuse >= Mertens on {wins} of {len(seqs)} sequences): "
          f"target DeepFuse >= Mertens met? {verdict}")
    print(f"time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
