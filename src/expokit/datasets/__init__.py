"""Data sets on disk for learned methods: readers that find, check and load them.

* :mod:`expokit.datasets.hdr_scenes`: multi-frame HDR reconstruction sets in Kalantari &
  Ramamoorthi's 2017 layout and Tel et al.'s 2023 layout: :func:`load_hdr_scenes` finds the
  scenes (:class:`HDRScene`), :func:`read_hdr_scene` reads one (:class:`HDRSample`).

Paths come from the caller; nothing is downloaded.
"""

from __future__ import annotations

from .hdr_scenes import (
    FRAMES_PER_SCENE,
    LAYOUTS,
    HDRSample,
    HDRScene,
    Layout,
    load_hdr_scenes,
    read_hdr_scene,
)

__all__ = [
    "FRAMES_PER_SCENE",
    "LAYOUTS",
    "HDRSample",
    "HDRScene",
    "Layout",
    "load_hdr_scenes",
    "read_hdr_scene",
]
