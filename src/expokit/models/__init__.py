"""Learned models, one file per network, and the zoo of weights shipped with the package.

Importing this package needs PyTorch (``pip install "expokit[torch]"``).
"""

from __future__ import annotations

from .zoo import Pretrained, export_weights, list_pretrained, load_weights

__all__ = ["Pretrained", "export_weights", "list_pretrained", "load_weights"]
