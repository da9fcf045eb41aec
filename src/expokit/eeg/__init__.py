"""EEG recordings as epochs per stimulus: the data path of HC-MEF's teacher (issue 12).

Reads EDF, BDF and FIF recordings with MNE-Python (the optional extra ``eeg``), cuts one epoch
per stimulus listed in a manifest (subject, scene, exposure class, file, event) and
preprocesses it (notch, band-pass, average reference, resampling, baseline, per-channel
standardisation). :func:`simulate_session` writes clearly synthetic recordings in that
layout. See docs/eeg.md.

``import expokit.eeg`` needs neither NumPy's extras nor MNE: MNE is imported inside the
functions, and a missing MNE raises :class:`~expokit.errors.MissingResourceError` naming
``pip install "expokit[eeg]"``. The fusion student never imports this package.
"""

from __future__ import annotations

from .epochs import (
    EXPOSURES,
    EpochConfig,
    EpochSet,
    ManifestRow,
    eeg_info,
    load_epochs,
    read_manifest,
    read_raw,
)
from .simulate import LABEL, image_features, simulate_session

__all__ = [
    "EXPOSURES",
    "EpochConfig",
    "EpochSet",
    "LABEL",
    "ManifestRow",
    "eeg_info",
    "image_features",
    "load_epochs",
    "read_manifest",
    "read_raw",
    "simulate_session",
]
