"""Exposure fusion speed and peak memory: expokit vs OpenCV MergeMertens vs enfuse, one run.

    python benchmarks/bench_fusion.py [--megapixels 12] [--threads 2]

Besides expokit's Mertens it times expokit's learned LUT fusion (``fuse_lut``, shipped tables),
whose target is to be faster than expokit's own Mertens in the same run.

A synthetic 3-exposure 8-bit bracket (expokit.simulate) of the given size is written once;
each contender runs in its own process with the same thread count, and the script prints
best-of-3 wall time, peak memory above the loaded inputs, and the ratios. Peers that are
missing are reported, not fatal: OpenCV comes with expokit; enfuse is Debian's `enfuse` package
(this script tries `apt-get install -y enfuse` when it runs as root and enfuse is absent).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import measure, ratio_line, save_inputs  # noqa: E402

TIMES = (1 / 64, 1 / 8, 1.0)


def _images(inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    return [inputs[f"frame{i}"] for i in range(len(TIMES))]


# --- contenders (run in child processes by _common.measure) -------------------------------
def setup_expokit(inputs):
    return _images(inputs)


def run_expokit(images):
    from expokit.fusion import fuse_mertens

    return fuse_mertens(images, threads=int(os.environ["BENCH_THREADS"]))


setup_lut = setup_expokit


def run_lut(images):
    from expokit.fusion.lut import fuse_lut

    return fuse_lut(images, threads=int(os.environ["BENCH_THREADS"]))


def setup_opencv(inputs):

    return [np.ascontiguousarray(im[..., ::-1]) for im in _images(inputs)]  # OpenCV wants BGR


def run_opencv(images):
    import cv2

    return np.clip(cv2.createMergeMertens(1.0, 1.0, 1.0).process(images), 0.0, 1.0)


# --- enfuse: an external program, measured through a small wrapper process ----------------
# RUSAGE_CHILDREN's ru_maxrss is enfuse's own peak: the wrapper is small when it forks.
_WRAP = ("import resource, subprocess, sys, time\n"
         "best = 1e9\n"
         "for _ in range(int(sys.argv[1])):\n"
         "    t = time.perf_counter(); subprocess.run(sys.argv[2:], check=True,"
         " stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
         "    best = min(best, time.perf_counter() - t)\n"
         "print(best, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n")


def find_enfuse() -> str | None:
    exe = shutil.which("enfuse")
    if exe is None and os.geteuid() == 0 and shutil.which("apt-get"):
        print("enfuse not found; trying `apt-get install -y enfuse` ...", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "enfuse"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        exe = shutil.which("enfuse")
    return exe


def measure_enfuse(exe: str, images: list[np.ndarray], threads: int, repeat: int) -> dict:
    import cv2

    folder = Path(tempfile.mkdtemp(prefix="expokit-enfuse-"))
    files = []
    for i, im in enumerate(images):
        files.append(str(folder / f"in{i}.tif"))
        cv2.imwrite(files[-1], im[..., ::-1])
    cmd = [exe, "--exposure-weight=1", "--saturation-weight=1", "--contrast-weight=1",
           "--exposure-optimum=0.5", "--exposure-width=0.2",
           "-o", str(folder / "out.tif"), *files]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", _WRAP, str(repeat), *cmd], env=env,
                         capture_output=True, text=True, check=True)
    seconds, peak = map(float, out.stdout.split())
    shutil.rmtree(folder, ignore_errors=True)
    return {"seconds": seconds, "peak_mb": peak}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--megapixels", type=float, default=12.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--peers", default="opencv,enfuse",
                    help="comma-separated peers to run ('none' for expokit alone, e.g. at 100 MP)")
    args = ap.parse_args()

    from expokit.simulate import photograph, render_scene

    w = int(round(math.sqrt(args.megapixels * 1e6 * 4 / 3)))
    h = int(round(w * 3 / 4))
    print(f"bracket: {len(TIMES)} x {w}x{h} 8-bit ({w * h / 1e6:.1f} MP), "
          f"threads={args.threads}, best of {args.repeat}")
    frames = photograph(render_scene(h, w), TIMES)
    inputs = save_inputs({f"frame{i}": f for i, f in enumerate(frames)})

    ours = measure(__file__, "expokit", inputs, threads=args.threads, repeat=args.repeat)
    print(f"{'expokit fuse_mertens':<28} {ours['seconds']:7.3f} s {ours['peak_mb']:8.0f} MB")
    lut = measure(__file__, "lut", inputs, threads=args.threads, repeat=args.repeat)
    print(f"{'expokit fuse_lut':<28} {lut['seconds']:7.3f} s {lut['peak_mb']:8.0f} MB")
    print(ratio_line("LUT vs expokit Mertens", lut, ours, "Mertens"))
    print(f"target (LUT faster than expokit Mertens): "
          f"{'PASS' if lut['seconds'] < ours['seconds'] else 'FAIL'}")
    peers = {p.strip() for p in args.peers.split(",")}
    if "opencv" in peers:
        compare_opencv(inputs, ours, args)
    if "enfuse" in peers:
        exe = find_enfuse()
        if exe is None:
            print("enfuse: not installed (Debian package `enfuse`); skipped")
        else:
            en = measure_enfuse(exe, frames, args.threads, args.repeat)
            print(ratio_line("Mertens vs enfuse", ours, en, "enfuse"))
    shutil.rmtree(inputs.parent, ignore_errors=True)


def compare_opencv(inputs: Path, ours: dict, args: argparse.Namespace) -> None:
    try:
        cv = measure(__file__, "opencv", inputs, threads=args.threads, repeat=args.repeat)
        print(ratio_line("Mertens vs OpenCV", ours, cv, "OpenCV"))
        ok = cv["seconds"] / ours["seconds"] >= 3.0 and ours["peak_mb"] <= 0.5 * cv["peak_mb"]
        print(f"target (>= 3x faster, <= 0.5x memory of OpenCV): {'PASS' if ok else 'FAIL'}")
    except RuntimeError as exc:
        print(f"OpenCV MergeMertens: could not run ({exc})")


if __name__ == "__main__":
    main()
