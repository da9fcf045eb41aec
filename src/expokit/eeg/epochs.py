"""Epochs per stimulus from EDF/BDF/FIF recordings, driven by a manifest (docs/eeg.md).

MNE-Python is imported inside the functions (:func:`_mne`), so this module imports without
it; NumPy is imported lazily too, to keep ``import expokit.eeg`` light.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, MissingResourceError

if TYPE_CHECKING:
    import numpy as np

#: The exposure classes a manifest row may name (Cog-Expo's blocks).
EXPOSURES = ("under", "over", "normal")
#: The columns a manifest must have; ``occurrence`` is optional.
COLUMNS = ("subject", "scene", "exposure", "file", "event")
SUFFIXES = {".edf": "EDF", ".bdf": "BDF", ".fif": "FIF"}
INSTALL = 'pip install "expokit[eeg]"'


def _mne() -> Any:
    """The ``mne`` module, or a MissingResourceError saying what to install."""
    try:
        import mne
    except ImportError as exc:
        raise MissingResourceError(f"the EEG data path needs MNE-Python ({exc}): {INSTALL}"
                                   ) from None
    return mne


@dataclass(frozen=True)
class EpochConfig:
    """How recordings become epochs (defaults: Cog-Expo, docs/eeg.md says why each).

    Attributes:
        tmin, tmax: the returned window in seconds from the stimulus onset, ``[tmin, tmax)``:
            0-1 s is the whole image presentation; at ``sfreq`` 250 Hz that is 250 samples.
        baseline: ``(start, end)`` in seconds; each channel's mean over it is subtracted. It
            may start before ``tmin`` (the default, -0.2-0 s, lies in the 0.5 s blank before
            the image): the epoch is cut from ``min(tmin, start)`` and cropped to
            ``[tmin, tmax)`` afterwards. ``None``: no baseline correction.
        notch: mains frequency in Hz, removed with its harmonics below the recording's
            Nyquist frequency (``None``: off).
        l_freq, h_freq: band-pass edges in Hz (``None`` leaves that side open).
        reference: ``"average"`` (common average reference), channel names to reference
            to, or ``None`` to keep the recording's reference.
        sfreq: every recording is resampled to this rate (Hz) after filtering.
        standardize: z-score each channel of each epoch over time (zero mean, unit standard
            deviation; a flat channel stays 0), after the crop.
        channels: the channels to return, in this order; every file must have them all.
            ``None``: all EEG channels, in the first file's order, and every file must have
            the same set.
    """

    tmin: float = 0.0
    tmax: float = 1.0
    baseline: tuple[float, float] | None = (-0.2, 0.0)
    notch: float | None = 50.0
    l_freq: float | None = 0.5
    h_freq: float | None = 40.0
    reference: str | tuple[str, ...] | None = "average"
    sfreq: float = 250.0
    standardize: bool = True
    channels: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not self.tmax > self.tmin:
            raise InputError(f"EpochConfig: tmax ({self.tmax}) must be after tmin ({self.tmin})")
        if self.baseline is not None and not self.baseline[1] > self.baseline[0]:
            raise InputError(f"EpochConfig: baseline {self.baseline} must be (start, end) with "
                             "end after start")
        if not self.sfreq > 0:
            raise InputError(f"EpochConfig: sfreq must be positive, got {self.sfreq}")
        if isinstance(self.reference, str) and self.reference != "average":
            raise InputError(f"EpochConfig: reference {self.reference!r} is not known: use "
                             "'average', a tuple of channel names, or None")
        if self.h_freq is not None and self.h_freq >= self.sfreq / 2:
            raise InputError(f"EpochConfig: h_freq {self.h_freq} Hz must be below half of "
                             f"sfreq ({self.sfreq} Hz), or the resampling aliases")

    @property
    def start(self) -> float:
        """Where the epoch is cut, in seconds from the onset (the baseline may start early)."""
        return self.tmin if self.baseline is None else min(self.tmin, self.baseline[0])

    @property
    def stop(self) -> float:
        return self.tmax if self.baseline is None else max(self.tmax, self.baseline[1])


@dataclass(frozen=True)
class ManifestRow:
    """One stimulus: which subject saw which scene at which exposure, and where in which file.

    ``occurrence`` (1-based) picks one onset when the event occurs several times in the file;
    ``None`` requires the event to occur exactly once. ``line`` is the manifest's line number.
    """

    subject: str
    scene: str
    exposure: str
    file: Path
    event: str
    occurrence: int | None = None
    line: int = 0


@dataclass
class EpochSet:
    """Epochs, one per manifest row, in the manifest's order.

    Shape:
        data: ``(n_epochs, n_channels, n_times)`` float32.
    """

    data: np.ndarray
    channels: tuple[str, ...]
    sfreq: float
    rows: list[ManifestRow]


# --- reading ------------------------------------------------------------------------------
def read_raw(path: str | Path) -> Any:
    """Read an EDF, BDF or FIF recording (preloaded), chosen by the file's suffix.

    Returns:
        ``mne.io.Raw`` with all channels; it has at least one EEG channel.

    Raises:
        InputError: unknown suffix, missing or unreadable file, no EEG channel.
        MissingResourceError: MNE-Python is not installed.
    """
    path = Path(path)
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputError(f"{path}: unknown EEG file type {path.suffix!r}: give an .edf, .bdf "
                         "or .fif recording (convert others with MNE-Python)")
    if not path.is_file():
        raise InputError(f"{path} does not exist: check the path")
    mne = _mne()
    reader = {"EDF": mne.io.read_raw_edf, "BDF": mne.io.read_raw_bdf,
              "FIF": mne.io.read_raw_fif}[kind]
    try:
        raw = reader(path, preload=True, verbose="error")
    except Exception as exc:  # noqa: BLE001 - MNE raises many kinds for a broken file
        raise InputError(f"{path}: not a readable {kind} file ({type(exc).__name__}: {exc}); "
                         f"check that it is a complete {kind} recording (open it with "
                         "MNE-Python or EDFbrowser)") from None
    if not _eeg_names(raw):
        raise InputError(f"{path} has no EEG channel (channel types: "
                         f"{', '.join(sorted(set(raw.get_channel_types())))}): "
                         "mark the EEG channels' type when writing the file")
    return raw


def _eeg_names(raw: Any) -> list[str]:
    return [n for n, t in zip(raw.ch_names, raw.get_channel_types(), strict=True) if t == "eeg"]


def _stim_events(raw: Any) -> Any:
    """Events ``(n, 3)`` from the stim channel(s), or ``None`` when there is none."""
    mne = _mne()
    if "stim" not in raw.get_channel_types():
        return None
    return mne.find_events(raw, shortest_event=1, initial_event=True, verbose="error")


def _onsets(raw: Any) -> dict[str, list[float]]:
    """Event name -> onset times in seconds from the start of the data: annotation
    descriptions, and stim-channel codes as their decimal text."""
    # annotation onsets count from the measurement start when it is known (orig_time), else
    # from the first sample; the data starts at first_samp
    offset = 0.0 if raw.annotations.orig_time is None else raw.first_samp / raw.info["sfreq"]
    out: dict[str, list[float]] = {}
    for onset, desc in zip(raw.annotations.onset, raw.annotations.description, strict=True):
        out.setdefault(str(desc), []).append(float(onset) - offset)
    events = _stim_events(raw)
    if events is not None:
        for sample, _, code in events:
            out.setdefault(str(int(code)), []).append((int(sample) - raw.first_samp)
                                                      / raw.info["sfreq"])
    return {k: sorted(v) for k, v in out.items()}


def eeg_info(path: str | Path) -> dict[str, Any]:
    """Describe a recording: channels, rate, duration, and its events with counts.

    Returns:
        ``{"file", "channels" (all names), "eeg_channels", "sfreq" (Hz), "duration" (s),
        "events" ({annotation description or stim code: count})}``.

    Raises:
        InputError, MissingResourceError: as :func:`read_raw`.
    """
    raw = read_raw(path)
    return {
        "file": str(path),
        "channels": list(raw.ch_names),
        "eeg_channels": _eeg_names(raw),
        "sfreq": float(raw.info["sfreq"]),
        "duration": raw.n_times / float(raw.info["sfreq"]),
        "events": {k: len(v) for k, v in _onsets(raw).items()},
    }


# --- the manifest -------------------------------------------------------------------------
def read_manifest(path: str | Path) -> list[ManifestRow]:
    """Read a manifest: CSV, or TSV when the suffix is ``.tsv``; a header line names the
    columns subject, scene, exposure, file, event (and optionally occurrence).

    ``file`` is relative to the manifest's folder (or absolute); ``exposure`` is one of
    :data:`EXPOSURES`; ``event`` is an annotation description or an integer stim code.

    Raises:
        InputError: naming the line and column: missing columns, empty cells, an unknown
            exposure class, a bad occurrence, a file that does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"manifest {path} does not exist: check the path")
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    rows = []
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f, delimiter=delimiter)
        header = [c.strip() for c in (reader.fieldnames or [])]
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise InputError(f"{path} line 1: missing column(s) {', '.join(missing)} (header "
                             f"has {', '.join(header) or 'nothing'}); the columns are "
                             f"{', '.join(COLUMNS)}, separated by "
                             f"{'tabs' if delimiter == chr(9) else 'commas'}")
        reader.fieldnames = header
        for record in reader:
            line = reader.line_num
            cell = {k: (v or "").strip() for k, v in record.items() if k is not None}
            if not any(cell.values()):
                continue
            for c in COLUMNS:
                if not cell.get(c):
                    raise InputError(f"{path} line {line}: column {c!r} is empty")
            if cell["exposure"] not in EXPOSURES:
                raise InputError(f"{path} line {line}: column 'exposure' is "
                                 f"{cell['exposure']!r}: use one of {', '.join(EXPOSURES)}")
            occurrence = None
            if cell.get("occurrence"):
                try:
                    occurrence = int(cell["occurrence"])
                except ValueError:
                    occurrence = 0
                if occurrence < 1:
                    raise InputError(f"{path} line {line}: column 'occurrence' is "
                                     f"{cell['occurrence']!r}: give a whole number from 1")
            file = path.parent / cell["file"]
            if not file.is_file():
                raise InputError(f"{path} line {line}: column 'file': {file} does not exist "
                                 "(paths are relative to the manifest's folder)")
            rows.append(ManifestRow(cell["subject"], cell["scene"], cell["exposure"], file,
                                    cell["event"], occurrence, line))
    if not rows:
        raise InputError(f"{path} lists no stimuli: add one row per stimulus under the header")
    return rows


# --- epochs -------------------------------------------------------------------------------
def _prepare(raw: Any, path: Path, config: EpochConfig, names: tuple[str, ...]) -> Any:
    """Pick ``names``, notch, band-pass, re-reference, resample (MNE, in place on a copy)."""
    import numpy as np

    raw = raw.copy().pick(list(names))
    rate = float(raw.info["sfreq"])
    nyquist = rate / 2
    if rate < config.sfreq:
        raise InputError(f"{path}: recorded at {rate:g} Hz, below EpochConfig.sfreq "
                         f"({config.sfreq:g} Hz): resampling up would invent samples; give "
                         f"an sfreq of at most {rate:g} Hz (and an h_freq below half of it)")
    # (EpochConfig keeps h_freq below sfreq / 2, so the band-pass fits every accepted file)
    if config.notch is not None:
        freqs = np.arange(config.notch, nyquist, config.notch)
        if freqs.size:
            raw.notch_filter(freqs, picks="all", verbose="error")
    if config.l_freq is not None or config.h_freq is not None:
        raw.filter(config.l_freq, config.h_freq, picks="all", verbose="error")
    if config.reference is not None:
        ref = "average" if config.reference == "average" else list(config.reference)
        raw.set_eeg_reference(ref, projection=False, verbose="error")
    if raw.info["sfreq"] != config.sfreq:
        raw.resample(config.sfreq, verbose="error")
    return raw


def _channels_of(raw: Any, path: Path, config: EpochConfig,
                 first: tuple[str, ...] | None) -> tuple[str, ...]:
    """The channels to use from this file, checking that it has them."""
    eeg = _eeg_names(raw)
    wanted = config.channels if config.channels is not None else first
    if wanted is None:
        return tuple(eeg)
    missing = [c for c in wanted if c not in raw.ch_names]
    if missing:
        why = "config.channels" if config.channels is not None else "the first file"
        raise InputError(f"{path} lacks channel(s) {', '.join(missing)} that {why} has "
                         f"(it has {', '.join(raw.ch_names)}): give EpochConfig(channels=...) "
                         "the channels every file has")
    if config.channels is None:
        extra = [c for c in eeg if c not in wanted]
        if extra:
            raise InputError(f"{path} has EEG channel(s) {', '.join(extra)} that the first file "
                             "lacks: give EpochConfig(channels=...) the channels every file has")
    return tuple(wanted)


def _onset(onsets: dict[str, list[float]], row: ManifestRow) -> float:
    times = onsets.get(row.event)
    if not times:
        found = ", ".join(f"{k} ({len(v)}x)" for k, v in sorted(onsets.items())) or "none"
        raise InputError(f"manifest line {row.line}: event {row.event!r} is not in "
                         f"{row.file.name}; its events are: {found}")
    if row.occurrence is None:
        if len(times) > 1:
            raise InputError(f"manifest line {row.line}: event {row.event!r} occurs "
                             f"{len(times)} times in {row.file.name} (at "
                             + ", ".join(f"{t:.3f} s" for t in times[:5])
                             + "): add an 'occurrence' column (1-based) saying which")
        return times[0]
    if row.occurrence > len(times):
        raise InputError(f"manifest line {row.line}: occurrence {row.occurrence} of event "
                         f"{row.event!r}, but {row.file.name} has it {len(times)} time(s)")
    return times[row.occurrence - 1]


def load_epochs(manifest_path: str | Path, config: EpochConfig | None = None) -> EpochSet:
    """One preprocessed epoch per manifest row (docs/eeg.md).

    Each file is read and preprocessed once: EEG channels picked, notch (mains and
    harmonics), band-pass, reference, resampling to ``config.sfreq`` (so files recorded at
    different rates agree). Each row's epoch is cut at its event's onset from
    ``config.start``, baseline-corrected, cropped to ``[tmin, tmax)`` and, with
    ``standardize``, z-scored per channel.

    Returns:
        :class:`EpochSet` with ``data`` ``(len(rows), n_channels,
        round((tmax - tmin) * sfreq))`` float32.

    Raises:
        InputError: a bad manifest or file, an event the file does not have (listing those it
            has), channels missing from a file (named), an epoch reaching past the recording.
        MissingResourceError: MNE-Python is not installed.
    """
    import numpy as np

    config = config or EpochConfig()
    _mne()
    rows = read_manifest(manifest_path)
    sfreq = config.sfreq
    n_times = int(round((config.tmax - config.tmin) * sfreq))
    offset = int(round((config.tmin - config.start) * sfreq))  # crop start within the cut
    n_cut = int(round((config.stop - config.start) * sfreq))
    if config.baseline is not None:
        b0 = int(round((config.baseline[0] - config.start) * sfreq))
        b1 = max(b0 + 1, int(round((config.baseline[1] - config.start) * sfreq)))
    names: tuple[str, ...] | None = None
    cache: dict[Path, tuple[Any, dict[str, list[float]]]] = {}
    epochs = []
    for row in rows:
        key = row.file.resolve()
        if key not in cache:
            raw = read_raw(row.file)
            names = _channels_of(raw, row.file, config, names)
            onsets = _onsets(raw)  # before resampling: stim codes are found at full rate
            cache[key] = (_prepare(raw, row.file, config, names).get_data(), onsets)
        data, onsets = cache[key]
        t = _onset(onsets, row)
        start = int(round((t + config.start) * sfreq))
        if start < 0 or start + n_cut > data.shape[1]:
            raise InputError(f"manifest line {row.line}: the epoch of event {row.event!r} at "
                             f"{t:.3f} s ({config.start:+g} to {config.stop:+g} s) reaches "
                             f"past {row.file.name} (0 to {data.shape[1] / sfreq:.3f} s): "
                             "shorten EpochConfig's window or drop the row")
        cut = data[:, start:start + n_cut].astype(np.float64)
        if config.baseline is not None:
            cut -= cut[:, b0:b1].mean(axis=1, keepdims=True)
        epoch = cut[:, offset:offset + n_times]
        if config.standardize:
            epoch = epoch - epoch.mean(axis=1, keepdims=True)
            std = epoch.std(axis=1, keepdims=True)
            epoch = epoch / np.where(std > 0, std, 1.0)
        epochs.append(epoch.astype(np.float32))
    out = np.stack(epochs)
    return EpochSet(out, tuple(names or ()), float(sfreq), rows)
