"""Learned HDR merge: AHDR (Yan et al., CVPR 2019) on a three-frame bracket, in overlapping tiles.

The network (:class:`expokit.models.ahdr.AHDR`) takes exactly three frames: the shortest
exposure, the reference (the middle one, whose geometry the output follows, so objects that
move between frames appear where they are in the reference) and the longest. Frames may be
given in any order; they are sorted by exposure time as everywhere in expokit.

Units. The network's output is HDR in [0, 1] relative to the shortest frame: 1 is the level at
which the shortest frame saturates (Kalantari's convention, the training target of
:mod:`expokit.train.ahdr`). :func:`merge_ahdr` divides it by the shortest exposure time in
seconds, so its result is linear radiance in the units of :func:`expokit.simulate.render_shot`:
``radiance * t == 1`` is a frame's clipping level. The largest radiance it can return is
therefore ``1 / t_min``: what even the shortest frame clipped stays at its clipping level.

Tiles. Each tile's core is cut with ``overlap`` pixels of image context on every side (none
beyond the image border, where the network's zero padding applies as on the whole image) and
only the core is kept. With ``overlap >= model.radius`` every kept pixel sees exactly the
context it sees in whole-image inference, so the result equals whole-image inference up to
float rounding and memory is bounded by the tile size, whatever the image size.

PyTorch and the network are imported inside :func:`merge_ahdr`, so :mod:`expokit.hdr` (whose
:data:`~expokit.hdr.MERGERS` table holds it) imports without torch; a missing torch raises
:class:`~expokit.errors.MissingResourceError` when the method is used.

References:
    Q. Yan, D. Gong, Q. Shi, A. van den Hengel, C. Shen, I. Reid, Y. Zhang, "Attention-guided
    Network for Ghost-free High Dynamic Range Imaging", CVPR 2019.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .._checks import (
    check_exposure_times,
    check_stack,
    check_unit_range,
    resolve_threads,
    to_float32,
)
from ..errors import InputError
from ..nn.runtime import require_torch, resolve_device, tile_windows, torch_threads

if TYPE_CHECKING:

    from ..models.ahdr import AHDR

__all__ = ["merge_ahdr"]

#: Frames AHDR takes: short, reference, long.
FRAMES = 3
#: The default overlap is the model's radius rounded up to a multiple of this.
_OVERLAP_STEP = 8


def merge_ahdr(
    images: Sequence[np.ndarray],
    exposure_times: Sequence[float],
    *,
    model: str | os.PathLike[str] | AHDR = "ahdr_skt",
    tile: int = 512,
    overlap: int | None = None,
    device: str = "cpu",
    threads: int | None = None,
) -> np.ndarray:
    """Merge a three-frame bracket of a possibly moving scene into radiance with AHDR.

    Args:
        images: exactly three RGB exposures ``(H, W, 3)`` of one size and dtype,
            display-referred camera output (uint8, uint16 or float in [0, 1]), in any order;
            sorted by exposure time, the middle one is the reference. Other counts: use
            :func:`~expokit.hdr.merge_debevec`.
        exposure_times: seconds, one per image, > 0 and distinct (only their ratios reach the
            network; the shortest one sets the output's scale).
        model: a shipped weights name (``"ahdr_skt"``, the default, trained with semantic
            knowledge transfer, or ``"ahdr"``, trained alone; see ``expokit models``),
            the path of a ``.safetensors`` file with its ``.json`` sidecar (written by
            ``expokit train ahdr`` or :func:`expokit.models.zoo.export_weights`), or an
            :class:`~expokit.models.ahdr.AHDR` instance. Weights are loaded once per call.
        tile: core tile side in pixels (>= 16); working memory grows with
            ``(tile + 2 overlap)^2`` and the network's width, not with the image size.
        overlap: context pixels around each tile (>= 0). Default: ``model.radius`` rounded up
            to a multiple of 8 (48 for the paper's network, whose radius is 43); any overlap
            >= ``model.radius`` gives the whole-image result, a smaller one leaves seams.
        device: torch device (``"cpu"``, ``"cuda"``, ``"auto"``).
        threads: torch CPU threads (default: ``$EXPOKIT_THREADS`` or the CPU count, at most 8).

    Returns:
        float32 ``(H, W, 3)`` linear radiance in [0, 1 / t_min], aligned to the reference
        frame: the network's output (1 = the shortest frame's saturation) divided by the
        shortest exposure time ``t_min`` in seconds, so that ``radiance * t == 1`` is a frame's
        clipping level (the convention of :func:`expokit.simulate.render_shot`).

    Raises:
        InputError: not exactly three images, greyscale images, mismatched sizes or dtypes,
            float values outside [0, 1], bad times, tile or overlap, an unknown weights name,
            or a weights file that does not fit AHDR.
        MissingResourceError: torch or safetensors is not installed, or the weights file
            (shipped or given) does not exist.

    References:
        Q. Yan et al., "Attention-guided Network for Ghost-free High Dynamic Range Imaging",
        CVPR 2019.

    >>> from expokit.models.ahdr import AHDR
    >>> rng = np.random.default_rng(0)
    >>> shots = [rng.random((24, 40, 3), dtype=np.float32) for _ in range(3)]
    >>> net = AHDR(features=4, growth=2, layers=1, blocks=1)
    >>> hdr = merge_ahdr(shots, [0.01, 0.04, 0.16], model=net)
    >>> hdr.shape, hdr.dtype, bool(hdr.max() <= 1 / 0.01)
    ((24, 40, 3), dtype('float32'), True)
    """
    require_torch("AHDR")
    frames = check_stack(images, min_count=1)
    if len(frames) != FRAMES:
        raise InputError(
            f"AHDR takes exactly three frames (short, reference, long), got {len(frames)}: "
            "merge other counts with method 'debevec' (CLI: --method debevec)"
        )
    if frames[0].shape[2] != 3:
        raise InputError(
            "AHDR takes RGB frames, got greyscale ones (1 channel): merge greyscale brackets "
            "with method 'debevec' (CLI: --method debevec)"
        )
    check_unit_range(frames, what="merge_ahdr takes uint8 / uint16 code values or floats in "
                     "[0, 1] (divide 8-bit values by 255)")
    times = check_exposure_times(exposure_times, len(frames))
    if isinstance(tile, bool) or not isinstance(tile, (int, np.integer)) or tile < 16:
        raise InputError(f"tile must be an integer >= 16 pixels, got {tile!r}")
    if overlap is not None and (isinstance(overlap, bool)
                                or not isinstance(overlap, (int, np.integer)) or overlap < 0):
        raise InputError(f"overlap must be an integer >= 0 pixels (or None for the model's "
                         f"radius), got {overlap!r}")
    n_threads = resolve_threads(threads)
    dev = resolve_device(device)

    import torch

    from ..models.ahdr import ahdr_inputs

    order = np.argsort(times, kind="stable")  # shortest first, the middle one the reference
    t_min = float(times[order[0]])
    rel = torch.tensor((times[order] / t_min)[None], dtype=torch.float32, device=dev)
    h, w = frames[0].shape[:2]
    out = np.empty((h, w, 3), np.float32)
    with torch_threads(n_threads):
        from ..models.ahdr import AHDR

        net = AHDR.resolve(model, device=dev, label="AHDR")
        pad = (-(-net.radius // _OVERLAP_STEP) * _OVERLAP_STEP if overlap is None
               else int(overlap))
        tiles = tile_windows(h, w, int(tile), pad)
        dtype = next(net.parameters()).dtype
        rel = rel.to(dtype)
        from tqdm.auto import tqdm

        # disable=None: a bar on a terminal only, and only when there is more than one tile
        with torch.no_grad(), tqdm(tiles, desc="AHDR tiles", unit="tile", leave=False,
                                   disable=None if len(tiles) > 1 else True) as bar:
            for y0, y1, x0, x1, r0, r1, c0, c1 in bar:
                window = np.stack([to_float32(frames[k][r0:r1, c0:c1]) for k in order])
                x = torch.from_numpy(window).permute(0, 3, 1, 2)[None].to(dev, dtype)
                res = net(ahdr_inputs(x, rel))[0, :, y0 - r0: y1 - r0, x0 - c0: x1 - c0]
                out[y0:y1, x0:x1] = res.permute(1, 2, 0).float().cpu().numpy()
    out /= np.float32(t_min)
    return out
