"""Fusion quality on Ma 2015 (held out from training): expokit Mertens, LUT, DeepFuse vs 8 methods.

    python benchmarks/quality_fusion.py [--jobs J] [--csv scores.csv] [--metrics QABF,EN,...]
                                        [--weights deepfuse,deepfuse_3k] [--lut lut]
                                        [--from-csv scores.csv]

For each of the 17 source sequences of Ma, Zeng & Wang's MEF database (3-30 exposures each,
``$EXPOKIT_DATA/ma2015``) the script runs two protocols:

* **all shots**: every exposure is fused with expokit's Mertens
  (:func:`expokit.fusion.fuse_mertens`, default weights), the learned LUT fusion
  (:func:`expokit.fusion.lut.fuse_lut`, shipped tables unless ``--lut``) and DeepFuse
  (:func:`expokit.fusion.deepfuse.fuse_deepfuse`, each weights of ``--weights``), and scored
  next to the 8 published algorithms' fused images of ``ma2015/fused images`` (Gu12, Li12,
  Li13, Mertens07, Raman09, Shutao Li12, gsaverage, lsaverage);
* **pair** (the DeepFuse paper's protocol, extreme-exposure pairs): only the darkest and the
  brightest shot (:func:`expokit.metrics.score.extreme_pair`) are fused, by expokit's methods
  alone (the published images were fused from all shots), and scored against that pair.

Every fused image is rounded to 8 bits as a PNG would store it.

Metrics, computed the way ``benchmarks/validate_ma2015.py`` and ``expokit eval`` compute them:

* ``mef_ssim`` (:func:`expokit.metrics.mef_ssim`, single scale) and ``mef_ms_ssim`` (3 scales)
  of the colour fused image against **every** exposure of the sequence (8-bit images, grey by
  MATLAB ``rgb2gray`` weights inside the metric);
* MEFB's metrics (:mod:`expokit.metrics.mefb`): the fusion metrics among them (QABF, NMI, VIF,
  QCB, ...) are defined for MEFB's two inputs, so they get the **darkest and the brightest
  exposure** (by mean grey level); EN, SD, SF and AG look at the fused image alone.

Prints, per protocol, one markdown table (rows = methods, mean over the 17 sequences) and a
per-sequence MEF-SSIM table, and whether each learned method's mean MEF-SSIM reaches expokit
Mertens's (the DeepFuse paper reports 0.987 vs 0.979 on its own test set of pairs).

Ma 2015 is held out: ``expokit.train.deepfuse`` and ``expokit.train.lut`` exclude every MEFB
scene that is also a Ma 2015 sequence (by name, identical pixels and thumbnail correlation).
The database's copyright notice is in ``ma2015/Readme.txt``.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import data_root  # noqa: E402

from expokit.bench.datasets import MA2015_METHODS, ma2015_sequence_folders  # noqa: E402
from expokit.io import read_image, to_code_values  # noqa: E402
from expokit.metrics.mef import mef_ms_ssim, mef_ssim  # noqa: E402

#: Protocols: every shot, or the darkest and brightest shot only.
PROTOCOLS = ("all", "pair")
#: MEFB metrics shown by default (all 20 are available with --metrics).
DEFAULT_MEFB = ("QABF", "NMI", "VIF", "QCB", "EN", "SD", "SF", "AG")
#: MEFB metrics of the fused image alone (the sources are not used).
NO_SOURCE = frozenset({"EN", "SD", "SF", "AG", "EI"})


def _images(folder: Path) -> list[Path]:
    exts = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}
    return sorted((p for p in folder.iterdir() if p.suffix.lower() in exts),
                  key=lambda p: p.name.lower())


def our_methods(weights: list[str], lut: str) -> list[str]:
    """Row names of expokit's methods: Mertens, the LUT fusion, one DeepFuse per weights.

    >>> our_methods(["deepfuse", "deepfuse_3k"], "lut")
    ['expokit-mertens', 'expokit-lut', 'expokit-deepfuse', 'expokit-deepfuse[deepfuse_3k]']
    >>> our_methods(["my.safetensors"], "other.safetensors")
    ['expokit-mertens', 'expokit-lut[other.safetensors]', 'expokit-deepfuse[my.safetensors]']
    """
    lut_row = "expokit-lut" if lut == "lut" else f"expokit-lut[{Path(lut).name}]"
    return ["expokit-mertens", lut_row,
            *("expokit-deepfuse" if w == "deepfuse" else f"expokit-deepfuse[{Path(w).name}]"
              for w in weights)]


def score_sequence(job: tuple[str, Path, Path, list[str], list[str], str]) -> tuple[str, dict]:
    """Fuse one sequence with expokit's methods (both protocols) and score every fused image."""
    import torch

    from expokit.fusion import fuse_mertens
    from expokit.fusion.deepfuse import fuse_deepfuse
    from expokit.fusion.lut import fuse_lut
    from expokit.metrics.mefb import MEFB_FUNCTIONS
    from expokit.metrics.score import extreme_pair

    torch.set_num_threads(1)
    seq, folder, fused_dir, mefb_names, weights, lut = job
    paths = _images(folder)
    sources = [read_image(p) for p in paths]
    lo, hi = extreme_pair(sources)
    inputs = {"all": (sources, paths), "pair": ([sources[lo], sources[hi]], [paths[lo], paths[hi]])}
    fusers = [partial(fuse_mertens, threads=1), partial(fuse_lut, weights=lut, threads=1),
              *(partial(fuse_deepfuse, weights=w, threads=1) for w in weights)]
    named = dict(zip(our_methods(weights, lut), fusers, strict=True))
    seconds: dict[str, float] = {}
    scores: dict[str, dict[str, dict[str, float]]] = {}
    for protocol, (shots, files) in inputs.items():
        ours = {}
        for name, fuser in named.items():
            t0 = time.perf_counter()
            ours[name] = fuser(shots, paths=files)
            seconds[f"{protocol}:{name}"] = time.perf_counter() - t0
        fused = {m: to_code_values(img, 8) for m, img in ours.items()}
        if protocol == "all":
            for m in MA2015_METHODS:
                fused[m] = read_image(fused_dir / f"{seq}_{m}.png")
        pair = [sources[lo], sources[hi]]
        rows = {}
        for m, img in fused.items():
            row = {"mef_ssim": mef_ssim(img, shots), "mef_ms_ssim": mef_ms_ssim(img, shots)}
            for metric in mefb_names:
                row[metric] = float(MEFB_FUNCTIONS[metric](img, pair))
            rows[m] = row
        scores[protocol] = rows
    return seq, {"scores": scores, "n": len(sources), "seconds": seconds}


def _read_csv(path: Path) -> tuple[dict[str, dict], list[str]]:
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    names = [c for c in rows[0] if c not in ("protocol", "sequence", "method", "exposures")]
    results: dict[str, dict] = {}
    for r in rows:
        res = results.setdefault(r["sequence"], {"scores": {}, "n": int(r["exposures"]),
                                                 "seconds": {}})
        res["scores"].setdefault(r["protocol"], {})[r["method"]] = {n: float(r[n]) for n in names}
    return results, names


def verdict(results: dict[str, dict], seqs: list[str], protocol: str, method: str) -> str:
    """One line: the method's mean MEF-SSIM against expokit Mertens's, and its wins."""
    sc = [results[s]["scores"][protocol] for s in seqs]
    ours = float(np.mean([r[method]["mef_ssim"] for r in sc]))
    mertens = float(np.mean([r["expokit-mertens"]["mef_ssim"] for r in sc]))
    wins = sum(r[method]["mef_ssim"] >= r["expokit-mertens"]["mef_ssim"] for r in sc)
    return (f"{protocol:>4}: {method} mean MEF-SSIM {ours:.4f} vs expokit Mertens {mertens:.4f} "
            f"(gap {ours - mertens:+.4f}; >= Mertens on {wins} of {len(seqs)} sequences): "
            f"target met? {'yes' if ours >= mertens else 'NO'}")


def print_tables(results: dict[str, dict], seqs: list[str], metric_names: list[str]) -> None:
    for protocol in PROTOCOLS:
        methods = list(results[seqs[0]]["scores"][protocol])
        what = ("all exposures; MEFB fusion metrics get the darkest and brightest exposure"
                if protocol == "all" else
                "the darkest and the brightest exposure only, fused and scored against that pair")
        print(f"\nMa 2015, {len(seqs)} sequences, protocol '{protocol}' ({what}; "
              f"{', '.join(sorted(NO_SOURCE & set(metric_names)))} look at the fused image "
              "alone). Mean over the sequences.\n")
        print("| method | " + " | ".join(metric_names) + " |")
        print("|---|" + "---:|" * len(metric_names))
        for m in methods:
            vals = [np.mean([results[s]["scores"][protocol][m][k] for s in seqs])
                    for k in metric_names]
            name = f"**{m}**" if m.startswith("expokit") else m
            print(f"| {name} | " + " | ".join(f"{v:.4f}" for v in vals) + " |")
        print(f"\nMEF-SSIM per sequence ('{protocol}'):\n")
        print("| sequence | N | " + " | ".join(methods) + " |")
        print("|---|---:|" + "---:|" * len(methods))
        for s in seqs:
            print(f"| {s} | {results[s]['n']} | " + " | ".join(
                f"{results[s]['scores'][protocol][m]['mef_ssim']:.4f}" for m in methods) + " |")
    print()
    for protocol in PROTOCOLS:
        for m in results[seqs[0]]["scores"][protocol]:
            if m.startswith("expokit") and m != "expokit-mertens":
                print(verdict(results, seqs, protocol, m))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (sequences)")
    ap.add_argument("--csv", type=Path, help="write every score to this CSV file")
    ap.add_argument("--from-csv", type=Path, help="print the tables of an earlier --csv run")
    ap.add_argument("--metrics", default=",".join(DEFAULT_MEFB),
                    help="comma-separated MEFB metrics (besides mef_ssim and mef_ms_ssim)")
    ap.add_argument("--weights", default="deepfuse",
                    help="DeepFuse weights, comma-separated: shipped names or .safetensors paths")
    ap.add_argument("--lut", default="lut", help="LUT tables: shipped name or .safetensors path")
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
    weights = [w.strip() for w in args.weights.split(",") if w.strip()]

    t0 = time.perf_counter()
    if args.from_csv:
        results, metric_names = _read_csv(args.from_csv)
    else:
        jobs = [(s, folders[s], root / "fused images", mefb_names, weights, args.lut)
                for s in sequences]
        results = {}
        pool = ProcessPoolExecutor(args.jobs) if args.jobs > 1 else None
        for seq, res in (pool.map(score_sequence, jobs) if pool else map(score_sequence, jobs)):
            results[seq] = res
            took = ", ".join(f"{k.split(':')[1].removeprefix('expokit-')} {v:.1f} s"
                             for k, v in res["seconds"].items() if k.startswith("all:"))
            print(f"  {seq:<15} {res['n']:>2} exposures, all shots fused in: {took}", flush=True)
        if pool:
            pool.shutdown()
        metric_names = ["mef_ssim", "mef_ms_ssim", *mefb_names]
        if args.csv:
            with args.csv.open("w", newline="") as fh:
                wr = csv.writer(fh)
                wr.writerow(["protocol", "sequence", "method", "exposures", *metric_names])
                for protocol in PROTOCOLS:
                    for seq in sequences:
                        for m, row in results[seq]["scores"][protocol].items():
                            wr.writerow([protocol, seq, m, results[seq]["n"],
                                         *[f"{row[k]:.6f}" for k in metric_names]])

    seqs = [s for s in sequences if s in results]
    print_tables(results, seqs, metric_names)
    print(f"time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
