"""Data sets on disk for learned methods: readers that find, check and load them.

* :mod:`expokit.datasets.hdr_scenes`: multi-frame HDR reconstruction sets in Kalantari &
  Ramamoorthi's 2017 layout and Tel et al.'s 2023 layout: :func:`load_hdr_scenes` finds the
  scenes (:class:`HDRScene`), :func:`read_hdr_scene` reads one (:class:`HDRSample`).
* :mod:`expokit.datasets.sice`: the SICE multi-exposure set of Cai, Gu & Zhang 2018 (numbered
  scene folders of shots and a ``Label/`` folder of references): :func:`load_sice_scenes` finds
  the scenes (:class:`SICEScene`), :func:`read_sice_scene` reads one darkest shot first
  (:class:`SICESample`), :func:`sice_extreme_pair` gives its darkest and brightest shot.

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
from .sice import (
    IMAGE_SUFFIXES,
    LABEL_FOLDER,
    SICESample,
    SICEScene,
    load_sice_scenes,
    read_sice_scene,
)
from .sice import extreme_pair as sice_extreme_pair

__all__ = [
    "FRAMES_PER_SCENE",
    "IMAGE_SUFFIXES",
    "LABEL_FOLDER",
    "LAYOUTS",
    "HDRSample",
    "HDRScene",
    "Layout",
    "SICESample",
    "SICEScene",
    "load_hdr_scenes",
    "load_sice_scenes",
    "read_hdr_scene",
    "read_sice_scene",
    "sice_extreme_pair",
]
