"""UEC exposure correction of photos of any size, toward a reference, an EV offset or the default.

The model (:class:`expokit.models.uec.UEC`) predicts its three blending weights from a
256-pixel-high copy of the photo; the full-resolution result is then a fixed per-pixel colour
transform (three passes of a 3->64->64->3 MLP). It is evaluated

* exactly, pixel by pixel in row strips, for images up to :data:`LUT_MIN_PIXELS` pixels and on
  GPUs;
* through a 3-D lookup table of :data:`LUT_SIZE` cubed samples of that same transform with
  trilinear interpolation (``torch.nn.functional.grid_sample``) for larger images on the CPU:
  the exact MLP costs about 27,000 floating-point operations per pixel (2.2e11 for a 4K
  image, several seconds on two cores), the table about 3e9 to build and a few operations
  per pixel to read. Measured for the shipped weights on a Ma 2015 photo (Balloons, darkest
  shot) against the exact renderer: at most 3.6 8-bit code values, 0.07 on average (49³;
  a 33³ table: 6.9 and 0.12; 65³: 2.6 and 0.06, 25 % slower). A 3840x2160 photo takes
  about 0.3 s on two cores (``benchmarks/bench_correction.py``).

The full-size steps (conversion to float, rendering) run in row strips on ``threads`` Python
threads; the 256-high stage runs on torch's own threads.

References:
    R. Cui, L. Niu and G. Hu, "Unsupervised Exposure Correction", ECCV 2024.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from .._checks import dtype_scale, resolve_threads
from ..color import REC709_LUMA, luminance, srgb_to_linear
from ..errors import InputError, MissingResourceError
from ..models.uec import UEC, thumbnail
from ..nn.runtime import resolve_device, torch_threads
from .baselines import check_rgb

#: Images with more pixels than this are rendered through the 3-D lookup table on the CPU.
LUT_MIN_PIXELS = 2_000_000
#: Samples per axis of the lookup table.
LUT_SIZE = 49
#: Bound on |table - exact| per value that the tests check (shipped weights: 3.6 / 255 measured).
LUT_MAX_ERROR = 4.0 / 255.0
#: Pixels per strip of the exact renderer.
_STRIP_PIXELS = 1 << 16
#: Pixels per strip of the lookup-table renderer.
_LUT_STRIP_PIXELS = 1 << 20

# --- the default target (no reference, no ev): see docs/uec_default.md ----------------------
#: A channel value counts as clipped from here on: it is written as the top code in 8 bits.
CLIP_LEVEL = 254.5 / 255.0
#: Largest share of all pixels that the default correction may clip (any channel at
#: :data:`CLIP_LEVEL` or above) or flatten (see :data:`SLOPE_FLOOR`) among those the input had
#: unclipped.
CLIP_BUDGET = 0.01
#: A pixel counts as flattened (as good as clipped) where the curve's slope at its largest
#: channel is below this: its detail and colour differences shrink more than four times.
SLOPE_FLOOR = 0.25
#: Log-average linear luminance of a well-exposed photo: the automatic exposure (key 0.18,
#: Reinhard et al. 2002) that defined EV 0 of the training sequences.
KEY = 0.18
#: Exposure error (stops from :data:`KEY`) up to which the default leaves a photo as it is.
NOOP_STOPS = 0.6
#: Exposure error (stops) from which the default applies the model's full correction; the
#: strength rises linearly from 0 at :data:`NOOP_STOPS`.
FULL_STOPS = 1.2
#: Grey levels at which the neutral curve is sampled for 16-bit and float images (8-bit
#: images: every code value).
CURVE_SAMPLES = 1025
#: Linear luminance floor of the log-average (half an 8-bit code value through sRGB's toe).
_LOG_FLOOR = 0.5 / 255.0 / 12.92


def _to_tensor(x: np.ndarray, device: torch.device) -> torch.Tensor:
    """``(H, W, 3)`` code values -> float32 ``(H, W, 3)`` tensor in [0, 1] (a new tensor)."""
    t = torch.from_numpy(np.ascontiguousarray(x)).to(device)
    if x.dtype == np.uint8:
        return t.to(torch.float32).mul_(dtype_scale(x.dtype))
    if x.dtype == np.uint16:
        return t.to(torch.int32).to(torch.float32).mul_(dtype_scale(x.dtype))
    return t.to(torch.float32)


@functools.lru_cache(maxsize=4)
def _load_cached(key: str, stamp: float, device: str) -> UEC:
    if key in UEC.PRETRAINED:
        model = UEC.from_pretrained(key, device=device)
    else:
        model = UEC.from_pretrained(path=key, device=device)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def load_uec(weights: str | os.PathLike[str] = "uec", device: str = "cpu") -> UEC:
    """The UEC model for ``weights`` (a shipped name or a ``.safetensors`` file), cached.

    The model is shared between calls with the same arguments (and unchanged file): do not
    modify it.

    Raises:
        MissingResourceError: a weights file that does not exist.
        InputError: an unknown name or weights that do not fit the model.
    """
    dev = resolve_device(device)
    key = str(weights)
    stamp = 0.0
    if key not in UEC.PRETRAINED:
        path = Path(key)
        if path.suffix != ".safetensors" and not path.exists():
            raise InputError(f"weights {key!r} is neither a shipped name "
                             f"({', '.join(UEC.PRETRAINED)}) nor a .safetensors file")
        if not path.is_file():
            raise MissingResourceError(f"weights file {path} does not exist; give the "
                                       "path of a .safetensors file from expokit train uec")
        key, stamp = str(path.resolve()), path.stat().st_mtime
    return _load_cached(key, stamp, str(dev))


def _strips(n: int, size: int) -> list[tuple[int, int]]:
    return [(i, min(i + size, n)) for i in range(0, n, size)]


def _run(tasks: list[Callable[[], None]], threads: int) -> None:
    """Run ``tasks`` on ``threads`` Python threads (torch releases the GIL in its kernels).

    Strips are handed out dynamically, so a thread that the OS deschedules (a busy shared
    machine) delays only its own strip, not a barrier that every thread waits at, as
    OpenMP's static split does.
    """
    def call(task: Callable[[], None]) -> None:
        with torch.inference_mode():
            task()

    if threads <= 1 or len(tasks) <= 1:
        for t in tasks:
            call(t)
        return
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for f in [pool.submit(call, t) for t in tasks]:
            f.result()


def _render_exact(model: UEC, flat: torch.Tensor, k: torch.Tensor, threads: int) -> None:
    """Exact per-pixel transform of ``flat`` (``(N, 3)`` in [0, 1]), in place, in strips."""
    def task(i0: int, i1: int) -> Callable[[], None]:
        def run() -> None:
            flat[i0:i1] = model.transform_pixels(flat[i0:i1], k)
        return run

    _run([task(i0, i1) for i0, i1 in _strips(flat.shape[0], _STRIP_PIXELS)], threads)


def _to_unit(x: np.ndarray, out: np.ndarray, threads: int, *, grid: bool) -> None:
    """Code values -> float32 in [0, 1] (``grid``: in [-1, 1]) into ``out`` ``(N, 3)``.

    NumPy per strip (its loops release the GIL; torch's would each start an OpenMP team).
    """
    src = np.ascontiguousarray(x).reshape(-1, 3)
    scale = dtype_scale(x.dtype)
    mul = np.float32(2.0 * scale if grid else scale)

    def task(i0: int, i1: int) -> Callable[[], None]:
        def run() -> None:
            np.multiply(src[i0:i1], mul, out=out[i0:i1], casting="unsafe")
            if grid:
                np.subtract(out[i0:i1], np.float32(1.0), out=out[i0:i1])
        return run

    _run([task(i0, i1) for i0, i1 in _strips(src.shape[0], _LUT_STRIP_PIXELS)], threads)


def _render_lut(model: UEC, flat: np.ndarray, k: torch.Tensor, threads: int) -> None:
    """Trilinear lookup of ``flat`` (``(N, 3)`` in [-1, 1]) in a table of the transform.

    Each strip's result is written over its own coordinates, so ``flat`` becomes the output
    and the peak memory is one float image. ``grid_sample`` on a batch of one runs on the
    calling thread only, so the strips spread over the Python threads without OpenMP.
    """
    lut = model.lut(k, LUT_SIZE)

    def task(i0: int, i1: int) -> Callable[[], None]:
        def run() -> None:
            part = flat[i0:i1]
            got = F.grid_sample(lut, torch.from_numpy(part).view(1, 1, 1, -1, 3),
                                mode="bilinear", padding_mode="border", align_corners=True)
            np.copyto(part, got.numpy().reshape(3, -1).T)
        return run

    _run([task(i0, i1) for i0, i1 in _strips(flat.shape[0], _LUT_STRIP_PIXELS)], threads)


def correct_exposure(
    image: np.ndarray,
    *,
    reference: np.ndarray | None = None,
    ev: float | None = None,
    weights: str | Path = "uec",
    device: str = "cpu",
    threads: int | None = None,
) -> np.ndarray:
    """Correct the exposure of a photo with UEC (Cui, Niu & Hu, ECCV 2024).

    The target exposure is, in this order of choice:

    * ``reference``: the exposure feature of that image (any size and content: UEC reads
      exposure, not the scene);
    * ``ev``: the shipped default exposure shifted by ``ev`` stops: the model carries the mean
      exposure feature of training shots taken at -3, -2, ..., +3 EV from an automatic
      exposure (key 0.18), and ``ev`` interpolates linearly in that table; ``ev = 0`` is the
      default;
    * neither: the *default*, which protects the photo (``docs/uec_default.md``). The model
      corrects toward the default reference feature (the mean feature of the EV 0 training
      shots), but only its curve for grey pixels is used, on R, G and B alike (grey stays grey,
      the order of the channels in every pixel is kept), made non-decreasing (monotone), and
      blended with the identity at a strength in [0, 1] (:func:`plan_default_correction`):
      0 for a photo whose log-average luminance is within :data:`NOOP_STOPS` stops of a
      well-exposed one (key 0.18), rising to 1 at :data:`FULL_STOPS`, and lowered until at
      most :data:`CLIP_BUDGET` (1 %) of the pixels become clipped, or flattened (contrast
      cut more than four times, :data:`SLOPE_FLOOR`), that were not.

    The reference and ``ev`` modes apply the model's full colour transform, unconstrained.

    Args:
        image: display-referred RGB photo ``(H, W, 3)``: uint8, uint16 or float in [0, 1].
        reference: display-referred RGB image whose exposure is the target.
        ev: exposure offset in stops from the default, in [-3, 3].
        weights: a shipped weights name (``"uec"``) or a ``.safetensors`` file.
        device: torch device (``"cpu"``, ``"cuda"``).
        threads: CPU threads for torch during the call (default :func:`resolve_threads`).

    Returns:
        float32 ``(H, W, 3)`` in [0, 1]. (Write it back in the input's bit depth with
        :func:`expokit.io.write_image` and ``bit_depth``.)

    Raises:
        InputError: an image or reference that is not an RGB image (wrong type, shape,
            channel count, NaN, floats outside [0, 1]), both ``reference`` and ``ev``, an
            ``ev`` outside [-3, 3], a bad device.
        MissingResourceError: a weights file that does not exist.

    >>> import numpy as np
    >>> dark = np.full((64, 96, 3), 20, np.uint8)
    >>> out = correct_exposure(dark)                            # doctest: +SKIP
    >>> out.shape, out.dtype                                    # doctest: +SKIP
    ((64, 96, 3), dtype('float32'))
    """
    x = check_rgb(image, "image")
    if reference is not None and ev is not None:
        raise InputError("give reference or ev, not both: reference is an image whose exposure "
                         "is the target, ev an offset in stops from the default exposure")
    ref = None if reference is None else check_rgb(reference, "reference")
    if ev is not None and (isinstance(ev, bool) or not isinstance(ev, (int, float))
                           or not math.isfinite(ev)):
        raise InputError(f"ev must be a number of stops in [-3, 3], got {ev!r}")
    model = load_uec(weights, device)
    dev = next(model.parameters()).device
    n_threads = resolve_threads(threads)
    if ref is None and ev is None:
        return _correct_default(model, x, dev, n_threads)[0]
    h, w = x.shape[:2]
    if dev.type != "cpu":
        with torch.inference_mode():
            feature = _feature(model, ref, ev, dev)
            xt = _to_tensor(x, dev).permute(2, 0, 1)[None]
            return model(xt, feature)[0].permute(1, 2, 0).cpu().numpy()
    use_lut = h * w > LUT_MIN_PIXELS
    # The full-size work runs in row strips on Python threads; torch's own thread count is
    # lowered (never raised) for the small 256-high stage, since changing it costs time.
    with torch_threads(n_threads, lower_only=True):
        with torch.inference_mode():
            feature = _feature(model, ref, ev, dev)
            flat = np.empty((h * w, 3), np.float32)
            _to_unit(x, flat, n_threads, grid=use_lut)
            small = thumbnail(torch.from_numpy(flat).view(h, w, 3).permute(2, 0, 1)[None])
            if use_lut:
                # Resizing is linear with weights summing to 1: the copy of the [-1, 1]
                # coordinates maps back to the copy of the image.
                small = small.add(1.0).mul(0.5)
            k = model.predict(small, feature)[0]
            if use_lut:
                _render_lut(model, flat, k, n_threads)
            else:
                _render_exact(model, torch.from_numpy(flat), k, n_threads)
    return flat.reshape(h, w, 3)


def _feature(model: UEC, ref: np.ndarray | None, ev: float | None,
             dev: torch.device) -> torch.Tensor | None:
    if ref is not None:
        return model.encode(_to_tensor(ref, dev).permute(2, 0, 1)[None])
    if ev is not None:
        return model.ev_feature(float(ev))
    return None


# --- the default target -------------------------------------------------------------------
@dataclass(frozen=True)
class DefaultPlan:
    """What the default correction (no reference, no ``ev``) does to one photo.

    Attributes:
        exposure_error: stops from a well-exposed photo, ``log2(KEY / log-average linear
            luminance)`` of the 256-high copy: > 0 under-exposed, < 0 over-exposed.
        strength: in [0, 1]: 0 leaves the photo as it is, 1 applies the model's full grey
            curve toward the shipped default exposure.
        limited_by: ``"well exposed"`` (``|exposure_error| <= NOOP_STOPS``: no change),
            ``"exposure"`` (the ramp between :data:`NOOP_STOPS` and :data:`FULL_STOPS`),
            ``"clip budget"`` (a stronger correction would clip more than
            :data:`CLIP_BUDGET` of the pixels) or ``"none"`` (full strength).
        clipped_before: share of pixels with a channel at :data:`CLIP_LEVEL` or above.
        clipped_after: the same share after the correction (exact: from the input's histogram
            of its largest channel and the curve).
        newly_clipped: share of pixels clipped after but not before.
        newly_flattened: share of pixels unclipped before and after whose largest channel
            lies where the curve's slope is below :data:`SLOPE_FLOOR` (newly clipped plus
            newly flattened is at most :data:`CLIP_BUDGET`).
        curve: float32 output value of every input level in ``levels`` (the same curve for R,
            G and B).
        levels: float32 input levels in [0, 1] (256 for 8-bit images, 65536 otherwise).
    """

    exposure_error: float
    strength: float
    limited_by: str
    clipped_before: float
    clipped_after: float
    newly_clipped: float
    newly_flattened: float
    curve: np.ndarray
    levels: np.ndarray


def plan_default_correction(
    image: np.ndarray,
    *,
    weights: str | Path = "uec",
    device: str = "cpu",
    threads: int | None = None,
) -> DefaultPlan:
    """How :func:`correct_exposure` with no reference and no ``ev`` will correct ``image``.

    Args:
        image: display-referred RGB photo ``(H, W, 3)``: uint8, uint16 or float in [0, 1].
        weights: a shipped weights name (``"uec"``) or a ``.safetensors`` file.
        device: torch device for the model (``"cpu"``, ``"cuda"``).
        threads: CPU threads (default :func:`resolve_threads`).

    Returns:
        The :class:`DefaultPlan`: exposure error, strength, what limited it, clipped shares.

    Raises:
        InputError: as :func:`correct_exposure`.
        MissingResourceError: a weights file that does not exist.
    """
    x = check_rgb(image, "image")
    model = load_uec(weights, device)
    dev = next(model.parameters()).device
    return _correct_default(model, x, dev, resolve_threads(threads), render=False)[1]


def _exposure_error(small: torch.Tensor) -> float:
    """Stops from :data:`KEY` of the log-average linear luminance of a ``(1, 3, h, w)`` copy."""
    rgb = np.ascontiguousarray(small[0].permute(1, 2, 0).cpu().numpy(), dtype=np.float32)
    lum = luminance(srgb_to_linear(np.clip(rgb, 0.0, 1.0)))
    log_avg = float(np.exp(np.mean(np.log(np.maximum(lum, _LOG_FLOOR)), dtype=np.float64)))
    return math.log2(KEY / log_avg)


def _max_channel_histogram(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(levels, counts)``: the histogram of each pixel's largest channel.

    8-bit images: the 256 code values; 16-bit: the 65536 codes; float: values rounded to
    1/65535 (the rendering uses the same rounding).
    """
    if x.dtype == np.uint8:
        n = 256
        peak = cv2.max(cv2.max(x[..., 0], x[..., 1]), x[..., 2])
    else:
        n = 65536
        peak = np.max(x, axis=2)
        if x.dtype != np.uint16:
            peak = np.rint(peak.astype(np.float32) * np.float32(65535.0)).astype(np.uint16)
    counts = cv2.calcHist([np.ascontiguousarray(peak)], [0], None, [n], [0, n]).reshape(-1)
    levels = np.arange(n, dtype=np.float32) / np.float32(n - 1)
    return levels, counts.astype(np.float64)


def _grey_curve(model: UEC, k: torch.Tensor, samples: int) -> np.ndarray:
    """The model's transform of grey pixels ``(v, v, v)``, as Rec. 709 luma, made monotone.

    Returns float32 ``(samples,)`` in [0, 1] for ``v = linspace(0, 1, samples)``.
    """
    axis = torch.linspace(0.0, 1.0, samples, dtype=torch.float32, device=k.device)
    rgb = model.transform_pixels(axis[:, None].expand(samples, 3).contiguous(), k)
    weights = torch.tensor(REC709_LUMA, dtype=rgb.dtype, device=rgb.device)
    grey = (rgb @ weights).cpu().numpy().astype(np.float64)
    # non-decreasing, in [0, 1]: the tone curve of a monotone correction
    return np.clip(np.maximum.accumulate(grey), 0.0, 1.0).astype(np.float32)


def _blend(grid: np.ndarray, full: np.ndarray, strength: float) -> np.ndarray:
    """The curve at strength ``s``: each level moves a fraction ``s`` of the way to ``full``.

    Where the full curve brightens, in stops: ``v ** (1 - s) * full ** s`` (a linear blend
    would leave a highlight the full curve clips at ``s + (1 - s) v``, near-white with its
    contrast cut to ``1 - s``); where it darkens, linearly: ``v + s (full - v)`` (in stops, a
    shadow the full curve crushes to 0 would go to 0 at any ``s > 0``). Each is the gentler of
    the two at its levels, both are non-decreasing in ``v``, and the result is too: a
    brightened level never falls below ``v``, a darkened one never rises above it.
    """
    s = np.float64(strength)
    v = grid.astype(np.float64)
    f = full.astype(np.float64)
    out = np.where(f >= v, np.power(v, 1.0 - s) * np.power(f, s), v + s * (f - v))
    return np.clip(out, 0.0, 1.0).astype(np.float32)


class _Budget:
    """Share of pixels a curve clips or flattens that the input had unclipped."""

    def __init__(self, grid: np.ndarray, levels: np.ndarray, counts: np.ndarray) -> None:
        self.grid, self.levels, self.counts = grid, levels, counts
        self.total = float(counts.sum())
        self.unclipped = levels < CLIP_LEVEL

    def table(self, curve: np.ndarray) -> np.ndarray:
        """The curve (sampled on ``grid``) at every input level."""
        if curve.size == self.levels.size:
            return curve
        return np.interp(self.levels, self.grid, curve).astype(np.float32)

    def masks(self, curve: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per level: (newly clipped, newly flattened) for a curve sampled on ``grid``."""
        slope = self.table(np.gradient(curve.astype(np.float64), self.grid.astype(np.float64)))
        clipped = self.unclipped & (self.table(curve) >= CLIP_LEVEL)
        flat = self.unclipped & ~clipped & (slope < SLOPE_FLOOR)
        return clipped, flat

    def share(self, mask: np.ndarray) -> float:
        return float(self.counts[mask].sum()) / self.total

    def lost(self, curve: np.ndarray) -> float:
        clipped, flat = self.masks(curve)
        return self.share(clipped | flat)


def _choose_strength(budget: _Budget, full: np.ndarray, error: float) -> tuple[float, str]:
    """Largest strength allowed by the no-op zone, the ramp and the clip budget.

    Raising ``s`` moves every level further from the identity, so what a curve clips grows
    with ``s``; the flattened share need not, so the bisection keeps its lower end within the
    budget (``s = 0``, the identity, loses nothing) rather than assume monotonicity.
    """
    ramp = (abs(error) - NOOP_STOPS) / (FULL_STOPS - NOOP_STOPS)
    if ramp <= 0.0:
        return 0.0, "well exposed"
    s_max = min(1.0, ramp)
    limited = "exposure" if s_max < 1.0 else "none"
    if budget.lost(_blend(budget.grid, full, s_max)) <= CLIP_BUDGET:
        return s_max, limited
    # s = 0 (the identity) loses nothing: bisect between it and s_max, keeping the lower end
    # within the budget.
    lo, hi = 0.0, s_max
    for _ in range(24):
        mid = 0.5 * (lo + hi)
        if budget.lost(_blend(budget.grid, full, mid)) <= CLIP_BUDGET:
            lo = mid
        else:
            hi = mid
    return lo, "clip budget"


def _correct_default(model: UEC, x: np.ndarray, dev: torch.device, n_threads: int, *,
                     render: bool = True) -> tuple[np.ndarray, DefaultPlan]:
    """The default correction: the model's grey curve toward the default exposure, applied to
    R, G and B alike, at the strength :func:`_choose_strength` allows (its ``curve`` and
    plan; ``render=False``: the plan only, the first array is then the input in [0, 1])."""
    h, w = x.shape[:2]
    with torch_threads(n_threads, lower_only=True):
        with torch.inference_mode():
            flat = np.empty((h * w, 3), np.float32)
            _to_unit(x, flat, n_threads, grid=False)
            small = thumbnail(torch.from_numpy(flat).view(h, w, 3).permute(2, 0, 1)[None])
            small = small.to(dev)
            k = model.predict(small)[0]  # toward the shipped default feature
            levels, counts = _max_channel_histogram(x)
            samples = levels.size if x.dtype == np.uint8 else CURVE_SAMPLES
            full = _grey_curve(model, k, samples)
    grid = np.linspace(0.0, 1.0, samples, dtype=np.float32)
    budget = _Budget(levels if samples == levels.size else grid, levels, counts)
    error = _exposure_error(small)
    strength, limited = _choose_strength(budget, full, error)
    curve = _blend(budget.grid, full, strength)
    clipped, flattened = budget.masks(curve)
    table = budget.table(curve)
    plan = DefaultPlan(
        exposure_error=error, strength=strength, limited_by=limited,
        clipped_before=budget.share(~budget.unclipped),
        clipped_after=budget.share(table >= CLIP_LEVEL),
        newly_clipped=budget.share(clipped), newly_flattened=budget.share(flattened),
        curve=table, levels=levels)
    if render:
        _apply_curve(x, table, flat, n_threads)
    return flat.reshape(h, w, 3), plan


def _apply_curve(x: np.ndarray, curve: np.ndarray, out: np.ndarray, threads: int) -> None:
    """``out`` ``(N, 3)`` = ``curve`` at each channel of ``x`` (8-bit: code -> curve[code];
    16-bit: the same with 65536 entries; float: rounded to 1/65535 first)."""
    src = np.ascontiguousarray(x).reshape(-1, 3)
    if x.dtype == np.uint8:
        cv2.LUT(src, curve[None, :], dst=out)
        return

    def task(i0: int, i1: int) -> Callable[[], None]:
        def run() -> None:
            part = src[i0:i1]
            if part.dtype != np.uint16:
                part = np.rint(part.astype(np.float32) * np.float32(65535.0)).astype(np.uint16)
            np.take(curve, part, out=out[i0:i1])
        return run

    _run([task(i0, i1) for i0, i1 in _strips(src.shape[0], _LUT_STRIP_PIXELS)], threads)
