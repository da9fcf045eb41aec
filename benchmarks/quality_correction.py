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
* ``UEC default (no reference)``: the first UEC weights with neither reference nor ``ev``:
  the default correction (``docs/uec_default.md``) - not reference-based;
* ``UEC ev 0``: the model's full colour transform toward the shipped EV 0 feature, which was
  the default before issue 9 - shown for comparison.

Prints a markdown table (method x {dark input, bright input, all} x {PSNR, SSIM}), whether
each UEC variant beats every reference-based baseline on mean PSNR over all inputs, a table of
clipped pixels before and after (a pixel is clipped when a channel rounds to the top 8-bit
code), and the four criteria of issue 9 checked on Ma 2015 for the default mode, the old
default (``ev`` 0) and the first UEC weights with a reference:

1. *clip*: at most 1 % of the pixels become clipped that were not, on every input;
2. *neutral*: input pixels with R = G = B come out with R = G = B (within 1e-6), and no
   pixel's channel order is reversed (a < b in, a > b + 1e-6 out);
3. *no-op*: a well-exposed shot - log-average linear luminance within 0.5 stop of key 0.18,
   the automatic exposure that defined the training's EV 0 - comes back at > 35 dB PSNR vs
   itself;
4. *monotone*: of 200,000 random pixel pairs per image, none ordered channel by channel in
   the input (x <= y in R, G and B) comes out unordered (beyond 1e-6).

The checks run on every shot of every sequence (not only the darkest and brightest) for the
default and ``ev`` 0, and on the darkest and brightest with the reference (the no-op check
does not apply there: the target is the reference).
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


def load_shots(root: Path) -> list[tuple[str, list[np.ndarray]]]:
    """``(name, shots)`` per Ma 2015 sequence, shots as read (uint8) from darkest to brightest."""
    from expokit.bench.datasets import load_ma2015
    from expokit.io import read_image

    out = []
    for item in load_ma2015(root):
        shots = [np.ascontiguousarray(read_image(p)[..., :3]) for p in item.sources]
        shots.sort(key=_brightness)
        out.append((item.name, shots))
    return out


def load_sequences(root: Path) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """``(name, darkest, brightest, middle)`` per Ma 2015 sequence, float32 in [0, 1]."""
    from expokit._checks import to_float32

    return [(name, to_float32(s[0]), to_float32(s[-1]), to_float32(s[len(s) // 2]))
            for name, s in load_shots(root)]


#: Criteria of issue 9: at most this share of pixels newly clipped.
CLIP_BUDGET = 0.01
#: A well-exposed shot: log-average linear luminance within this many stops of KEY.
WELL_EXPOSED_STOPS = 0.5
KEY = 0.18
#: PSNR (dB) above which a well-exposed shot counts as nearly unchanged.
NOOP_PSNR = 35.0
#: Random pixel pairs per image for the monotonicity check.
PAIRS = 200_000


def clipped(img: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: a channel at the top 8-bit code (floats rounded to 8 bits first)."""
    codes = img if img.dtype == np.uint8 else np.rint(np.asarray(img, np.float64) * 255.0)
    return (codes >= 255).any(axis=2)


def exposure_error(img: np.ndarray) -> float:
    """Stops from a well-exposed shot: ``log2(KEY / log-average linear luminance)``."""
    from expokit._checks import to_float32
    from expokit.color import luminance, srgb_to_linear

    lum = luminance(srgb_to_linear(to_float32(img))).astype(np.float64)
    return float(np.log2(KEY / np.exp(np.log(np.maximum(lum, 0.5 / 255 / 12.92)).mean())))


def criteria(img: np.ndarray, out: np.ndarray, rng: np.random.Generator) -> dict[str, float]:
    """The issue-9 measurements of one correction ``img`` (uint8) -> ``out`` (float [0, 1])."""
    from expokit.metrics import psnr

    a = img.reshape(-1, 3)
    b = out.reshape(-1, 3).astype(np.float64)
    before, after = clipped(img), clipped(out)
    grey = (a[:, 0] == a[:, 1]) & (a[:, 1] == a[:, 2])
    reversed_ = np.zeros(len(a), bool)
    for i, j in ((0, 1), (1, 2), (0, 2), (1, 0), (2, 1), (2, 0)):
        reversed_ |= (a[:, i] < a[:, j]) & (b[:, i] > b[:, j] + 1e-6)
    p, q = rng.integers(0, len(a), (2, PAIRS))
    le = (a[p] <= a[q]).all(axis=1)
    mono = int(np.count_nonzero((b[p][le] > b[q][le] + 1e-6).any(axis=1)))
    return {"clipped_in": float(before.mean()), "clipped_out": float(after.mean()),
            "newly_clipped": float((after & ~before).mean()),
            "grey_error": float(np.ptp(b[grey], axis=1).max()) if grey.any() else 0.0,
            "order_violations": float(reversed_.mean()),
            "monotone_violations": mono / max(1, int(le.sum())),
            "psnr_vs_input": psnr(out, img.astype(np.float32) / 255.0, data_range=1.0),
            "exposure_error": exposure_error(img)}


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

    from expokit._checks import to_float32
    from expokit.correct import correct_exposure, gain_gamma_to, match_histograms_to
    from expokit.metrics import psnr, ssim

    torch.set_num_threads(args.threads)
    root = args.data or data_root() / "ma2015"
    weights = args.weights or _default_weights()
    shots = load_shots(root)
    seqs = [(name, s[0], s[-1], s[len(s) // 2]) for name, s in shots]
    n = len(seqs)
    default = "UEC default (no reference)"
    old_default = "UEC ev 0 (full transform; the default before issue 9)"
    with_ref = _label(weights[0])

    methods: dict[str, tuple[bool, object]] = {  # name -> (reference-based, fn(img, ref))
        "input": (False, lambda img, ref: to_float32(img)),
        "histogram matching": (True, match_histograms_to),
        "gain + gamma": (True, gain_gamma_to),
    }
    for w in weights:
        methods[_label(w)] = (True, lambda img, ref, w=w: correct_exposure(
            img, reference=ref, weights=w, threads=args.threads))
    methods[default] = (False, lambda img, ref: correct_exposure(
        img, weights=weights[0], threads=args.threads))
    methods[old_default] = (False, lambda img, ref: correct_exposure(
        img, ev=0.0, weights=weights[0], threads=args.threads))

    rng = np.random.default_rng(0)
    rows = []
    t0 = time.perf_counter()
    for k, (name, dark, bright, middle) in enumerate(seqs):
        ref = seqs[(k + 1) % n][3]
        target = to_float32(middle)
        for which, img in (("dark", dark), ("bright", bright)):
            for method, (_, fn) in methods.items():
                out = fn(img, ref)
                row = {"sequence": name, "input": which, "method": method,
                       "reference": seqs[(k + 1) % n][0],
                       "psnr": psnr(out, target, data_range=1.0),
                       "ssim": ssim(out, target, data_range=1.0)}
                row.update(criteria(img, out, rng))
                rows.append(row)
    # the default mode on every shot of every sequence, for the criteria
    every: dict[str, list[dict]] = {default: [], old_default: []}
    for name, seq in shots:
        for i, img in enumerate(seq):
            for method in every:
                out = methods[method][1](img, None)
                every[method].append({"sequence": name, "shot": i, **criteria(img, out, rng)})
    seconds = time.perf_counter() - t0

    if args.csv is not None:
        from expokit.io import atomic_path

        with atomic_path(args.csv) as tmp, open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)

    def values(method: str, which: str | None, key: str) -> list[float]:
        return [r[key] for r in rows if r["method"] == method and which in (None, r["input"])]

    def mean(method: str, which: str | None, key: str) -> float:
        return float(np.mean(values(method, which, key)))

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

    print("\nClipped pixels (a channel at the top 8-bit code), mean % of the frame, input -> "
          "output; newly clipped: pixels clipped in the output but not in the input, mean and "
          "worst image (%)\n")
    print("| method | dark: in -> out | bright: in -> out | newly clipped, mean | worst |")
    print("|---|---|---|---|---|")
    for method in methods:
        cells = [f"{100 * mean(method, w, 'clipped_in'):.1f} -> "
                 f"{100 * mean(method, w, 'clipped_out'):.1f}" for w in ("dark", "bright")]
        newly = values(method, None, "newly_clipped")
        print(f"| {method} | " + " | ".join(cells) +
              f" | {100 * np.mean(newly):.2f} | {100 * max(newly):.2f} |")

    def check(ok: bool) -> str:
        return "met" if ok else "NOT met"

    groups = {default: every[default], old_default: every[old_default],
              f"{with_ref} with reference": [r for r in rows if r["method"] == with_ref]}
    print(f"\nIssue 9 criteria on Ma 2015: without reference, all {len(every[default])} shots "
          f"(every shot of every sequence); with reference, the "
          f"{len(groups[f'{with_ref} with reference'])} darkest and brightest shots\n")
    print("| criterion | " + " | ".join(groups) + " |")
    print("|---|" + "---|" * len(groups))
    for label, key, limit in (
            (f"clip: newly clipped <= {100 * CLIP_BUDGET:g} % (worst image)", "newly_clipped",
             CLIP_BUDGET),
            ("neutral: R = G = B stays grey (worst spread, max - min)", "grey_error", 1e-6),
            ("neutral: channel order reversed (worst share of pixels)", "order_violations", 0.0),
            ("monotone: ordered pairs that come out unordered (worst share)",
             "monotone_violations", 0.0)):
        cells = []
        for group in groups.values():
            worst = max(r[key] for r in group)
            shown = f"{100 * worst:.2f} %" if key != "grey_error" else f"{worst:.2g}"
            cells.append(f"{shown}: {check(worst <= limit)}")
        print(f"| {label} | " + " | ".join(cells) + " |")
    cells = []
    for method in every:
        well = [r for r in every[method] if abs(r["exposure_error"]) <= WELL_EXPOSED_STOPS]
        low = min((r["psnr_vs_input"] for r in well), default=float("nan"))
        cells.append(f"{len(well)} shots, lowest {low:.1f} dB: {check(low > NOOP_PSNR)}"
                     if well else "no well-exposed shot")
    print(f"| no-op: well-exposed shots (within {WELL_EXPOSED_STOPS:g} stop of key {KEY:g}) "
          f"> {NOOP_PSNR:g} dB vs input | " + " | ".join(cells) +
          " | n/a (the target is the reference) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
