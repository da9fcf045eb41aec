"""Synthetic scenes with exactly known radiance, and noise-free brackets photographed from them.

Used by ``expokit demo``, the tests (physically known answers) and the benchmarks (brackets of
any size without a download). :func:`photograph` is the ideal sRGB camera; for a realistic
camera (noise, responses, shake, moving objects) see :func:`expokit.simulate.simulate_bracket`.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .._checks import check_exposure_times, check_image
from ..errors import InputError


def render_scene(height: int = 480, width: int = 640, *, seed: int = 0) -> np.ndarray:
    """Render a high-dynamic-range interior with a bright window; linear radiance.

    The scene spans about 5 decades: dim textured walls (~0.01), a lit floor, colour patches,
    a window with sky (~10) and a sun disc (~300). Deterministic for a given seed and size.

    Returns:
        float32 ``(height, width, 3)`` linear radiance > 0.

    >>> render_scene(48, 64).shape
    (48, 64, 3)
    """
    if height < 16 or width < 16:
        raise InputError(f"scene size {width}x{height} is too small: use at least 16x16")
    rng = np.random.default_rng(seed)
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]

    # Wall: warm, dim, with a smooth vertical falloff and fine texture (low-res noise upsampled).
    noise = rng.random((max(height // 8, 2), max(width // 8, 2)), dtype=np.float32)
    noise = cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    wall = (0.02 + 0.03 * (1.0 - y)) * (0.7 + 0.6 * noise)
    rad = np.empty((height, width, 3), np.float32)
    for c, tint in enumerate((1.0, 0.85, 0.7)):
        rad[..., c] = wall * tint

    # Floor: brighter, with a checkerboard and a light pool from the window.
    floor = y >= 0.7
    checker = ((np.floor(x * 12) + np.floor(y * 12)) % 2).astype(np.float32)
    pool = np.exp(-(((x - 0.35) / 0.25) ** 2 + ((y - 0.85) / 0.1) ** 2))
    floor_val = (0.05 + 0.1 * checker) * (1.0 + 20.0 * pool)
    for c in range(3):
        rad[..., c] = np.where(floor, floor_val * (1.0, 0.95, 0.9)[c], rad[..., c])

    # Window: sky gradient, a sun disc and dark mullions.
    wx0, wx1, wy0, wy1 = 0.15, 0.55, 0.12, 0.55
    win = (x >= wx0) & (x < wx1) & (y >= wy0) & (y < wy1)
    sky_t = (y - wy0) / (wy1 - wy0)
    sky_t = np.broadcast_to(sky_t, (height, width))
    sky = np.stack([4 + 6 * sky_t, 6 + 5 * sky_t, 12 + 2 * sky_t], axis=-1)
    sun = ((x - 0.42) ** 2 + ((y - 0.25) * height / width) ** 2) < 0.03**2
    sky = np.where(sun[..., None], np.float32(300.0), sky)
    mullion = (np.abs(x - (wx0 + wx1) / 2) < 0.008) | (np.abs(y - (wy0 + wy1) / 2) < 0.008)
    inside = win & ~mullion
    rad = np.where(inside[..., None], sky.astype(np.float32), rad)

    # Colour patches on the wall (a small chart) and a lamp glow on the right.
    colours = [(0.4, 0.1, 0.1), (0.1, 0.4, 0.1), (0.1, 0.1, 0.4), (0.4, 0.4, 0.1),
               (0.1, 0.4, 0.4), (0.4, 0.1, 0.4), (0.5, 0.5, 0.5), (0.05, 0.05, 0.05)]
    for i, col in enumerate(colours):
        px0 = 0.62 + 0.08 * (i % 4)
        py0 = 0.2 + 0.1 * (i // 4)
        patch = (x >= px0) & (x < px0 + 0.06) & (y >= py0) & (y < py0 + 0.08)
        rad = np.where(patch[..., None], np.asarray(col, np.float32) * 0.3, rad)
    lamp = np.exp(-(((x - 0.85) / 0.05) ** 2 + ((y - 0.6) / 0.07) ** 2)).astype(np.float32)
    rad = rad + lamp[..., None] * np.asarray((3.0, 2.2, 1.2), np.float32)
    return np.ascontiguousarray(np.maximum(rad, 1e-4), dtype=np.float32)


def camera_response_srgb(exposure: np.ndarray) -> np.ndarray:
    """A camera's response: sRGB encoding of clipped linear exposure, in [0, 1]."""
    x = np.clip(exposure, 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def photograph(
    radiance: np.ndarray,
    exposure_times: Sequence[float],
    *,
    bit_depth: int = 8,
    noise: float = 0.0,
    seed: int = 0,
) -> list[np.ndarray]:
    """Photograph ``radiance`` at each exposure time through an sRGB camera response.

    Pixel code value = quantise(srgb(clip(radiance * t + noise))). With ``noise`` = 0 the
    result is exactly known, which the tests use as ground truth.

    Args:
        radiance: linear float ``(H, W, C)`` >= 0.
        exposure_times: seconds, one per shot.
        bit_depth: 8 or 16 (uint8 or uint16 output).
        noise: standard deviation of additive Gaussian noise on the linear exposure.

    Returns:
        One integer image per exposure time, in the order given.
    """
    rad = check_image(radiance, name="radiance")
    if bit_depth not in (8, 16):
        raise InputError(f"bit_depth must be 8 or 16, got {bit_depth}")
    times = check_exposure_times(exposure_times, len(exposure_times))
    rng = np.random.default_rng(seed)
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    top = 255.0 if bit_depth == 8 else 65535.0
    out = []
    for t in times:
        e = rad.astype(np.float32) * np.float32(t)
        if noise > 0:
            e = e + rng.normal(0.0, noise, e.shape).astype(np.float32)
        out.append(np.round(camera_response_srgb(e) * top).astype(dtype))
    return out
