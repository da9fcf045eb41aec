"""Differentiable losses for training fusion networks.

:func:`mef_ssim_loss` is ``1 - MEF-SSIM`` computed exactly as :func:`expokit.metrics.mef_ssim`
(the authors' MATLAB ``mef_ssim.m``), in torch, so a network can be trained on the index it is
evaluated with; the two agree to better than 1e-5 (float64, ``tests/test_nn_losses.py``).

Differentiability: the index is smooth in the fused image. As a function of the sources it has
kinks where the choice of the strongest exposure (``max_k`` of the patch contrast) changes
hands, where the structure exponent ``p = tan(pi R / 2)`` reaches its cap of 10, and at the
flat-patch threshold; there the gradient is that of the branch torch picks. Flat patches (a
saturated area) contribute no gradient through their structure, never NaN.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from ..color import MATLAB_RGB2GRAY
from ..errors import InputError
from ..metrics.mef import FLAT_VARIANCE

Reduction = Literal["mean", "sum", "none"]

_EPS = 2.220446049250313e-16  # MATLAB eps, as in mef_ssim.m


def _gaussian_1d(size: int, sigma: float, like: Tensor) -> Tensor:
    x = torch.arange(size, dtype=like.dtype, device=like.device) - (size - 1) / 2.0
    g = torch.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def _filter_valid(x: Tensor, kernel: Tensor) -> Tensor:
    """Separable 'valid' correlation of ``(M, H, W)`` planes with a 1-D kernel on both axes.

    float64 (what the losses use) is summed over shifted slices: torch's CPU convolution has
    no fast float64 path (about 20 times slower than these ``size`` multiply-adds per axis).
    """
    size = kernel.numel()
    if x.dtype != torch.float64:
        y = F.conv2d(x.unsqueeze(1), kernel.view(1, 1, 1, size))
        y = F.conv2d(y, kernel.view(1, 1, size, 1))
        return y.squeeze(1)
    w = x.shape[-1] - size + 1
    y = sum(kernel[i] * x[..., i:i + w] for i in range(size))
    h = x.shape[-2] - size + 1
    return sum(kernel[i] * y[..., i:i + h, :] for i in range(size))


def _safe_sqrt(x: Tensor, zero: Tensor) -> Tensor:
    """``sqrt(x)`` with 0 where ``zero`` is True, and a finite (zero) gradient there."""
    return torch.where(zero, torch.zeros_like(x), torch.sqrt(torch.where(zero, 1.0, x)))


def _to_gray(x: Tensor) -> Tensor:
    """``(..., C, H, W)`` -> ``(..., H, W)`` with MATLAB ``rgb2gray`` weights (no rounding)."""
    if x.shape[-3] == 1:
        return x[..., 0, :, :]
    r, g, b = MATLAB_RGB2GRAY
    return r * x[..., 0, :, :] + g * x[..., 1, :, :] + b * x[..., 2, :, :]


def structure_exponent(consistency: Tensor) -> Tensor:
    """MEF-SSIM's structure exponent ``p = min(tan(pi R / 2), 10)`` of the consistency ``R``.

    ``R`` is first confined to ``[eps, 1 - eps]`` as in ``mef_ssim.m``, with the eps of the
    tensor's own dtype: in float32 MATLAB's ``1 - 2.2e-16`` rounds to 1.0, and
    ``tan(float32(pi / 2))`` is -2.3e7, a negative exponent that turns the weights into NaN.
    """
    one = 1.0 - torch.finfo(consistency.dtype).eps
    consistency = torch.where(consistency > one, one, consistency)
    consistency = torch.where(consistency < 0.0, _EPS, consistency)
    return torch.clamp(torch.tan(math.pi / 2.0 * consistency), min=0.0, max=10.0)


def _check(fused: object, sources: object, window_size: int) -> None:
    if not isinstance(fused, Tensor) or not isinstance(sources, Tensor):
        raise InputError(
            f"fused and sources must be torch tensors, got {type(fused).__name__} and "
            f"{type(sources).__name__}; convert NumPy images with torch.from_numpy"
        )
    if fused.ndim != 4 or fused.shape[1] not in (1, 3):
        raise InputError(
            f"fused has shape {tuple(fused.shape)}, expected (B, C, H, W) with C = 1 or 3"
        )
    if sources.ndim != 5:
        raise InputError(
            f"sources has shape {tuple(sources.shape)}, expected (B, N, C, H, W): stack the "
            "exposures along dim 1 (torch.stack(exposures, dim=1))"
        )
    b, c, h, w = fused.shape
    if sources.shape[0] != b or tuple(sources.shape[2:]) != (c, h, w):
        raise InputError(
            f"sources has shape {tuple(sources.shape)} but fused is {tuple(fused.shape)}: "
            f"expected ({b}, N, {c}, {h}, {w})"
        )
    if sources.shape[1] < 1:
        raise InputError("sources holds no exposure: pass at least one (N >= 1)")
    if not fused.is_floating_point() or fused.dtype != sources.dtype:
        raise InputError(
            f"fused ({fused.dtype}) and sources ({sources.dtype}) must share one floating "
            "dtype; convert them with .float() or .double()"
        )
    if fused.device != sources.device:
        raise InputError(f"fused is on {fused.device} but sources on {sources.device}")
    if not isinstance(window_size, int) or window_size < 3 or window_size % 2 == 0:
        raise InputError(f"window_size must be an odd integer >= 3, got {window_size!r}")
    if min(h, w) < window_size:
        raise InputError(
            f"images are {w}x{h} pixels, smaller than the {window_size}x{window_size} window"
        )


def mef_ssim_map(
    fused: Tensor,
    sources: Tensor,
    *,
    k: float = 0.03,
    window_size: int = 11,
    sigma: float = 1.5,
) -> Tensor:
    """MEF-SSIM quality map (Ma, Zeng & Wang 2015) of each image of a batch.

    Args:
        fused: ``(B, C, H, W)`` fused images in [0, 1], C = 1 or 3 (colour is turned into grey
            with MATLAB ``rgb2gray`` weights).
        sources: ``(B, N, C, H, W)`` source exposures in [0, 1].
        k: the SSIM constant ``K`` (``C = (K * 255)^2`` in 8-bit units).
        window_size: side of the square windows (odd).
        sigma: standard deviation of the Gaussian window.

    Returns:
        ``(B, H - window_size + 1, W - window_size + 1)`` map; its mean over the last two
        dimensions is :func:`expokit.metrics.mef_ssim` with ``data_range=1``.

    Raises:
        InputError: for tensors of the wrong shape, dtype or device.
    """
    _check(fused, sources, window_size)
    n = float(window_size * window_size)
    box = torch.full((window_size,), 1.0 / window_size, dtype=fused.dtype, device=fused.device)
    g = _gaussian_1d(window_size, sigma, fused)
    b, n_src = sources.shape[:2]
    h = fused.shape[-2] - window_size + 1
    w = fused.shape[-1] - window_size + 1

    f = _to_gray(fused) * 255.0  # (B, H, W)
    x = _to_gray(sources) * 255.0  # (B, N, H, W)
    f = f - f.mean(dim=(-2, -1), keepdim=True)
    x = x - x.mean(dim=(-2, -1), keepdim=True)
    s = x.sum(dim=1, keepdim=True)
    ii, jj = torch.triu_indices(n_src, n_src, device=fused.device)
    prods = x[:, ii] * x[:, jj]  # (B, P, H, W): x_i x_j for i <= j
    fx = f.unsqueeze(1)
    # One filtering pass per window over every plane that needs it (few, larger convolutions).
    box_in = torch.cat([x, prods, s, s * s], dim=1)
    gauss_in = torch.cat([x, prods, fx, fx * fx, x * fx], dim=1)
    box_out = _filter_valid(box_in.flatten(0, 1), box).view(b, box_in.shape[1], h, w)
    gauss_out = _filter_valid(gauss_in.flatten(0, 1), g).view(b, gauss_in.shape[1], h, w)
    n_pair = ii.numel()
    mu, box_prods = box_out[:, :n_src], box_out[:, n_src: n_src + n_pair]
    mu_s, mean_s2 = box_out[:, -2], box_out[:, -1]
    gmu, gauss_prods = gauss_out[:, :n_src], gauss_out[:, n_src: n_src + n_pair]
    mu_f, mean_f2 = gauss_out[:, n_src + n_pair], gauss_out[:, n_src + n_pair + 1]
    gauss_xf = gauss_out[:, n_src + n_pair + 2:]

    var = box_prods[:, ii == jj] - mu * mu
    flat = var <= FLAT_VARIANCE
    norm = _safe_sqrt(n * var, flat)
    ed = norm + 0.001

    var_s = mean_s2 - mu_s * mu_s
    consistency = (_safe_sqrt(n * var_s, var_s <= FLAT_VARIANCE) + _EPS) / (norm.sum(1) + _EPS)
    p = structure_exponent(consistency)

    wgt = (ed / window_size) ** p.unsqueeze(1) + _EPS
    wgt = wgt / wgt.sum(dim=1, keepdim=True)
    a = torch.where(flat, torch.zeros_like(wgt), wgt / ed)
    max_ed = ed.amax(dim=1)

    # Quadratic forms a' Cov a over the pairs i <= j (off-diagonal pairs count twice).
    factor = torch.where(ii == jj, 1.0, 2.0).to(a.dtype).view(1, -1, 1, 1) * a[:, ii] * a[:, jj]
    quad_u = (factor * (box_prods - mu[:, ii] * mu[:, jj])).sum(dim=1)
    quad_g = (factor * (gauss_prods - gmu[:, ii] * gmu[:, jj])).sum(dim=1)
    norm_u_sq = n * quad_u
    empty = norm_u_sq <= 0
    scale = torch.where(empty, torch.zeros_like(max_ed),
                        max_ed / torch.sqrt(torch.where(empty, 1.0, norm_u_sq)))
    sigma1_sq = torch.clamp(scale * scale * quad_g, min=0.0)

    sigma2_sq = torch.clamp(mean_f2 - mu_f * mu_f, min=0.0)
    cov_xf = gauss_xf - gmu * mu_f.unsqueeze(1)
    sigma12 = scale * (a * cov_xf).sum(dim=1)
    c = (k * 255.0) ** 2
    return (2.0 * sigma12 + c) / (sigma1_sq + sigma2_sq + c)


def mef_ssim_loss(
    fused: Tensor,
    sources: Tensor,
    *,
    k: float = 0.03,
    window_size: int = 11,
    sigma: float = 1.5,
    reduction: Reduction = "mean",
) -> Tensor:
    """``1 - MEF-SSIM`` of fused images against their source exposures, differentiable.

    Kernels follow the input's device and dtype. The value equals
    ``1 - expokit.metrics.mef_ssim(fused, sources, data_range=1.0)`` per image.

    Args:
        fused: ``(B, C, H, W)`` fused images in [0, 1], C = 1 or 3.
        sources: ``(B, N, C, H, W)`` source exposures in [0, 1], N >= 1.
        k: the SSIM constant ``K``.
        window_size: side of the square windows (odd).
        sigma: standard deviation of the Gaussian window.
        reduction: ``"mean"`` or ``"sum"`` over the batch, or ``"none"`` for a ``(B,)`` tensor.

    Returns:
        A scalar tensor, or ``(B,)`` for ``reduction="none"``.

    Raises:
        InputError: for tensors of the wrong shape, dtype or device, or an unknown reduction.

    References:
        K. Ma, K. Zeng and Z. Wang, "Perceptual Quality Assessment for Multi-Exposure Image
        Fusion", IEEE TIP 24(11):3345-3356, 2015; the authors' ``mef_ssim.m``.

    >>> img = torch.rand(1, 1, 16, 16, dtype=torch.float64)
    >>> float(mef_ssim_loss(img, torch.stack([img, img], dim=1))) < 1e-9
    True
    """
    if reduction not in ("mean", "sum", "none"):
        raise InputError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    q = mef_ssim_map(fused, sources, k=k, window_size=window_size, sigma=sigma)
    loss = 1.0 - q.mean(dim=(-2, -1))
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


class MEFSSIMLoss(nn.Module):
    """Module form of :func:`mef_ssim_loss`: stores the options, calls the function.

    Args:
        k: the SSIM constant ``K``.
        window_size: side of the square windows (odd).
        sigma: standard deviation of the Gaussian window.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Shape:
        ``fused`` ``(B, C, H, W)``, ``sources`` ``(B, N, C, H, W)``; output scalar or ``(B,)``.

    >>> loss = MEFSSIMLoss()
    >>> img = torch.rand(2, 3, 16, 16)
    >>> loss(img, torch.stack([img, img], dim=1)).shape
    torch.Size([])
    """

    def __init__(
        self,
        *,
        k: float = 0.03,
        window_size: int = 11,
        sigma: float = 1.5,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__()
        self.k = k
        self.window_size = window_size
        self.sigma = sigma
        self.reduction: Reduction = reduction

    def forward(self, fused: Tensor, sources: Tensor) -> Tensor:
        return mef_ssim_loss(fused, sources, k=self.k, window_size=self.window_size,
                             sigma=self.sigma, reduction=self.reduction)

    def extra_repr(self) -> str:
        return (f"k={self.k}, window_size={self.window_size}, sigma={self.sigma}, "
                f"reduction={self.reduction!r}")
