"""Exposure fusion of Mertens, Kautz & Van Reeth (2007), streamed in strips.

Why hand-written rather than ``cv2.createMergeMertens``: OpenCV builds the full Laplacian
pyramid of every exposure at once (about 1.3 GB for a 12-MP 3-shot bracket), scales 16-bit input
by 1/255 and returns unclipped values; here the same pyramid blend runs level by level over
horizontal strips, so the full-resolution working set is one float32 output image.

The Laplacian pyramid blend is computed by the recursion

    fuse(I, W) = sum_k W_k * (I_k - up(down(I_k))) + up(fuse(down(I), down(W)))

which is exactly the reconstruction of the blended Laplacian pyramid (levels 0..L-1 carry
``W_k * L_k``, the top level ``W_k * G_k``), because the Gaussian pyramid of ``I_k`` at level
1 is ``down(I_k)``. Every term at one level is local (a 5x5 kernel), so a level can be computed
strip by strip with a small halo of rows and no approximation.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from .._checks import check_stack, check_unit_range, dtype_scale, resolve_threads, row_strips
from ..errors import InputError

# Rows of context above and below a strip: the Laplacian (1 row) plus pyrDown (2 rows) and
# pyrUp (2 rows at full resolution) influence at most ~6 rows; 16 keeps a wide margin and is
# even, so strips start on even rows and pyrDown samples the same rows as on the whole image.
_HALO = 16

_ONES3 = np.ones((1, 3), np.float32)
_DEMEAN3 = (np.eye(3) - 1.0 / 3.0).astype(np.float32)
_CONTRAST_FLOOR = np.float32(0.1 / 65535.0)


class _Scratch(threading.local):
    """Per-thread work buffers reused from strip to strip.

    Fresh multi-megabyte temporaries for every strip cost more in page faults than the
    arithmetic on them; strips share one size, so each thread keeps its buffers.
    """

    def __init__(self) -> None:
        self.bufs: dict[str, np.ndarray] = {}

    def get(self, key: str, shape: tuple[int, ...]) -> np.ndarray:
        buf = self.bufs.get(key)
        if buf is None or buf.shape != shape:
            buf = self.bufs[key] = np.empty(shape, np.float32)
        return buf


def _weights(
    images: Sequence[np.ndarray],
    scratch: _Scratch,
    contrast_weight: float,
    saturation_weight: float,
    exposure_weight: float,
    sigma: float,
) -> list[np.ndarray]:
    """Normalised weights of float32 ``(h, w)`` or ``(h, w, 3)`` images, in scratch buffers."""
    h, w = images[0].shape[:2]
    colour = images[0].ndim == 3
    inv2s2 = float(exposure_weight / (2.0 * sigma * sigma))
    raw = []
    for k, img in enumerate(images):
        wk = scratch.get(f"w{k}", (h, w))
        grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY, dst=scratch.get("grey", (h, w))) \
            if colour else img
        cv2.Laplacian(grey, cv2.CV_32F, dst=wk)
        np.abs(wk, out=wk)
        # A flat area's Laplacian is 0 up to float32 rounding (~1e-8, depending on the grey
        # value); left as is, that noise outweighs the 1e-12 floor and picks the exposure at
        # random (OpenCV does this). Below a tenth of one 16-bit step it is no contrast.
        cv2.threshold(wk, _CONTRAST_FLOOR, 0, cv2.THRESH_TOZERO, dst=wk)
        if contrast_weight != 1.0:
            cv2.pow(wk, contrast_weight, dst=wk)
        tmp = scratch.get("tmp", (h, w))
        if colour and saturation_weight != 0.0:
            dev = cv2.transform(img, _DEMEAN3, dst=scratch.get("dev", (h, w, 3)))
            np.multiply(dev, dev, out=dev)
            cv2.transform(dev, _ONES3, dst=tmp)
            cv2.sqrt(tmp, dst=tmp)
            cv2.threshold(tmp, _CONTRAST_FLOOR, 0, cv2.THRESH_TOZERO, dst=tmp)  # grey pixels
            if saturation_weight != 1.0:
                cv2.pow(tmp, saturation_weight, dst=tmp)
            np.multiply(wk, tmp, out=wk)
        if exposure_weight != 0.0:
            dev = scratch.get("dev", img.shape)
            np.subtract(img, np.float32(0.5), out=dev)
            np.multiply(dev, dev, out=dev)
            ssq = cv2.transform(dev, _ONES3, dst=tmp) if colour else dev
            np.multiply(ssq, np.float32(-inv2s2), out=tmp)
            cv2.exp(tmp, dst=tmp)
            np.multiply(wk, tmp, out=wk)
        wk += np.float32(1e-12)
        raw.append(wk)
    total = scratch.get("total", (h, w))
    np.copyto(total, raw[0])
    for wk in raw[1:]:
        total += wk
    np.reciprocal(total, out=total)
    for wk in raw:
        wk *= total
    return raw


def mertens_weights(
    images: Sequence[np.ndarray],
    *,
    contrast_weight: float = 1.0,
    saturation_weight: float = 1.0,
    exposure_weight: float = 1.0,
    sigma: float = 0.2,
) -> list[np.ndarray]:
    """Normalised Mertens weight maps, one ``(H, W)`` float32 map per image.

    Contrast is the absolute Laplacian of the grey image, saturation the standard deviation
    over the colour channels, well-exposedness ``exp(-(c - 0.5)^2 / (2 sigma^2))`` multiplied
    over channels; each is raised to its exponent, multiplied, and the maps are normalised to
    sum to one at every pixel (Mertens et al. 2007, eq. 1-2).

    Args:
        images: float32 images in [0, 1], ``(H, W, 3)`` or grey ``(H, W)`` / ``(H, W, 1)``.

    >>> import numpy as np
    >>> ws = mertens_weights([np.full((8, 8, 3), 0.5, np.float32), np.ones((8, 8, 3), np.float32)])
    >>> [round(float(w[4, 4]), 3) for w in ws]
    [0.5, 0.5]
    """
    imgs = [np.ascontiguousarray(_squeeze(np.asarray(i, np.float32))) for i in images]
    return [w.copy() for w in _weights(imgs, _Scratch(), contrast_weight, saturation_weight,
                                       exposure_weight, sigma)]


def _squeeze(img: np.ndarray) -> np.ndarray:
    """``(H, W, 1)`` -> ``(H, W)``: OpenCV returns one-channel results two-dimensional."""
    return img[..., 0] if img.ndim == 3 and img.shape[2] == 1 else img


def _blend_level(
    images: list[np.ndarray],
    weights: list[np.ndarray] | None,
    levels: int,
    scale: float,
    weight_fn: Callable[[list[np.ndarray], _Scratch], list[np.ndarray]],
    pool: ThreadPoolExecutor,
    strip_rows: int,
    scratch: _Scratch,
) -> np.ndarray:
    """Blend one pyramid level and recurse on the half-resolution images and weights.

    Images are ``(H, W)`` or ``(H, W, 3)``. When ``weights`` is given, ``images`` and
    ``weights`` are intermediates owned by this call and are emptied once no longer needed.
    """
    h, w = images[0].shape[:2]
    tail = images[0].shape[2:]
    sc = np.float32(scale)

    def load(k: int, a0: int, a1: int) -> np.ndarray:
        block = images[k][a0:a1]
        if block.dtype == np.float32 and scale == 1.0:
            return block
        buf = scratch.get(f"in{k}", block.shape)
        np.multiply(block, sc, out=buf, casting="unsafe")
        return buf

    def strip_weights(a0: int, a1: int, blocks: list[np.ndarray]) -> list[np.ndarray]:
        if weights is None:
            return weight_fn(blocks, scratch)
        return [wk[a0:a1] for wk in weights]

    def per_pixel(wk: np.ndarray) -> np.ndarray:
        return wk[:, :, None] if tail else wk

    if levels == 0 or h < 2 or w < 2:
        # Top of the pyramid: blend the Gaussian level itself.
        out = np.zeros((h, w, *tail), np.float32)
        blocks = [load(k, 0, h) for k in range(len(images))]
        for img, wk in zip(blocks, strip_weights(0, h, blocks), strict=True):
            out += img * per_pixel(wk)
        return out

    hd, wd = (h + 1) // 2, (w + 1) // 2
    out = np.empty((h, w, *tail), np.float32)
    down_img = [np.empty((hd, wd, *tail), np.float32) for _ in images]
    down_w = [np.empty((hd, wd), np.float32) for _ in images]

    def detail(y0: int, y1: int) -> None:
        a0, a1 = max(0, y0 - _HALO), min(h, y1 + _HALO)
        blocks = [load(k, a0, a1) for k in range(len(images))]
        wts = strip_weights(a0, a1, blocks)
        r0, r1 = y0 - a0, y1 - a0
        d0, d1 = r0 // 2, r0 // 2 + (y1 - y0 + 1) // 2
        acc = out[y0:y1]
        lap = scratch.get("lap", (y1 - y0, w, *tail))
        for k, (img, wk) in enumerate(zip(blocks, wts, strict=True)):
            d = cv2.pyrDown(img, dst=scratch.get("down", ((a1 - a0 + 1) // 2, wd, *tail)))
            up = cv2.pyrUp(d, dst=scratch.get("up", (a1 - a0, w, *tail)), dstsize=(w, a1 - a0))
            np.subtract(img[r0:r1], up[r0:r1], out=lap)
            if k == 0:
                np.multiply(lap, per_pixel(wk[r0:r1]), out=acc)
            else:
                lap *= per_pixel(wk[r0:r1])
                acc += lap
            down_img[k][y0 // 2 : y0 // 2 + d1 - d0] = d[d0:d1]
            dw = cv2.pyrDown(np.ascontiguousarray(wk), dst=scratch.get("dw", ((a1 - a0 + 1) // 2,
                                                                               wd)))
            down_w[k][y0 // 2 : y0 // 2 + d1 - d0] = dw[d0:d1]

    list(pool.map(lambda s: detail(*s), row_strips(h, strip_rows)))
    if weights is not None:
        # These are the caller's half-resolution intermediates, handed over: free them
        # before going one level deeper.
        images.clear()
        weights.clear()
    coarse = _blend_level(down_img, down_w, levels - 1, 1.0, weight_fn, pool, strip_rows,
                          scratch)

    def add_coarse(y0: int, y1: int) -> None:
        # Rows y0..y1 of up(coarse) depend on coarse rows y0/2-1 .. y1/2+1.
        c0 = max(0, y0 // 2 - _HALO // 2)
        c1 = min(hd, (y1 + 1) // 2 + _HALO // 2)
        n = h - 2 * c0 if c1 == hd else 2 * (c1 - c0)
        up = cv2.pyrUp(coarse[c0:c1], dst=scratch.get("cup", (n, w, *tail)), dstsize=(w, n))
        out[y0:y1] += up[y0 - 2 * c0 : y1 - 2 * c0]

    list(pool.map(lambda s: add_coarse(*s), row_strips(h, strip_rows)))
    return out


def fuse_mertens(
    images: Sequence[np.ndarray],
    *,
    contrast_weight: float = 1.0,
    saturation_weight: float = 1.0,
    exposure_weight: float = 1.0,
    sigma: float = 0.2,
    levels: int | None = None,
    clip: bool = True,
    threads: int | None = None,
    strip_rows: int = 64,
    paths: Sequence[object] | None = None,
) -> np.ndarray:
    """Fuse a bracket into one well-exposed image (Mertens, Kautz & Van Reeth 2007).

    Each pixel of each exposure gets a weight from its contrast, saturation and
    well-exposedness; the exposures are blended with these weights in a Laplacian pyramid so
    that seams do not show. No exposure times or camera response are needed.

    Args:
        images: two or more display-referred images of one size and dtype: uint8, uint16
            (mapped to [0, 1] by 1/255 and 1/65535) or float in [0, 1]. ``(H, W, 3)`` or grey.
        contrast_weight: exponent of the contrast measure (``omega_c``, paper default 1).
        saturation_weight: exponent of the saturation measure (``omega_s``; ignored for grey).
        exposure_weight: exponent of the well-exposedness measure (``omega_e``).
        sigma: width of the well-exposedness Gaussian around 0.5 (paper: 0.2).
        levels: pyramid depth; default ``floor(log2(min(H, W)))`` as in OpenCV.
        clip: clip the result to [0, 1]. Pyramid blending over- and undershoots near strong
            edges (OpenCV returns -0.11..1.29 on real brackets); set False to keep that.
        threads: worker threads over strips; default ``$EXPOKIT_THREADS`` or the CPU count.
        strip_rows: rows per strip (memory/speed trade-off; results do not depend on it).
        paths: file names of the images, for error messages.

    Returns:
        float32 ``(H, W, C)`` fused image, display-referred, in [0, 1] when ``clip``.

    Raises:
        InputError: fewer than two images, mixed sizes or dtypes, NaN/Inf, float input outside
            [0, 1], or invalid options.

    References:
        T. Mertens, J. Kautz, F. Van Reeth, "Exposure Fusion", Pacific Graphics 2007, eq. 1-2
        and section 3.2 (pyramid blending); P. Burt, E. Adelson, "The Laplacian pyramid as a
        compact image code", 1983.

    >>> import numpy as np
    >>> dark = np.full((32, 32, 3), 40, np.uint8); bright = np.full((32, 32, 3), 220, np.uint8)
    >>> fused = fuse_mertens([dark, bright])
    >>> fused.shape, fused.dtype, bool(0.0 <= fused.min() <= fused.max() <= 1.0)
    ((32, 32, 3), dtype('float32'), True)
    """
    imgs = check_stack(images, paths=paths)
    for name, value in (("contrast_weight", contrast_weight),
                        ("saturation_weight", saturation_weight),
                        ("exposure_weight", exposure_weight)):
        if not (math.isfinite(value) and value >= 0):
            raise InputError(f"{name} must be a finite number >= 0, got {value}")
    if not (math.isfinite(sigma) and sigma > 0):
        raise InputError(f"sigma must be > 0, got {sigma}")
    if strip_rows < 2 or strip_rows % 2:
        raise InputError(f"strip_rows must be an even number >= 2, got {strip_rows}")
    h, w = imgs[0].shape[:2]
    max_levels = int(math.log2(min(h, w)))
    if levels is None:
        levels = max_levels
    elif not 0 <= levels <= max_levels:
        raise InputError(f"levels must be in 0..{max_levels} for a {w}x{h} image, got {levels}")
    check_unit_range(imgs, paths=paths, what="exposure fusion takes display-referred images "
                     "(tone-map or clip radiance first)")
    # float64 is processed as float32; the pyramid arithmetic is float32 throughout.
    if imgs[0].dtype == np.float64:
        imgs = [im.astype(np.float32) for im in imgs]

    def weight_fn(blocks: list[np.ndarray], scratch: _Scratch) -> list[np.ndarray]:
        return _weights(blocks, scratch, contrast_weight, saturation_weight, exposure_weight,
                        sigma)

    grey = imgs[0].shape[2] == 1
    with ThreadPoolExecutor(max_workers=resolve_threads(threads)) as pool:
        out = _blend_level([_squeeze(im) for im in imgs], None, levels,
                           dtype_scale(imgs[0].dtype), weight_fn, pool, strip_rows, _Scratch())
    if clip:
        np.clip(out, 0.0, 1.0, out=out)
    return out[:, :, None] if grey else out
