"""The look-up-table fusion of :mod:`expokit.fusion.lut` in torch, to learn its tables.

It lives in :mod:`expokit.train` (not :mod:`expokit.models`) because it builds on the NumPy
inference's constants and :class:`~expokit.fusion.lut.LUTFusion`, a layer above the models
(docs/architecture.md), and because only training needs it: users fuse with the NumPy code.

:class:`FusionLUT` holds one 256-entry table per exposure position for 2, 3 and 4 shots (as
logits: a table is ``exp(logits)``, so weights stay positive) and the guided filter's
regulariser (as ``log_eps``); its forward pass is :func:`expokit.fusion.lut.fuse_lut`'s luma
path step for step (table look-up at low resolution, guided-filter coefficients with box means
and reflect-101 borders, bilinear upsampling with half-pixel centres, ``max(A Y + B, floor)``,
normalised weighted sum), differentiable in the tables and ``eps``. The inputs' low-resolution
luma is computed outside, by :func:`expokit.fusion.lut.low_resolution`, exactly as at inference.
``tests/test_lut.py`` checks that both give the same fused luma.

The start is Mertens' well-exposedness, ``exp(-(y - 0.5)^2 / (2 * 0.2^2))``, for every
position, so an untrained model is a guided-filtered single-scale Mertens without the contrast
and saturation terms.

Exported weights (:func:`expokit.models.zoo.export_weights`) are read by the NumPy inference
without torch: :func:`expokit.fusion.lut.load_lut`.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from ..errors import InputError
from ..fusion.lut import BINS, FLOOR, FRAMES, LUTFusion, table_position
from ..models.zoo import Pretrained

__all__ = ["FusionLUT", "box_mean", "guided_coefficients"]


def box_mean(x: Tensor, radius: int) -> Tensor:
    """Mean over ``(2 radius + 1)^2`` boxes of ``(B, C, H, W)`` maps, reflect-101 borders
    (``cv2.boxFilter(..., borderType=cv2.BORDER_REFLECT_101)``)."""
    if radius == 0:
        return x
    h, w = x.shape[-2:]
    if radius >= min(h, w):
        raise InputError(f"the guided filter's radius {radius} needs low-resolution maps larger "
                         f"than {radius} pixels, got {h}x{w}")
    k = 2 * radius + 1
    return F.avg_pool2d(F.pad(x, (radius,) * 4, mode="reflect"), k, stride=1)


def guided_coefficients(guide: Tensor, src: Tensor, radius: int, eps: Tensor | float
                        ) -> tuple[Tensor, Tensor]:
    """Torch twin of :func:`expokit.fusion.lut.guided_coefficients` on ``(B, C, H, W)``."""
    mg, mp = box_mean(guide, radius), box_mean(src, radius)
    cov = box_mean(guide * src, radius) - mg * mp
    var = box_mean(guide * guide, radius) - mg * mg
    a = cov / (var + eps)
    b = mp - a * mg
    return box_mean(a, radius), box_mean(b, radius)


def _well_exposed(sigma: float = 0.2) -> Tensor:
    y = torch.linspace(0.0, 1.0, BINS, dtype=torch.float64)
    return (-(y - 0.5) ** 2 / (2 * sigma * sigma)).float()


class FusionLUT(nn.Module, Pretrained):
    """Learnable 1-D fusion tables for 2, 3 and 4 shots, and the guided filter's ``eps``.

    Args:
        low_side: longest side of the low-resolution copy the weights are computed on.
        radius: box radius of the guided filter in low-resolution pixels.
        eps: the guided filter's regulariser at the start (learned from there).

    Shape:
        ``forward(y, low)``: ``y`` is ``(B, N, H, W)`` full-resolution luma in [0, 1] of N shots
        ordered darkest first, ``low`` is ``(B, N, h, w)`` their low-resolution luma; returns
        the fused ``(B, 1, H, W)`` luma. N may be any count >= 2 (more than 4 uses the 4-shot
        tables by :func:`expokit.fusion.lut.table_for`'s rule).

    >>> m = FusionLUT()
    >>> sum(p.numel() for p in m.parameters())
    2305
    >>> m(torch.rand(1, 3, 40, 60), torch.rand(1, 3, 20, 30)).shape
    torch.Size([1, 1, 40, 60])
    """

    PRETRAINED: ClassVar[dict[str, str]] = {"lut": "lut"}

    def __init__(self, *, low_side: int = 128, radius: int = 4, eps: float = 1e-3) -> None:
        super().__init__()
        if low_side < 8 or radius < 0 or not eps > 0:
            raise InputError(f"FusionLUT needs low_side >= 8, radius >= 0 and eps > 0, got "
                             f"{low_side}, {radius}, {eps}")
        self.low_side = int(low_side)
        self.radius = int(radius)
        start = _well_exposed()
        for n in FRAMES:
            self.register_parameter(f"logits_{n}", nn.Parameter(start.repeat(n, 1)))
        self.log_eps = nn.Parameter(torch.tensor([math.log(eps)]))
        self.architecture = {"low_side": self.low_side, "radius": self.radius, "eps": float(eps)}

    def tables(self, n: int) -> Tensor:
        """``(n, BINS)`` positive tables of the shots of an n-shot bracket, darkest first."""
        if n < 2:
            raise InputError(f"a bracket needs at least 2 shots, got {n}")
        if n in FRAMES:
            return torch.exp(getattr(self, f"logits_{n}"))
        four = torch.exp(getattr(self, f"logits_{FRAMES[-1]}"))
        rows = []
        for k in range(n):
            i, f = table_position(n, k)
            rows.append((1.0 - f) * four[i] + f * four[i + 1])
        return torch.stack(rows)

    def lookup(self, low: Tensor) -> Tensor:
        """Weights of ``(B, N, h, w)`` low-resolution luma: each shot through its table."""
        n = low.shape[1]
        t = self.tables(n)  # (N, BINS)
        pos = low.clamp(0.0, 1.0) * (BINS - 1)
        i0 = pos.floor().clamp(max=BINS - 2).long()
        frac = pos - i0
        idx = torch.arange(n, device=low.device).view(1, n, 1, 1) * BINS
        flat = t.reshape(-1)
        return flat[idx + i0] * (1.0 - frac) + flat[idx + i0 + 1] * frac

    def weights(self, y: Tensor, low: Tensor) -> Tensor:
        """Full-resolution weights ``max(A Y + B, floor)``, ``(B, N, H, W)``."""
        a, b = guided_coefficients(low, self.lookup(low), self.radius, torch.exp(self.log_eps))
        size = y.shape[-2:]
        a = F.interpolate(a, size=size, mode="bilinear", align_corners=False)
        b = F.interpolate(b, size=size, mode="bilinear", align_corners=False)
        return torch.clamp(a * y + b, min=FLOOR)

    def forward(self, y: Tensor, low: Tensor) -> Tensor:
        if y.ndim != 4 or low.ndim != 4 or y.shape[:2] != low.shape[:2] or y.shape[1] < 2:
            raise InputError(f"FusionLUT takes (B, N, H, W) luma and (B, N, h, w) low-resolution "
                             f"luma of N >= 2 shots, got {tuple(y.shape)} and {tuple(low.shape)}")
        w = self.weights(y, low)
        return ((w * y).sum(dim=1, keepdim=True) / w.sum(dim=1, keepdim=True))

    def to_numpy(self) -> LUTFusion:
        """The tables and settings for :func:`expokit.fusion.lut.fuse_lut` (no torch there)."""
        with torch.no_grad():
            tables = {n: self.tables(n).double().cpu().numpy().astype("float32") for n in FRAMES}
            eps = float(torch.exp(self.log_eps.double()).item())
        return LUTFusion(tables, low_side=self.low_side, radius=self.radius, eps=eps)
