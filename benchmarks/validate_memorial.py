"""Memorial Church: expokit's calibration + merge against Debevec's own radiance map.

    python benchmarks/validate_memorial.py

Prints the Pearson correlation of log luminance with ``memorial.hdr`` (pixels valid in both)
for each calibration x merge pair, and OpenCV's CalibrateDebevec + MergeDebevec for comparison.
Pure-blue (0, 0, 255) border markers are masked. Issue 2 target: >= 0.97.
Data: $EXPOKIT_DATA/memorial (default ../shared/data/memorial).
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import data_root  # noqa: E402

from expokit.bracket import read_hdrgen_list  # noqa: E402
from expokit.color import luminance  # noqa: E402
from expokit.hdr import CALIBRATORS, MERGERS, invalid_mask  # noqa: E402
from expokit.io import read_image  # noqa: E402


def log_lum_corr(ours: np.ndarray, reference: np.ndarray) -> float:
    a, b = luminance(reference), luminance(ours)
    valid = np.isfinite(a) & (a > 0) & (b > 0)
    return float(np.corrcoef(np.log(a[valid]), np.log(b[valid]))[0, 1])


def main() -> int:
    folder = data_root() / "memorial"
    if not (folder / "memorial.hdr").is_file():
        print(f"skipped: {folder} is absent (set EXPOKIT_DATA)")
        return 0
    names, times = read_hdrgen_list(folder / "memorial.hdr_image_list.txt")
    images = [read_image(folder / (Path(n).stem + ".png")) for n in names]
    reference = read_image(folder / "memorial.hdr")
    masks = [invalid_mask(im) for im in images]
    print(f"{len(images)} exposures {times[0]:g} s .. 1/{1 / times[-1]:g} s, "
          f"{images[0].shape[1]}x{images[0].shape[0]}")
    print(f"{'calibration':<12} {'merge':<10} {'corr(log L) vs memorial.hdr':>28}")
    worst = 1.0
    for cal_name, calibrate in sorted(CALIBRATORS.items()):
        response = calibrate(images, times, mask=masks)
        for merge_name, merge in sorted(MERGERS.items()):
            r = log_lum_corr(merge(images, times, response=response, mask=masks), reference)
            worst = min(worst, r)
            print(f"{cal_name:<12} {merge_name:<10} {r:>28.4f}")
    bgr = [np.ascontiguousarray(im[..., ::-1]) for im in images]
    t = np.asarray(times, np.float32)
    cv = cv2.createMergeDebevec().process(bgr, t, cv2.createCalibrateDebevec().process(bgr, t))
    print(f"{'OpenCV':<12} {'debevec':<10} {log_lum_corr(cv[..., ::-1], reference):>28.4f}")
    print(f"target corr >= 0.97 for every expokit pair: {'PASS' if worst >= 0.97 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
