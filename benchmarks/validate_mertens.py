"""Fidelity of expokit's Mertens fusion against OpenCV MergeMertens on Ma et al.'s 17 brackets.

    python benchmarks/validate_mertens.py

Both run with the paper's weights (1, 1, 1); OpenCV's result is clipped to [0, 1]. OpenCV is
given the frames in BGR order, as its users load them (its COLOR_RGB2GRAY then weighs the
channels the wrong way round), and, in a second column, in RGB order (the luma it intends).
Data: $EXPOKIT_DATA/ma2015 (default ../shared/data/ma2015). Issue 2 target: mean PSNR >= 30 dB.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import data_root  # noqa: E402

from expokit.fusion import fuse_mertens  # noqa: E402
from expokit.io import read_image  # noqa: E402

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2)))


def main() -> int:
    root = data_root() / "ma2015" / "source image sequences"
    if not root.is_dir():
        print(f"skipped: {root} is absent (set EXPOKIT_DATA)")
        return 0
    rows = []
    print(f"{'sequence':<36} {'frames':>6} {'PSNR vs BGR-fed':>16} {'PSNR vs RGB-fed':>16}")
    for seq in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(f for f in seq.iterdir() if f.suffix.lower() in SUFFIXES)
        frames = [read_image(f) for f in files]
        ours = fuse_mertens(frames)
        merge = cv2.createMergeMertens(1.0, 1.0, 1.0)
        bgr = np.clip(merge.process([np.ascontiguousarray(f[..., ::-1]) for f in frames]), 0, 1)
        rgb = np.clip(merge.process([np.ascontiguousarray(f) for f in frames]), 0, 1)
        rows.append((psnr(ours, bgr[..., ::-1]), psnr(ours, rgb)))
        print(f"{seq.name:<36} {len(files):>6} {rows[-1][0]:>16.2f} {rows[-1][1]:>16.2f}")
    mean = np.mean(rows, axis=0)
    print(f"{'mean over ' + str(len(rows)) + ' sequences':<43} {mean[0]:>16.2f} {mean[1]:>16.2f}")
    print(f"target mean PSNR >= 30 dB (BGR-fed, as users call OpenCV): "
          f"{'PASS' if mean[0] >= 30 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
