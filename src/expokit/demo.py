"""The built-in demo: the whole pipeline on a synthetic scene with known radiance.

Classical stages always run; DeepFuse and UEC join where PyTorch is installed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ._checks import to_float32
from .color import luminance
from .errors import InputError
from .simulate import photograph, render_scene

log = logging.getLogger(__name__)

#: Shutter times of the demo bracket (seconds): six stops apart at the ends.
DEMO_TIMES = (1 / 128, 1 / 16, 1 / 2, 4.0)


def _fmt_time(t: float) -> str:
    """Shutter time as photographers write it: ``1/128 s``, ``4 s``."""
    return f"1/{round(1 / t)} s" if t < 1 else f"{t:g} s"


def _label(img: np.ndarray, text: str) -> np.ndarray:
    """A uint8 RGB copy of a [0, 1] image with a caption bar."""
    tile = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
    if tile.shape[2] == 1:
        tile = np.repeat(tile, 3, axis=2)
    bar = np.full((28, tile.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([bar, tile])


def _learned(frames: list[np.ndarray], truth: np.ndarray, out: Path, say: Any,
             written: dict[str, Path]) -> list[tuple[np.ndarray, str]]:
    """DeepFuse on the bracket, the HC-MEF student on a pair of its shots 6 stops apart, UEC on an
    under-exposed shot and AHDR on a dynamic three-frame bracket of the same scene, where
    PyTorch is installed."""
    from .errors import MissingResourceError
    from .io import write_image
    from .nn.runtime import require_torch

    try:
        require_torch("this step (DeepFuse, HC-MEF, UEC and AHDR)")
    except MissingResourceError as exc:
        say(f"learned models skipped: {exc}")
        return []
    from .correct import correct_exposure
    from .fusion.deepfuse import fuse_deepfuse
    from .fusion.hcmef import fuse_hcmef

    results = []
    try:
        say("fusing (DeepFuse, learned)")
        fused = fuse_deepfuse(frames)
        written["DeepFuse fusion"] = write_image(out / "fused_deepfuse.png", fused)
        results.append((fused, "DeepFuse fusion"))
        # HC-MEF fuses two shots; its training pairs lie 4-6 stops apart, so it gets the
        # 1/16 s and 4 s shots (6 stops), not the 9 stops of the darkest and brightest.
        pair = (frames[1], frames[3])
        say(f"fusing the {_fmt_time(DEMO_TIMES[1])} and {_fmt_time(DEMO_TIMES[3])} shots "
            "(HC-MEF student, learned)")
        fused = fuse_hcmef(pair)
        written["HC-MEF fusion"] = write_image(out / "fused_hcmef.png", fused)
        results.append((fused, f"HC-MEF ({_fmt_time(DEMO_TIMES[1])} + "
                               f"{_fmt_time(DEMO_TIMES[3])})"))
        # The 1/16 s shot: under-exposed, but less than the 1/128 s one, which lies beyond the
        # -3..+3 EV range UEC was trained on.
        say(f"correcting the {_fmt_time(DEMO_TIMES[1])} shot's exposure (UEC, learned)")
        fixed = correct_exposure(frames[1])
        written["exposure correction (UEC)"] = write_image(out / "corrected_uec.png", fixed)
        results.append((fixed, f"UEC on {_fmt_time(DEMO_TIMES[1])}"))
        results.append(_dynamic_hdr(truth, out, say, written))
    except MissingResourceError as exc:  # a package built without its weights
        say(f"learned models skipped: {exc}")
    return results


def _dynamic_hdr(truth: np.ndarray, out: Path, say: Any, written: dict[str, Path]
                 ) -> tuple[np.ndarray, str]:
    """A -2/0/+2 EV bracket with camera shake and two moving objects, merged by AHDR (with
    semantic knowledge transfer) and by Debevec with deghosting; both scored against the
    scene's true radiance (PSNR-mu, in the units of the shortest frame)."""
    from .hdr import calibrate_debevec, merge, merge_ahdr
    from .io import write_image
    from .metrics.hdr import fit_scale, psnr_mu
    from .simulate import simulate_bracket
    from .tonemap import tonemap

    say("merging a dynamic bracket (shake, moving objects): AHDR (learned) and Debevec + deghost")
    br = simulate_bracket(truth, evs=(-2.0, 0.0, 2.0), shake_px=3.0, moving_objects=2, seed=3)
    t_min = float(br.exposure_times[0])
    gt = np.clip(br.radiance * t_min, 0.0, 1.0)
    learned = merge_ahdr(br.images, br.exposure_times, model="ahdr_skt")
    written["dynamic HDR, AHDR (EXR)"] = write_image(out / "radiance_dynamic_ahdr.exr", learned)
    response = calibrate_debevec(br.images, br.exposure_times)
    classical = merge(br.images, br.exposure_times, response=response, deghost="reference")
    scale = fit_scale(classical, gt)
    p_learned = psnr_mu(np.clip(learned * t_min, 0.0, 1.0), gt)
    p_classical = psnr_mu(np.clip(classical * scale, 0.0, 1.0), gt)
    say(f"dynamic bracket, PSNR-mu against the true radiance: AHDR {p_learned:.2f} dB, "
        f"Debevec + deghost {p_classical:.2f} dB (given the best-fitting scale)")
    return tonemap(learned, method="reinhard"), "AHDR, dynamic bracket"


def run_demo(out_dir: str | Path, *, width: int = 960, console: Any = None) -> dict[str, Path]:
    """Render, photograph, fuse, calibrate, merge and tone-map; write every result.

    Args:
        out_dir: folder to write into (created if missing).
        width: image width; the height is 3/4 of it.
        console: a rich Console for status messages (None: quiet).

    Returns:
        ``{result name: path written}``.
    """
    from .fusion import fuse_lut, fuse_mertens
    from .hdr import calibrate_debevec, merge_debevec
    from .io import write_image
    from .tonemap import tonemap

    if width < 64:
        raise InputError(f"--size {width} is too small: use at least 64 pixels")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    def say(message: str) -> None:  # plain text: "[torch]" is not rich markup
        if console is not None:
            console.print(message, markup=False, highlight=False)
        else:
            log.info(message)

    h = width * 3 // 4
    truth = render_scene(h, width, seed=0)
    frames = photograph(truth, DEMO_TIMES, noise=0.002, seed=1)
    written: dict[str, Path] = {}
    for t, f in zip(DEMO_TIMES, frames, strict=True):
        name = "bracket_" + _fmt_time(t).replace("/", "_").replace(" ", "") + ".png"
        written[f"exposure {_fmt_time(t)}"] = write_image(out / name, f)

    say("fusing (Mertens)")
    fused = fuse_mertens(frames)
    written["exposure fusion"] = write_image(out / "fused_mertens.png", fused)
    say("fusing (learned look-up tables, no torch)")
    fused_lut = fuse_lut(frames)
    written["LUT fusion"] = write_image(out / "fused_lut.png", fused_lut)

    say("calibrating the camera response (Debevec-Malik) and merging to HDR")
    response = calibrate_debevec(frames, DEMO_TIMES)
    radiance = merge_debevec(frames, DEMO_TIMES, response=response)
    written["HDR radiance (EXR)"] = write_image(out / "radiance.exr", radiance)
    written["HDR radiance (RGBE)"] = write_image(out / "radiance.hdr", radiance)
    ok = (luminance(truth) > 0) & (luminance(radiance) > 0)
    corr = float(np.corrcoef(np.log(luminance(truth)[ok]), np.log(luminance(radiance)[ok]))[0, 1])
    say(f"merged radiance vs the scene's true radiance: log-luminance correlation {corr:.4f}")

    tiles = [_label(cv2.resize(to_float32(f), (width // 2, h // 2),
                               interpolation=cv2.INTER_AREA), _fmt_time(t))
             for t, f in zip(DEMO_TIMES, frames, strict=True)]
    results = [_label(cv2.resize(fused, (width // 2, h // 2), interpolation=cv2.INTER_AREA),
                      "Mertens fusion"),
               _label(cv2.resize(fused_lut, (width // 2, h // 2), interpolation=cv2.INTER_AREA),
                      "LUT fusion")]
    for method in ("reinhard", "reinhard_local", "drago", "mantiuk"):
        say(f"tone mapping ({method})")
        ldr = tonemap(radiance, method=method)
        written[f"tone-mapped ({method})"] = write_image(out / f"tonemap_{method}.png", ldr)
        small = cv2.resize(ldr, (width // 2, h // 2), interpolation=cv2.INTER_AREA)
        results.append(_label(small, method))
    for img, caption in _learned(frames, truth, out, say, written):
        results.append(_label(cv2.resize(img, (width // 2, h // 2),
                                         interpolation=cv2.INTER_AREA), caption))
    blank = np.full_like(results[0], 255)
    rows = [np.hstack(tiles)]
    for i in range(0, len(results), 4):  # rows of four panels, the last one padded
        row = results[i:i + 4]
        rows.append(np.hstack(row + [blank] * (4 - len(row))))
    sheet = np.vstack(rows)
    written["comparison sheet"] = write_image(out / "comparison.png", sheet)
    return written
