"""expokit.eeg: epochs per stimulus from a synthetic recording with known content.

The recording: 8 EEG channels (10-20 names), 1000 Hz, 12 s of 1 uV noise, stimuli every 1.5 s
(1 s image + 0.5 s blank, as in Cog-Expo) labelled under/over/normal, and a 20 uV 10 Hz sine on
channel O1 during each "over" image only. So the "over" epochs of O1 must peak at 10 Hz and
the others must not (a physically known answer, not our own output).
"""

from __future__ import annotations

import numpy as np
import pytest

mne = pytest.importorskip("mne", reason="the EEG data path needs the extra eeg (MNE-Python)")

from conftest import run_cli  # noqa: E402

from expokit.eeg import EpochConfig, eeg_info, load_epochs, read_manifest, read_raw  # noqa: E402
from expokit.errors import InputError  # noqa: E402

NAMES = ["Fp1", "Fp2", "C3", "C4", "P3", "P4", "O1", "O2"]
SFREQ = 1000.0
ONSETS = [2.0, 3.5, 5.0, 6.5, 8.0, 9.5]
CLASSES = ["under", "over", "normal", "under", "over", "normal"]
SINE_CH = NAMES.index("O1")


def make_raw(*, mains: float = 0.0, names: list[str] = NAMES) -> mne.io.RawArray:
    rng = np.random.default_rng(0)
    t = np.arange(int(12 * SFREQ)) / SFREQ
    data = rng.normal(0, 1e-6, (len(names), t.size))
    for onset, cls in zip(ONSETS, CLASSES, strict=True):
        if cls == "over":
            on = (t >= onset) & (t < onset + 1.0)
            data[SINE_CH, on] += 20e-6 * np.sin(2 * np.pi * 10 * (t[on] - onset))
    data[SINE_CH] += mains * np.sin(2 * np.pi * 50 * t)
    raw = mne.io.RawArray(data, mne.create_info(names, SFREQ, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations(ONSETS, [0.0] * 6, CLASSES))
    return raw


def write_manifest(folder, file, rows=None, header="subject,scene,exposure,file,event,occurrence"):
    if rows is None:
        seen: dict[str, int] = {}
        rows = []
        for cls in CLASSES:
            seen[cls] = seen.get(cls, 0) + 1
            rows.append(f"s01,scene{seen[cls]},{cls},{file},{cls},{seen[cls]}")
    path = folder / "manifest.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


@pytest.fixture(scope="module")
def fif(tmp_path_factory):
    path = tmp_path_factory.mktemp("eeg") / "s01_raw.fif"
    make_raw().save(path, verbose="error")
    return path


def power_at(epoch: np.ndarray, sfreq: float, hz: float) -> float:
    spec = np.abs(np.fft.rfft(epoch)) ** 2
    freqs = np.fft.rfftfreq(epoch.size, 1 / sfreq)
    return float(spec[np.argmin(np.abs(freqs - hz))] / spec[1:].sum())


def test_epochs_shape_and_10hz_only_after_over(fif):
    eps = load_epochs(write_manifest(fif.parent, fif.name))
    assert eps.data.shape == (6, 8, 250) and eps.data.dtype == np.float32
    assert eps.channels == tuple(NAMES) and eps.sfreq == 250.0
    assert [r.exposure for r in eps.rows] == CLASSES
    for row, epoch in zip(eps.rows, eps.data, strict=True):
        o1 = epoch[SINE_CH]
        freqs = np.fft.rfftfreq(o1.size, 1 / 250.0)
        peak = freqs[np.argmax(np.abs(np.fft.rfft(o1))[1:]) + 1]
        if row.exposure == "over":  # 1 Hz bins: the sine is bin 10, most of the power
            assert peak == pytest.approx(10.0) and power_at(o1, 250.0, 10.0) > 0.5
        else:  # noise spread over 0.5-40 Hz: no bin holds a large share
            assert power_at(o1, 250.0, 10.0) < 0.15


def test_standardised_per_channel(fif):
    eps = load_epochs(write_manifest(fif.parent, fif.name))
    np.testing.assert_allclose(eps.data.mean(axis=2), 0.0, atol=1e-5)
    np.testing.assert_allclose(eps.data.std(axis=2), 1.0, rtol=1e-4)


def test_notch_removes_50hz(tmp_path):
    path = tmp_path / "mains_raw.fif"
    make_raw(mains=50e-6).save(path, verbose="error")
    manifest = write_manifest(tmp_path, path.name)
    plain = dict(l_freq=None, h_freq=None, reference=None, standardize=False)
    off = load_epochs(manifest, EpochConfig(notch=None, **plain)).data[:, SINE_CH]
    on = load_epochs(manifest, EpochConfig(notch=50.0, **plain)).data[:, SINE_CH]

    def p50(x):
        return (np.abs(np.fft.rfft(x, axis=-1)) ** 2)[:, 50].mean()  # 1 Hz bins

    assert 10 * np.log10(p50(off) / p50(on)) > 20


def test_edf_gives_the_same_peaks(tmp_path):
    path = tmp_path / "s01.edf"
    mne.export.export_raw(path, make_raw(), fmt="edf", verbose="error")
    eps = load_epochs(write_manifest(tmp_path, path.name))
    assert eps.data.shape == (6, 8, 250)
    over = [power_at(e[SINE_CH], 250.0, 10.0) for r, e in zip(eps.rows, eps.data, strict=True)
            if r.exposure == "over"]
    assert min(over) > 0.5
    info = eeg_info(path)
    assert info["sfreq"] == SFREQ and info["events"] == {"under": 2, "over": 2, "normal": 2}


def test_missing_event_lists_the_files_events(fif):
    manifest = write_manifest(fif.parent, fif.name, rows=[f"s01,a,over,{fif.name},flash,"])
    with pytest.raises(InputError, match=r"line 2: event 'flash' is not in .*normal \(2x\), "
                                         r"over \(2x\), under \(2x\)"):
        load_epochs(manifest)


def test_ambiguous_event_asks_for_occurrence(fif):
    manifest = write_manifest(fif.parent, fif.name, rows=[f"s01,a,over,{fif.name},over,"])
    with pytest.raises(InputError, match="occurs 2 times.*occurrence"):
        load_epochs(manifest)


def test_missing_channel_is_named(tmp_path, fif):
    other = tmp_path / "s02_raw.fif"
    make_raw(names=[*NAMES[:-1], "Oz"]).save(other, verbose="error")
    (tmp_path / fif.name).write_bytes(fif.read_bytes())
    rows = [f"s01,a,over,{fif.name},over,1", f"s02,a,over,{other.name},over,1"]
    with pytest.raises(InputError, match=r"s02_raw.fif lacks channel\(s\) O2"):
        load_epochs(write_manifest(tmp_path, fif.name, rows=rows))
    with pytest.raises(InputError, match=r"lacks channel\(s\) Cz"):
        load_epochs(write_manifest(tmp_path, fif.name, rows=rows[:1]),
                    EpochConfig(channels=("O1", "Cz")))


def test_manifest_errors(tmp_path, fif):
    (tmp_path / fif.name).write_bytes(fif.read_bytes())
    bad = write_manifest(tmp_path, fif.name, rows=[f"s01,a,over,{fif.name},over,1",
                                                   f"s01,b,bright,{fif.name},over,2"])
    with pytest.raises(InputError, match="line 3: column 'exposure' is 'bright'"):
        read_manifest(bad)
    gone = write_manifest(tmp_path, fif.name, rows=["s01,a,over,nothere.fif,over,1"])
    with pytest.raises(InputError, match="line 2: column 'file'.*nothere.fif does not exist"):
        read_manifest(gone)
    short = write_manifest(tmp_path, fif.name, rows=[], header="subject,scene,file")
    with pytest.raises(InputError, match="line 1: missing column.*exposure, event"):
        read_manifest(short)


def test_bad_files(tmp_path):
    (tmp_path / "x.set").write_text("eeglab")
    with pytest.raises(InputError, match=r"unknown EEG file type '.set'"):
        read_raw(tmp_path / "x.set")
    (tmp_path / "broken.edf").write_bytes(b"not an edf file at all")
    with pytest.raises(InputError, match="broken.edf: not a readable EDF file"):
        read_raw(tmp_path / "broken.edf")


def test_cli_eeg_info(fif, tmp_path):
    r = run_cli("eeg", "info", fif)
    assert r.returncode == 0, r.stderr
    assert "channels: 8 (8 EEG): Fp1, Fp2" in r.stdout and "rate: 1000 Hz" in r.stdout
    assert "duration: 12.000 s" in r.stdout
    for cls in ("under", "over", "normal"):
        assert f"  {cls}: 2" in r.stdout
    (tmp_path / "x.txt").write_text("")
    bad = run_cli("eeg", "info", tmp_path / "x.txt")
    assert bad.returncode == 2 and bad.stderr.startswith("error:") and "Traceback" not in bad.stderr


def test_stim_channel_code(tmp_path):
    """An integer event is a stim-channel code; its onset is found at the recording's rate."""
    raw = make_raw()
    stim = np.zeros((1, raw.n_times))
    stim[0, int(ONSETS[1] * SFREQ):int(ONSETS[1] * SFREQ) + 10] = 11  # the first "over"
    raw.add_channels([mne.io.RawArray(stim, mne.create_info(["STI 014"], SFREQ, "stim"),
                                      verbose="error")], force_update_info=True)
    path = tmp_path / "stim_raw.fif"
    raw.save(path, verbose="error")
    assert eeg_info(path)["events"]["11"] == 1
    eps = load_epochs(write_manifest(tmp_path, path.name, rows=[f"s01,a,over,{path.name},11,"]))
    assert eps.data.shape == (1, 8, 250) and "STI 014" not in eps.channels
    assert power_at(eps.data[0, SINE_CH], 250.0, 10.0) > 0.5


def test_files_at_different_rates_give_one_epoch_length(tmp_path):
    """A 1000 Hz and a 500 Hz recording of the same signal: same epoch length, same response."""
    make_raw().save(tmp_path / "fast_raw.fif", verbose="error")
    make_raw().resample(500.0, verbose="error").save(tmp_path / "slow_raw.fif", verbose="error")
    rows = []
    for subject, file in (("s01", "fast_raw.fif"), ("s02", "slow_raw.fif")):
        seen: dict[str, int] = {}
        for cls in CLASSES:
            seen[cls] = seen.get(cls, 0) + 1
            rows.append(f"{subject},scene{seen[cls]},{cls},{file},{cls},{seen[cls]}")
    eps = load_epochs(write_manifest(tmp_path, None, rows))
    assert eps.data.shape == (12, 8, 250)
    fast, slow = eps.data[:6, SINE_CH], eps.data[6:, SINE_CH]
    for k, cls in enumerate(CLASSES):
        if cls == "over":  # the 10 Hz response, sample for sample
            assert np.corrcoef(fast[k], slow[k])[0, 1] > 0.95


def test_a_rate_below_the_epoch_rate_is_a_clear_error(tmp_path):
    make_raw().resample(200.0, verbose="error").save(tmp_path / "low_raw.fif", verbose="error")
    with pytest.raises(InputError, match=r"low_raw.fif: recorded at 200 Hz, below "
                                         r"EpochConfig.sfreq \(250 Hz\)"):
        load_epochs(write_manifest(tmp_path, "low_raw.fif"))
    eps = load_epochs(write_manifest(tmp_path, "low_raw.fif"),
                      EpochConfig(sfreq=200.0, h_freq=40.0))
    assert eps.data.shape == (6, 8, 200)
