"""HC-MEF fusion of an under- and an over-exposed shot: the image-only student, tiled.

The student (:class:`expokit.models.hcmef.HCMEFStudent`) needs no EEG: its cognitive tokens
come from pseudo-cognitive priors computed from the two shots. They are computed once, on the
whole pair area-downscaled to ``prior_size`` pixels, and every tile of the image is fused
with the same tokens, so the result does not depend on the tiling. Each tile's core is cut
with ``overlap`` pixels of context on every side (none beyond the image border) and only the
core is kept; tile origins stay on multiples of 4 (the network's two stride-2 levels), so with
``overlap`` at least the network's reach the tiled result equals whole-image inference up to
float rounding, and memory is bounded by the tile size.

Given more than two shots, the darkest and the brightest (mean Rec. 709 luma) are fused: the
"most under- and most over-exposed" pair HC-MEF is defined on.

PyTorch is imported inside :func:`fuse_hcmef`, so :mod:`expokit.fusion` imports without it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._checks import check_stack, check_unit_range, resolve_threads, to_float32
from ..errors import InputError
from ..metrics.score import extreme_pair
from ..nn.runtime import require_torch, resolve_device, tile_windows, torch_threads

if TYPE_CHECKING:
    import torch

    from ..models.hcmef import HCMEFStudent

__all__ = ["fuse_hcmef"]

#: Tile origins and sizes are kept on multiples of this (the student's two stride-2 levels).
_ALIGN = 4


def _load_model(model: str | os.PathLike[str] | HCMEFStudent, device: torch.device
                ) -> HCMEFStudent:
    from ..models.hcmef import HCMEFStudent, HCMEFTeacher

    if isinstance(model, str) and model in HCMEFTeacher.PRETRAINED:
        raise InputError(f"model {model!r} is HC-MEF's teacher, which needs the viewer's EEG; "
                         f"fuse images with a student: {', '.join(HCMEFStudent.PRETRAINED)}")
    return HCMEFStudent.resolve(model, device=device, label="HC-MEF student")


def fuse_hcmef(
    images: Sequence[np.ndarray],
    *,
    model: str | os.PathLike[str] | HCMEFStudent = "hcmef",
    tile: int = 512,
    overlap: int = 32,
    device: str = "cpu",
    threads: int | None = None,
    paths: Sequence[Path] | None = None,
) -> np.ndarray:
    """Fuse the most under- and the most over-exposed shot with the HC-MEF student.

    Args:
        images: two or more RGB shots ``(H, W, 3)`` of one size and dtype, display-referred
            (uint8, uint16 or float in [0, 1]); with more than two, the darkest and the
            brightest are fused.
        model: a shipped student (``"hcmef"``, bi-level distilled, the default;
            ``"hcmef_joint"``, ``"hcmef_twostage"``, ``"hcmef_imageonly"``,
            ``"hcmef_concat"``; see ``expokit models``), the path of a ``.safetensors`` file
            with its ``.json`` sidecar (``expokit train hcmef --export``), or an
            :class:`~expokit.models.hcmef.HCMEFStudent`.
        tile: core tile side in pixels (>= 16; rounded up to a multiple of 4).
        overlap: context pixels around each tile (>= 0; rounded up to a multiple of 4); 32
            covers the shipped network's reach (a smaller one can leave seams).
        device: torch device (``"cpu"``, ``"cuda"``, ``"auto"``).
        threads: torch CPU threads (default: ``$EXPOKIT_THREADS`` or the CPU count, at most 8).
        paths: the images' files, to name them in error messages.

    Returns:
        float32 ``(H, W, 3)`` in [0, 1].

    Raises:
        InputError: fewer than two images, grey images, mismatched sizes or dtypes, floats
            outside [0, 1], a bad tile or overlap, an unknown model (or the teacher, which
            needs EEG), or a weights file that does not fit the student.
        MissingResourceError: torch is not installed, or the weights file does not exist.

    >>> from expokit.models.hcmef import HCMEFStudent
    >>> rng = np.random.default_rng(0)
    >>> shots = [rng.random((21, 30, 3), dtype=np.float32) for _ in range(2)]
    >>> fuse_hcmef(shots, model=HCMEFStudent(width=4, dim=8, tokens=2)).shape
    (21, 30, 3)
    """
    require_torch("HC-MEF")
    frames = check_stack(images, paths=paths)
    if frames[0].shape[2] != 3:
        raise InputError("HC-MEF fuses RGB shots, got greyscale ones (1 channel): fuse "
                         "greyscale brackets with method 'mertens'")
    check_unit_range(frames, what="fuse_hcmef takes uint8 / uint16 code values or floats in "
                     "[0, 1] (divide 8-bit values by 255)")
    if isinstance(tile, bool) or not isinstance(tile, (int, np.integer)) or tile < 16:
        raise InputError(f"tile must be an integer >= 16 pixels, got {tile!r}")
    if isinstance(overlap, bool) or not isinstance(overlap, (int, np.integer)) or overlap < 0:
        raise InputError(f"overlap must be an integer >= 0 pixels, got {overlap!r}")
    tile = -(-int(tile) // _ALIGN) * _ALIGN
    overlap = -(-int(overlap) // _ALIGN) * _ALIGN
    dark, bright = extreme_pair(frames)
    under, over = frames[dark], frames[bright]
    n_threads = resolve_threads(threads)
    dev = resolve_device(device)

    import torch
    import torch.nn.functional as F  # noqa: N812
    from tqdm.auto import tqdm

    h, w = under.shape[:2]
    out = np.empty((h, w, 3), np.float32)
    with torch_threads(n_threads), torch.no_grad():
        net = _load_model(model, dev)
        dtype = next(net.parameters()).dtype
        size = int(net.architecture["prior_size"])
        # the prior sees each whole shot, area-averaged to size x size, one shot at a time
        small = [F.adaptive_avg_pool2d(torch.from_numpy(to_float32(f)).permute(2, 0, 1)[None],
                                       size) for f in (under, over)]
        tokens = net.prior(torch.cat(small, dim=1).to(dev, dtype))
        tiles = tile_windows(h, w, tile, overlap)
        with tqdm(tiles, desc="HC-MEF tiles", unit="tile", leave=False,
                  disable=None if len(tiles) > 1 else True) as bar:
            for y0, y1, x0, x1, r0, r1, c0, c1 in bar:
                u, o = (torch.from_numpy(to_float32(f[r0:r1, c0:c1])).permute(2, 0, 1)[None]
                        .to(dev, dtype) for f in (under, over))
                res = net.fuse_with(u, o, tokens)[0][0, :, y0 - r0: y1 - r0, x0 - c0: x1 - c0]
                out[y0:y1, x0:x1] = res.permute(1, 2, 0).float().cpu().numpy()
    return out
