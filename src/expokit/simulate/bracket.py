"""Whole simulated brackets with ground truth: :func:`simulate_bracket` (optionally with camera
shake and moving objects, with their masks) and :func:`simulate_exposures` (the static special
case used for exposure correction).

Each shot is photographed by :func:`expokit.simulate.camera.render_shot`'s camera model; one
``np.random.default_rng(seed)`` is threaded through camera shake, moving objects and noise, in
that order.

>>> from expokit.simulate import render_scene
>>> b = simulate_bracket(render_scene(48, 64), evs=(-2, 0, 2), seed=1)
>>> [im.dtype.name for im in b.images], b.exposure_times.shape, b.reference_index
(['uint8', 'uint8', 'uint8'], (3,), 1)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..color import REC709_LUMA, luminance
from ..errors import InputError
from ..tonemap import tonemap_reinhard
from .camera import (
    Camera,
    _auto_time,
    _check_camera,
    _check_radiance,
    _check_time,
    _number,
    _render,
)

__all__ = ["SimulatedBracket", "simulate_bracket", "simulate_exposures"]


@dataclass(frozen=True)
class SimulatedBracket:
    """A simulated bracket and its ground truth.

    Attributes:
        images: uint8/uint16 ``(H, W, C)`` shots, shortest exposure first.
        exposure_times: float64 seconds, ascending.
        evs: EV of each shot relative to the base (auto) exposure: ``log2(t / base_time)``.
        radiance: float32 ground-truth radiance of the reference shot's scene (moving objects
            where the reference frame has them, no camera shake), in the input's units.
        target: float32 [0, 1] sRGB-encoded tone-mapped rendering of ``radiance``
            (Reinhard global operator, see :func:`simulate_bracket`).
        masks: bool ``(H, W)`` per shot, True where the shot's content differs from the
            reference frame because of moving objects, in the reference frame's pixel grid
            (i.e. after undoing camera shake); all False for the reference and static scenes.
        reference_index: index of the reference shot.
        camera: the camera used.
        warps: float64 ``(2, 3)`` affine per shot mapping reference-frame pixel coordinates
            ``(x, y, 1)`` to the shot's pixel coordinates (identity without shake).
    """

    images: list[np.ndarray]
    exposure_times: np.ndarray
    evs: np.ndarray
    radiance: np.ndarray
    target: np.ndarray
    masks: list[np.ndarray]
    reference_index: int
    camera: Camera
    warps: list[np.ndarray] = field(default_factory=list)


def _check_evs(evs: object) -> np.ndarray:
    if isinstance(evs, (str, bytes)) or np.isscalar(evs):
        raise InputError(f"evs must be a sequence of exposure values, e.g. (-2, 0, 2), got {evs!r}")
    try:
        e = np.asarray(evs, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise InputError(f"evs must be numbers (stops), e.g. (-2, 0, 2), got {evs!r}") from None
    if e.size == 0:
        raise InputError("evs is empty: give at least one exposure value, e.g. (-2, 0, 2)")
    if not np.isfinite(e).all():
        raise InputError(f"evs must be finite stops, got {e.tolist()}")
    if e.size > 1 and (np.diff(e) <= 0).any():
        raise InputError(
            f"evs must be strictly increasing (shortest exposure first, no duplicates), got "
            f"{e.tolist()}; sort them (sorted(set(evs)))"
        )
    if np.abs(e).max() > 20:
        raise InputError(f"evs must lie within +-20 stops, got {e.tolist()}")
    return e


def _shake_warp(rng: np.random.Generator, shake_px: float, h: int, w: int) -> np.ndarray:
    """A random similarity about the image centre: translation of shake_px * U(0.5, 1) in a
    random direction, rotation and scale moving the corners by at most ~0.35 shake_px."""
    side = float(max(h, w))
    mag = shake_px * rng.uniform(0.5, 1.0)
    phi = rng.uniform(0.0, 2.0 * math.pi)
    theta = rng.uniform(-1.0, 1.0) * 0.25 * shake_px / side
    scale = 1.0 + rng.uniform(-1.0, 1.0) * 0.25 * shake_px / side
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    c, s = scale * math.cos(theta), scale * math.sin(theta)
    tx = cx - c * cx + s * cy + mag * math.cos(phi)
    ty = cy - s * cx - c * cy + mag * math.sin(phi)
    return np.array([[c, -s, tx], [s, c, ty]], np.float64)


@dataclass(frozen=True)
class _Blob:
    alpha: np.ndarray     # float32 (bh, bw) in {0, 1}
    texture: np.ndarray   # float32 (bh, bw, C) radiance
    positions: list[tuple[int, int]]  # top-left (y, x) per shot


def _make_blobs(rng: np.random.Generator, count: int, rad: np.ndarray, n_shots: int,
                ref: int) -> list[_Blob]:
    h, w, ch = rad.shape
    side = min(h, w)
    lum = luminance(rad)
    level = math.exp(float(np.mean(np.log(np.maximum(lum, lum.max() * 1e-6 + 1e-30)))))
    blobs = []
    for _ in range(count):
        r = max(2, int(round(side * rng.uniform(0.06, 0.14))))
        bh = bw = 2 * r + 1
        yy, xx = np.mgrid[-r:r + 1, -r:r + 1].astype(np.float32)
        ax, ay = r * rng.uniform(0.6, 1.0), r * rng.uniform(0.6, 1.0)
        ang = rng.uniform(0.0, math.pi)
        xr = xx * math.cos(ang) + yy * math.sin(ang)
        yr = -xx * math.sin(ang) + yy * math.cos(ang)
        p = rng.uniform(1.5, 4.0)  # superellipse exponent: rounded to boxy
        alpha = ((np.abs(xr / ax) ** p + np.abs(yr / ay) ** p) <= 1.0).astype(np.float32)
        # texture: coarse noise upsampled (luminance factor 0.6..1.4), times a colour of unit
        # luminance and a brightness 2**1.5-8x above or below the scene's log-average, so that
        # every object pixel differs from a mid-grey background by more than 40 %
        coarse = rng.uniform(0.7, 1.3, (4, 4)).astype(np.float32)
        tex = np.clip(cv2.resize(coarse, (bw, bh), interpolation=cv2.INTER_CUBIC), 0.6, 1.4)
        colour = rng.uniform(0.3, 1.0, 3)
        colour /= float(np.dot(colour, REC709_LUMA))
        colour = colour[:ch] if ch == 3 else np.ones(1)
        bright = level * 2.0 ** (rng.choice([-1.0, 1.0]) * rng.uniform(1.5, 3.0))
        texture = tex[..., None] * colour.astype(np.float32) * np.float32(bright)
        # a straight trajectory: the reference position plus (i - ref) steps of 3-10 % of
        # the image side in a random direction
        y0 = int(rng.integers(0, max(1, h - bh + 1)))
        x0 = int(rng.integers(0, max(1, w - bw + 1)))
        step = side * rng.uniform(0.03, 0.10)
        phi = rng.uniform(0.0, 2.0 * math.pi)
        dy, dx = step * math.sin(phi), step * math.cos(phi)
        pos = []
        for i in range(n_shots):
            py = int(round(y0 + (i - ref) * dy))
            px = int(round(x0 + (i - ref) * dx))
            if i != ref and (py, px) == (y0, x0):
                px += 1
            pos.append((py, px))
        blobs.append(_Blob(alpha, texture.astype(np.float32), pos))
    return blobs


def _composite(rad: np.ndarray, blobs: list[_Blob], shot: int) -> np.ndarray:
    if not blobs:
        return rad
    out = rad.copy()
    h, w = rad.shape[:2]
    for b in blobs:
        py, px = b.positions[shot]
        bh, bw = b.alpha.shape
        y0, x0 = max(py, 0), max(px, 0)
        y1, x1 = min(py + bh, h), min(px + bw, w)
        if y0 >= y1 or x0 >= x1:
            continue
        a = b.alpha[y0 - py:y1 - py, x0 - px:x1 - px, None]
        t = b.texture[y0 - py:y1 - py, x0 - px:x1 - px]
        region = out[y0:y1, x0:x1]
        out[y0:y1, x0:x1] = region * (1.0 - a) + t * a
    return out


def simulate_bracket(
    radiance: np.ndarray,
    *,
    evs: Sequence[float] = (-2.0, 0.0, 2.0),
    base_time: float | None = None,
    camera: Camera = Camera(),  # noqa: B008 - frozen, immutable
    seed: int = 0,
    shake_px: float = 0.0,
    moving_objects: int = 0,
    reference_index: int | None = None,
) -> SimulatedBracket:
    """Render an exposure bracket of a scene, with its ground-truth radiance and target.

    Shot ``i`` has exposure time ``base_time * 2 ** evs[i]``. Before rendering, each shot's
    scene is built from ``radiance``: moving objects (textured superellipse blobs of radius
    6-14 % of the shorter side, 2.8-8x brighter or darker than the scene's log-average, hard
    edges, on straight trajectories of 3-10 % of
    the image side per shot) are pasted at the shot's positions, then, for shots other than
    the reference, camera shake warps the radiance by a small random similarity
    (translation ``shake_px * U(0.5, 1)`` in a random direction, rotation and scaling that
    move the corners by at most about ``0.35 * shake_px``; reflected borders). Each shot is
    then rendered by :func:`render_shot`'s pipeline.

    The target is Reinhard et al.'s (2002) global operator (key 0.18, white = the scene's
    maximum, so nothing burns out) on the clean reference radiance, sRGB-encoded: a
    well-exposed rendering that is global (no halos to learn), independent of the radiance's
    unknown scale, parameter-free and cheap (one pass).

    Args:
        radiance: linear radiance ``>= 0``, float ``(H, W, 3)`` (or 1 channel), e.g. from
            :func:`load_radiance`; not modified.
        evs: exposure values in stops relative to ``base_time``, strictly increasing (at least
            one).
        base_time: the EV 0 exposure time in seconds; default :func:`auto_exposure_time`.
        camera: the simulated camera.
        seed: seed of the single random generator (shake, then objects, then noise per shot);
            the same seed gives byte-identical output.
        shake_px: maximum camera-shake translation in pixels, >= 0 (0: tripod).
        moving_objects: number of moving objects, >= 0.
        reference_index: the shot whose geometry is the ground truth; default the shot whose
            EV is closest to 0 (the shorter one on a tie).

    Returns:
        A :class:`SimulatedBracket`.

    Raises:
        InputError: for bad radiance (integer, NaN/Inf), evs, base_time, camera,
            seed, shake_px, moving_objects or reference_index.

    >>> import numpy as np
    >>> rad = np.full((32, 32, 3), 0.5, np.float32)
    >>> b = simulate_bracket(rad, evs=(-1, 0, 1), camera=Camera(full_well=float("inf"),
    ...                      read_noise=0.0))
    >>> b.exposure_times.round(3).tolist(), [int(im[0, 0, 0]) for im in b.images]
    ([0.18, 0.36, 0.72], [85, 118, 162])
    """
    rad = _check_radiance(radiance)
    e = _check_evs(evs)
    cam = _check_camera(camera)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a whole number >= 0, got {seed!r}")
    shake = _number("shake_px", shake_px, "pixels of camera shake")
    if not (math.isfinite(shake) and 0.0 <= shake <= 0.25 * min(rad.shape[:2])):
        raise InputError(
            f"shake_px must be in [0, {0.25 * min(rad.shape[:2]):g}] pixels (a quarter of the "
            f"shorter side), got {shake_px!r}"
        )
    if (isinstance(moving_objects, bool) or not isinstance(moving_objects, (int, np.integer))
            or not 0 <= moving_objects <= 64):
        raise InputError(f"moving_objects must be a whole number in 0..64, got {moving_objects!r}")
    n = int(e.size)
    if reference_index is None:
        ref = int(np.argmin(np.abs(e)))
    else:
        if (isinstance(reference_index, bool)
                or not isinstance(reference_index, (int, np.integer))
                or not 0 <= reference_index < n):
            raise InputError(
                f"reference_index must be a shot index in 0..{n - 1} (shots are sorted by "
                f"exposure), got {reference_index!r}"
            )
        ref = int(reference_index)
    t0 = _auto_time(rad, 0.18) if base_time is None else _check_time(base_time, "base_time")
    times = t0 * np.exp2(e)
    if not (np.isfinite(times).all() and (times > 0).all()):
        raise InputError(f"base_time * 2**evs overflows: base_time={t0!r}, evs={e.tolist()}")

    rng = np.random.default_rng(int(seed))
    h, w = rad.shape[:2]
    identity = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    warps = [identity.copy() for _ in range(n)]
    if shake > 0:
        for i in range(n):
            if i != ref:
                warps[i] = _shake_warp(rng, shake, h, w)
    blobs = _make_blobs(rng, int(moving_objects), rad, n, ref)

    scene_ref = _composite(rad, blobs, ref)
    images: list[np.ndarray] = []
    masks: list[np.ndarray] = []
    for i in range(n):
        scene = scene_ref if i == ref else _composite(rad, blobs, i)
        if i == ref or not blobs:
            masks.append(np.zeros((h, w), bool))
        else:
            masks.append(np.any(scene != scene_ref, axis=2))
        if i != ref and shake > 0:
            scene = cv2.warpAffine(scene, warps[i], (w, h), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REFLECT_101)
            if scene.ndim == 2:
                scene = scene[:, :, None]
        images.append(_render(scene * np.float32(times[i]), cam, rng))

    gt = scene_ref.copy() if scene_ref is rad else scene_ref  # never alias the caller's array
    target = tonemap_reinhard(gt, key=0.18)
    return SimulatedBracket(
        images=images,
        exposure_times=times.astype(np.float64),
        evs=e,
        radiance=np.ascontiguousarray(gt, dtype=np.float32),
        target=target,
        masks=masks,
        reference_index=ref,
        camera=cam,
        warps=warps,
    )


def simulate_exposures(
    radiance: np.ndarray,
    evs: Sequence[float],
    *,
    camera: Camera = Camera(),  # noqa: B008 - frozen, immutable
    seed: int = 0,
    base_time: float | None = None,
) -> SimulatedBracket:
    """Static shots at known EV offsets, for exposure correction.

    The same as :func:`simulate_bracket` without camera shake or moving objects: e.g.
    ``simulate_exposures(rad, (-1.5, -1, 0, 1, 1.5))`` gives under- and over-exposed inputs
    whose common target is ``.target`` (Reinhard global, well exposed). A single EV is
    allowed.

    Args:
        radiance: linear radiance ``>= 0``, float ``(H, W, 3)``.
        evs: strictly increasing exposure values in stops relative to ``base_time``.
        camera: the simulated camera.
        seed: random seed (noise).
        base_time: the EV 0 time; default :func:`auto_exposure_time`.

    Returns:
        A :class:`SimulatedBracket` with all-False masks and identity warps.

    Raises:
        InputError: as :func:`simulate_bracket`.
    """
    return simulate_bracket(radiance, evs=evs, base_time=base_time, camera=camera, seed=seed)
