"""Image input/output: PNG, JPEG, TIFF, OpenEXR, Radiance .hdr and camera RAW.

Arrays are ``(H, W, C)`` in RGB order (C = 3, or 1 for grey files); see ``docs/conventions.md``.
"""

from __future__ import annotations

from ._read import read_image

__all__ = ["read_image"]
