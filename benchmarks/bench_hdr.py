"""HDR calibration and merge speed and peak memory: expokit vs OpenCV, one run.

    python benchmarks/bench_hdr.py [--megapixels 12] [--threads 2] [--repeat 3] [--quick]

A synthetic 3-exposure 8-bit bracket (expokit.simulate, sRGB camera) of the given size is
written once; each contender runs in its own process with the same thread count (OpenCV's
cv2.setNumThreads and expokit's EXPOKIT_THREADS), and the script prints best-of-N wall time,
peak memory above the loaded inputs, and the ratios, for:

* MergeDebevec given the true (sRGB) response: ``merge_debevec`` vs ``cv2.createMergeDebevec``;
* CalibrateDebevec: ``calibrate_debevec`` (1000 samples) vs ``cv2.createCalibrateDebevec``
  (70 samples, its default);
* CalibrateRobertson (30 rounds at most): ``calibrate_robertson`` vs
  ``cv2.createCalibrateRobertson``. OpenCV's takes about a minute on 12 MP, so it runs once
  (no repeat); ``--quick`` runs this pair on a 3-MP crop instead and says so.

Timings on a shared machine are noisy; run it on an idle one for numbers to quote.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import measure, ratio_line, save_inputs  # noqa: E402

TIMES = (1 / 64, 1 / 8, 1.0)


def _images(inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    import expokit.hdr  # noqa: F401  (imported in setup, so that no timing includes imports)

    return [inputs[f"frame{i}"] for i in range(len(TIMES))]


def _bgr(inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    return [np.ascontiguousarray(im[..., ::-1]) for im in _images(inputs)]  # OpenCV wants BGR


# --- contenders (run in child processes by _common.measure) -------------------------------
def setup_expokit_merge(inputs):
    from expokit.hdr import response_srgb

    return _images(inputs), response_srgb(256, 3)


def run_expokit_merge(state):
    from expokit.hdr import merge_debevec

    images, response = state
    return merge_debevec(images, TIMES, response=response)


def setup_opencv_merge(inputs):
    from expokit.hdr import response_srgb

    return _bgr(inputs), np.ascontiguousarray(response_srgb(256, 3)[:, None, ::-1])


def run_opencv_merge(state):
    import cv2

    images, response = state
    return cv2.createMergeDebevec().process(images, np.asarray(TIMES, np.float32), response)


def setup_expokit_deghost(inputs):
    return setup_expokit_merge(inputs)


def run_expokit_deghost(state):
    from expokit.hdr import merge_debevec

    images, response = state
    return merge_debevec(images, TIMES, response=response, deghost="reference")


def setup_expokit_debevec(inputs):
    return _images(inputs)


def run_expokit_debevec(images):
    from expokit.hdr import calibrate_debevec

    return calibrate_debevec(images, TIMES)


def setup_opencv_debevec(inputs):
    return _bgr(inputs)


def run_opencv_debevec(images):
    import cv2

    return cv2.createCalibrateDebevec().process(images, np.asarray(TIMES, np.float32))


def setup_expokit_robertson(inputs):
    return _images(inputs)


def run_expokit_robertson(images):
    from expokit.hdr import calibrate_robertson

    return calibrate_robertson(images, TIMES, max_iter=30)


def setup_opencv_robertson(inputs):
    return _bgr(inputs)


def run_opencv_robertson(images):
    import cv2

    return cv2.createCalibrateRobertson(30, 0.01).process(images, np.asarray(TIMES, np.float32))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--megapixels", type=float, default=12.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true",
                    help="run the CalibrateRobertson pair on a 3-MP crop (OpenCV's takes ~1 min "
                         "on 12 MP)")
    args = ap.parse_args()

    from expokit.simulate import photograph, render_scene

    w = int(round(math.sqrt(args.megapixels * 1e6 * 4 / 3)))
    h = int(round(w * 3 / 4))
    print(f"bracket: {len(TIMES)} x {w}x{h} 8-bit ({w * h / 1e6:.1f} MP), times {TIMES} s, "
          f"threads={args.threads}, best of {args.repeat}")
    print("note: wall-clock timings on a shared machine are noisy")
    frames = photograph(render_scene(h, w), TIMES)
    inputs = save_inputs({f"frame{i}": f for i, f in enumerate(frames)})

    def pair(label: str, name: str, repeat: int, data: Path) -> None:
        ours = measure(__file__, f"expokit_{name}", data, threads=args.threads, repeat=repeat)
        try:
            cv = measure(__file__, f"opencv_{name}", data, threads=args.threads, repeat=repeat)
        except RuntimeError as exc:
            print(f"{label:<28} expokit {ours['seconds']:7.3f} s {ours['peak_mb']:8.0f} MB | "
                  f"OpenCV failed: {str(exc).splitlines()[-1]}")
            return
        print(ratio_line(label, ours, cv, "OpenCV"), flush=True)

    pair("MergeDebevec (response)", "merge", args.repeat, inputs)
    dg = measure(__file__, "expokit_deghost", inputs, threads=args.threads, repeat=args.repeat)
    print(f"{'  + deghost=reference':<28} expokit {dg['seconds']:7.3f} s "
          f"{dg['peak_mb']:8.0f} MB | (no OpenCV counterpart)", flush=True)
    pair("CalibrateDebevec", "debevec", args.repeat, inputs)

    rob_data, rob_label = inputs, "CalibrateRobertson"
    if args.quick:
        ch, cw = min(h, 1500), min(w, 2000)
        rob_data = save_inputs({f"frame{i}": np.ascontiguousarray(f[:ch, :cw])
                                for i, f in enumerate(frames)})
        rob_label = f"CalibrateRobertson {cw}x{ch}"
        print(f"--quick: CalibrateRobertson runs on a {cw}x{ch} ({cw * ch / 1e6:.1f} MP) crop")
    pair(rob_label, "robertson", 1, rob_data)


if __name__ == "__main__":
    main()
