"""UEC exposure correction speed and peak memory on a 4K (3840x2160) 8-bit photo, after loading.

    python benchmarks/bench_correction.py [--width 3840] [--height 2160] [--threads 2]
                                          [--repeat 7] [--weights uec] [--exact]

The input is a synthetic scene (expokit.simulate.render_scene) exposed one stop under its
automatic exposure and encoded as 8-bit sRGB, written once; the correction runs in a fresh
process (as benchmarks/_common.py does) that loads the model and corrects the image once
before timing (weights read, torch's first-call set-up), then times ``repeat`` calls of
``expokit.correct.correct_exposure`` with no reference (the default correction: one grey
curve, a 1-D lookup per channel; ``docs/uec_default.md``). It prints the median and the best
wall time, and peak memory (VmHWM) above the resident size once the model and the input are
loaded. The figure to compare with the 0.5 s target is the median. It then times the same
with ``ev=0`` (the model's full colour transform, as with a reference: the 49³ lookup table).

``--exact`` also times the exact per-pixel renderer of the full transform (the lookup table
switched off), to show what the table buys.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import measure, save_inputs  # noqa: E402


def setup_uec(inputs: dict) -> dict:
    """Load the model (not timed); ``BENCH_EXACT=1`` switches the lookup table off."""
    import torch

    import expokit.correct.uec as cu

    torch.set_num_threads(int(os.environ["BENCH_THREADS"]))
    if os.environ.get("BENCH_EXACT") == "1":
        cu.LUT_MIN_PIXELS = 1 << 62
    cu.load_uec(os.environ["BENCH_WEIGHTS"])
    return inputs


def run_uec(state: dict) -> np.ndarray:
    import expokit.correct.uec as cu

    ev = float(os.environ["BENCH_EV"]) if os.environ.get("BENCH_EV") else None
    return cu.correct_exposure(state["image"], ev=ev, weights=os.environ["BENCH_WEIGHTS"],
                               threads=int(os.environ["BENCH_THREADS"]))


warmup_uec = run_uec  # the first call sets torch up: not timed, not in the memory baseline


def make_image(width: int, height: int) -> np.ndarray:
    """An under-exposed 8-bit sRGB rendering of the synthetic HDR scene."""
    from expokit.color import linear_to_srgb
    from expokit.simulate import auto_exposure_time, render_scene

    rad = render_scene(height, width)
    t = auto_exposure_time(rad) / 2.0  # one stop under
    return np.rint(linear_to_srgb(np.clip(rad * t, 0, 1)) * 255).astype(np.uint8)


def run(inputs: Path, *, threads: int, repeat: int, weights: str, exact: bool,
        ev: float | None = None) -> dict:
    os.environ["BENCH_WEIGHTS"] = weights
    os.environ["BENCH_EXACT"] = str(int(exact))
    os.environ["BENCH_EV"] = "" if ev is None else str(ev)
    return measure(__file__, "uec", inputs, threads=threads, repeat=repeat)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--width", type=int, default=3840)
    ap.add_argument("--height", type=int, default=2160)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--weights", default="uec")
    ap.add_argument("--exact", action="store_true", help="also time the exact renderer")
    args = ap.parse_args(argv)

    img = make_image(args.width, args.height)
    inputs = save_inputs({"image": img})
    try:
        label = f"{args.width}x{args.height} uint8, {args.threads} threads"
        res = run(inputs, threads=args.threads, repeat=args.repeat, weights=args.weights,
                  exact=False)
        print(f"UEC correct_exposure (default, no reference), {label}: median "
              f"{res['median']:.3f} s, best {res['seconds']:.3f} s over {args.repeat} runs "
              f"({', '.join(f'{t:.3f}' for t in res['times'])}); peak memory "
              f"{res['peak_mb']:.0f} MB above the loaded model and input; target < 0.5 s: "
              f"{'met' if res['median'] < 0.5 else 'NOT met'}")
        full = run(inputs, threads=args.threads, repeat=args.repeat, weights=args.weights,
                   exact=False, ev=0.0)
        print(f"UEC correct_exposure (ev=0: full colour transform, 49^3 table), {label}: "
              f"median {full['median']:.3f} s, best {full['seconds']:.3f} s; peak memory "
              f"{full['peak_mb']:.0f} MB; target < 0.5 s: "
              f"{'met' if full['median'] < 0.5 else 'NOT met'}")
        if args.exact:
            ex = run(inputs, threads=args.threads, repeat=max(1, args.repeat // 3),
                     weights=args.weights, exact=True, ev=0.0)
            print(f"exact per-pixel renderer (ev=0, no lookup table), {label}: median "
                  f"{ex['median']:.3f} s, peak memory {ex['peak_mb']:.0f} MB")
    finally:
        import shutil

        shutil.rmtree(inputs.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
