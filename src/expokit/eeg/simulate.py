"""Simulated, clearly SYNTHETIC EEG for HC-MEF's teacher (issue 12; docs/eeg.md).

One recording per subject (64 channels, BioSemi 64 layout of the 10-20 system) written as FIF
or EDF with a manifest in :func:`expokit.eeg.load_epochs`'s format, so the real reader runs on
it. What the EEG carries is a handful of perceptual numbers per image
(:func:`image_features`): the under- and over-exposed fractions of each visual hemifield,
the mean luma and the luma contrast. Nothing else of the image reaches the EEG.

The sensors see fixed current dipoles through MNE's offline three-layer sphere head model
(``mne.make_sphere_model`` + ``mne.make_forward_solution`` on a discrete source space): no
template head, nothing downloaded. MNE is imported inside the functions.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..errors import InputError, MissingResourceError
from ..io import atomic_path
from .epochs import EXPOSURES, INSTALL, _mne

#: What every simulated recording says about itself (FIF description, EDF equipment code).
LABEL = "SYNTHETIC EEG (expokit.eeg.simulate)"
EDF_LABEL = "SYNTHETIC_EEG_expokit.eeg.simulate"  # EDF header subfields have no spaces
MONTAGE = "biosemi64"
IMAGE_S, BLANK_S, LEAD_S = 1.0, 0.5, 2.0  # Cog-Expo: 1 s image + 0.5 s blank; 2 s lead-in
DARK, BRIGHT = 0.1, 0.9  # luma thresholds of the under- / over-exposed fractions

#: The sources, in the sphere's frame relative to its centre (m), their orientation, and
#: which component each carries: (name, position, orientation).
SOURCES = (
    ("occ_left", (-0.025, -0.065, 0.0), (0.0, -0.4, 1.0)),      # early visual, left V1
    ("occ_right", (0.025, -0.065, 0.0), (0.0, -0.4, 1.0)),      # early visual, right V1
    ("occpar_right", (0.035, -0.055, 0.025), (0.3, -0.3, 1.0)),  # extremeness, first
    ("occpar_left", (-0.035, -0.055, 0.025), (-0.3, -0.3, 1.0)),
    ("parietal", (0.0, -0.035, 0.05), (0.0, -0.2, 1.0)),         # P300-like, later
    ("frontal", (0.0, 0.03, 0.045), (0.0, 0.3, 1.0)),            # latest: spreading forward
)
#: Generative parameters (docs/eeg.md): amplitudes in A*m, times in s, noise in V.
PARAMS = {
    "early_nAm": 40.0, "early_latency": 0.100, "early_width": 0.020,
    "early_dim_delay": 0.030,  # extra P1 latency for a black image (dim stimuli are slower)
    "p3_nAm": 60.0, "p3_latency": 0.260, "p3_width": 0.060,
    "p3_steps": (0.0, 0.030, 0.080, 0.130),  # right occ-par, left occ-par, parietal, frontal
    "p3_weights": (1.3, 0.8, 1.0, 0.7),
    "subject_scale_sd": 0.2, "subject_latency_sd": 0.012, "subject_jitter_m": 0.004,
    "pink_uV": 6.0, "alpha_uV": 5.0, "blink_uV": 120.0, "blink_rate": 0.2,
    "emg_uV": 8.0, "emg_rate": 0.05, "line_uV": 4.0,
}


def image_features(image: Any) -> dict[str, float]:
    """The perceptual numbers the simulated EEG carries for one image.

    Args:
        image: ``(H, W, 3)`` RGB, uint8 (0-255) or float (0-1).

    Returns:
        ``{"under_left", "under_right", "over_left", "over_right"}``: the fraction of pixels
        with luma (Rec. 709 weights) below :data:`DARK` / above :data:`BRIGHT` in the left
        and right half of the image (the viewer's left and right visual hemifield), plus
        ``"luma"`` (mean) and ``"contrast"`` (standard deviation of luma).
    """
    import numpy as np

    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or min(img.shape[:2]) < 2:
        raise InputError(f"image of shape {img.shape}: give an (H, W, 3) RGB image at least "
                         "2 pixels wide and high")
    x = img.astype(np.float64) / 255.0 if img.dtype == np.uint8 else img.astype(np.float64)
    luma = np.clip(x @ np.array([0.2126, 0.7152, 0.0722]), 0.0, 1.0)
    half = luma.shape[1] // 2
    left, right = luma[:, :half], luma[:, luma.shape[1] - half:]
    return {
        "under_left": float((left < DARK).mean()), "under_right": float((right < DARK).mean()),
        "over_left": float((left > BRIGHT).mean()), "over_right": float((right > BRIGHT).mean()),
        "luma": float(luma.mean()), "contrast": float(luma.std()),
    }


def _info(sfreq: float) -> Any:
    mne = _mne()
    montage = mne.channels.make_standard_montage(MONTAGE)
    info = mne.create_info(montage.ch_names, sfreq, "eeg")
    info.set_montage(montage)
    return info


def _gain(info: Any, rng: Any) -> Any:
    """``(64, n_sources)`` V per A*m for this subject's jittered dipoles (sphere model)."""
    import numpy as np

    mne = _mne()
    sphere = mne.make_sphere_model("auto", "auto", info, verbose="error")
    centre = np.asarray(sphere["r0"])
    pos = np.array([s[1] for s in SOURCES]) + centre
    pos = pos + rng.normal(0.0, PARAMS["subject_jitter_m"], pos.shape)
    ori = np.array([s[2] for s in SOURCES]) + rng.normal(0.0, 0.1, pos.shape)
    ori /= np.linalg.norm(ori, axis=1, keepdims=True)
    src = mne.setup_volume_source_space(pos={"rr": pos, "nn": ori}, sphere=sphere,
                                        verbose="error")
    if src[0]["nuse"] != len(SOURCES):
        raise RuntimeError("a simulated dipole fell outside the sphere model")  # our bug
    fwd = mne.make_forward_solution(info, None, src, sphere, meg=False, eeg=True,
                                    verbose="error")
    fwd = mne.convert_forward_solution(fwd, force_fixed=True, use_cps=False, verbose="error")
    return fwd["sol"]["data"]


def _sources(feat: dict[str, float], subj: dict[str, float], t: Any) -> Any:
    """``(n_sources, len(t))`` dipole moments (A*m) of one stimulus, ``t`` from its onset."""
    import numpy as np

    p = PARAMS
    scale, shift = subj["scale"], subj["shift"]
    out = np.zeros((len(SOURCES), t.size))

    def bump(latency: float, width: float) -> Any:
        return np.exp(-0.5 * ((t - latency - shift) / width) ** 2)

    # early visual (P1-like): contralateral hemifield luma and contrast; dim images are slower
    early_lat = p["early_latency"] + p["early_dim_delay"] * (1.0 - feat["luma"])
    drive = 0.3 + feat["luma"] + 2.0 * feat["contrast"]
    for k in (0, 1):
        out[k] = p["early_nAm"] * 1e-9 * scale * drive * bump(early_lat, p["early_width"])
    # extremeness (P300-like): clipped fraction per hemifield, right occipital first
    ext_l = feat["under_left"] + feat["over_left"]  # left hemifield -> right hemisphere
    ext_r = feat["under_right"] + feat["over_right"]
    drives = (0.7 * ext_l + 0.3 * ext_r, 0.7 * ext_r + 0.3 * ext_l,
              0.5 * (ext_l + ext_r), 0.5 * (ext_l + ext_r))
    for k, (step, w, d) in enumerate(zip(p["p3_steps"], p["p3_weights"], drives,
                                         strict=True)):
        out[2 + k] = (p["p3_nAm"] * 1e-9 * scale * w * d
                      * bump(p["p3_latency"] + step, p["p3_width"]))
    return out


def _pink(rng: Any, n_ch: int, n: int, sfreq: float) -> Any:
    """Unit-RMS 1/f noise per channel (amplitude ~ f^-1/2), 0.5 Hz and up."""
    import numpy as np

    freqs = np.fft.rfftfreq(n, 1.0 / sfreq)
    shape = np.where(freqs >= 0.5, 1.0 / np.sqrt(np.maximum(freqs, 0.5)), 0.0)
    spec = (rng.normal(size=(n_ch, freqs.size)) + 1j * rng.normal(size=(n_ch, freqs.size)))
    x = np.fft.irfft(spec * shape, n=n, axis=1)
    return x / x.std(axis=1, keepdims=True)


def _noise(rng: Any, names: list[str], pos: Any, n: int, sfreq: float) -> Any:
    """Background and artefacts (V): pink noise, posterior alpha, blinks, EMG, mains."""
    import numpy as np

    p = PARAMS
    t = np.arange(n) / sfreq
    data = p["pink_uV"] * 1e-6 * _pink(rng, len(names), n, sfreq)
    # alpha: 10 Hz (subject's peak 9-11 Hz), slowly waxing and waning, strongest posteriorly
    posterior = np.clip(-pos[:, 1] / np.abs(pos[:, 1]).max(), 0.0, 1.0) ** 1.5
    envelope = 0.5 + 0.5 * np.abs(_pink(rng, 1, n, sfreq)[0])
    peak = rng.uniform(9.0, 11.0)
    alpha = np.sin(2 * np.pi * peak * t + rng.uniform(0, 2 * np.pi)) * envelope
    data += p["alpha_uV"] * 1e-6 * (0.2 + posterior[:, None]) * alpha[None]
    # blinks: 300 ms, frontal-polar first, falling off backwards
    frontal = np.clip(pos[:, 1] / pos[:, 1].max(), 0.0, 1.0) ** 3
    for onset in rng.uniform(0, t[-1], rng.poisson(p["blink_rate"] * t[-1])):
        shape = np.exp(-0.5 * ((t - onset) / 0.06) ** 2)
        data += p["blink_uV"] * 1e-6 * frontal[:, None] * shape[None]
    # EMG: 0.5 s bursts of high-frequency noise on the temporal channels
    temporal = [i for i, c in enumerate(names) if c in ("T7", "T8", "FT7", "FT8", "TP7", "TP8")]
    hf = np.diff(rng.normal(size=(len(temporal), n + 1)), axis=1)  # white, tilted up
    for onset in rng.uniform(0, t[-1], rng.poisson(p["emg_rate"] * t[-1])):
        on = (t >= onset) & (t < onset + 0.5)
        data[np.ix_(temporal, on)] += p["emg_uV"] * 1e-6 * hf[:, on]
    if sfreq > 100.0:
        data += p["line_uV"] * 1e-6 * np.sin(2 * np.pi * 50.0 * t + rng.uniform(0, 2 * np.pi))
    return data


def simulate_session(images: list[tuple[str, str, Any]], subject: int, out_dir: str | Path,
                     *, fmt: str = "fif", sfreq: float = 1000.0, seed: int = 0) -> Path:
    """Write one subject's simulated recording and its manifest (docs/eeg.md).

    The images are shown in the given order: 2 s lead-in, then each image 1 s followed by
    0.5 s blank, then 1 s; each onset is an annotation named by its exposure class, and the
    manifest's ``occurrence`` column says which one a row is.

    Args:
        images: ``(scene, exposure class, RGB image)`` per stimulus; the class is one of
            under/over/normal, the image as :func:`image_features` takes it.
        subject: the subject number; with ``seed`` it fixes this subject's variability
            (amplitude scale, latency shift, dipole jitter) and noise.
        out_dir: where ``sub-NN_raw.fif`` (or ``sub-NN.edf``) and ``sub-NN_manifest.csv`` go.
        fmt: ``"fif"`` or ``"edf"``.
        sfreq: sampling rate in Hz (Cog-Expo: 1000; at least 100).
        seed: the same seed, subject and images give the same data.

    Returns:
        The manifest's path.

    Raises:
        InputError: no images, an unknown class or format, a bad image, a rate below 100 Hz.
        MissingResourceError: MNE-Python (or, for EDF, edfio) is not installed.
    """
    import numpy as np

    if fmt not in ("fif", "edf"):
        raise InputError(f"fmt {fmt!r}: use 'fif' or 'edf'")
    if not images:
        raise InputError("images is empty: give (scene, exposure, image) per stimulus")
    if not sfreq >= 100.0:
        raise InputError(f"sfreq {sfreq} Hz: give at least 100 Hz (the EMG and 40 Hz band "
                         "need it)")
    for i, (_, exposure, _) in enumerate(images):
        if exposure not in EXPOSURES:
            raise InputError(f"images[{i}]: exposure {exposure!r}: use one of "
                             f"{', '.join(EXPOSURES)}")
    feats = [image_features(img) for _, _, img in images]
    mne = _mne()
    rng = np.random.default_rng([seed, subject])
    info = _info(sfreq)
    names = list(info.ch_names)
    pos = np.array([ch["loc"][:3] for ch in info["chs"]])
    subj = {"scale": float(np.exp(rng.normal(0.0, PARAMS["subject_scale_sd"]))),
            "shift": float(rng.normal(0.0, PARAMS["subject_latency_sd"]))}
    gain = _gain(info, rng)
    step = IMAGE_S + BLANK_S
    n = int(round((LEAD_S + step * len(images) + 1.0) * sfreq))
    data = _noise(rng, names, pos - pos.mean(axis=0), n, sfreq)
    t_ep = np.arange(int(round(step * sfreq))) / sfreq
    onsets = [LEAD_S + i * step for i in range(len(images))]
    for onset, feat in zip(onsets, feats, strict=True):
        start = int(round(onset * sfreq))
        data[:, start:start + t_ep.size] += gain @ _sources(feat, subj, t_ep)
    raw = mne.io.RawArray(data, info, verbose="error")
    raw.set_annotations(mne.Annotations(onsets, [IMAGE_S] * len(images),
                                        [e for _, e, _ in images]))
    raw.info["description"] = LABEL
    raw.info["device_info"] = {"type": EDF_LABEL}

    out = Path(out_dir)
    stem = f"sub-{subject:02d}"
    name = f"{stem}_raw.fif" if fmt == "fif" else f"{stem}.edf"
    with atomic_path(out / name) as tmp, tempfile.TemporaryDirectory() as scratch:
        part = Path(scratch) / name  # MNE insists on the suffix; atomic_path's is .tmp
        if fmt == "fif":
            raw.save(part, verbose="error")
        else:
            try:
                mne.export.export_raw(part, raw, fmt="edf", verbose="error")
            except ImportError as exc:
                raise MissingResourceError(f"writing EDF needs edfio ({exc}): {INSTALL}"
                                           ) from None
        shutil.copyfile(part, tmp)
    seen: dict[str, int] = {}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["subject", "scene", "exposure", "file", "event", "occurrence"])
    for scene, exposure, _ in images:
        seen[exposure] = seen.get(exposure, 0) + 1
        writer.writerow([stem, scene, exposure, name, exposure, seen[exposure]])
    manifest = out / f"{stem}_manifest.csv"
    with atomic_path(manifest) as tmp:
        tmp.write_text(buf.getvalue(), encoding="utf-8")
    return manifest
