"""DeepFuse exposure fusion of a bracket: the network on Y in overlapping tiles, Cb/Cr by formula.

Steps (Prabhakar, Srikar & Babu, ICCV 2017, section 3):

1. every exposure is converted to full-range BT.601 YCbCr (:func:`expokit.color.rgb_to_ycbcr`);
2. the Y channels go through :class:`~expokit.models.deepfuse.DeepFuse`, tile by tile: each
   tile is cut with ``overlap`` pixels of image context on every side (none beyond the image
   border, where the network's own reflect padding applies as on the whole image), the
   features of the exposures are accumulated one exposure at a time, and only the tile's core
   is kept. With ``overlap`` >= 12 (the network's receptive radius) the result equals
   whole-image inference up to float rounding, so tiles leave no seams, and memory is bounded
   by the tile size, not the image size (each exposure's Y is computed for the tile only);
3. Cb and Cr are fused per pixel as ``sum_k C_k |C_k - tau| / sum_k |C_k - tau|`` with
   ``tau = 0.5`` (128 in 8-bit units): the most saturated colour wins; where every exposure is
   exactly grey (all ``|C_k - tau| = 0``) the plain mean (= tau) is used;
4. back to RGB, clipped to [0, 1]. Grey (1-channel) brackets skip the chroma steps.

Steps 3 and 4 run in strips of rows, so the only full-size float array is the output.

PyTorch is imported inside the functions that run the network, so :mod:`expokit.fusion` (whose
:data:`~expokit.fusion.FUSERS` table holds :func:`fuse_deepfuse`) imports without it; a missing
torch raises :class:`~expokit.errors.MissingResourceError` when the method is used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._checks import check_stack, resolve_threads, row_strips, to_float32
from ..color import REC601_LUMA, rgb_to_ycbcr, ycbcr_to_rgb
from ..errors import InputError
from ..nn.runtime import require_torch, resolve_device, tile_windows, torch_threads

if TYPE_CHECKING:
    import torch

    from ..models.deepfuse import DeepFuse

#: Chroma neutral value in [0, 1] units (128 of 255 in the paper).
TAU = 0.5


def fuse_chroma(channels: Sequence[np.ndarray], *, tau: float = TAU) -> np.ndarray:
    """Fuse one chroma channel (Cb or Cr) of N exposures: ``sum C|C - tau| / sum |C - tau|``.

    Args:
        channels: N arrays of one shape, chroma in [0, 1] centred at ``tau``.
        tau: the neutral (grey) chroma value.

    Returns:
        float32 array of the common shape; the mean of the inputs where all equal ``tau``.

    Raises:
        InputError: for fewer than one channel or mismatched shapes.

    References:
        Prabhakar, Srikar & Babu, ICCV 2017, equation (4).

    >>> out = fuse_chroma([np.array([0.5], np.float32), np.array([0.9], np.float32)])
    >>> round(float(out[0]), 6)
    0.9
    """
    if len(channels) < 1:
        raise InputError("fuse_chroma needs at least one channel")
    shape = np.shape(channels[0])
    acc = _ChromaAccumulator(shape, tau)
    for i, c in enumerate(channels):
        c = np.asarray(c, dtype=np.float32)
        if c.shape != shape:
            raise InputError(f"chroma channel {i + 1} has shape {c.shape}, expected {shape}")
        acc.add(c)
    return acc.result()


def fuse_y(
    y: Sequence[np.ndarray],
    model: DeepFuse,
    *,
    tile: int = 512,
    overlap: int = 32,
    device: str = "cpu",
) -> np.ndarray:
    """Run DeepFuse on N ``(H, W)`` float32 Y planes in overlapping tiles.

    Each tile's input is the core plus up to ``overlap`` pixels of the image on each side (none
    beyond the image border, where the network pads as it does on the whole image); only the
    core is kept, so with ``overlap >= model.radius`` (12) the output equals whole-image
    inference. The exposures' features are accumulated one exposure at a time.

    Args:
        y: N Y planes, ``(H, W)`` float32 in [0, 1], N >= 2.
        model: the network (in eval mode).
        tile: core tile side in pixels (>= 16); working memory is about
            ``(tile + 2 overlap)^2 * (2 c2 + c3) * 4`` bytes, whatever N and the image size.
        overlap: context pixels on each side of a tile (>= 0; < 12 shows seams).
        device: torch device.

    Returns:
        ``(H, W)`` float32 fused Y, not clipped.
    """
    h, w = y[0].shape
    return _fuse_tiles(lambda k, r0, r1, c0, c1: y[k][r0:r1, c0:c1], len(y), (h, w), model,
                       tile=tile, overlap=overlap, device=device)


def _fuse_tiles(
    get: Callable[[int, int, int, int, int], np.ndarray],
    n: int,
    shape: tuple[int, int],
    model: DeepFuse,
    *,
    tile: int,
    overlap: int,
    device: str | torch.device,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """The tile loop of :func:`fuse_y`; ``get(k, r0, r1, c0, c1)`` gives exposure k's Y window."""
    import torch

    h, w = shape
    if out is None:
        out = np.empty((h, w), np.float32)
    from ..models.deepfuse import FeatureMerge

    with torch.no_grad():
        for y0, y1, x0, x1, r0, r1, c0, c1 in tile_windows(h, w, tile, int(overlap)):
            merge = FeatureMerge(model)
            for k in range(n):
                t = torch.from_numpy(np.ascontiguousarray(get(k, r0, r1, c0, c1),
                                                          dtype=np.float32))
                merge.add(model.features(t.to(device)[None, None]))
            res = model.reconstruct(merge.result())[0, 0]
            out[y0:y1, x0:x1] = res[y0 - r0: y1 - r0, x0 - c0: x1 - c0].cpu().numpy()
    return out


def _luma(frame: np.ndarray) -> np.ndarray:
    """BT.601 Y in [0, 1] of an ``(h, w, 3)`` code-value or float window (``rgb_to_ycbcr``'s Y)."""
    x = to_float32(frame)
    r, g, b = (np.float32(w) for w in REC601_LUMA)
    return x[..., 0] * r + x[..., 1] * g + x[..., 2] * b


#: Rows per strip for the per-pixel colour steps (bounds their temporaries).
_STRIP = 256


class _ChromaAccumulator:
    """Running sums of :func:`fuse_chroma` for one channel, one exposure at a time."""

    def __init__(self, shape: tuple[int, ...], tau: float = TAU) -> None:
        self.tau = np.float32(tau)
        self.num = np.zeros(shape, np.float32)
        self.den = np.zeros(shape, np.float32)
        self.total = np.zeros(shape, np.float32)
        self.count = 0

    def add(self, c: np.ndarray) -> None:
        d = np.abs(c - self.tau)
        self.total += c
        self.den += d
        d *= c
        self.num += d
        self.count += 1

    def result(self) -> np.ndarray:
        ok = self.den > 0
        np.divide(self.num, self.den, out=self.num, where=ok)
        self.total /= np.float32(self.count)
        return np.where(ok, self.num, self.total)


def fuse_deepfuse(
    images: Sequence[np.ndarray],
    *,
    weights: str | Path = "deepfuse",
    tile: int = 512,
    overlap: int = 32,
    device: str = "cpu",
    threads: int | None = None,
    paths: Sequence[Path] | None = None,
) -> np.ndarray:
    """Fuse a bracket with DeepFuse (Prabhakar et al., ICCV 2017).

    Args:
        images: N >= 2 exposures, ``(H, W, 3)`` RGB or ``(H, W)``/``(H, W, 1)`` grey, one size
            and dtype, display-referred (uint8, uint16 or float in [0, 1]). Exposure times are
            not needed. N > 2 is fused in one pass (the network's merge of the N feature maps,
            see :mod:`expokit.models.deepfuse`).
        weights: a shipped weights name (``"deepfuse"``) or the path of a ``.safetensors``
            file written by ``expokit train deepfuse --export``.
        tile: core tile side in pixels (>= 16); bounds memory.
        overlap: context pixels around each tile; >= 12 gives the whole-image result.
        device: torch device (``"cpu"``, ``"cuda"``).
        threads: torch CPU threads (default: ``$EXPOKIT_THREADS`` or the CPU count, at most 8).
        paths: the images' files, to name them in error messages.

    Returns:
        float32 ``(H, W, 3)`` (or ``(H, W, 1)`` for grey input) in [0, 1].

    Raises:
        InputError: fewer than 2 images, mismatched sizes/dtypes/channels, a bad tile or
            overlap, unknown weights or a weights file that does not fit the network.
        MissingResourceError: a weights file that does not exist.

    References:
        K. R. Prabhakar, V. S. Srikar and R. V. Babu, "DeepFuse: A Deep Unsupervised Approach
        for Exposure Fusion with Extreme Exposure Image Pairs", ICCV 2017.

    >>> from expokit.models.deepfuse import DeepFuse
    >>> rng = np.random.default_rng(0)
    >>> shots = [rng.random((20, 30, 3), dtype=np.float32) for _ in range(2)]
    >>> fuse_deepfuse(shots, weights=DeepFuse()).shape
    (20, 30, 3)
    """
    require_torch("DeepFuse")
    frames = check_stack(images, paths=paths)
    if isinstance(tile, bool) or not isinstance(tile, (int, np.integer)) or tile < 16:
        raise InputError(f"tile must be an integer >= 16 pixels, got {tile!r}")
    if isinstance(overlap, bool) or not isinstance(overlap, (int, np.integer)) or overlap < 0:
        raise InputError(f"overlap must be an integer >= 0 pixels, got {overlap!r}")
    n_threads = resolve_threads(threads)
    dev = resolve_device(device)
    with torch_threads(n_threads):
        from ..models.deepfuse import DeepFuse

        model = DeepFuse.resolve(weights, device=dev, label="DeepFuse")
        grey = frames[0].shape[2] == 1
        if grey:
            ys = [to_float32(f)[..., 0] for f in frames]
            fused = fuse_y(ys, model, tile=int(tile), overlap=int(overlap), device=dev)
            return np.clip(fused, 0.0, 1.0)[..., None]
        h, w = frames[0].shape[:2]
        out = np.empty((h, w, 3), np.float32)
        # Cb/Cr fused strip by strip, one exposure at a time
        for r0, r1 in row_strips(h, _STRIP):
            cb, cr = _ChromaAccumulator((r1 - r0, w)), _ChromaAccumulator((r1 - r0, w))
            for f in frames:
                ycc = rgb_to_ycbcr(f[r0:r1])
                cb.add(ycc[..., 1])
                cr.add(ycc[..., 2])
            out[r0:r1, :, 1] = cb.result()
            out[r0:r1, :, 2] = cr.result()
        # Y through the network tile by tile, each exposure's Y computed for the tile only
        _fuse_tiles(lambda k, r0, r1, c0, c1: _luma(frames[k][r0:r1, c0:c1]), len(frames),
                    (h, w), model, tile=int(tile), overlap=int(overlap), device=dev,
                    out=out[..., 0])
        for r0, r1 in row_strips(h, _STRIP):  # back to RGB in place, strip by strip
            out[r0:r1] = np.clip(ycbcr_to_rgb(out[r0:r1]), 0.0, 1.0)
        return out
