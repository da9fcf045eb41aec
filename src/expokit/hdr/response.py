"""Camera response calibration: Debevec & Malik (1997) and Robertson et al. (2003).

Both return the **inverse** camera response the way OpenCV does: a float32 array ``(L, C)``
whose entry ``[k, c]`` is the relative exposure (linear, radiance x time) that produces code
level ``k`` in channel ``c``. Level ``k`` stands for the normalised code value ``k / (L - 1)``:

* uint8 brackets: ``L = 256``, level ``k`` is code ``k``;
* uint16 brackets: ``L = 1024``; each 16-bit code ``v`` counts as level
  ``round(v * 1023 / 65535)`` during calibration, and the merge interpolates the response
  linearly at ``v / 65535`` (so the curve is used at the full 16-bit precision);
* float brackets are taken to be linear already: the calibration returns
  :func:`response_linear` (``response[k] = k / (L - 1)``) without looking at the data.

Normalisation: a calibrated response is scaled so that ``response[L // 2] == 1`` (mid-grey has
exposure 1, Debevec's ``g(128) = 0``); radiance merged with it is therefore relative. The
fixed responses :func:`response_linear` and :func:`response_srgb` map white (level ``L - 1``)
to 1 instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

import numpy as np

from .._checks import check_exposure_times, check_number, check_stack, check_unit_range
from ..color import srgb_to_linear
from ..errors import InputError
from ._util import CALIBRATION_LEVELS, any_mask, check_masks, to_codes
from .weighting import Weighting, WeightingFunction, weight_table

logger = logging.getLogger(__name__)

#: How :func:`calibrate_debevec` fits the channels: one curve for all, or one each.
CalibrationChannels = Literal["shared", "separate"]

#: Smoothness weights are floored at this fraction of the peak weight, so that code levels
#: the weighting ignores (the clipped ends) still follow a smooth curve.
_SMOOTH_FLOOR = 0.01


def response_linear(levels: int = 256, channels: int = 3) -> np.ndarray:
    """The response of a linear sensor: ``response[k] = k / (levels - 1)``.

    Returns:
        float32 ``(levels, channels)``.

    >>> response_linear(3, 1).ravel().tolist()
    [0.0, 0.5, 1.0]
    """
    _check_levels(levels, channels)
    r = np.linspace(0.0, 1.0, levels, dtype=np.float32)
    return np.repeat(r[:, None], channels, axis=1)


def response_srgb(levels: int = 256, channels: int = 3) -> np.ndarray:
    """The inverse of the sRGB encoding (IEC 61966-2-1): linear light per code level.

    The right response for images that are sRGB-encoded linear exposure, such as the
    brackets of :func:`expokit.simulate.photograph`.

    Returns:
        float32 ``(levels, channels)``, 0 at level 0 and 1 at level ``levels - 1``.

    >>> round(float(response_srgb()[128, 0]), 4)
    0.2159
    """
    _check_levels(levels, channels)
    r = srgb_to_linear(np.linspace(0.0, 1.0, levels, dtype=np.float32))
    return np.repeat(r[:, None], channels, axis=1)


def _check_levels(levels: int, channels: int) -> None:
    if int(levels) < 2:
        raise InputError(f"levels must be >= 2, got {levels}")
    if int(channels) < 1:
        raise InputError(f"channels must be >= 1, got {channels}")


def _prepare(
    images: Sequence[np.ndarray],
    exposure_times: Sequence[float],
    mask: object,
    *,
    count: tuple[str, object, int],
    tolerance: tuple[str, float],
) -> tuple[list[np.ndarray], np.ndarray, list[np.ndarray | None]]:
    """The checks both calibrations start with: bracket, times and masks, then their two
    settings, ``count = (name, value, minimum)`` (``samples``, ``max_iter``) and
    ``tolerance = (name, value)``, a finite number >= 0 (``smoothness``, ``threshold``)."""
    imgs = check_stack(images)
    check_unit_range(imgs, what="calibration takes uint8 / uint16 code values or floats in "
                     "[0, 1] (divide 8-bit values by 255)")
    times = check_exposure_times(exposure_times, len(imgs))
    masks = check_masks(mask, len(imgs), imgs[0].shape[:2])
    name, value, minimum = count
    if int(value) < minimum:  # type: ignore[call-overload]
        raise InputError(f"{name} must be >= {minimum}, got {value}")
    name, number = tolerance
    if not np.isfinite(number) or number < 0:
        raise InputError(f"{name} must be a finite number >= 0, got {number}")
    return imgs, times, masks


def _float_response(imgs: list[np.ndarray], who: str) -> np.ndarray:
    logger.info("%s: float images are taken to be linear; returning the identity response", who)
    return response_linear(256, imgs[0].shape[2])


# --------------------------------------------------------------------------------------------
# Debevec & Malik 1997
# --------------------------------------------------------------------------------------------
def _select_samples(
    codes: list[np.ndarray],
    bad: np.ndarray | None,
    wtab: np.ndarray,
    samples: int,
    seed: int,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pick sample pixels per channel: spread over the image, stratified over brightness.

    Candidates lie one per cell of a regular grid (a random position inside each cell, so
    they are spatially spread), about 8 per requested sample. Candidates masked in any image
    or clipped in all of them are dropped. Per channel, candidates are binned by their mean
    code over the bracket (a monotone proxy for radiance) into up to 64 equal-width bins and
    taken round-robin over the bins, the flattest first (smallest difference to their four
    neighbours, summed over the bracket, so edges and misregistered pixels are avoided).
    """
    h, w = codes[0].shape[:2]
    channels = codes[0].shape[2]
    levels = wtab.size
    rng = np.random.default_rng(seed)
    step = max(1, int(np.sqrt(h * w / max(8 * samples, 1))))
    gy = np.arange(0, h - step + 1, step)
    gx = np.arange(0, w - step + 1, step)
    ys = (gy[:, None] + rng.integers(0, step, (gy.size, gx.size))).ravel()
    xs = (gx[None, :] + rng.integers(0, step, (gy.size, gx.size))).ravel()
    if bad is not None:
        keep = ~bad[ys, xs]
        ys, xs = ys[keep], xs[keep]

    # Flatness: summed absolute difference to the 4 neighbours, over images and channels.
    k = ys.size
    ny = np.concatenate([ys, np.maximum(ys - 1, 0), np.minimum(ys + 1, h - 1), ys, ys])
    nx = np.concatenate([xs, xs, xs, np.maximum(xs - 1, 0), np.minimum(xs + 1, w - 1)])
    rough = np.zeros(k, np.float64)
    at = []  # (K, C) codes of every image at the candidates
    for z in codes:
        patch = z[ny, nx].astype(np.int32).reshape(5, k, channels)
        rough += np.abs(patch[1:] - patch[0]).sum(axis=(0, 2))
        at.append(patch[0])

    picked = []
    for c in range(channels):
        zc = np.stack([a[:, c] for a in at], axis=1).astype(np.intp)  # (K, P)
        informative = (wtab[zc] > 0).any(axis=1)
        cand = np.flatnonzero(informative)
        if cand.size == 0:
            raise InputError(
                "every sample candidate is clipped (black or white) in all images: the "
                "bracket has no usable pixels for calibration"
            )
        proxy = zc[cand].mean(axis=1) / (levels - 1)
        nbins = int(min(64, samples))
        span = max(float(proxy.max() - proxy.min()), 1e-12)
        bins = np.minimum(((proxy - proxy.min()) / span * nbins).astype(np.intp), nbins - 1)
        order = np.lexsort((rough[cand], bins))  # by bin, flattest first inside a bin
        sorted_bins = bins[order]
        starts = np.searchsorted(sorted_bins, np.arange(nbins))
        rank = np.arange(order.size) - starts[sorted_bins]
        take = order[np.lexsort((sorted_bins, rank))][:samples]
        sel = cand[take]
        picked.append((ys[sel], xs[sel]))
    logger.debug("debevec: %d candidates on a %d-pixel grid, %d samples per channel",
                 ys.size, step, picked[0][0].size)
    return picked


def _solve_debevec(
    z: np.ndarray, valid: np.ndarray, log_t: np.ndarray, wtab: np.ndarray, smoothness: float
) -> np.ndarray:
    """Least-squares ``g`` of Debevec & Malik eq. 3 with ``g(L // 2) = 0``, exactly.

    Unknowns are ``g`` (L values) and ``ln E_i`` (one per sample). Setting the derivative
    with respect to each ``ln E_i`` to zero gives ``ln E_i`` as a weighted mean, which is
    substituted back (a Schur complement): what is left is a dense ``L x L`` system in ``g``
    alone, the same minimiser as the paper's SVD of the full system at a fraction of the cost.
    """
    import scipy.sparse as sp  # here, not at import: the CLI loads expokit.hdr at start

    n, p = z.shape
    levels = wtab.size
    a = np.where(valid, wtab[z].astype(np.float64) ** 2, 0.0)  # squared row weights
    a_sum = a.sum(axis=1)
    keep = a_sum > 0
    z, a, a_sum = z[keep], a[keep], a_sum[keep]
    n = z.shape[0]
    s = a @ log_t  # sum_j a_ij ln t_j
    flat_z = z.ravel()
    diag = np.bincount(flat_z, a.ravel(), levels)
    rhs = np.bincount(flat_z, (a * log_t[None, :]).ravel(), levels)
    rhs -= np.bincount(flat_z, (a * (s / a_sum)[:, None]).ravel(), levels)
    u = sp.csr_matrix((a.ravel(), (np.repeat(np.arange(n), p), flat_z)), shape=(n, levels))
    m = -(u.T @ sp.diags(1.0 / a_sum) @ u).toarray()
    m[np.diag_indices(levels)] += diag

    # Smoothness: lam * w(k) * (g[k-1] - 2 g[k] + g[k+1]), k = 1 .. L-2 (paper eq. 3, 2nd sum).
    # lam is scaled by the mean data weight per level, so that `smoothness` means the same
    # whatever the number of samples and images.
    lam2 = smoothness**2 * a.sum() / levels
    omega = np.maximum(wtab[1:-1].astype(np.float64), _SMOOTH_FLOOR * float(wtab.max()))
    d2 = sp.diags([np.ones(levels - 2), -2.0 * np.ones(levels - 2), np.ones(levels - 2)],
                  [0, 1, 2], shape=(levels - 2, levels))
    m += lam2 * (d2.T @ sp.diags(omega**2) @ d2).toarray()

    mid = levels // 2
    free = np.arange(levels) != mid
    g = np.zeros(levels)
    try:
        g[free] = np.linalg.solve(m[np.ix_(free, free)], rhs[free])
    except np.linalg.LinAlgError as exc:
        raise InputError(
            "the Debevec system is singular: some code levels are constrained by neither the "
            "samples nor the smoothness term; use smoothness > 0 or more samples"
        ) from exc
    return g


def calibrate_debevec(
    images: Sequence[np.ndarray],
    exposure_times: Sequence[float],
    *,
    samples: int = 1000,
    smoothness: float = 10.0,
    weighting: Weighting | str | WeightingFunction = "triangle",
    seed: int = 0,
    mask: object = None,
    channels: CalibrationChannels = "shared",
    ignore_above: float = 0.95,
) -> np.ndarray:
    """Recover the inverse camera response by Debevec & Malik's least squares.

    For sample pixels ``i`` seen at times ``t_j`` with codes ``Z_ij``, minimise

        sum_ij [w(Z_ij) (g(Z_ij) - ln E_i - ln t_j)]^2
            + lam^2 sum_k [w(k) g''(k)]^2,   subject to g(L // 2) = 0,

    over the log inverse response ``g`` and the sample log radiances ``ln E_i``. The ``ln E_i``
    are eliminated in closed form, so the solve is an ``L x L`` dense system whatever the number
    of samples; thousands of samples cost milliseconds.

    Args:
        images: a bracket of uint8 or uint16 ``(H, W, C)`` display-referred images (RGB),
            registered. Float images are taken to be linear (see Returns).
        exposure_times: seconds, one per image, > 0 and distinct.
        samples: sample pixels per channel (the paper needs ``samples * (P - 1) > L``).
        smoothness: weight ``lam`` of the second-derivative term, relative to the mean data
            weight per code level (so independent of ``samples`` and the image count).
            Larger values give smoother curves (and bias sharp bends such as the sRGB toe).
        weighting: name in :data:`~expokit.hdr.WEIGHTINGS` or a callable on [0, 1].
        seed: seed of the random positions inside the sampling grid (deterministic).
        mask: pixels to ignore (True = ignore): one bool ``(H, W)`` array for all images, or
            one per image (e.g. ``[invalid_mask(im) for im in images]``). A pixel masked in any
            image is not sampled.
        channels: ``"shared"``: one curve for all channels, fitted to the samples of every
            channel (camera JPEG pipelines apply one tone curve to white-balanced R, G, B, so
            this is the usual truth, and it keeps calibration errors from differing between
            channels, which would tint highlights and mid-tones pixel by pixel);
            ``"separate"``: one curve per channel, as in the paper and OpenCV.
        ignore_above: code values above this fraction of the range carry no data weight
            (the smoothness term continues the curve there). In 8-bit JPEG brackets the top
            codes come largely from compression ringing and 4:2:0 chroma subsampling around
            clipped areas, i.e. from radiance far above them, and bend the curve's top up by
            up to a factor 2-4 differently per channel; 1.0 keeps every code (the paper).

    Returns:
        float32 ``(L, C)`` inverse response, ``exp(g)``: relative exposure per code level,
        ``response[L // 2] == 1`` (``L`` = 256 for uint8, 1024 for uint16; see the module
        docstring). For float input, :func:`response_linear` ``(256, C)``.

    Raises:
        InputError: for a malformed bracket, times, mask, weighting or ``samples`` < 2.

    References:
        P. E. Debevec and J. Malik, "Recovering High Dynamic Range Radiance Maps from
        Photographs", SIGGRAPH 1997: objective eq. 3, hat weighting eq. 4, the ``g(Z_mid) = 0``
        constraint and sample-count rule in section 2.1.

    >>> from expokit.simulate import photograph, render_scene
    >>> imgs = photograph(render_scene(64, 64), [0.05, 0.5, 5.0])
    >>> calibrate_debevec(imgs, [0.05, 0.5, 5.0], samples=200).shape
    (256, 3)
    """
    imgs, times, masks = _prepare(images, exposure_times, mask, count=("samples", samples, 2),
                                  tolerance=("smoothness", smoothness))
    if imgs[0].dtype.kind == "f":
        return _float_response(imgs, "calibrate_debevec")
    if channels not in ("shared", "separate"):
        raise InputError(f"channels {channels!r} is unknown: use 'shared' (one curve for all "
                         "channels) or 'separate' (one per channel)")
    top = check_number("ignore_above", ignore_above, "a fraction of the code range")
    if not 0.5 < top <= 1.0:
        raise InputError(f"ignore_above must be in (0.5, 1] (a fraction of the code range, "
                         f"1 keeps every code), got {ignore_above!r}")
    levels = CALIBRATION_LEVELS[imgs[0].dtype]
    wtab = weight_table(weighting, levels)
    wtab[np.arange(levels) > top * (levels - 1)] = 0.0
    codes = [to_codes(im, levels) for im in imgs]
    bad = any_mask(masks)
    picked = _select_samples(codes, bad, wtab, int(samples), seed)
    log_t = np.log(times)
    n_levels_seen = []
    out = np.empty((levels, imgs[0].shape[2]), np.float32)
    zs = [np.stack([cz[ys, xs, c] for cz in codes], axis=1).astype(np.intp)
          for c, (ys, xs) in enumerate(picked)]
    groups = [np.concatenate(zs)] if channels == "shared" else zs
    for c, z in enumerate(groups):
        g = _solve_debevec(z, np.ones(z.shape, bool), log_t, wtab, float(smoothness))
        cols = slice(None) if channels == "shared" else slice(c, c + 1)
        out[:, cols] = np.exp(g - g[levels // 2])[:, None]
        n_levels_seen.append(np.unique(z).size)
    n_samples = picked[0][0].size
    if n_samples * (len(imgs) - 1) <= levels:
        logger.warning(
            "calibrate_debevec: %d samples x %d images is too few for %d levels "
            "(Debevec & Malik need samples * (images - 1) > levels); increase samples",
            n_samples, len(imgs), levels)
    logger.debug("calibrate_debevec: levels seen per curve %s", n_levels_seen)
    return out


# --------------------------------------------------------------------------------------------
# Robertson, Borman & Stevenson 2003
# --------------------------------------------------------------------------------------------
#: Tuple ids are counted densely (bincount over the whole key space) while the key space is at
#: most this many times the pixel count, and sorted (np.unique) beyond.
_DENSE_FACTOR = 2


def _code_tuples(
    codes: list[np.ndarray], c: int, masks: list[np.ndarray | None], base: int, invalid: int
) -> tuple[np.ndarray, np.ndarray]:
    """The distinct tuples of codes ``(z_1, ..., z_P)`` in channel ``c`` and their counts.

    Robertson's estimates depend on a pixel only through its code tuple, and a bracket of
    millions of pixels holds far fewer distinct tuples (codes rise together with radiance),
    so the iteration runs on the tuple histogram: exact, over all pixels, and cheap.
    Tuples are numbered one image at a time (``id * base + z``), by counting (bincount) while
    the key space is small and by sorting (np.unique) beyond; each new id remembers its parent
    id and last code, and the tuples are read back from those chains at the end.

    Returns:
        ``(table, counts)``: intp ``(T, P)`` codes (``invalid`` where masked) and float64
        ``(T,)`` pixel counts.
    """
    npix = codes[0].shape[0] * codes[0].shape[1]

    def channel(j: int, dtype: type) -> np.ndarray:
        z = codes[j][:, :, c].ravel().astype(dtype)
        if masks[j] is not None:
            z[masks[j].ravel()] = invalid
        return z

    ids = channel(0, np.int32)
    n_ids = base
    chain: list[tuple[np.ndarray, np.ndarray]] = []  # per image j >= 1: (parent id, code)
    counts = np.empty(0)
    for j in range(1, len(codes)):
        space = n_ids * base
        key_type = np.int32 if space < 2**31 else np.int64
        key = ids.astype(key_type, copy=False) * key_type(base)
        key += channel(j, key_type)
        last = j == len(codes) - 1
        if space <= _DENSE_FACTOR * npix:
            hist = np.bincount(key, minlength=space)
            present = np.flatnonzero(hist)
            if last:
                counts = hist[present]
            else:
                lookup = np.zeros(space, np.int32)
                lookup[present] = np.arange(present.size, dtype=np.int32)
                ids = lookup[key]
                del lookup
            del hist
        elif last:
            present, counts = np.unique(key, return_counts=True)
        else:
            present, inverse = np.unique(key, return_inverse=True)
            ids = inverse.reshape(-1).astype(np.int32)
        chain.append((present // base, present % base))
        n_ids = present.size
    table = np.empty((n_ids, len(codes)), np.intp)
    cur = np.arange(n_ids)
    for j in range(len(codes) - 1, 0, -1):
        parent, code = chain[j - 1]
        table[:, j] = code[cur]
        cur = parent[cur]
    table[:, 0] = cur
    return table, counts.astype(np.float64)


def calibrate_robertson(
    images: Sequence[np.ndarray],
    exposure_times: Sequence[float],
    *,
    max_iter: int = 30,
    threshold: float = 1e-3,
    weighting: Weighting | str | WeightingFunction = "gaussian",
    mask: object = None,
) -> np.ndarray:
    """Recover the inverse camera response by Robertson et al.'s iterative estimation.

    Alternates, over **all** pixels, the two steps of the paper's section 3.2:

    1. radiance ``x_i = sum_j w(Z_ij) t_j I(Z_ij) / sum_j w(Z_ij) t_j^2`` (eq. 12),
    2. response ``I(m) = mean of t_j x_i over all (i, j) with Z_ij = m`` (eq. 10),

    normalising ``I(L // 2) = 1`` after each round, starting from a linear response. Both
    steps only depend on each pixel's tuple of codes, so they run on the histogram of distinct
    tuples (exactly the same sums, over far fewer terms); codes never observed are
    interpolated linearly from their neighbours (held constant beyond the observed range).
    With ``threshold=0`` the result equals OpenCV's ``CalibrateRobertson`` for the same number
    of rounds (to 0.2 % in the tests).

    There is no smoothness prior: each level is the mean exposure of the pixels that show it.
    Scenes whose radiances cluster on a few values, or brackets with wide steps (3 stops and
    more), leave levels weakly linked, and the curve wiggles by several percent around the
    truth (or worse); :func:`calibrate_debevec` is more robust there.

    Args:
        images: a bracket of uint8 or uint16 ``(H, W, C)`` display-referred images (RGB),
            registered. Float images are taken to be linear (see Returns).
        exposure_times: seconds, one per image, > 0 and distinct.
        max_iter: largest number of rounds.
        threshold: stop when the mean absolute change of ``ln I`` over the observed code
            levels with positive weight falls below this (1e-3: 0.1 % per level).
        weighting: name in :data:`~expokit.hdr.WEIGHTINGS` or a callable on [0, 1].
        mask: pixels to ignore (True = ignore): one bool ``(H, W)`` array for all images or
            one per image. A masked pixel drops out of the images where it is masked only.

    Returns:
        float32 ``(L, C)`` inverse response ``I``, ``response[L // 2] == 1`` (``L`` = 256 for
        uint8, 1024 for uint16). For float input, :func:`response_linear` ``(256, C)``.

    Raises:
        InputError: for a malformed bracket, times, mask, weighting or iteration settings.

    References:
        M. A. Robertson, S. Borman and R. L. Stevenson, "Estimation-theoretic approach to
        dynamic range enhancement using multiple exposures", J. Electronic Imaging 12(2),
        2003, section 3 (eq. 10 and 12; weights section 3.3).

    >>> from expokit.simulate import photograph, render_scene
    >>> imgs = photograph(render_scene(64, 64), [0.05, 0.5, 5.0])
    >>> calibrate_robertson(imgs, [0.05, 0.5, 5.0]).shape
    (256, 3)
    """
    imgs, times, masks = _prepare(images, exposure_times, mask, count=("max_iter", max_iter, 1),
                                  tolerance=("threshold", threshold))
    if imgs[0].dtype.kind == "f":
        return _float_response(imgs, "calibrate_robertson")
    levels = CALIBRATION_LEVELS[imgs[0].dtype]
    wtab = weight_table(weighting, levels).astype(np.float64)
    codes = [to_codes(im, levels) for im in imgs]
    has_mask = any(m is not None for m in masks)
    base = levels + 1 if has_mask else levels
    invalid = levels  # the extra level of masked pixels: weight 0, never updated
    w_ext = np.append(wtab, 0.0)
    mid = levels // 2
    out = np.empty((levels, imgs[0].shape[2]), np.float32)
    for c in range(imgs[0].shape[2]):
        table, counts = _code_tuples(codes, c, masks, base, invalid)
        out[:, c] = _robertson_iterate(table, counts, times, w_ext, levels, mid,
                                       int(max_iter), float(threshold))
    return out


def _robertson_iterate(
    table: np.ndarray,
    counts: np.ndarray,
    times: np.ndarray,
    w_ext: np.ndarray,
    levels: int,
    mid: int,
    max_iter: int,
    threshold: float,
) -> np.ndarray:
    """Robertson's two-step iteration on a histogram of code tuples ``(T, P)``."""
    t = times[None, :]
    wt = w_ext[table] * t  # (T, P) w * t; 0 for the invalid level
    den = (wt * t).sum(axis=1)
    ok = den > 0  # tuples with a radiance estimate; the others never enter the update
    table, counts, wt, den = table[ok], counts[ok], wt[ok] / den[ok, None], den[ok]
    # Terms of the response update: every real (tuple, image) pair of those tuples.
    real = table < levels
    rows = np.nonzero(real)[0]
    z_upd = table[real]
    nt_upd = (counts[:, None] * t)[real]
    card = np.bincount(z_upd, np.broadcast_to(counts[:, None], table.shape)[real], levels)
    seen = card > 0
    if seen.sum() < 2:
        raise InputError("the bracket shows fewer than two distinct usable code values")
    levels_idx = np.arange(levels)
    resp = np.linspace(0.0, 1.0, levels) / (mid / (levels - 1))  # linear start, I(mid) = 1
    judged = seen & (w_ext[:levels] > 0)
    i_ext = np.zeros(levels + 1)
    for it in range(max_iter):
        i_ext[:levels] = resp
        x = (wt * i_ext[table]).sum(axis=1)  # eq. 12 (wt already divided by the denominator)
        new = np.bincount(z_upd, nt_upd * x[rows], levels)  # eq. 10
        new[seen] /= card[seen]
        new = np.interp(levels_idx, levels_idx[seen], new[seen])
        if new[mid] <= 0:
            raise InputError("Robertson calibration diverged: mid-grey has no exposure")
        new /= new[mid]
        pos = judged & (new > 0) & (resp > 0)
        change = float(np.mean(np.abs(np.log(new[pos] / resp[pos])))) if pos.any() else 0.0
        resp = new
        logger.debug("robertson: round %d, mean |d ln I| = %.3g", it + 1, change)
        if change < threshold:
            break
    return resp.astype(np.float32)
