"""Exposure correction quality on real held-out sequences (Ma et al. 2015): UEC vs baselines.

    python benchmarks/quality_correction.py [--data DIR] [--weights uec runs/x/uec.safetensors]
                                            [--csv per_image.csv] [--threads 1]

Protocol (issue 5): for each of the 17 Ma 2015 source sequences (never used for training),
sort the shots by mean brightness; the darkest and the brightest are the inputs, the middle
one (index ``n // 2`` in that order) the target. The reference exposure for sequence ``k`` is
the middle shot of sequence ``(k + 1) mod 17``: a *different* scene, so a method can take only
the exposure from it, not the content. Each method corrects each input toward that
reference; PSNR and SSIM (``expokit.metrics``, ``data_range=1``, SSIM averaged over R, G, B)
against the target. Methods:

* ``input``: the input itself (no correction);
* ``histogram matching``: :func:`expokit.correct.match_histograms_to` (per channel, to the
  reference);
* ``gain + gamma``: :func:`expokit.correct.gain_gamma_to` (global gain and gamma fitted to
  the reference's mean and spread of log luminance);
* ``UEC (<weights>)``: :func:`expokit.correct.correct_exposure` with the reference, for each
  weights given (default: the shipped ``uec`` and every shipped ``uec_*`` variant);
* ``UEC default ref``: the first UEC weights with no reference (the shipped default exposure
  feature) - not reference-based, shown for context.

Prints a markdown table (method x {dark input, bright input, all} x {PSNR, SSIM}) and whether
each UEC variant beats every reference-based baseline on mean PSNR over all inputs.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import data_root  # noqa: E402


def _default_weights() -> list[str]:
    """The shipped ``uec`` weights, then every other shipped ``uec_*`` variant."""
    from expokit.models.zoo import WEIGHTS_DIR

    return ["uec"] + [str(p) for p in sorted(WEIGHTS_DIR.glob("uec_*.safetensors"))]


def _label(weights: str) -> str:
    return f"UEC ({Path(weights).stem if weights.endswith('.safetensors') else weights})"


def _brightness(img: np.ndarray) -> float:
    return float(img.mean())


def load_sequences(root: Path) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """``(name, darkest, brightest, middle)`` per Ma 2015 sequence, float32 in [0, 1]."""
    from expokit._checks import to_float32
    from expokit.bench.datasets import load_ma2015
    from expokit.io import read_image

    out = []
    for item in load_ma2015(root):
        shots = [to_float32(read_image(p))[..., :3] for p in item.sources]
        shots.sort(key=_brightness)
        out.append((item.name, shots[0], shots[-1], shots[len(shots) // 2]))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=None, help="ma2015 folder "
                    "(default: $EXPOKIT_DATA/ma2015 or ../shared/data/ma2015)")
    ap.add_argument("--weights", nargs="+", default=None,
                    help="UEC weights: shipped names or .safetensors files")
    ap.add_argument("--csv", type=Path, default=None, help="write per-image scores here")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    import torch

    from expokit.correct import correct_exposure, gain_gamma_to, match_histograms_to
    from expokit.metrics import psnr, ssim

    torch.set_num_threads(args.threads)
    root = args.data or data_root() / "ma2015"
    weights = args.weights or _default_weights()
    seqs = load_sequences(root)
    n = len(seqs)

    methods: dict[str, tuple[bool, object]] = {  # name -> (reference-based, fn(img, ref))
        "input": (False, lambda img, ref: img),
        "histogram matching": (True, match_histograms_to),
        "gain + gamma": (True, gain_gamma_to),
    }
    for w in weights:
        methods[_label(w)] = (True, lambda img, ref, w=w: correct_exposure(
            img, reference=ref, weights=w, threads=args.threads))
    methods["UEC default ref"] = (False, lambda img, ref: correct_exposure(
        img, weights=weights[0], threads=args.threads))

    rows = []
    t0 = time.perf_counter()
    for k, (name, dark, bright, target) in enumerate(seqs):
        ref = seqs[(k + 1) % n][3]
        for which, img in (("dark", dark), ("bright", bright)):
            for method, (_, fn) in methods.items():
                out = fn(img, ref)
                rows.append({"sequence": name, "input": which, "method": method,
                             "reference": seqs[(k + 1) % n][0],
                             "psnr": psnr(out, target, data_range=1.0),
                             "ssim": ssim(out, target, data_range=1.0)})
    seconds = time.perf_counter() - t0

    if args.csv is not None:
        from expokit.io import atomic_path

        with atomic_path(args.csv) as tmp, open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)

    def mean(method: str, which: str | None, key: str) -> float:
        vals = [r[key] for r in rows if r["method"] == method and which in (None, r["input"])]
        return float(np.mean(vals))

    print(f"Ma 2015, {n} sequences x (darkest, brightest) input -> middle shot; reference = "
          f"middle shot of the next sequence; PSNR (dB) / SSIM vs the target ({seconds:.0f} s)\n")
    print("| method | ref-based | dark PSNR | dark SSIM | bright PSNR | bright SSIM | all PSNR "
          "| all SSIM |")
    print("|---|---|---|---|---|---|---|---|")
    for method, (ref_based, _) in methods.items():
        cells = [f"{mean(method, w, 'psnr'):.2f} | {mean(method, w, 'ssim'):.4f}"
                 for w in ("dark", "bright", None)]
        print(f"| {method} | {'yes' if ref_based else 'no'} | " + " | ".join(cells) + " |")
    baselines = ["histogram matching", "gain + gamma"]
    best = max(baselines, key=lambda m: mean(m, None, "psnr"))
    print()
    for w in weights:
        label = _label(w)
        ours, theirs = mean(label, None, "psnr"), mean(best, None, "psnr")
        verdict = "beats" if ours > theirs else "does NOT beat"
        print(f"{label} {verdict} every reference-based baseline on mean PSNR: {ours:.2f} dB vs "
              f"{theirs:.2f} dB ({best}); per input: dark {mean(label, 'dark', 'psnr'):.2f} vs "
              f"{max(mean(b, 'dark', 'psnr') for b in baselines):.2f}, bright "
              f"{mean(label, 'bright', 'psnr'):.2f} vs "
              f"{max(mean(b, 'bright', 'psnr') for b in baselines):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
