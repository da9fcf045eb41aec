"""A simulated camera photographing linear radiance: the shots of :mod:`expokit.simulate`.

A scene's linear radiance (an EXR/.hdr file, a RAW file through rawpy, or an 8-bit photo
linearised with the inverse sRGB curve, see :func:`load_radiance`) is photographed at chosen
exposure times by a simulated camera (:class:`Camera`):

1. exposure ``x = radiance * t`` in sensor units, 1 = saturation (full well at base ISO);
2. Poisson-Gaussian sensor noise in the linear domain, ISO-dependent (:func:`noise_model`);
3. clipping to [0, 1];
4. the camera response ``f`` (sRGB, a gamma, linear, a filmic S-curve or a tabulated curve);
5. quantisation to uint8 / uint16 code values;
6. optionally a JPEG round trip through OpenCV.

:func:`render_shot` takes one shot; :func:`expokit.simulate.simulate_bracket` renders a whole
bracket with ground truth (:mod:`expokit.simulate.bracket`).

>>> from expokit.simulate import render_scene
>>> shot = render_shot(render_scene(48, 64), 0.5, Camera(), np.random.default_rng(0))
>>> shot.dtype.name, shot.shape
('uint8', (48, 64, 3))
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from .._checks import check_number, check_positive, check_radiance, to_float32
from ..color import linear_to_srgb, luminance, srgb_to_linear
from ..errors import InputError
from ..io import read_image

logger = logging.getLogger(__name__)

__all__ = [
    "RESPONSES",
    "Camera",
    "Response",
    "add_sensor_noise",
    "apply_response",
    "auto_exposure_time",
    "curve_from_response",
    "inverse_response",
    "load_radiance",
    "noise_model",
    "random_camera",
    "render_shot",
]

#: Named camera response families (``Camera.response``).
Response = Literal["srgb", "gamma", "linear", "filmic"]
RESPONSES: tuple[str, ...] = ("srgb", "gamma", "linear", "filmic")

#: Photo-electron count below which the Poisson part is sampled exactly; above it the normal
#: approximation with the same variance is used (its error in the shape of the distribution is
#: O(1 / sqrt(count)), under 6 % skewness at 32 electrons; mean and variance stay exact).
POISSON_EXACT_BELOW = 32.0


# ---------------------------------------------------------------------------------------------
# Camera
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Camera:
    """A simulated camera: response curve, sensor noise, bit depth and JPEG compression.

    Attributes:
        response: the camera response family (forward curve exposure [0, 1] -> code [0, 1]):
            ``"srgb"`` (IEC 61966-2-1 encoding), ``"gamma"`` (``x ** (1 / gamma)``),
            ``"linear"`` (a linear sensor, as RAW), ``"filmic"`` (an S-shaped film-like curve,
            see :func:`apply_response`).
        gamma: exponent of the ``"gamma"`` response, > 0 (2.2 typical).
        curve: an optional tabulated forward response: code values in [0, 1], non-decreasing,
            at uniformly spaced exposures from 0 to 1 (at least 2 samples), interpolated
            linearly; overrides ``response``. :func:`curve_from_response` builds one from an
            inverse response calibrated with :func:`expokit.hdr.calibrate_debevec`.
        iso: sensitivity, > 0. The analog gain is ``iso / 100``: at ISO 400 a quarter of the
            base-ISO photo-electrons reach saturation, so the same exposure is noisier.
        full_well: photo-electrons at saturation (exposure 1) at ISO 100, > 0;
            ``float("inf")`` gives a noise-free sensor (the read noise, relative to the full
            well, vanishes too): exact renderings for tests and ground truth.
        read_noise: standard deviation of the Gaussian read noise in electrons (input
            referred, amplified by the gain like the signal), >= 0.
        bit_depth: 8 (uint8 output) or 16 (uint16 output).
        jpeg_quality: None (no JPEG) or a JPEG quality 1..100: the quantised 8-bit image is
            encoded and decoded with OpenCV (its default 4:2:0 chroma subsampling, as in most
            camera JPEGs). Only with ``bit_depth == 8``.
        filmic_contrast: slope ``n`` of the ``"filmic"`` curve in log exposure (1..3; 1.5
            default): larger gives a deeper toe and a harder shoulder.
        filmic_mid: code value of mid-grey exposure 0.18 on the ``"filmic"`` curve, in
            (0.18 ** filmic_contrast, 1); 0.46 default, like sRGB's 0.18 -> 0.461.

    Raises:
        InputError: for any field out of range (the message names the field).

    >>> Camera(iso=400).iso
    400.0
    >>> Camera(bit_depth=12)
    Traceback (most recent call last):
    ...
    expokit.errors.InputError: Camera.bit_depth must be 8 or 16, got 12
    """

    response: Response = "srgb"
    gamma: float = 2.2
    curve: tuple[float, ...] | None = None
    iso: float = 100.0
    full_well: float = 20000.0
    read_noise: float = 3.0
    bit_depth: int = 8
    jpeg_quality: int | None = None
    filmic_contrast: float = 1.5
    filmic_mid: float = 0.46

    def __post_init__(self) -> None:
        if self.response not in RESPONSES:
            raise InputError(
                f"Camera.response {self.response!r} is unknown: choose one of "
                f"{', '.join(RESPONSES)} (or give a tabulated curve=...)"
            )
        set_ = object.__setattr__
        set_(self, "gamma", _positive("Camera.gamma", self.gamma, "the exponent, e.g. 2.2"))
        set_(self, "iso", _positive("Camera.iso", self.iso, "e.g. 100, 400, 3200"))
        fw = _number("Camera.full_well", self.full_well, "electrons at saturation")
        if not fw > 0:
            raise InputError(
                f"Camera.full_well must be > 0 electrons (inf for no shot noise), got "
                f"{self.full_well!r}"
            )
        set_(self, "full_well", fw)
        rn = _number("Camera.read_noise", self.read_noise, "electrons")
        if not (math.isfinite(rn) and rn >= 0):
            raise InputError(f"Camera.read_noise must be finite and >= 0 electrons, got "
                             f"{self.read_noise!r}")
        set_(self, "read_noise", rn)
        if isinstance(self.bit_depth, bool) or self.bit_depth not in (8, 16):
            raise InputError(f"Camera.bit_depth must be 8 or 16, got {self.bit_depth!r}")
        set_(self, "bit_depth", int(self.bit_depth))
        q = self.jpeg_quality
        if q is not None:
            if isinstance(q, bool) or not isinstance(q, (int, np.integer)) or not 1 <= q <= 100:
                raise InputError(
                    f"Camera.jpeg_quality must be None (no JPEG) or a whole number in 1..100, "
                    f"got {q!r}"
                )
            if self.bit_depth != 8:
                raise InputError(
                    "Camera.jpeg_quality needs bit_depth=8: JPEG stores 8-bit code values "
                    f"(got bit_depth={self.bit_depth}); drop jpeg_quality or use 8 bits"
                )
            set_(self, "jpeg_quality", int(q))
        n = _number("Camera.filmic_contrast", self.filmic_contrast, "slope in log exposure")
        if not 1.0 <= n <= 3.0:
            raise InputError(f"Camera.filmic_contrast must be in [1, 3], got "
                             f"{self.filmic_contrast!r}")
        set_(self, "filmic_contrast", n)
        mid = _number("Camera.filmic_mid", self.filmic_mid, "code value of mid-grey")
        if not 0.18**n < mid < 1.0:
            raise InputError(
                f"Camera.filmic_mid must be in ({0.18 ** n:.3f}, 1) for filmic_contrast={n:g} "
                f"(the code value of exposure 0.18), got {self.filmic_mid!r}"
            )
        set_(self, "filmic_mid", mid)
        if self.curve is not None:
            set_(self, "curve", _check_curve(self.curve))

    @property
    def gain(self) -> float:
        """Analog gain relative to base ISO: ``iso / 100``."""
        return self.iso / 100.0


def _number(name: str, value: object, hint: str) -> float:
    return check_number(name, value, hint, allow_bool=False)


def _positive(name: str, value: object, hint: str) -> float:
    return check_positive(name, value, hint, allow_bool=False)


def _check_curve(curve: object) -> tuple[float, ...]:
    try:
        c = np.asarray(curve, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(
            f"Camera.curve must be a sequence of code values in [0, 1], got {type(curve).__name__}"
        ) from None
    if c.ndim != 1 or c.size < 2:
        raise InputError(
            f"Camera.curve must be 1-D with at least 2 samples (code values at uniformly spaced "
            f"exposures 0..1), got shape {c.shape}"
        )
    if not np.isfinite(c).all() or c.min() < 0.0 or c.max() > 1.0:
        raise InputError(
            f"Camera.curve values must be finite code values in [0, 1], got range "
            f"[{np.nanmin(c):.4g}, {np.nanmax(c):.4g}]"
        )
    if (np.diff(c) < 0).any():
        k = int(np.argmax(np.diff(c) < 0))
        raise InputError(
            f"Camera.curve must be non-decreasing (more light never gives a lower code), but "
            f"sample {k + 1} ({c[k + 1]:.4g}) < sample {k} ({c[k]:.4g}); smooth or sort it"
        )
    return tuple(float(v) for v in c)


def random_camera(rng: np.random.Generator) -> Camera:
    """Draw a plausible camera for training, from consumer phones to large-sensor cameras.

    Distributions: response ``"srgb"`` 40 %, ``"gamma"`` 25 % (gamma uniform in [1.8, 2.6]),
    ``"filmic"`` 35 % (contrast uniform in [1.1, 2.0], mid-grey code uniform in
    [0.38, 0.55]); ISO log-uniform in [100, 3200]; full well log-uniform in
    [5 000, 50 000] electrons (phone to full frame); read noise uniform in [1.5, 8]
    electrons; 8 bits; JPEG in half the draws, quality uniform in 75..98.

    Args:
        rng: the generator to draw from (deterministic for a given state).

    Returns:
        A validated :class:`Camera`.

    >>> random_camera(np.random.default_rng(0)) == random_camera(np.random.default_rng(0))
    True
    """
    if not isinstance(rng, np.random.Generator):
        raise InputError(
            f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got "
            f"{type(rng).__name__}"
        )
    kind = str(rng.choice(["srgb", "gamma", "filmic"], p=[0.40, 0.25, 0.35]))
    gamma = float(rng.uniform(1.8, 2.6))
    contrast = float(rng.uniform(1.1, 2.0))
    mid = float(rng.uniform(0.38, 0.55))
    iso = float(np.exp(rng.uniform(np.log(100.0), np.log(3200.0))))
    full_well = float(np.exp(rng.uniform(np.log(5000.0), np.log(50000.0))))
    read_noise = float(rng.uniform(1.5, 8.0))
    jpeg = bool(rng.random() < 0.5)
    quality = int(rng.integers(75, 99))
    return Camera(
        response=kind,  # type: ignore[arg-type]
        gamma=gamma if kind == "gamma" else 2.2,
        iso=iso,
        full_well=full_well,
        read_noise=read_noise,
        bit_depth=8,
        jpeg_quality=quality if jpeg else None,
        filmic_contrast=contrast if kind == "filmic" else 1.5,
        filmic_mid=mid if kind == "filmic" else 0.46,
    )


# ---------------------------------------------------------------------------------------------
# Response curves
# ---------------------------------------------------------------------------------------------
def _filmic(x: np.ndarray, contrast: float, mid: float) -> np.ndarray:
    # f(x) = (1 + c^n) x^n / (x^n + c^n): a logistic in ln x (slope n, centre ln c), scaled so
    # that f(1) = 1; c from f(0.18) = mid in closed form.
    n = contrast
    m_n = 0.18**n
    c_n = m_n * (1.0 - mid) / (mid - m_n)
    xn = np.power(x, np.float32(n))
    out = xn * np.float32(1.0 + c_n)
    out /= xn + np.float32(c_n)
    return out


def apply_response(exposure: np.ndarray, camera: Camera) -> np.ndarray:
    """The camera's forward response: exposure in [0, 1] to code values in [0, 1].

    ``"filmic"`` is the characteristic (Hurter-Driffield) curve of photographic film, density
    as a sigmoid of log exposure, in the logistic form ``f(x) = (1 + c^n) x^n / (x^n + c^n)``
    (Naka-Rushton; a logistic in ``ln x`` with slope ``n`` = ``camera.filmic_contrast``),
    scaled so that ``f(1) = 1`` and with ``c`` set so that ``f(0.18) = camera.filmic_mid``.
    Measured camera curves (DoRF, Grossberg & Nayar 2004) have this toe-and-shoulder shape
    between a gamma and an S-curve; the ranges in :func:`random_camera` cover both.

    Args:
        exposure: linear exposure; values outside [0, 1] are clipped.
        camera: the camera whose response to apply.

    Returns:
        float32 code values in [0, 1], same shape.

    References:
        M. D. Grossberg and S. K. Nayar, "Modeling the space of camera response functions",
        IEEE TPAMI 26(10), 2004. F. Hurter and V. C. Driffield, "Photo-chemical
        investigations", J. Soc. Chem. Ind. 9, 1890.

    >>> round(float(apply_response(np.array([0.18], np.float32), Camera(response="filmic"))[0]), 4)
    0.46
    """
    x = np.clip(np.asarray(exposure, dtype=np.float32), 0.0, 1.0)
    if camera.curve is not None:
        table = np.asarray(camera.curve, dtype=np.float64)
        grid = np.linspace(0.0, 1.0, table.size)
        return np.interp(x, grid, table).astype(np.float32)
    if camera.response == "srgb":
        return linear_to_srgb(x)
    if camera.response == "gamma":
        return np.power(x, np.float32(1.0 / camera.gamma))
    if camera.response == "linear":
        return x
    return _filmic(x, camera.filmic_contrast, camera.filmic_mid)


def inverse_response(camera: Camera, levels: int = 256) -> np.ndarray:
    """The camera's inverse response as a table for :func:`expokit.hdr.merge_debevec`.

    Entry ``k`` is the exposure (in [0, 1], white = 1) that produces code value
    ``k / (levels - 1)``, found by inverting the forward curve on a dense grid (flat parts of
    a tabulated curve map to their lowest exposure).

    Args:
        camera: the camera.
        levels: table length, >= 2 (256 for 8-bit brackets, 1024 for 16-bit).

    Returns:
        float32 ``(levels, 3)``.

    >>> r = inverse_response(Camera(response="gamma", gamma=2.0), levels=3)
    >>> [round(float(v), 4) for v in r[:, 0]]
    [0.0, 0.25, 1.0]
    """
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or levels < 2:
        raise InputError(f"levels must be a whole number >= 2, got {levels!r}")
    if not isinstance(camera, Camera):
        raise InputError(f"camera must be a Camera, got {type(camera).__name__}")
    v = np.linspace(0.0, 1.0, int(levels))
    if camera.curve is None and camera.response in ("linear", "gamma", "srgb"):
        if camera.response == "linear":
            e = v
        elif camera.response == "gamma":
            e = v**camera.gamma
        else:
            e = srgb_to_linear(v.astype(np.float32)).astype(np.float64)
    else:
        grid = np.linspace(0.0, 1.0, 1 << 16, dtype=np.float64)
        f = apply_response(grid.astype(np.float32), camera).astype(np.float64)
        f = np.maximum.accumulate(f)
        # the first exposure at which each code is reached (flat runs -> their lowest exposure)
        keep = np.concatenate([[True], np.diff(f) > 0])
        e = np.interp(v, f[keep], grid[keep])
    e = e.astype(np.float32)
    return np.repeat(e[:, None], 3, axis=1)


def curve_from_response(response: np.ndarray, samples: int = 256) -> tuple[float, ...]:
    """Turn an inverse response (as calibrated) into a tabulated forward curve for ``Camera``.

    The channels of ``response`` are averaged, the curve is made non-decreasing and scaled so
    that the top code level has exposure 1 (calibrated curves have mid-grey 1 instead), then
    inverted: sample ``i`` is the code value in [0, 1] produced by exposure
    ``i / (samples - 1)``.

    Args:
        response: inverse response ``(L,)`` or ``(L, C)``: exposure per code level, as
            returned by :func:`expokit.hdr.calibrate_debevec`.
        samples: number of curve samples, >= 2.

    Returns:
        A tuple of ``samples`` floats for ``Camera(curve=...)``.

    Raises:
        InputError: for a malformed response.
    """
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 2:
        raise InputError(f"samples must be a whole number >= 2, got {samples!r}")
    r = np.asarray(response, dtype=np.float64)
    if r.ndim == 3 and r.shape[1] == 1:  # OpenCV's (L, 1, C)
        r = r[:, 0, :]
    if r.ndim == 2:
        r = r.mean(axis=1)
    if r.ndim != 1 or r.size < 2 or not np.isfinite(r).all():
        raise InputError(
            f"response must be a finite inverse response (L,) or (L, C) with L >= 2, got "
            f"shape {np.shape(response)}"
        )
    r = np.maximum.accumulate(np.maximum(r, 0.0))
    if r[-1] <= 0:
        raise InputError("response is 0 everywhere: it maps no code level to any exposure")
    r = r / r[-1]
    codes = np.linspace(0.0, 1.0, r.size)
    keep = np.concatenate([[True], np.diff(r) > 0])
    exposures = np.linspace(0.0, 1.0, int(samples))
    curve = np.interp(exposures, r[keep], codes[keep])
    curve = np.clip(np.maximum.accumulate(curve), 0.0, 1.0)
    return tuple(float(c) for c in curve)


# ---------------------------------------------------------------------------------------------
# Noise
# ---------------------------------------------------------------------------------------------
def noise_model(camera: Camera) -> tuple[float, float]:
    """The variance of the noisy linear signal: ``Var[y | x] = a x + b`` (before clipping).

    With gain ``g = iso / 100`` and ``F = full_well`` electrons at saturation at base ISO, an
    exposure ``x`` (1 = saturation) collects ``x F / g`` photo-electrons (Poisson), the read
    noise adds ``N(0, read_noise^2)`` electrons, and the signal is electrons ``* g / F``::

        a = g / F                    (shot noise)
        b = (g * read_noise / F)^2   (read noise)

    Args:
        camera: the camera.

    Returns:
        ``(a, b)``.

    References:
        A. Foi, M. Trimeche, V. Katkovnik, K. Egiazarian, "Practical Poissonian-Gaussian noise
        modeling and fitting for single-image raw-data", IEEE TIP 17(10), 2008.

    >>> [round(v, 12) for v in noise_model(Camera(iso=400, full_well=10000.0, read_noise=5.0))]
    [0.0004, 4e-06]
    """
    g = camera.gain
    fw = camera.full_well
    if math.isinf(fw):
        return 0.0, 0.0
    return g / fw, (g * camera.read_noise / fw) ** 2


def add_sensor_noise(exposure: np.ndarray, camera: Camera, rng: np.random.Generator
                     ) -> np.ndarray:
    """Poisson-Gaussian sensor noise on linear exposure (1 = saturation), not clipped.

    Photo-electron counts ``x F / g`` below :data:`POISSON_EXACT_BELOW` are drawn from the
    Poisson distribution; above, from the normal distribution with the same mean and variance
    (the difference is invisible after quantisation and it is 5-10x faster). The read noise
    is Gaussian. The result has mean ``x`` and variance ``a x + b`` (:func:`noise_model`).

    Args:
        exposure: float linear exposure ``>= 0`` (any shape).
        camera: the camera (ISO, full well, read noise).
        rng: the generator.

    Returns:
        float32 noisy exposure (may be < 0 or > 1; the camera clips afterwards).
    """
    x = np.asarray(exposure, dtype=np.float32)
    a, b = noise_model(camera)
    if a == 0.0 and b == 0.0:
        return x.copy()
    z = rng.standard_normal(x.shape, dtype=np.float32)
    var = x * np.float32(a)
    var += np.float32(b)
    np.sqrt(var, out=var)
    var *= z
    y = var
    y += x
    if a > 0.0:
        electrons_per_unit = 1.0 / a  # F / g
        low = x < np.float32(POISSON_EXACT_BELOW * a)
        if low.any():
            lam = x[low].astype(np.float64) * electrons_per_unit
            counts = rng.poisson(lam).astype(np.float32)
            y[low] = counts * np.float32(a) + z[low] * np.float32(math.sqrt(b))
    return y


# ---------------------------------------------------------------------------------------------
# Radiance input
# ---------------------------------------------------------------------------------------------
def _check_radiance(radiance: object, name: str = "radiance") -> np.ndarray:
    """Float32 ``(H, W, C)`` radiance >= 0 (negatives set to 0 with a warning), never modified
    in place."""
    return check_radiance(radiance, name=name, user="the simulator", hint=(
        "use load_radiance, which linearises 8-bit photos with the inverse sRGB curve, or "
        "expokit.color.srgb_to_linear"))


def load_radiance(path: str | os.PathLike[str], *, max_side: int | None = None) -> np.ndarray:
    """Read a file as linear radiance for the simulator.

    * OpenEXR / Radiance ``.hdr`` / float TIFF: as read; negative values (lossy EXR
      compression noise) are set to 0 with a logged warning, as :func:`expokit.io.read_image`
      does.
    * Camera RAW through rawpy: linear, no gamma (needs ``pip install "expokit[raw]"``).
    * 8/16-bit PNG, JPEG, TIFF: code values linearised with the inverse sRGB curve (an
      approximation: the camera's real response and tone curve are unknown).

    Greyscale files are repeated to 3 channels.

    Args:
        path: the image file.
        max_side: if given (>= 16), images whose longer side exceeds it are downscaled with
            area averaging (``cv2.INTER_AREA``, which also averages the noise down) so that
            the longer side is ``max_side``.

    Returns:
        float32 ``(H, W, 3)`` linear radiance >= 0.

    Raises:
        InputError: missing, unreadable or unsupported file, NaN/Inf, bad ``max_side``.
        MissingResourceError: a RAW file when rawpy is not installed (names the ``raw`` extra).
    """
    if max_side is not None and (isinstance(max_side, bool)
                                 or not isinstance(max_side, (int, np.integer)) or max_side < 16):
        raise InputError(f"max_side must be None or a whole number >= 16, got {max_side!r}")
    img = read_image(path)
    name = Path(path).name
    if img.dtype.kind == "u":
        rad = srgb_to_linear(to_float32(img))
    else:
        rad = _check_radiance(img, name=name)
    if rad.shape[2] == 1:
        rad = np.repeat(rad, 3, axis=2)
    h, w = rad.shape[:2]
    if max_side is not None and max(h, w) > max_side:
        s = max_side / max(h, w)
        size = (max(1, round(w * s)), max(1, round(h * s)))
        rad = cv2.resize(rad, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rad, dtype=np.float32)


def auto_exposure_time(radiance: np.ndarray, *, key: float = 0.18) -> float:
    """The exposure time that maps the scene's log-average luminance to ``key``.

    ``t = key / exp(mean(ln max(L, 1e-6 max L)))`` with Rec. 709 luminance ``L``: the
    averaging-metering rule of Reinhard et al. (2002, eq. 1-2), so that mid-grey 0.18 lands
    at sRGB code 0.46 and the exposure scales with the radiance.

    Args:
        radiance: linear radiance ``>= 0``, float ``(H, W, 3)``.
        key: target exposure of the log-average luminance, in (0, 1].

    Returns:
        Exposure time in seconds (relative radiance units).

    Raises:
        InputError: bad radiance or key, or an all-black image.

    >>> round(auto_exposure_time(np.full((4, 4, 3), 0.5, np.float32)), 6)  # 0.18 / 0.5
    0.36
    """
    k = _number("key", key, "exposure of the log-average luminance, e.g. 0.18")
    if not 0.0 < k <= 1.0:
        raise InputError(f"key must be in (0, 1] (e.g. 0.18 for mid-grey), got {key!r}")
    rad = _check_radiance(radiance)
    return _auto_time(rad, k)


def _auto_time(rad: np.ndarray, key: float) -> float:
    lum = luminance(rad)
    top = float(lum.max())
    if not top > 0.0:
        raise InputError(
            "radiance is black everywhere: there is no exposure that makes it visible; "
            "check the file or its scale"
        )
    logs = cv2.log(np.maximum(lum, np.float32(top * 1e-6)))
    avg = math.exp(float(np.mean(logs, dtype=np.float64)))
    return key / avg


# ---------------------------------------------------------------------------------------------
# One shot
# ---------------------------------------------------------------------------------------------
def _render(exposure: np.ndarray, camera: Camera, rng: np.random.Generator) -> np.ndarray:
    """Noise, clip, response, quantise, JPEG on a float32 exposure (may be modified)."""
    y = add_sensor_noise(exposure, camera, rng)
    np.clip(y, 0.0, 1.0, out=y)
    v = apply_response(y, camera)
    top = 255.0 if camera.bit_depth == 8 else 65535.0
    v *= np.float32(top)
    v += np.float32(0.5)
    dtype = np.uint8 if camera.bit_depth == 8 else np.uint16
    codes = v.astype(dtype)  # floor(v * top + 0.5): round half up, v in [0, top + 0.5)
    if camera.jpeg_quality is not None:
        codes = _jpeg(codes, camera.jpeg_quality)
    return codes


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    bgr = np.ascontiguousarray(img[..., ::-1]) if img.shape[2] == 3 else img
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV always encodes uint8 images
        raise InputError("OpenCV could not encode the image as JPEG")
    dec = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if dec is None:  # pragma: no cover - OpenCV decodes what it encoded
        raise InputError("OpenCV could not decode its own JPEG")
    if dec.ndim == 2:
        dec = dec[:, :, None]
    elif img.shape[2] == 3:
        dec = dec[..., ::-1]
    return np.ascontiguousarray(dec)


def _check_time(t: object, name: str = "exposure_time") -> float:
    v = _number(name, t, "seconds")
    if not (math.isfinite(v) and v > 0):
        raise InputError(f"{name} must be finite and > 0 seconds, got {t!r}")
    return v


def _check_camera(camera: object) -> Camera:
    if not isinstance(camera, Camera):
        raise InputError(
            f"camera must be an expokit.simulate.Camera, got {type(camera).__name__}"
        )
    return camera


def _check_rng(rng: object) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise InputError(
            f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got "
            f"{type(rng).__name__}"
        )
    return rng


def render_shot(radiance: np.ndarray, exposure_time: float, camera: Camera,
                rng: np.random.Generator) -> np.ndarray:
    """Photograph linear radiance with a simulated camera.

    ``x = radiance * t`` -> Poisson-Gaussian noise (:func:`add_sensor_noise`) -> clip to
    [0, 1] -> response (:func:`apply_response`) -> round to uint8 / uint16 -> optional JPEG
    round trip.

    Args:
        radiance: linear radiance ``>= 0``, float ``(H, W, 3)`` (or 1 channel); exposure 1 is
            saturation, so ``radiance * exposure_time == 1`` is the clipping level.
        exposure_time: seconds, > 0.
        camera: the simulated camera.
        rng: random generator for the noise (advanced by this call).

    Returns:
        uint8 (``bit_depth == 8``) or uint16 ``(H, W, C)`` code values.

    Raises:
        InputError: for bad radiance (integer, NaN/Inf), time, camera or rng.

    >>> img = render_shot(np.full((4, 4, 3), 0.18, np.float32), 1.0,
    ...                   Camera(full_well=float("inf"), read_noise=0.0),
    ...                   np.random.default_rng(0))
    >>> int(img[0, 0, 0])  # round(255 * srgb(0.18)) = round(117.6)
    118
    """
    rad = _check_radiance(radiance)
    t = _check_time(exposure_time)
    cam = _check_camera(camera)
    gen = _check_rng(rng)
    return _render(rad * np.float32(t), cam, gen)
