"""HDR merge chroma noise in highlights: expokit vs OpenCV on simulated and real brackets.

    python benchmarks/bench_hdr_chroma.py [--side 384] [--more 6] [--real ma2015,memorial]
                                          [--weighting NAME] [--threads 2]

Both contenders calibrate their own camera response from the bracket and merge with it, as a
user would: expokit ``calibrate_debevec`` + ``merge_debevec`` with its defaults, OpenCV
``cv2.createCalibrateDebevec`` + ``cv2.createMergeDebevec`` on the frames in BGR order (as
``cv2.imread`` loads them), converted back to RGB.

Chroma noise = the mean, over the brightest 5 % of the scene, of the local standard deviation
of chromaticity: ``r = R / (R + G + B)``, ``g = G / (R + G + B)``, each with its standard
deviation in a 5 x 5 window, combined as ``sqrt(sd_r^2 + sd_g^2)``. Its 95th percentile over
the same pixels is printed too (speckles are sparse). Lower is better; for simulated scenes the
same number on the true radiance is the floor (scene texture). "Brightest 5 %" ranks pixels by
the true luminance (simulated) or by the shortest frame's luminance (real; sRGB-linearised), and
leaves out pixels that no frame saw unclipped (clipped in the shortest frame): there neither
merge has colour information.

* Simulated: radiance maps from ``$EXPOKIT_DATA/hdr_cc0`` (8 scenes), the first ``--more`` of
  ``hdr_cc0_more`` (sorted names) and expokit's synthetic interior, downscaled to ``--side``
  pixels, photographed by ``expokit.simulate`` at -2, 0, +2 EV around the auto exposure
  with its default camera (sRGB response, Poisson-Gaussian noise at ISO 100) and JPEG quality
  90 (4:2:0). Also printed: the median |ln| error of luminance against the true radiance (after
  one global scale, over pixels some frame saw between codes 13 and 242) and the chromaticity
  error ``|rg - rg_true|`` in the highlight mask.
* Real: Ma 2015 source sequences (no exposure times: both methods get the times estimated by
  ``expokit.bracket.estimate_exposure_times``), and Debevec's Memorial stack with its own times
  (pixels marked pure blue are excluded from the metric; expokit masks them, OpenCV cannot).

MEFB's ArchSequence is left out: its folder holds 2 of the 5 frames that ``ev.txt`` lists
(-2..2 EV) without saying which, and MEFB's other scenes are 2-frame pairs without times.

Default run: about 20-30 s on 2 cores (384-pixel scenes; Ma 2015 at its own ~512x340).
The last line says whether "expokit no worse than OpenCV" (mean chroma noise ratio <= 1 over the
simulated scenes and over the real ones) is met.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import data_root  # noqa: E402

from expokit.bracket import estimate_exposure_times, read_hdrgen_list  # noqa: E402
from expokit.color import luminance, srgb_to_linear  # noqa: E402
from expokit.hdr import calibrate_debevec, invalid_mask, merge_debevec  # noqa: E402
from expokit.io import read_image  # noqa: E402

EVS = (-2.0, 0.0, 2.0)
WINDOW = 5


# --- metrics ---------------------------------------------------------------------------------
def chromaticity(rad: np.ndarray) -> np.ndarray:
    """``(H, W, 2)`` float64 ``(r, g)`` chromaticity; 1/3 where the pixel is black."""
    x = np.maximum(np.nan_to_num(rad.astype(np.float64), nan=0.0, posinf=0.0), 0.0)
    s = x.sum(axis=2, keepdims=True)
    out = np.full(x.shape[:2] + (2,), 1.0 / 3.0)
    np.divide(x[..., :2], s, out=out, where=s > 0)
    return out


def local_chroma_sd(rad: np.ndarray) -> np.ndarray:
    """Per-pixel ``sqrt(sd_r^2 + sd_g^2)`` of chromaticity in a WINDOW x WINDOW box."""
    c = chromaticity(rad)
    k = (WINDOW, WINDOW)
    mean = cv2.blur(c, k, borderType=cv2.BORDER_REFLECT)
    sq = cv2.blur(c * c, k, borderType=cv2.BORDER_REFLECT)
    return np.sqrt(np.maximum(sq - mean * mean, 0.0).sum(axis=2))


def highlight_mask(lum: np.ndarray, usable: np.ndarray, fraction: float = 0.05) -> np.ndarray:
    """The brightest ``fraction`` of all pixels by ``lum``, restricted to ``usable`` ones."""
    thr = np.quantile(lum, 1.0 - fraction)
    return (lum >= thr) & usable


def chroma_noise(rad: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    sd = local_chroma_sd(rad)[mask]
    return float(sd.mean()), float(np.percentile(sd, 95))


def log_error(rad: np.ndarray, truth: np.ndarray, ok: np.ndarray) -> float:
    a, b = luminance(np.maximum(np.nan_to_num(rad), 0)), luminance(truth)
    sel = ok & (a > 0) & (b > 0)
    d = np.log(a[sel]) - np.log(b[sel])
    return float(np.median(np.abs(d - np.median(d))))


# --- contenders ------------------------------------------------------------------------------
def merge_expokit(images, times, mask=None, weighting=None):
    opts = {} if weighting is None else {"weighting": weighting}
    response = calibrate_debevec(images, times, mask=mask)
    return merge_debevec(images, times, response=response, mask=mask, **opts)


def merge_opencv(images, times):
    cv2.setRNGSeed(0)  # CalibrateDebevec draws its sample pixels at random
    bgr = [np.ascontiguousarray(im[..., ::-1]) for im in images]
    t = np.asarray(times, np.float32)
    response = cv2.createCalibrateDebevec().process(bgr, t)
    return cv2.createMergeDebevec().process(bgr, t, response)[..., ::-1]


# --- scenes ----------------------------------------------------------------------------------
def simulated_scenes(root: Path, side: int, more: int):
    from expokit.simulate import load_radiance, render_scene

    files = sorted((root / "hdr_cc0").glob("*.exr"))
    files += sorted((root / "hdr_cc0_more").glob("*.exr"))[:more]
    for f in files:
        yield f.stem, load_radiance(f, max_side=side)
    yield "synthetic", render_scene(side * 3 // 4, side)


def real_brackets(root: Path, which: set[str]):
    if "ma2015" in which:
        folder = root / "ma2015" / "source image sequences"
        if folder.is_dir():
            for seq in sorted(p for p in folder.iterdir() if p.is_dir()):
                if seq.name.startswith("Memorial"):
                    continue  # the Memorial stack below, with its real times
                files = sorted(p for p in seq.iterdir() if p.suffix.lower() == ".png")
                images = [read_image(p) for p in files]
                if len({im.shape for im in images}) != 1 or images[0].ndim != 3:
                    continue
                try:
                    times = estimate_exposure_times(images)
                except ValueError as exc:
                    print(f"  {seq.name}: skipped ({exc})")
                    continue
                yield "ma2015/" + seq.name.split("_")[0], images, times, None
    if "memorial" in which:
        folder = root / "memorial"
        if (folder / "memorial.hdr_image_list.txt").is_file():
            names, times = read_hdrgen_list(folder / "memorial.hdr_image_list.txt")
            images = [read_image(folder / (Path(n).stem + ".png")) for n in names]
            yield "memorial", images, np.asarray(times), [invalid_mask(im) for im in images]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=384, help="longer side of simulated scenes")
    ap.add_argument("--more", type=int, default=6, help="scenes of hdr_cc0_more to add")
    ap.add_argument("--real", default="ma2015,memorial", help="real sets: ma2015, memorial")
    ap.add_argument("--weighting", default=None, help="expokit weighting (default: its own)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--jpeg", type=int, default=90, help="JPEG quality of simulated shots")
    args = ap.parse_args()
    cv2.setNumThreads(args.threads)
    import os

    os.environ["EXPOKIT_THREADS"] = str(args.threads)
    from expokit.simulate import Camera, simulate_bracket

    root = data_root()
    t_start = time.perf_counter()
    head = (f"{'scene':<34} {'expokit':>8} {'OpenCV':>8} {'ratio':>6} | {'p95 ex':>7} "
            f"{'p95 cv':>7} |")
    sim_rows, real_rows = [], []
    if (root / "hdr_cc0").is_dir():
        print(f"simulated: {len(EVS)} shots at {EVS} EV, sRGB camera with noise, JPEG "
              f"q{args.jpeg}; chroma noise (local sd of rg chromaticity, brightest 5 %)")
        print(head + f" {'truth':>7} | {'ln err ex':>9} {'ln err cv':>9} | {'rg err ex':>9} "
              f"{'rg err cv':>9}")
        camera = Camera(jpeg_quality=args.jpeg)
        for name, rad in simulated_scenes(root, args.side, args.more):
            b = simulate_bracket(rad, evs=EVS, camera=camera, seed=1)
            imgs, times = b.images, b.exposure_times
            truth = b.radiance
            usable = imgs[0].max(axis=2) < 255
            mask = highlight_mask(luminance(truth), usable)
            ours = merge_expokit(imgs, times, weighting=args.weighting)
            cv = merge_opencv(imgs, times)
            ok = np.any([((im >= 13) & (im <= 242)).all(axis=2) for im in imgs], axis=0)
            ex, ex95 = chroma_noise(ours, mask)
            oc, oc95 = chroma_noise(cv, mask)
            tr, _ = chroma_noise(truth, mask)
            ct = chromaticity(truth)[mask]
            rg_ex = float(np.abs(chromaticity(ours)[mask] - ct).sum(axis=1).mean())
            rg_cv = float(np.abs(chromaticity(cv)[mask] - ct).sum(axis=1).mean())
            sim_rows.append((ex, oc, log_error(ours, truth, ok), log_error(cv, truth, ok),
                             rg_ex, rg_cv))
            print(f"{name:<34} {ex:8.4f} {oc:8.4f} {ex / oc:6.2f} | {ex95:7.4f} {oc95:7.4f} | "
                  f"{tr:7.4f} | {sim_rows[-1][2]:9.4f} {sim_rows[-1][3]:9.4f} | "
                  f"{rg_ex:9.4f} {rg_cv:9.4f}", flush=True)
        m = np.mean(sim_rows, axis=0)
        print(f"{'mean (simulated)':<34} {m[0]:8.4f} {m[1]:8.4f} {m[0] / m[1]:6.2f} | "
              f"{'':>7} {'':>7} | {'':>7} | {m[2]:9.4f} {m[3]:9.4f} | {m[4]:9.4f} {m[5]:9.4f}")
    else:
        print(f"simulated: skipped, {root / 'hdr_cc0'} is absent (set EXPOKIT_DATA)")

    which = {s.strip() for s in args.real.split(",") if s.strip()}
    if which:
        print("\nreal brackets (Ma 2015: estimated times; Memorial: its own times)")
        print(head)
        for name, imgs, times, masks in real_brackets(root, which):
            short = imgs[int(np.argmin(times))]
            usable = short.max(axis=2) < 255
            if masks is not None:
                usable &= ~np.any(masks, axis=0)
            lum = luminance(srgb_to_linear(short.astype(np.float32) / 255))
            mask = highlight_mask(lum, usable)
            ours = merge_expokit(imgs, times, mask=masks, weighting=args.weighting)
            cv = merge_opencv(imgs, times)
            ex, ex95 = chroma_noise(ours, mask)
            oc, oc95 = chroma_noise(cv, mask)
            real_rows.append((ex, oc))
            print(f"{name:<34} {ex:8.4f} {oc:8.4f} {ex / oc:6.2f} | {ex95:7.4f} {oc95:7.4f} |",
                  flush=True)
        if real_rows:
            m = np.mean(real_rows, axis=0)
            print(f"{'mean (real)':<34} {m[0]:8.4f} {m[1]:8.4f} {m[0] / m[1]:6.2f} |")
        else:
            print(f"  none found under {root} (set EXPOKIT_DATA)")

    verdicts = []
    for label, rows in (("simulated", sim_rows), ("real", real_rows)):
        if rows:
            m = np.mean(rows, axis=0)
            verdicts.append(f"{label} x{m[0] / m[1]:.2f}")
    met = all(np.mean(r, axis=0)[0] <= np.mean(r, axis=0)[1] for r in (sim_rows, real_rows) if r)
    if verdicts:
        print(f"\nexpokit no worse than OpenCV (mean chroma noise ratio <= 1): "
              f"{'met' if met else 'NOT met'} ({', '.join(verdicts)}); "
              f"{time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
