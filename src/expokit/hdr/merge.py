"""Radiance merge of a bracket: Debevec & Malik (log domain) and Robertson et al. (linear).

Both merges are a per-pixel weighted average over the exposures of one quantity per code
value, so everything that depends on a code (weight, response, ``ln t``) is folded into
look-up tables once per image, and the full-resolution work is table look-ups and adds in
float32, done in strips of rows on a thread pool: no per-image full-size temporaries.

Weights are per pixel, channel and exposure, but by default (``saturation="any_channel"``) a
pixel's brightest channel caps the weights of the others once it is above mid-range: a frame
near clipping in one channel contributes no colour there (JPEG shifts its other channels too).

Pixels whose weight is 0 in every usable exposure (clipped everywhere: a sun that saturates
even the shortest exposure, a shadow black in the longest) take the value of one exposure:
the shortest one where the pixel is bright, the longest one where it is dark (with
``"any_channel"``, one choice per pixel by its brightest channel); with deghosting, the
reference exposure. Pixels masked in every exposure get radiance 0.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import cv2
import numpy as np

from .._checks import (
    check_exposure_times,
    check_stack,
    check_unit_range,
    resolve_threads,
    row_strips,
)
from ..errors import InputError
from ._util import (
    CODE_MAX,
    check_masks,
    check_response,
    interp_columns,
    log_response,
)
from .deghost import Deghost, check_deghost, consistency, interval_tables
from .learned import merge_ahdr
from .response import response_linear, response_srgb
from .weighting import Weighting, WeightingFunction, get_weighting, weight_table

logger = logging.getLogger(__name__)

#: Named responses the merge functions accept instead of an array.
ResponseName = Literal["linear", "srgb"]

#: How clipping in one channel affects the others (see :func:`merge_debevec`).
Saturation = Literal["any_channel", "per_channel"]
SATURATIONS: tuple[str, ...] = ("any_channel", "per_channel")

#: Grid of the deghosting interval tables for float input.
_FLOAT_GRID = 4096
#: Pixels per strip: small enough that a strip's temporaries stay in cache.
_STRIP_PIXELS = 1 << 16


def _resolve_response(response: object, channels: int) -> np.ndarray:
    if response is None or (isinstance(response, str) and response == "linear"):
        return response_linear(256, channels).astype(np.float64)
    if isinstance(response, str):
        if response == "srgb":
            return response_srgb(256, channels).astype(np.float64)
        raise InputError(
            f"response {response!r} is unknown: give an (L, C) array from calibrate_debevec / "
            "calibrate_robertson, or one of 'linear', 'srgb'"
        )
    return check_response(response, channels)


class _Tables:
    """Per-image quantities as functions of the code value: look-up tables or direct maths.

    For integer images every quantity is tabulated on all ``2**bits`` codes once and looked
    up (cv2.LUT for uint8, np.take for uint16); for float images (taken as normalised code
    values in [0, 1], values outside are clipped) the same functions are evaluated per strip.
    """

    def __init__(self, dtype: np.dtype, response: np.ndarray, weighting: WeightingFunction,
                 channels: int):
        self.integer = dtype.kind == "u"
        self.channels = channels
        self.weighting = weighting
        self.response = response  # float64 (L, C)
        if self.integer:
            self.code_max = CODE_MAX[dtype]
            n = self.code_max + 1
            v = np.broadcast_to(np.linspace(0.0, 1.0, n)[:, None], (n, channels))
            self.resp = interp_columns(v, response).astype(np.float64)  # (n, C)
            self.w = np.repeat(weight_table(weighting, n)[:, None], channels, axis=1)
            self.gate = self.w[:, 0].astype(np.float32).copy()
            self.gate[np.linspace(0.0, 1.0, n) <= 0.5] = np.inf
        else:
            self.code_max = _FLOAT_GRID - 1
            weight_table(weighting, 256)  # validates the weighting once
            v = np.broadcast_to(np.linspace(0.0, 1.0, _FLOAT_GRID)[:, None],
                                (_FLOAT_GRID, channels))
            self.resp = interp_columns(v, response).astype(np.float64)
        self.log_resp = log_response(self.resp)

    # -- integer path ------------------------------------------------------------------------
    def lut(self, table: np.ndarray) -> np.ndarray:
        """A float32 ``(n, C)`` table in the layout :meth:`look` wants."""
        t = np.ascontiguousarray(table, dtype=np.float32)
        if self.code_max == 255:
            return t.reshape(256, 1, self.channels)
        return np.ascontiguousarray(t.T)  # (C, n): one contiguous row per channel

    def look_gate(self, zmax: np.ndarray) -> np.ndarray:
        """The gate table at the brightest channel's codes ``zmax (h, W)``: float32 ``(h, W)``."""
        if self.code_max == 255:
            return cv2.LUT(zmax, self.gate)
        return np.take(self.gate, zmax, mode="clip")

    def look(self, lut: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Look codes ``z (h, W, C)`` up in a table made by :meth:`lut`: float32 ``(h, W, C)``."""
        if self.code_max == 255:
            out = cv2.LUT(z, lut)
            return out.reshape(z.shape)
        out = np.empty(z.shape, np.float32)
        for c in range(self.channels):
            out[..., c] = np.take(lut[c], z[..., c], mode="clip")
        return out

    # -- float path --------------------------------------------------------------------------
    def weight_of(self, v: np.ndarray) -> np.ndarray:
        w = np.asarray(self.weighting(np.clip(v, 0.0, 1.0)), dtype=np.float32)
        if w.shape != v.shape:
            raise InputError(f"weighting function must keep its input's shape {v.shape}")
        return w

    def gate_of(self, vmax: np.ndarray) -> np.ndarray:
        """The cap on a pixel's weights set by its brightest channel ``vmax`` (float path)."""
        v = np.clip(vmax, 0.0, 1.0)
        g = np.asarray(self.weighting(v), dtype=np.float32)
        return np.where(v > 0.5, g, np.float32(np.inf))

    def resp_of(self, v: np.ndarray) -> np.ndarray:
        return interp_columns(np.clip(v, 0.0, 1.0), self.response)

    def grid_of(self, table: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Evaluate a ``(_FLOAT_GRID, C)`` table at float values ``v`` (nearest grid point)."""
        idx = np.rint(np.clip(v, 0.0, 1.0) * (_FLOAT_GRID - 1)).astype(np.intp)
        out = np.empty(v.shape, np.float32)
        for c in range(self.channels):
            out[..., c] = table[:, c][idx[..., c]]
        return out


def _check_reference(reference: object, times: np.ndarray, deghost: str | None) -> int:
    order = np.argsort(times)
    if reference is None:
        return int(order[(len(times) - 1) // 2])
    if deghost is None:
        raise InputError(
            "reference is only used for deghosting: pass deghost='reference' as well, or drop "
            "reference"
        )
    if isinstance(reference, (bool, np.bool_)) or not isinstance(reference, (int, np.integer)):
        raise InputError(f"reference must be an image index (int), got {reference!r}")
    if not 0 <= int(reference) < len(times):
        raise InputError(
            f"reference {reference} is out of range for {len(times)} images: use 0 .. "
            f"{len(times) - 1}"
        )
    return int(reference)


def _merge(
    images: Sequence[np.ndarray],
    exposure_times: Sequence[float],
    *,
    response: object,
    weighting: Weighting | str | WeightingFunction,
    saturation: object,
    mask: object,
    deghost: object,
    reference: object,
    threads: int | None,
    log_domain: bool,
    who: str,
) -> np.ndarray:
    imgs = check_stack(images)
    check_unit_range(imgs, what=f"{who} takes uint8 / uint16 code values or floats in [0, 1] "
                     "(divide 8-bit values by 255)")
    times = check_exposure_times(exposure_times, len(imgs))
    h, w, channels = imgs[0].shape
    masks = check_masks(mask, len(imgs), (h, w))
    ghost = check_deghost(deghost)
    ref = _check_reference(reference, times, ghost)
    wfun = get_weighting(weighting)
    if not isinstance(saturation, str) or saturation not in SATURATIONS:
        raise InputError(f"saturation {saturation!r} is unknown: use 'any_channel' (a pixel "
                         "near clipping in any channel of a frame loses that frame's weight in "
                         "all channels) or 'per_channel'")
    joint = saturation == "any_channel" and channels > 1
    if response is None:
        logger.info("%s: no response given, assuming a linear sensor (identity response); "
                    "calibrate camera JPEG/PNG brackets with calibrate_debevec", who)
    resp = _resolve_response(response, channels)
    tab = _Tables(imgs[0].dtype, resp, wfun, channels)
    n_threads = resolve_threads(threads)
    order = np.argsort(times)
    log_t = np.log(times)

    # Per image: numerator and denominator of the weighted mean, and its own estimate.
    if tab.integer:
        w_tab = tab.w.astype(np.float64)
        if log_domain:
            nums = [tab.lut(w_tab * (tab.log_resp - lt)) for lt in log_t]
            dens = [tab.lut(w_tab)] * len(imgs)
        else:
            nums = [tab.lut(w_tab * t * tab.resp) for t in times]
            dens = [tab.lut(w_tab * t * t) for t in times]
        raw_vals = [tab.log_resp - lt if log_domain else tab.resp / t
                    for lt, t in zip(log_t, times, strict=True)]
        if joint:  # weights and values apart: the weights are capped per pixel first
            w_lut = tab.lut(w_tab)
            vals = [tab.lut(tab.log_resp - lt if log_domain else t * tab.resp)
                    for lt, t in zip(log_t, times, strict=True)]
    if ghost is not None:
        lo_tab, hi_tab = interval_tables(tab.log_resp, tab.code_max)
        if tab.integer:
            los = [tab.lut(lo_tab - lt) for lt in log_t]
            his = [tab.lut(hi_tab - lt) for lt in log_t]

    rows = max(1, _STRIP_PIXELS // w)

    def per_image(j: int, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Numerator and denominator terms of image j on a strip of codes z."""
        if tab.integer and not joint:
            return tab.look(nums[j], z), tab.look(dens[j], z)
        if tab.integer:
            wt = tab.look(w_lut, z)
            planes = cv2.split(z)  # the brightest channel, fast (numpy's max(axis=2) is 50x
            top = planes[0]        # slower on interleaved uint8)
            for plane in planes[1:]:
                top = cv2.max(top, plane)
            gate = tab.look_gate(top)
            cv2.min(wt, cv2.merge([gate] * tab.channels), dst=wt)  # 3x numpy's broadcast
            num = tab.look(vals[j], z)
            num *= wt
            return num, wt if log_domain else wt * np.float32(times[j] ** 2)
        wt = tab.weight_of(z)
        if joint:
            np.minimum(wt, tab.gate_of(z.max(axis=2))[..., None], out=wt)
        if log_domain:
            num = np.log(np.maximum(tab.resp_of(z), np.float32(1e-30)))
            num -= np.float32(log_t[j])
            num *= wt
            return num, wt
        num = tab.resp_of(z)
        num *= wt * np.float32(times[j])
        return num, wt * np.float32(times[j] ** 2)

    def interval(j: int, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if tab.integer:
            return tab.look(los[j], z), tab.look(his[j], z)
        lt = np.float32(log_t[j])
        return tab.grid_of(lo_tab, z) - lt, tab.grid_of(hi_tab, z) - lt

    def own_value(j: int, codes: np.ndarray, chan: np.ndarray) -> np.ndarray:
        """Image j's own estimate (log or linear radiance) at flat codes and channels."""
        if tab.integer:
            return raw_vals[j][codes.astype(np.intp), chan]
        v = np.clip(codes.astype(np.float64), 0.0, 1.0)
        lin = np.empty(v.shape)
        for c in range(channels):
            sel = chan == c
            lin[sel] = np.interp(v[sel], np.linspace(0.0, 1.0, resp.shape[0]), resp[:, c])
        if log_domain:
            return np.log(np.maximum(lin, 1e-30)) - log_t[j]
        return lin / times[j]

    def strip(y0: int, y1: int) -> None:
        zs = [np.ascontiguousarray(im[y0:y1]) for im in imgs]
        num = np.zeros((y1 - y0, w, channels), np.float32)
        den = np.zeros_like(num)
        agree: list[np.ndarray | None] = [None] * len(zs)
        if ghost is not None:
            lo_r, hi_r = interval(ref, zs[ref])
        for j, z in enumerate(zs):
            nj, dj = per_image(j, z)
            if ghost is not None and j != ref:
                lo_j, hi_j = interval(j, z)
                c = consistency(lo_j, hi_j, lo_r, hi_r)
                if masks[ref] is not None:  # no reference there: nothing to be consistent with
                    c[masks[ref][y0:y1]] = 1.0
                nj *= c
                dj *= c
                agree[j] = c
            if masks[j] is not None:
                keep = ~masks[j][y0:y1, :, None]
                nj *= keep
                dj *= keep
            num += nj
            den += dj
        empty = den <= 0
        np.divide(num, den, out=num, where=~empty)
        if empty.any():
            _fill_empty(num, empty, zs, agree, y0, y1)
        if log_domain:
            np.exp(num, out=num)
        else:
            np.maximum(num, 0.0, out=num)
        out[y0:y1] = num

    def _fill_empty(res: np.ndarray, empty: np.ndarray, zs: list[np.ndarray],
                    agree: list[np.ndarray | None], y0: int, y1: int) -> None:
        """Give pixels without weight one image's own estimate (see the module docstring).

        Candidates are the images where the pixel is not masked and (with deghosting) not
        inconsistent with the reference; of those, the shortest exposure if the pixel is bright
        there, else the longest. With deghosting the reference is always a candidate (where not
        masked), so it is used if no other image agrees with it.
        """
        idx = np.flatnonzero(empty)
        pix = idx // channels
        chan = idx % channels
        codes = np.stack([z.reshape(-1)[idx] for z in zs])  # (P, n) in image order
        valid = np.ones(codes.shape, bool)
        for j, m in enumerate(masks):
            if m is not None:
                valid[j] = ~m[y0:y1].reshape(-1)[pix]
        usable = valid.copy()
        for j, c in enumerate(agree):
            if c is not None:
                usable[j] &= c.reshape(-1)[idx] > 0
        uo = usable[order]
        first = order[np.argmax(uo, axis=0)]
        last = order[len(order) - 1 - np.argmax(uo[::-1], axis=0)]
        cols = np.arange(idx.size)
        scale = tab.code_max if tab.integer else 1
        bright = codes[first, cols].astype(np.float64) / scale >= 0.5
        if joint:
            # A pixel without weight in every channel was near clipping in every exposure (or
            # dark in every channel): one decision for the whole pixel, by its brightest
            # channel, so that all its channels come from the same exposure.
            whole = empty.reshape(-1, channels).all(axis=1)[pix]
            top = np.stack([z.reshape(-1, channels).max(axis=1)[pix] for z in zs])
            bright = np.where(whole, top[first, cols].astype(np.float64) / scale >= 0.5, bright)
        choice = np.where(bright, first, last)
        value = np.empty(idx.size)
        for j in np.unique(choice):
            sel = choice == j
            value[sel] = own_value(int(j), codes[j, sel], chan[sel])
        none = ~valid.any(axis=0)
        value[none] = -np.inf if log_domain else 0.0
        res.reshape(-1)[idx] = value

    out = np.empty((h, w, channels), np.float32)
    spans = row_strips(h, rows)
    if n_threads > 1 and len(spans) > 1:
        with ThreadPoolExecutor(n_threads) as pool:
            list(pool.map(lambda s: strip(*s), spans))
    else:
        for s in spans:
            strip(*s)
    return out


def merge_debevec(
    images: Sequence[np.ndarray],
    exposure_times: Sequence[float],
    *,
    response: np.ndarray | ResponseName | None = None,
    weighting: Weighting | str | WeightingFunction = "tent_clipped",
    saturation: Saturation = "any_channel",
    mask: object = None,
    deghost: Deghost | None = None,
    reference: int | None = None,
    threads: int | None = None,
) -> np.ndarray:
    """Merge a bracket into a radiance map by Debevec & Malik's weighted mean of log radiance.

    ``ln E = sum_j w(Z_j) (ln I(Z_j) - ln t_j) / sum_j w(Z_j)`` per pixel and channel, in the
    log domain as in the paper (OpenCV's MergeDebevec does the same), then ``E = exp(ln E)``.

    Args:
        images: a registered bracket ``(H, W, C)``: uint8 / uint16 display-referred code
            values, or float in [0, 1] (values outside are clipped for the weights).
        exposure_times: seconds, one per image, > 0 and distinct.
        response: the inverse camera response, ``(L, C)`` relative exposure per code level
            ``k / (L - 1)`` (from :func:`calibrate_debevec` / :func:`calibrate_robertson`;
            ``(L,)``, ``(L, 1)`` and OpenCV's ``(L, 1, C)`` are accepted and any ``L``, the
            response being interpolated linearly between levels), or ``"srgb"`` (the inverse
            sRGB curve), or ``"linear"`` / None: a linear sensor, ``response(v) = v`` (what
            OpenCV assumes without a response; right for float linear data, wrong for camera
            JPEGs, which should be calibrated first).
        weighting: a name in :data:`~expokit.hdr.WEIGHTINGS` or a callable mapping code values
            in [0, 1] to weights. Default ``"tent_clipped"``: the paper's hat with codes below
            0.05 and above 0.95 ignored, the robust choice for 8-bit JPEG brackets, whose top
            codes are shifted by compression around clipped areas (see docs/hdr_merge.md).
        saturation: ``"any_channel"`` (default): where a frame's brightest channel is above
            mid-range, every channel's weight is capped at that channel's weight, so a frame
            near clipping in any channel gives that pixel no (or little) colour and all
            channels come from the same frames (no false-colour speckles in highlights);
            pixels without weight in any frame take one frame's value for all channels.
            ``"per_channel"``: each channel weighted by its own code (the paper; OpenCV's
            MergeRobertson).
        mask: pixels to ignore (True = ignore): one bool ``(H, W)`` array for all images or one
            per image (e.g. ``[invalid_mask(im) for im in images]``); they get weight 0 there.
        deghost: None, or ``"reference"``: weight each exposure by its consistency with the
            reference exposure (see :mod:`expokit.hdr.deghost`).
        reference: index (into ``images``) of the reference exposure for deghosting; default
            the middle exposure (median time; the shorter of the two middle ones for an even
            count). Only valid together with ``deghost``.
        threads: worker threads (default $EXPOKIT_THREADS or the CPU count, at most 8).

    Returns:
        float32 ``(H, W, C)`` linear radiance >= 0, in the response's units divided by
        seconds (relative: calibrated responses have mid-grey exposure 1). Finite everywhere.

    Raises:
        InputError: for a malformed bracket, times, response, weighting, mask, deghost or
            reference.

    References:
        P. E. Debevec and J. Malik, "Recovering High Dynamic Range Radiance Maps from
        Photographs", SIGGRAPH 1997, eq. 6.

    >>> from expokit.simulate import photograph, render_scene
    >>> rad = render_scene(32, 32)
    >>> hdr = merge_debevec(photograph(rad, [0.1, 1.0]), [0.1, 1.0], response="srgb")
    >>> hdr.shape, hdr.dtype
    ((32, 32, 3), dtype('float32'))
    """
    return _merge(images, exposure_times, response=response, weighting=weighting,
                  saturation=saturation, mask=mask, deghost=deghost, reference=reference,
                  threads=threads, log_domain=True, who="merge_debevec")


def merge_robertson(
    images: Sequence[np.ndarray],
    exposure_times: Sequence[float],
    *,
    response: np.ndarray | ResponseName | None = None,
    weighting: Weighting | str | WeightingFunction = "gaussian",
    saturation: Saturation = "any_channel",
    mask: object = None,
    deghost: Deghost | None = None,
    reference: int | None = None,
    threads: int | None = None,
) -> np.ndarray:
    """Merge a bracket into a radiance map by Robertson et al.'s maximum-likelihood estimate.

    ``E = sum_j w(Z_j) t_j I(Z_j) / sum_j w(Z_j) t_j^2`` per pixel and channel (linear domain):
    exposures are weighted by ``t_j^2`` as well, so longer (less noisy) exposures count more.

    Args:
        images: a registered bracket ``(H, W, C)``, as for :func:`merge_debevec`.
        exposure_times: seconds, one per image, > 0 and distinct.
        response: the inverse camera response (an array, ``"srgb"``, ``"linear"`` or None), as
            for :func:`merge_debevec`.
        weighting: a name in :data:`~expokit.hdr.WEIGHTINGS` or a callable mapping code values
            in [0, 1] to weights. Default ``"gaussian"``.
        saturation: ``"any_channel"`` (default) or ``"per_channel"``, as for
            :func:`merge_debevec`.
        mask: pixels to ignore (True = ignore), one array for all images or one per image, as
            for :func:`merge_debevec`.
        deghost: None, or ``"reference"``, as for :func:`merge_debevec`.
        reference: the reference exposure's index for deghosting, as for :func:`merge_debevec`.
        threads: worker threads (default $EXPOKIT_THREADS or the CPU count, at most 8).

    Returns:
        float32 ``(H, W, C)`` linear radiance >= 0 (relative units, as for
        :func:`merge_debevec`).

    Raises:
        InputError: for a malformed bracket, times, response, weighting, mask, deghost or
            reference.

    References:
        M. A. Robertson, S. Borman and R. L. Stevenson, "Estimation-theoretic approach to
        dynamic range enhancement using multiple exposures", J. Electronic Imaging 12(2),
        2003, eq. 12.

    >>> from expokit.simulate import photograph, render_scene
    >>> rad = render_scene(32, 32)
    >>> merge_robertson(photograph(rad, [0.1, 1.0]), [0.1, 1.0], response="srgb").shape
    (32, 32, 3)
    """
    return _merge(images, exposure_times, response=response, weighting=weighting,
                  saturation=saturation, mask=mask, deghost=deghost, reference=reference,
                  threads=threads, log_domain=False, who="merge_robertson")


#: Radiance merges by name (the CLI's ``--method`` choices). ``"ahdr"`` is learned: three
#: frames, needs the torch extra (:mod:`expokit.hdr.learned`).
MERGERS: dict[str, Callable[..., np.ndarray]] = {
    "debevec": merge_debevec,
    "robertson": merge_robertson,
    "ahdr": merge_ahdr,
}
