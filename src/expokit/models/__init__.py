"""Learned models, one file per network, and the zoo of weights shipped with the package.

Importing this package needs PyTorch (``pip install "expokit[torch]"``).
"""

from __future__ import annotations

from .deepfuse import DeepFuse
from .uec import UEC
from .zoo import Pretrained, export_weights, list_pretrained, load_weights

__all__ = ["UEC", "DeepFuse", "Pretrained", "export_weights", "list_pretrained", "load_weights"]
