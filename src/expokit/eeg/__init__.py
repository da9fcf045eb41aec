"""EEG recordings as epochs per stimulus: the data path of HC-MEF's teacher (issue 12).

Reads EDF, BDF and FIF recordings with MNE-Python (the optional extra ``eeg``), cuts one epoch
per stimulus listed in a manifest (subject, scene, exposure class, file, event) and
preprocesses it (notch, band-pass, average reference, resampling, baseline, per-channel
standardisation). See docs/eeg.md.

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

__all__ = [
    "EXPOSURES",
    "EpochConfig",
    "EpochSet",
    "ManifestRow",
    "eeg_info",
    "load_epochs",
    "read_manifest",
    "read_raw",
]
