"""Learned HDR reconstruction on held-out simulated dynamic scenes: AHDR, AHDR + semantic
knowledge transfer, ablations, and the classical Debevec merge with deghosting.

    python benchmarks/quality_hdr.py [--data DIR] [--run LABEL=RUN_DIR ...] [--size 384]
                                     [--per-scene 2] [--threads 2] [--csv per_bracket.csv]
                                     [--no-timing] [--no-paper-width]
                                     [--scenes DIR [--layout kalantari|tel]]

Scenes: the 8 radiance maps of ``expokit.train.ahdr.TEST_SCENES`` (``hdr_cc0_more``), which
no shipped weights were trained or validated on. Each gives ``--per-scene`` brackets rendered
by ``expokit.train.ahdr.render_dynamic`` with a fixed seed: a ``--size`` square crop, a random
camera (response, noise, JPEG), -2/0/+2 EV around a random offset, camera shake of up to 4 px
and 1 to 3 moving objects (so every bracket is dynamic).

Ground truth: the reference (middle) frame's radiance in the units of the shortest frame
(1 = its saturation), clipped to [0, 1] as in Kalantari's data set. Estimates are brought to
the same units and clipped to [0, 1]:

* ``Debevec + deghost``: ``expokit.hdr.calibrate`` (Debevec, from the bracket itself) and
  ``expokit.hdr.merge(method="debevec", deghost="reference")``. Its radiance has an unknown
  scale, so it is multiplied by the **oracle** factor that best fits the ground truth
  (``expokit.metrics.hdr.fit_scale``: the median ratio over pixels with ground truth in
  (0.01, 0.9)): a favour the learned models do not get.
* ``AHDR (<weights>)``: :func:`expokit.hdr.merge_ahdr`, times the shortest exposure time.
* ``--run LABEL=DIR``: the ORM of a training run folder (``expokit train ahdr --out DIR``),
  for the ablations: e.g. ``--run "w/o L_color=runs/abl_no_color"``.

``--scenes DIR``: instead of the simulated scenes, a real data set in the Kalantari 2017 or Tel
et al. layout (``expokit.datasets.load_hdr_scenes``; e.g. Kalantari's ``Test/PAPER``). Its
ground truth ``HDRImg.hdr`` is compared with each method's radiance (the learned models'
output divided by the shortest exposure time, in the file's units ``2 ** EV``), clipped to
[0, 1]; a ground truth brighter than 1 is divided by its maximum first, estimate too.

Metrics (``expokit.metrics``): PSNR-mu, PSNR-L, SSIM-mu (``normalize="none"``) and PU21-PSNR
(``pu21_psnr``, the stand-in for HDR-VDP-2). Prints a markdown table, whether the issue's
targets are met, each row's per-bracket PSNR-mu difference to AHDR trained alone (mean, standard
error, how many brackets it wins), and the CPU time of a 1-megapixel three-frame
reconstruction for each model and for the paper-width network (``--threads`` threads, median
of 3 after a warm-up).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import data_root  # noqa: E402

METRICS = ("psnr_mu", "psnr_l", "ssim_mu", "pu21_psnr")


def simulated_brackets(root: Path, size: int, per_scene: int) -> list:
    from expokit.train.ahdr import TEST_SCENES, held_out_brackets

    return held_out_brackets(root, TEST_SCENES, size=size, seed=2027, per_scene=per_scene,
                             min_objects=1, max_objects=3, shake_px=4.0)


def real_scenes(folder: Path, layout: str) -> list[tuple[str, list[np.ndarray], np.ndarray,
                                                           np.ndarray, float]]:
    """``(name, frames uint16, times, ground truth, 1 / scale)`` per scene of a real data set."""
    from expokit.datasets import load_hdr_scenes, read_hdr_scene

    out = []
    for scene in load_hdr_scenes(folder, layout=layout):  # type: ignore[arg-type]
        sample = read_hdr_scene(scene)
        frames = [np.round(f * 65535.0).astype(np.uint16) for f in sample.frames]
        gt = sample.radiance
        top = float(gt.max())
        norm = top if top > 1.0 else 1.0
        out.append((scene.name, frames, sample.exposure_times, gt / norm, norm))
    return out


def debevec_deghost(frames: list[np.ndarray], times: np.ndarray) -> np.ndarray:
    from expokit.hdr import calibrate, merge

    response = calibrate(frames, times, method="debevec")
    rad = merge(frames, times, method="debevec", response=response, deghost="reference")
    return rad


def score(est: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    from expokit.metrics.hdr import psnr_l, psnr_mu, pu21_psnr, ssim_mu

    est = np.clip(est, 0.0, 1.0).astype(np.float32)
    return {"psnr_mu": psnr_mu(est, gt), "psnr_l": psnr_l(est, gt),
            "ssim_mu": ssim_mu(est, gt), "pu21_psnr": pu21_psnr(est, gt)}


def load_models(runs: list[str]) -> list[tuple[str, object]]:
    from expokit.models.ahdr import AHDR
    from expokit.train.recipe import load_finished_run

    models: list[tuple[str, object]] = []
    for name in AHDR.PRETRAINED:
        try:
            models.append((f"AHDR ({name})", AHDR.from_pretrained(name)))
        except Exception as exc:  # noqa: BLE001 - report and go on without it
            print(f"note: shipped weights {name!r} not loaded ({exc})", file=sys.stderr)
    for item in runs:
        label, _, folder = item.partition("=")
        if not folder:
            raise SystemExit(f"--run takes LABEL=RUN_DIR, got {item!r}")
        models.append((label, load_finished_run("ahdr", folder).model.orm.eval()))
    return models


def time_1mp(model: object, threads: int) -> float:
    from expokit.hdr import merge_ahdr

    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (1000, 1000, 3), dtype=np.uint8) for _ in range(3)]
    times = [0.25, 1.0, 4.0]
    merge_ahdr(frames, times, model=model, threads=threads)  # warm-up
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        merge_ahdr(frames, times, model=model, threads=threads)
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def time_debevec_1mp(threads: int) -> float:
    import cv2

    from expokit.simulate import render_scene, simulate_bracket

    cv2.setNumThreads(threads)
    b = simulate_bracket(render_scene(1000, 1000), evs=(-2, 0, 2), seed=0)
    frames, times = b.images, b.exposure_times
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        debevec_deghost(frames, times)
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None, help="data root (default $EXPOKIT_DATA "
                    "or ../shared/data)")
    ap.add_argument("--run", action="append", default=[], help="LABEL=RUN_DIR (repeatable)")
    ap.add_argument("--size", type=int, default=384)
    ap.add_argument("--per-scene", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--csv", type=Path, default=None)
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--no-paper-width", action="store_true",
                    help="skip timing the paper-width network (about 2 minutes)")
    ap.add_argument("--scenes", type=Path, default=None,
                    help="a Kalantari/Tel-layout folder to evaluate instead of simulated scenes")
    ap.add_argument("--layout", default="kalantari", choices=("kalantari", "tel"))
    args = ap.parse_args(argv)

    import torch

    from expokit.hdr import merge_ahdr
    from expokit.metrics.hdr import fit_scale

    torch.set_num_threads(args.threads)
    if args.scenes is not None:
        items = real_scenes(args.scenes, args.layout)
        what = f"{len(items)} scenes of {args.scenes} ({args.layout} layout)"
    else:
        root = args.data or data_root()
        if not (root / "hdr_cc0_more").is_dir():
            print(f"skipped: {root / 'hdr_cc0_more'} is absent (set --data or $EXPOKIT_DATA)")
            return 0
        brackets = simulated_brackets(root, args.size, args.per_scene)
        # Simulated: the learned output times t_min is in the ground truth's units.
        items = [(name, list(b.frames), b.times, b.hdr, 1.0 / float(b.times[0]))
                 for name, b in brackets]
        what = (f"{len(items)} brackets ({args.per_scene} per scene) of "
                f"{len(items) // max(1, args.per_scene)} held-out hdr_cc0_more radiance maps, "
                f"{args.size}x{args.size}, -2/0/+2 EV, shake, 1-3 moving objects")
    models = load_models(args.run)
    rows: dict[str, list[dict[str, float]]] = {"Debevec + deghost (oracle scale)": []}
    for label, _ in models:
        rows[label] = []
    per_bracket = []
    for k, (scene, frames, times, gt, norm) in enumerate(items):
        deb = debevec_deghost(frames, times)
        deb = deb * fit_scale(deb, gt)
        s = score(deb, gt)
        rows["Debevec + deghost (oracle scale)"].append(s)
        per_bracket.append({"scene": scene, "bracket": k, "method": "debevec", **s})
        for label, model in models:
            est = merge_ahdr(frames, times, model=model, threads=args.threads)
            s = score(est / np.float32(norm), gt)
            rows[label].append(s)
            per_bracket.append({"scene": scene, "bracket": k, "method": label, **s})
        print(f"  {k + 1}/{len(items)} {scene}", file=sys.stderr)

    print(f"\n{what}\n")
    print("| method | PSNR-mu | PSNR-L | SSIM-mu | PU21-PSNR |")
    print("|---|---|---|---|---|")
    means = {}
    for label, vals in rows.items():
        m = {k: float(np.mean([v[k] for v in vals])) for k in METRICS}
        means[label] = m
        print(f"| {label} | {m['psnr_mu']:.2f} | {m['psnr_l']:.2f} | {m['ssim_mu']:.4f} | "
              f"{m['pu21_psnr']:.2f} |")
    base = "AHDR (ahdr)"
    if base in rows:
        print(f"\nPSNR-mu per bracket minus {base} (mean +- standard error, brackets better):")
        for label, vals in rows.items():
            if label == base:
                continue
            d = np.array([v["psnr_mu"] - b["psnr_mu"] for v, b in zip(vals, rows[base],
                                                                       strict=True)])
            se = float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else float("nan")
            print(f"  {label}: {d.mean():+.2f} +- {se:.2f} dB, {(d > 0).sum()} of {d.size}")
    deb = means["Debevec + deghost (oracle scale)"]["psnr_mu"]
    alone, skt = means.get("AHDR (ahdr)"), means.get("AHDR (ahdr_skt)")
    if alone and skt:
        gain = skt["psnr_mu"] - alone["psnr_mu"]
        print(f"\nAHDR + transfer vs AHDR alone: PSNR-mu {skt['psnr_mu']:.2f} vs "
              f"{alone['psnr_mu']:.2f} dB ({gain:+.2f}): target above: met? "
              f"{'YES' if gain > 0 else 'NO'}")
        both = min(skt["psnr_mu"], alone["psnr_mu"]) > deb
        print(f"Both above Debevec + deghost ({deb:.2f} dB PSNR-mu): met? "
              f"{'YES' if both else 'NO'}")
    if args.csv:
        with args.csv.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["scene", "bracket", "method", *METRICS])
            w.writeheader()
            w.writerows(per_bracket)
    if not args.no_timing:
        print(f"\nCPU time, 1 MP (1000x1000) three-frame reconstruction, {args.threads} "
              "threads, median of 3:")
        print(f"  Debevec calibrate + merge + deghost: {time_debevec_1mp(args.threads):.2f} s")
        for label, model in models:
            n = sum(p.numel() for p in model.parameters())
            print(f"  {label} ({n:,} parameters): {time_1mp(model, args.threads):.2f} s")
        if not args.no_paper_width:
            from expokit.models.ahdr import AHDR

            paper = AHDR().eval()  # untrained: the time does not depend on the weights
            n = sum(p.numel() for p in paper.parameters())
            print(f"  AHDR at the paper's width (64 / 32, {n:,} parameters, untrained): "
                  f"{time_1mp(paper, args.threads):.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
