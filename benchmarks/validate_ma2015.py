"""Fusion metrics against human opinion: Ma, Zeng & Wang's MEF database (IEEE TIP 2015).

    python benchmarks/validate_ma2015.py [--metrics mef_ssim,QABF,...] [--mefb-sources extremes|all]
                                         [--jobs J] [--csv scores.csv] [--from-csv scores.csv]

The database holds 17 source sequences (3-30 exposures each) and 136 fused images (8 MEF
algorithms per sequence) with mean opinion scores (``MOS.mat``, 17x8, rows in the order of
``imgName.mat``). For every fusion metric this script prints the Pearson (PLCC, no nonlinear
mapping) and Spearman (SRCC) correlation with MOS

* per sequence (8 images each), and their mean over the 17 sequences: the quality of fused
  images of *one* scene is what MOS ranks; scores of different scenes are not on one scale;
* overall, over all 136 images at once.

Metrics: expokit's MEF-SSIM (single scale, ``mef_ssim``), multi-scale (``mef_ms_ssim``), MEFB's
grey form (``mefb_mef_ssim``), MEF-SSIMc (``mef_ssimc``), all computed from every exposure of
the sequence; and, when :mod:`expokit.metrics.mefb` can be imported, MEFB's other 19 metrics.
MEFB's metrics are defined for MEFB's two inputs (an under- and an over-exposed image); with
``--mefb-sources extremes`` (default) they get the darkest and the brightest exposure of the
sequence (by mean grey level); with ``all`` they get every exposure where the function accepts
more than two, and the extreme pair otherwise. For CE and QCV lower is better, so their
correlations are negative when they work.

The issue's target: MEF-SSIM correlates with MOS better than Qabf and the other general fusion
metrics, as the TIP 2015 paper found. The paper's own correlation values were not available
to this script's author: the "paper" column says "not checked" rather than quoting numbers
from memory.

Data: $EXPOKIT_DATA/ma2015 (default ../shared/data/ma2015); the database's copyright notice is
in ``ma2015/Readme.txt``.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from scipy import io as sio
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import data_root  # noqa: E402

from expokit.bench.datasets import MA2015_METHODS as METHODS  # noqa: E402
from expokit.bench.datasets import ma2015_sequence_folders  # noqa: E402
from expokit.errors import InputError  # noqa: E402
from expokit.io import read_image  # noqa: E402
from expokit.metrics.mef import mef_ms_ssim, mef_ssim, mef_ssimc, mefb_mef_ssim  # noqa: E402

#: expokit's MEF-SSIM family: computed from every exposure of a sequence.
MEF_METRICS: dict[str, Callable[..., float]] = {
    "mef_ssim": mef_ssim,
    "mef_ms_ssim": mef_ms_ssim,
    "mefb_mef_ssim": mefb_mef_ssim,
    "mef_ssimc": mef_ssimc,
}

#: Published correlations to print beside ours: {metric: (PLCC, SRCC, source)}. Empty: the
#: TIP 2015 tables could not be read when this script was written (see the module docstring).
PAPER: dict[str, tuple[float, float, str]] = {}


def _mefb_functions(names: list[str] | None) -> tuple[dict[str, Callable[..., float]], list[str]]:
    """MEFB's metrics (except its MEF-SSIM, which is ``mefb_mef_ssim`` above) and the missing."""
    try:
        from expokit.metrics import mefb
    except ImportError as exc:
        return {}, [f"expokit.metrics.mefb ({exc})"]
    funcs = {n: f for n, f in mefb.MEFB_FUNCTIONS.items() if n != "MEF-SSIM"}
    missing = [] if names is None else [n for n in names if n.upper() not in funcs
                                        and n not in MEF_METRICS]
    if names is not None:
        funcs = {n: f for n, f in funcs.items() if n in {m.upper() for m in names}}
    return funcs, missing


def _extremes(sources: list[np.ndarray]) -> list[np.ndarray]:
    means = [float(s.mean()) for s in sources]
    return [sources[int(np.argmin(means))], sources[int(np.argmax(means))]]


def score_sequence(job: tuple[str, Path, Path, list[str], str]) -> tuple[str, dict]:
    """All metrics for the 8 fused images of one sequence: ``{metric: [8 values]}``."""
    seq, folder, fused_dir, metric_names, mefb_sources = job
    sources = [read_image(p) for p in sorted(folder.iterdir())]
    pair = _extremes(sources)
    mefb_funcs, _ = _mefb_functions(None)
    out: dict[str, list[float]] = {}
    notes: dict[str, str] = {}
    for method in METHODS:
        fused = read_image(fused_dir / f"{seq}_{method}.png")
        for name in metric_names:
            if name in MEF_METRICS:
                value = MEF_METRICS[name](fused, sources)
            else:
                fn = mefb_funcs[name]
                if mefb_sources == "all":
                    try:
                        value = fn(fused, sources)
                    except InputError:
                        value, notes[name] = fn(fused, pair), "extreme pair"
                else:
                    value = fn(fused, pair)
            out.setdefault(name, []).append(float(value))
    return seq, {"scores": out, "notes": notes, "n_sources": len(sources)}


def _read_csv(
    path: Path, sequences: list[str], folders: dict[str, Path], wanted: list[str] | None
) -> tuple[dict[str, dict], list[str]]:
    """Scores of an earlier ``--csv`` run, in the layout :func:`score_sequence` returns."""
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    names = [c for c in rows[0] if c not in ("sequence", "method", "MOS")]
    if wanted is not None:
        names = [n for n in names if n in wanted or n.upper() in {w.upper() for w in wanted}]
    results: dict[str, dict] = {}
    for seq in sequences:
        by_method = {r["method"]: r for r in rows if r["sequence"] == seq}
        scores = {n: [float(by_method[m][n]) for m in METHODS] for n in names}
        count = sum(1 for _ in folders[seq].iterdir())
        results[seq] = {"scores": scores, "notes": {}, "n_sources": count}
    return results, names


def _corr(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if np.ptp(x) == 0:
        return float("nan"), float("nan")
    return float(stats.pearsonr(x, y)[0]), float(stats.spearmanr(x, y)[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--metrics", help="comma-separated names (default: all available)")
    ap.add_argument("--mefb-sources", choices=("extremes", "all"), default="extremes")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (sequences)")
    ap.add_argument("--csv", type=Path, help="write every score to this CSV file")
    ap.add_argument("--from-csv", type=Path,
                    help="read the scores of an earlier --csv run instead of computing them")
    args = ap.parse_args()

    root = data_root() / "ma2015"
    if not (root / "MOS.mat").is_file():
        raise SystemExit(f"{root}/MOS.mat is absent: set EXPOKIT_DATA to the shared data folder")
    mos = np.asarray(sio.loadmat(str(root / "MOS.mat"))["MOS"], dtype=np.float64)
    names = sio.loadmat(str(root / "imgName.mat"))["imgName"]
    sequences = []
    for i in range(names.shape[0]):
        row = [str(names[i, j][0]) for j in range(names.shape[1])]
        seq = row[0].rsplit("_", 1)[0]
        expected = [f"{seq}_{m}.png" for m in METHODS]
        if row != expected:
            raise SystemExit(f"imgName.mat row {i + 1} is {row}, expected {expected}")
        sequences.append(seq)
    folders = ma2015_sequence_folders(root, sequences)

    wanted = None if args.metrics is None else [m.strip() for m in args.metrics.split(",")]
    mefb_funcs, missing = _mefb_functions(wanted)
    metric_names = [m for m in MEF_METRICS if wanted is None or m in wanted] + list(mefb_funcs)
    print("Sequence -> source folder (exposures):")
    for seq in sequences:
        count = sum(1 for _ in folders[seq].iterdir())
        print(f"  {seq:<14} -> {folders[seq].name} ({count})")
    if missing:
        print(f"Skipped (not importable / unknown): {', '.join(missing)}")
    print(f"MEFB metrics get: {args.mefb_sources} "
          "(extremes = darkest and brightest exposure by mean)\n")

    jobs = [(s, folders[s], root / "fused images", metric_names, args.mefb_sources)
            for s in sequences]
    t0 = time.perf_counter()
    results: dict[str, dict] = {}
    if args.from_csv:
        results, metric_names = _read_csv(args.from_csv, sequences, folders, wanted)
    elif args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            for seq, res in pool.map(score_sequence, jobs):
                results[seq] = res
                print(f"  scored {seq} ({time.perf_counter() - t0:.0f} s)", flush=True)
    else:
        for job in jobs:
            seq, res = score_sequence(job)
            results[seq] = res
            print(f"  scored {seq} ({time.perf_counter() - t0:.0f} s)", flush=True)

    if args.csv:
        with args.csv.open("w", newline="") as fh:
            wr = csv.writer(fh)
            wr.writerow(["sequence", "method", "MOS", *metric_names])
            for i, seq in enumerate(sequences):
                for j, method in enumerate(METHODS):
                    wr.writerow([seq, method, mos[i, j],
                                 *[results[seq]["scores"][m][j] for m in metric_names]])

    # per-sequence correlations
    per: dict[str, np.ndarray] = {}
    for m in metric_names:
        per[m] = np.array([_corr(np.array(results[s]["scores"][m]), mos[i])
                           for i, s in enumerate(sequences)])
    show = [m for m in ("mef_ssim", "mef_ms_ssim", "mefb_mef_ssim", "mef_ssimc", "QABF")
            if m in metric_names]
    print("\nSRCC with MOS per sequence (8 fused images each):")
    print(f"  {'sequence':<14}{'N':>4}" + "".join(f"{m:>15}" for m in show))
    for i, s in enumerate(sequences):
        print(f"  {s:<14}{results[s]['n_sources']:>4}"
              + "".join(f"{per[m][i, 1]:>15.3f}" for m in show))

    all_mos = mos.reshape(-1)
    print("\nCorrelation with MOS: mean of the 17 per-sequence values, and over all 136 images")
    header = (f"  {'metric':<16}{'PLCC/seq':>10}{'SRCC/seq':>10}{'PLCC all':>10}"
              f"{'SRCC all':>10}  paper (TIP 2015)")
    print(header)
    rows = []
    for m in metric_names:
        vals = np.concatenate([results[s]["scores"][m] for s in sequences])
        overall = _corr(vals, all_mos)
        mean_seq = np.nanmean(per[m], axis=0)
        rows.append((m, mean_seq, overall))
    rows.sort(key=lambda r: -abs(r[1][1]))
    for m, mean_seq, overall in rows:
        paper = PAPER.get(m)
        paper_txt = (f"{paper[0]:.3f} / {paper[1]:.3f} ({paper[2]})" if paper
                     else "paper value not checked")
        notes = {results[s]["notes"].get(m) for s in sequences} - {None}
        flag = " *" if notes else ""
        print(f"  {m + flag:<16}{mean_seq[0]:>10.3f}{mean_seq[1]:>10.3f}{overall[0]:>10.3f}"
              f"{overall[1]:>10.3f}  {paper_txt}")
    if any(results[s]["notes"] for s in sequences):
        print("  * took the extreme pair on some sequences (defined for two sources only)")

    srcc = {r[0]: r[1][1] for r in rows}
    general = {m: abs(v) for m, v in srcc.items() if m not in MEF_METRICS}
    if general:
        rival = max(general, key=general.get)
        for m in ("mef_ssim", "mef_ms_ssim"):
            if m in srcc:
                verdict = "yes" if srcc[m] > general[rival] else "NO"
                print(f"\n{m}: mean per-sequence SRCC {srcc[m]:.3f} vs the best general fusion "
                      f"metric {rival} {general[rival]:.3f} (absolute value): better? {verdict}",
                      end="")
        print()
    print(f"time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
