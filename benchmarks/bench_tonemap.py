"""Tone-mapping speed and peak memory: expokit vs OpenCV (Mantiuk, Reinhard, Drago), one run.

    python benchmarks/bench_tonemap.py [--megapixels 12] [--threads 2] [--repeat 3]
                                       [--methods mantiuk,reinhard,drago,reinhard_local]

The synthetic HDR scene (expokit.simulate.render_scene, linear float32 radiance, ~4.5
decades) of the given size is written once; each contender runs in its own process with the
same thread count (cv2.setNumThreads, and $EXPOKIT_THREADS for expokit's DCTs), and the script
prints best-of-N wall time, peak memory above the loaded inputs, and the ratios.

Both sides produce a display-encoded float32 image from the same RGB radiance: expokit with
its defaults (sRGB encoding), OpenCV with its defaults and gamma 2.2 on a BGR copy made in
setup (not timed). The pairs are not the same algorithm in every case: OpenCV's Reinhard is
Reinhard & Devlin 2005, expokit's the 2002 global operator, and OpenCV's Mantiuk solves the
least-squares problem with up to 100 conjugate-gradient passes where expokit uses a DCT
preconditioner and two (see expokit.tonemap.mantiuk). ``reinhard_local`` has no OpenCV
counterpart and is timed alone.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import measure, ratio_line, save_inputs  # noqa: E402

#: OpenCV factories (name -> (constructor name, arguments)) with their documented defaults.
OPENCV = {
    "mantiuk": ("createTonemapMantiuk", (2.2, 0.7, 1.0)),  # gamma, scale, saturation
    "reinhard": ("createTonemapReinhard", (2.2, 0.0, 1.0, 0.0)),  # gamma, intensity, light, colour
    "drago": ("createTonemapDrago", (2.2, 1.0, 0.85)),  # gamma, saturation, bias
}


# --- contenders (run in child processes by _common.measure) -------------------------------
def _expokit(method: str, inputs: dict[str, np.ndarray]) -> np.ndarray:
    from expokit.tonemap import tonemap

    return tonemap(inputs["radiance"], method=method)  # type: ignore[arg-type]


def _import_expokit(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    import expokit.tonemap  # noqa: F401 - import outside the timed runs, as OpenCV's is

    return inputs


setup_expokit_mantiuk = setup_expokit_reinhard = _import_expokit
setup_expokit_reinhard_local = setup_expokit_drago = _import_expokit


def run_expokit_mantiuk(inputs: dict[str, np.ndarray]) -> np.ndarray:
    return _expokit("mantiuk", inputs)


def run_expokit_reinhard(inputs: dict[str, np.ndarray]) -> np.ndarray:
    return _expokit("reinhard", inputs)


def run_expokit_reinhard_local(inputs: dict[str, np.ndarray]) -> np.ndarray:
    return _expokit("reinhard_local", inputs)


def run_expokit_drago(inputs: dict[str, np.ndarray]) -> np.ndarray:
    return _expokit("drago", inputs)


def _bgr(inputs: dict[str, np.ndarray]) -> np.ndarray:
    return np.ascontiguousarray(inputs["radiance"][..., ::-1])  # OpenCV wants BGR


def _opencv(method: str, bgr: np.ndarray) -> np.ndarray:
    import cv2

    factory, args = OPENCV[method]
    return getattr(cv2, factory)(*args).process(bgr)


setup_opencv_mantiuk = setup_opencv_reinhard = setup_opencv_drago = _bgr


def run_opencv_mantiuk(bgr: np.ndarray) -> np.ndarray:
    return _opencv("mantiuk", bgr)


def run_opencv_reinhard(bgr: np.ndarray) -> np.ndarray:
    return _opencv("reinhard", bgr)


def run_opencv_drago(bgr: np.ndarray) -> np.ndarray:
    return _opencv("drago", bgr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--megapixels", type=float, default=12.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--methods", default="mantiuk,reinhard,drago,reinhard_local",
                    help="comma-separated operators to time")
    ap.add_argument("--peers", default="opencv", help="'opencv', or 'none' for expokit alone")
    args = ap.parse_args()

    from expokit.simulate import render_scene

    w = int(round(math.sqrt(args.megapixels * 1e6 * 4 / 3)))
    h = int(round(w * 3 / 4))
    print(f"radiance: {w}x{h} float32 RGB ({w * h / 1e6:.1f} MP), threads={args.threads}, "
          f"best of {args.repeat}")
    inputs = save_inputs({"radiance": render_scene(h, w)})
    try:
        for method in [m.strip() for m in args.methods.split(",") if m.strip()]:
            ours = measure(__file__, f"expokit_{method}", inputs, threads=args.threads,
                           repeat=args.repeat)
            if method not in OPENCV or args.peers == "none":
                print(f"{method:<28} expokit {ours['seconds']:7.3f} s "
                      f"{ours['peak_mb']:8.0f} MB | no OpenCV counterpart")
                continue
            try:
                cv = measure(__file__, f"opencv_{method}", inputs, threads=args.threads,
                             repeat=args.repeat)
            except RuntimeError as exc:
                print(f"{method}: OpenCV could not run ({exc})")
                continue
            print(ratio_line(method, ours, cv, "OpenCV"), flush=True)
            if method == "mantiuk":
                ok = cv["seconds"] / ours["seconds"] >= 3.0
                print(f"target (Mantiuk >= 3x faster than OpenCV): {'PASS' if ok else 'FAIL'}")
    finally:
        shutil.rmtree(inputs.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
