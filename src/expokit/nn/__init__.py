"""Learned-code helpers on torch tensors: the torch runtime and differentiable losses.

* :mod:`expokit.nn.runtime`: device, thread count, strict weight loading and the "PyTorch is
  missing" guard, shared by every learned part of expokit (importable without PyTorch).
* :mod:`expokit.nn.losses`: MEF-SSIM as a loss (:func:`mef_ssim_loss`, :class:`MEFSSIMLoss`).

Tensors are ``(B, C, H, W)`` and exposure stacks ``(B, N, C, H, W)``, display-referred in
[0, 1] (see ``docs/conventions.md``). The losses need PyTorch; they are imported on first use,
so that importing :mod:`expokit.nn.runtime` does not pull in the metrics they build on.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MEFSSIMLoss", "mef_ssim_loss", "mef_ssim_map"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from .runtime import require_torch

        require_torch("expokit.nn", safetensors=False)
        from . import losses

        return getattr(losses, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
