"""DeepFuse CPU inference speed and peak memory on a 12-MP bracket, next to expokit Mertens.

    python benchmarks/bench_deepfuse.py [--megapixels 12] [--threads 1] [--repeat 1]
                                        [--tile 512] [--weights deepfuse]

A synthetic 3-exposure 8-bit bracket (expokit.simulate) of the given size is written once;
each contender runs in its own process with the same thread count (``_common.measure``), and
the script prints the best wall time, the peak memory above the loaded inputs (VmHWM), and the
ratios. DeepFuse runs tiled (``--tile`` core, 32 pixels of overlap), so its working memory is
bounded by the tile size; the full-size arrays it keeps are the N Y planes, the fused chroma
and the output.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import measure, save_inputs  # noqa: E402

TIMES = (1 / 64, 1 / 8, 1.0)


def _images(inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    return [inputs[f"frame{i}"] for i in range(len(TIMES))]


# --- contenders (run in child processes by _common.measure) -------------------------------
def setup_deepfuse(inputs):
    import torch

    from expokit.models.deepfuse import DeepFuse

    torch.set_num_threads(int(os.environ["BENCH_THREADS"]))
    weights = os.environ.get("BENCH_WEIGHTS", "deepfuse")
    if weights.endswith(".safetensors"):
        model = DeepFuse.from_pretrained(path=weights)
    else:
        model = DeepFuse.from_pretrained(weights)
    return _images(inputs), model


def run_deepfuse(state):
    from expokit.fusion.deepfuse import fuse_deepfuse

    images, model = state
    return fuse_deepfuse(images, weights=model, tile=int(os.environ.get("BENCH_TILE", "512")),
                         threads=int(os.environ["BENCH_THREADS"]))


def setup_mertens(inputs):
    return _images(inputs)


def run_mertens(images):
    from expokit.fusion import fuse_mertens

    return fuse_mertens(images, threads=int(os.environ["BENCH_THREADS"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--megapixels", type=float, default=12.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--tile", type=int, default=512)
    ap.add_argument("--weights", default="deepfuse",
                    help="shipped name or a .safetensors path")
    args = ap.parse_args()

    from expokit.simulate import photograph, render_scene

    w = int(round(math.sqrt(args.megapixels * 1e6 * 4 / 3)))
    h = int(round(w * 3 / 4))
    print(f"bracket: {len(TIMES)} x {w}x{h} 8-bit ({w * h / 1e6:.1f} MP), "
          f"threads={args.threads}, best of {args.repeat}, DeepFuse tile {args.tile}")
    frames = photograph(render_scene(h, w), TIMES)
    inputs = save_inputs({f"frame{i}": f for i, f in enumerate(frames)})
    os.environ["BENCH_TILE"] = str(args.tile)
    os.environ["BENCH_WEIGHTS"] = str(args.weights)
    try:
        df = measure(__file__, "deepfuse", inputs, threads=args.threads, repeat=args.repeat)
        me = measure(__file__, "mertens", inputs, threads=args.threads, repeat=args.repeat)
    finally:
        shutil.rmtree(inputs.parent, ignore_errors=True)
    mp = w * h / 1e6
    print(f"{'expokit fuse_deepfuse':<24} {df['seconds']:8.2f} s {df['peak_mb']:8.0f} MB "
          f"({mp / df['seconds']:.3f} MP/s)")
    print(f"{'expokit fuse_mertens':<24} {me['seconds']:8.2f} s {me['peak_mb']:8.0f} MB "
          f"({mp / me['seconds']:.3f} MP/s)")
    print(f"DeepFuse / Mertens: time x{df['seconds'] / me['seconds']:.1f}, "
          f"memory x{df['peak_mb'] / max(me['peak_mb'], 1e-9):.2f}")


if __name__ == "__main__":
    main()
