"""Learned-code helpers on torch tensors: differentiable losses (MEF-SSIM).

Tensors are ``(B, C, H, W)`` and exposure stacks ``(B, N, C, H, W)``, display-referred in
[0, 1] (see ``docs/conventions.md``). Importing this package needs PyTorch.
"""

from __future__ import annotations

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    from ..errors import MissingResourceError

    raise MissingResourceError(
        "expokit.nn needs PyTorch, which is not installed: pip install torch"
    ) from exc

from .losses import MEFSSIMLoss, mef_ssim_loss, mef_ssim_map

__all__ = ["MEFSSIMLoss", "mef_ssim_loss", "mef_ssim_map"]
