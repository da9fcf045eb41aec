"""Exposure fusion: classical Mertens, and the learned DeepFuse (needs the torch extra)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .mertens import fuse_mertens, mertens_weights

__all__ = ["FUSERS", "fuse_deepfuse", "fuse_mertens", "mertens_weights"]


def fuse_deepfuse(images: Sequence[np.ndarray], **kwargs: Any) -> np.ndarray:
    """DeepFuse with the shipped weights: see :func:`expokit.fusion.deepfuse.fuse_deepfuse`.

    Imported on first call, so ``expokit.fusion`` itself does not need PyTorch.
    """
    from ..nn.runtime import require_torch

    require_torch("DeepFuse")
    from .deepfuse import fuse_deepfuse as fuse

    return fuse(images, **kwargs)


#: Fusion methods by name (the CLI's ``--method`` and ``expokit eval --fuse`` choices).
FUSERS = {"mertens": fuse_mertens, "deepfuse": fuse_deepfuse}
