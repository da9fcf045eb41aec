"""Learned look-up-table exposure fusion (after MEFLUT, Jiang et al., ICCV 2023), NumPy + OpenCV.

One 1-D table per exposure position maps a pixel's luma to its fusion weight; the weights are
computed on a small copy of the bracket and brought to full size by guided-filter upsampling,
so the full-resolution work is a few multiply-adds per pixel and shot. No torch is needed here:
the tables are trained with :mod:`expokit.train.lut` (torch, MEF-SSIM loss) and shipped as a
``.safetensors`` file read with ``safetensors.numpy``.

Steps (:func:`fuse_lut`):

1. the shots are ordered from darkest to brightest by the mean of their BT.601 luma (ties keep
   the input order), since table ``k`` belongs to the ``k``-th darkest of N shots;
2. each shot is area-downscaled so that its longer side is at most ``low_side`` pixels
   (``cv2.INTER_AREA``), and its low-resolution luma ``y`` is looked up in its table (linear
   interpolation between the 256 entries, which sit at ``y = i / 255``): the weight map ``w``;
3. a guided filter (He, Sun & Tang, TPAMI 2013) with the low-resolution luma as guide, box
   radius ``radius`` and regulariser ``eps`` gives, per low-resolution pixel, the coefficients
   ``A``, ``B`` of the local linear model ``w ~ A y + B``; they are upsampled bilinearly and
   applied to the full-resolution luma: ``W = max(A Y + B, floor)`` (the fast guided filter of
   Wu et al., CVPR 2018, which MEFLUT uses to upsample its weights);
4. the fused luma is ``sum_k W_k Y_k / sum_k W_k``; the chroma (Cb, Cr) is weighted by its
   distance from neutral grey, ``sum_k C_k |C_k - 0.5| / sum_k |C_k - 0.5|`` (DeepFuse's rule,
   which MEFLUT also uses); a pixel grey in every shot stays grey;
5. back to RGB, clipped to [0, 1].

Tables for N = 2, 3 and 4 shots are learned. **More than four shots** (a choice MEFLUT leaves
open): shot ``k`` of N gets the 4-shot table at the fractional position ``3 k / (N - 1)``,
linearly interpolated between the two nearest 4-shot tables; the darkest and brightest shots
keep the 4-shot extremes' tables. Training draws N up to 6 through this rule, so the 4-shot
tables are trained to serve it too (:mod:`expokit.train.lut`).

Memory: the low-resolution maps are at most ``low_side`` pixels on a side; steps 3-5 run in
strips of rows, one shot at a time, so besides the output only a few strips are held, whatever
the image size. Strips are spread over ``threads`` worker threads (OpenCV and NumPy release the
GIL).

References:
    T. Jiang, C. Wang, X. Li, R. Li, H. Fan, S. Liu, "MEFLUT: Unsupervised 1D Lookup Tables for
    Multi-exposure Image Fusion", ICCV 2023.
    K. He, J. Sun, X. Tang, "Guided Image Filtering", TPAMI 35(6), 2013.
    H. Wu, S. Zheng, J. Zhang, K. Huang, "Fast End-to-End Trainable Guided Filter", CVPR 2018.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .._checks import check_stack, dtype_scale, resolve_threads, row_strips, to_float32
from ..color import REC601_LUMA
from ..errors import InputError, MissingResourceError
from ..nn.runtime import (
    SUFFIX,
    WEIGHTS_DIR,
    check_sha256,
    read_record,
    sidecar_path,
    weights_path,
)

__all__ = ["FRAMES", "LUTFusion", "fuse_lut", "guided_coefficients", "load_lut",
           "low_resolution", "lut_weights", "order_by_brightness", "table_for", "table_position"]

#: Shot counts that have their own tables; more shots use the 4-shot tables (module text).
FRAMES = (2, 3, 4)
#: Entries per table, at luma ``i / (BINS - 1)``.
BINS = 256
#: Lowest fusion weight after upsampling (keeps every sum of weights positive).
FLOOR = 1e-6
#: Added to each pixel's sum of chroma distances (and half of it to the weighted sum), so a
#: pixel grey in every shot (all distances 0) stays grey.
CHROMA_EPS = 1e-6
#: Shipped LUT weights by name (file stems in :data:`WEIGHTS_DIR`); the first is the default.
PRETRAINED = {"lut": "lut"}
#: Pixels per strip of the full-resolution steps (rows = this / width): small enough that a
#: strip's dozen float32 arrays stay in the CPU caches (64-row strips of a 4000-pixel-wide image
#: ran 2.5 times slower than 32-row ones).
_STRIP_PIXELS = 1 << 17


@dataclass(frozen=True)
class LUTFusion:
    """Trained tables and the settings they were trained with.

    Attributes:
        tables: ``{N: (N, BINS) float32}`` positive weights for N = 2, 3, 4 shots, darkest
            shot first.
        low_side: longest side of the low-resolution copy the weights are computed on.
        radius: box radius of the guided filter, in low-resolution pixels.
        eps: the guided filter's regulariser (in luma units squared).
    """

    tables: dict[int, np.ndarray]
    low_side: int = 128
    radius: int = 4
    eps: float = 1e-3

    def __post_init__(self) -> None:
        if sorted(self.tables) != list(FRAMES):
            raise InputError(f"LUT tables must be given for N = {FRAMES}, got "
                             f"{sorted(self.tables)}")
        for n, t in self.tables.items():
            t = np.asarray(t)
            if t.shape != (n, BINS) or not np.all(np.isfinite(t)) or np.any(t <= 0):
                raise InputError(f"the {n}-shot LUT must be ({n}, {BINS}) positive finite "
                                 f"weights, got shape {np.shape(t)}")
        if self.low_side < 8 or self.radius < 0 or not self.eps > 0:
            raise InputError(f"LUT settings need low_side >= 8, radius >= 0 and eps > 0, got "
                             f"{self.low_side}, {self.radius}, {self.eps}")


def table_for(lut: LUTFusion, n: int, k: int) -> np.ndarray:
    """The ``(BINS,)`` table of the ``k``-th darkest of ``n`` shots (0-based).

    >>> ramp = {m: np.tile(np.arange(1.0, m + 1)[:, None], (1, BINS)) for m in FRAMES}
    >>> lut = LUTFusion(ramp)
    >>> [float(table_for(lut, 7, k)[0]) for k in range(7)]
    [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]
    """
    if n < 2 or not 0 <= k < n:
        raise InputError(f"shot {k} of {n}: a bracket needs n >= 2 and 0 <= k < n")
    if n in lut.tables:
        return lut.tables[n][k]
    i, f = table_position(n, k)
    last = lut.tables[FRAMES[-1]]
    return (1.0 - f) * last[i] + f * last[i + 1]


def table_position(n: int, k: int) -> tuple[int, float]:
    """The rule for more than 4 shots: shot ``k`` of ``n`` blends 4-shot tables ``i`` and
    ``i + 1`` with weights ``1 - f`` and ``f``, at position ``3 k / (n - 1)``.

    >>> table_position(7, 3)
    (1, 0.5)
    >>> table_position(7, 6)
    (2, 1.0)
    """
    last = FRAMES[-1]
    pos = (last - 1) * k / (n - 1)
    i = min(int(pos), last - 2)
    return i, pos - i


def lut_weights(table: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Look luma ``y`` in [0, 1] up in a table (linear interpolation between entries)."""
    grid = np.linspace(0.0, 1.0, table.shape[-1])
    return np.interp(y, grid, table).astype(np.float32)


def order_by_brightness(lows: Sequence[np.ndarray]) -> list[int]:
    """Indices of the shots from darkest to brightest by mean low-resolution luma (stable)."""
    means = [float(y.mean()) for y in lows]
    return sorted(range(len(lows)), key=lambda i: means[i])


def low_resolution(frame: np.ndarray, low_side: int) -> np.ndarray:
    """Area-downscaled float32 luma in [0, 1], longer side at most ``low_side`` pixels."""
    h, w = frame.shape[:2]
    s = max(h, w) / low_side
    size = (w, h) if s <= 1 else (max(1, round(w / s)), max(1, round(h / s)))
    small = frame if size == (w, h) else cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    small = to_float32(small.reshape(size[1], size[0], -1))
    if small.shape[2] == 1:
        return np.ascontiguousarray(small[..., 0])
    r, g, b = (np.float32(c) for c in REC601_LUMA)
    return small[..., 0] * r + small[..., 1] * g + small[..., 2] * b


def _box(x: np.ndarray, radius: int) -> np.ndarray:
    return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1), normalize=True,
                         borderType=cv2.BORDER_REFLECT_101)


def guided_coefficients(guide: np.ndarray, src: np.ndarray, radius: int, eps: float
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Mean coefficients ``(A, B)`` of the guided filter: ``A * guide + B`` is its output.

    He et al.'s filter with box means of side ``2 radius + 1`` (reflect-101 borders, as
    :func:`expokit.train.lut_model.guided_coefficients` in torch).
    """
    g = guide.astype(np.float32, copy=False)
    p = src.astype(np.float32, copy=False)
    mg, mp = _box(g, radius), _box(p, radius)
    cov = _box(g * p, radius) - mg * mp
    var = _box(g * g, radius) - mg * mg
    a = cov / (var + np.float32(eps))
    b = mp - a * mg
    return _box(a, radius), _box(b, radius)


def _upsample_rows(coef: np.ndarray, shape: tuple[int, int], r0: int, r1: int,
                   dst: np.ndarray | None = None) -> np.ndarray:
    """Rows ``r0:r1`` of ``coef`` bilinearly resized to ``shape`` (half-pixel centres, edges
    repeated: ``cv2.resize`` / torch ``interpolate(align_corners=False)``), for that strip only."""
    h, w = shape
    sy, sx = coef.shape[0] / h, coef.shape[1] / w
    m = np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, (r0 + 0.5) * sy - 0.5]], np.float64)
    return cv2.warpAffine(coef, m, (w, r1 - r0), dst=dst,
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def load_lut(weights: str | os.PathLike[str] | LUTFusion = "lut") -> LUTFusion:
    """Read trained tables: a shipped name (``"lut"``), a ``.safetensors`` path, or an instance.

    The file holds ``logits_2``, ``logits_3``, ``logits_4`` (the tables are their exponentials)
    and ``log_eps``; its ``.json`` sidecar's ``architecture`` gives ``low_side`` and ``radius``.

    Raises:
        InputError: an unknown name, an unreadable file or one without the tables.
        MissingResourceError: a file (or its sidecar) that does not exist, or no
            ``safetensors`` package.
    """
    if isinstance(weights, LUTFusion):
        return weights
    if isinstance(weights, str) and not weights.endswith(SUFFIX) and "/" not in weights \
            and "\\" not in weights:
        if weights not in PRETRAINED:
            raise InputError(f"{weights!r} is neither a shipped LUT weights name "
                             f"({', '.join(PRETRAINED)}) nor a .safetensors file path")
        path = WEIGHTS_DIR / f"{PRETRAINED[weights]}{SUFFIX}"
    else:
        path = weights_path(weights)
    sidecar = sidecar_path(path)
    for p in (path, sidecar):
        if not p.is_file():
            raise MissingResourceError(f"LUT weights file {p} does not exist; train and export "
                                       "tables with `expokit train lut --export`")
    record = read_record(sidecar)
    sha = record.get("sha256")
    if isinstance(sha, str):  # as from_pretrained: a corrupt or swapped file is refused
        check_sha256(path, sha)
    try:
        from safetensors import SafetensorError
        from safetensors.numpy import load_file
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise MissingResourceError("reading LUT weights needs the safetensors package "
                                   "(pip install safetensors)") from exc
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"LUT weights {path} is unreadable ({exc}); export it again with "
                         "`expokit train lut --export`") from None
    missing = [k for k in [*(f"logits_{n}" for n in FRAMES), "log_eps"] if k not in state]
    if missing:
        raise InputError(f"LUT weights {path} lack {', '.join(missing)}: not a LUT fusion file")
    tables = {n: np.exp(state[f"logits_{n}"].astype(np.float64)).astype(np.float32)
              for n in FRAMES}
    arch = record["architecture"]
    return LUTFusion(tables, low_side=int(arch.get("low_side", 128)),
                     radius=int(arch.get("radius", 4)),
                     eps=float(np.exp(float(np.asarray(state["log_eps"]).reshape(-1)[0]))))


def fuse_lut(
    images: Sequence[np.ndarray],
    *,
    weights: str | os.PathLike[str] | LUTFusion = "lut",
    threads: int | None = None,
    paths: Sequence[Path] | None = None,
) -> np.ndarray:
    """Fuse a bracket with learned 1-D look-up tables (MEFLUT-style); NumPy + OpenCV only.

    Args:
        images: N >= 2 exposures, ``(H, W, 3)`` RGB or ``(H, W)``/``(H, W, 1)`` grey, one size
            and dtype, display-referred (uint8, uint16 or float in [0, 1]), in any order.
        weights: a shipped name (``"lut"``), the path of a ``.safetensors`` file written by
            ``expokit train lut --export``, or a :class:`LUTFusion`.
        threads: worker threads over row strips (default: ``$EXPOKIT_THREADS`` or the CPU
            count, at most 8).
        paths: the images' files, to name them in error messages.

    Returns:
        float32 ``(H, W, 3)`` (or ``(H, W, 1)`` for grey input) in [0, 1].

    Raises:
        InputError: fewer than 2 images, mismatched sizes/dtypes/channels, unknown or
            unreadable weights.
        MissingResourceError: a weights file that does not exist.

    >>> ramp = {m: np.ones((m, BINS), np.float32) for m in FRAMES}
    >>> shots = [np.full((6, 9, 3), v, np.uint8) for v in (40, 200)]
    >>> out = fuse_lut(shots, weights=LUTFusion(ramp))
    >>> out.shape, round(float(out[0, 0, 0]) * 255)
    ((6, 9, 3), 120)
    """
    frames = check_stack(images, paths=paths)
    lut = load_lut(weights)
    n_threads = resolve_threads(threads)
    n = len(frames)
    h, w = frames[0].shape[:2]
    pool = ThreadPoolExecutor(n_threads) if n_threads > 1 else None
    try:
        lows = list(_map(pool, lambda f: low_resolution(f, lut.low_side), frames))
        order = order_by_brightness(lows)

        def coefficients(pos: int) -> tuple[np.ndarray, np.ndarray]:
            y = lows[order[pos]]
            return guided_coefficients(y, lut_weights(table_for(lut, n, pos), y), lut.radius,
                                       lut.eps)

        coefs = list(_map(pool, coefficients, range(n)))
        ordered = [frames[i] for i in order]
        grey = frames[0].shape[2] == 1
        out = np.empty((h, w, 1 if grey else 3), np.float32)
        rows = max(1, _STRIP_PIXELS // w)
        local = threading.local()  # one set of strip buffers per worker thread

        def strip(span: tuple[int, int]) -> None:
            if not hasattr(local, "scratch"):
                local.scratch = _Scratch(rows, w, grey)
            _fuse_strip(ordered, coefs, span, out, local.scratch)

        list(_map(pool, strip, row_strips(h, rows)))
    finally:
        if pool is not None:
            pool.shutdown()
    return out


def _map(pool: ThreadPoolExecutor | None, fn, items):  # noqa: ANN001, ANN202
    return map(fn, items) if pool is None else pool.map(fn, items)


class _Scratch:
    """Float32 buffers for one strip, reused strip after strip (a fresh ~1.5 MB array per
    operation and strip goes through mmap and page faults: three times slower at 12 MP)."""

    def __init__(self, rows: int, w: int, grey: bool) -> None:
        c = 1 if grey else 3
        self.x, self.ycc, self.d, self.cnum, self.cden = (
            np.empty((rows, w, c), np.float32) for _ in range(5))
        self.y, self.a, self.b, self.wt, self.num, self.den = (
            np.empty((rows, w), np.float32) for _ in range(6))


def _accumulate(first: bool, weight: np.ndarray, value: np.ndarray, num: np.ndarray,
                den: np.ndarray) -> None:
    """``num += weight * value`` and ``den += weight`` in place (the first shot sets them)."""
    if first:
        cv2.multiply(weight, value, dst=num)
        np.copyto(den, weight)
    else:
        cv2.accumulate(weight, den)
        cv2.accumulateProduct(weight, value, num)


def _fuse_strip(frames: Sequence[np.ndarray], coefs: Sequence[tuple[np.ndarray, np.ndarray]],
                rows: tuple[int, int], out: np.ndarray, scratch: _Scratch) -> None:
    """Steps 3-5 of :func:`fuse_lut` for output rows ``r0:r1`` (shots darkest first).

    Written with OpenCV's fused array operations (``cvtColor``, ``accumulateProduct`` and
    friends: one pass each) into the strip buffers of ``scratch``. OpenCV's float YCrCb
    conversion has BT.601's coefficients rounded to 3 decimals (1.403 for 1.402): chroma differs
    from :func:`expokit.color.rgb_to_ycbcr` by less than 0.05 of an 8-bit code value.
    """
    r0, r1 = rows
    h, w = out.shape[:2]
    k = r1 - r0
    grey = out.shape[2] == 1
    scale = np.float32(dtype_scale(frames[0].dtype))
    x, ycc, d, cnum, cden = (a[:k] for a in (scratch.x, scratch.ycc, scratch.d, scratch.cnum,
                                             scratch.cden))
    y, au, bu, wt, num, den = (a[:k] for a in (scratch.y, scratch.a, scratch.b, scratch.wt,
                                               scratch.num, scratch.den))
    for i, (f, (a, b)) in enumerate(zip(frames, coefs, strict=True)):
        np.multiply(f[r0:r1], scale, out=x)
        if grey:
            np.copyto(y, x[..., 0])
        else:
            cv2.cvtColor(x, cv2.COLOR_RGB2YCrCb, dst=ycc)
            cv2.extractChannel(ycc, 0, dst=y)
        _upsample_rows(a, (h, w), r0, r1, dst=au)
        _upsample_rows(b, (h, w), r0, r1, dst=bu)
        cv2.multiply(au, y, dst=wt)
        cv2.add(wt, bu, dst=wt)
        cv2.max(wt, FLOOR, dst=wt)
        _accumulate(i == 0, wt, y, num, den)
        if grey:
            continue
        cv2.absdiff(ycc, (0.0, 0.5, 0.5, 0.0), dst=d)  # |C - 0.5|; channel 0 is not used
        _accumulate(i == 0, d, ycc, cnum, cden)
    cv2.divide(num, den, dst=num)
    if grey:
        np.clip(num, 0.0, 1.0, out=out[r0:r1, :, 0])
        return
    # a pixel grey in every shot has all distances 0 and keeps its (common) chroma 0.5
    cv2.add(cnum, (0.0, 0.5 * CHROMA_EPS, 0.5 * CHROMA_EPS, 0.0), dst=cnum)
    cv2.add(cden, (1.0, CHROMA_EPS, CHROMA_EPS, 0.0), dst=cden)
    cv2.divide(cnum, cden, dst=cnum)
    cv2.insertChannel(num, cnum, 0)
    cv2.cvtColor(cnum, cv2.COLOR_YCrCb2RGB, dst=x)
    np.clip(x, 0.0, 1.0, out=out[r0:r1])
