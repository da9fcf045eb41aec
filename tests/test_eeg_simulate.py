"""expokit.eeg.simulate: synthetic EEG that the real reader reads, decodable, not a copy.

Stimuli: 32x32 images per class, dark (under), bright (over) and textured mid-grey (normal).
Independent references: the class labels we chose; the luma fractions counted by hand; the
EDF header bytes; EDF's 16-bit quantisation step.
"""

from __future__ import annotations

import numpy as np
import pytest

mne = pytest.importorskip("mne", reason="the EEG data path needs the extra eeg (MNE-Python)")

from expokit.eeg import EpochConfig, load_epochs, read_raw  # noqa: E402
from expokit.eeg.simulate import image_features, simulate_session  # noqa: E402

CLASSES = ("under", "over", "normal")
SFREQ = 250.0


def make_images(seed: int, per_class: int) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(per_class):
        tex = rng.uniform(-1, 1, (32, 32, 1))
        for cls, base, amp in (("under", 0.04, 0.04), ("over", 0.96, 0.04),
                               ("normal", 0.5, 0.2)):
            img = np.clip(base + amp * tex + rng.uniform(-0.03, 0.03), 0, 1).repeat(3, 2)
            out.append((f"scene{i}", cls, img))
    rng.shuffle(out)
    return out


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sim")
    images = make_images(1, 20)
    cfg = EpochConfig(standardize=False)
    return [load_epochs(simulate_session(images, s, folder, sfreq=SFREQ, seed=3), cfg)
            for s in range(1, 5)]


def roi_features(eps) -> tuple[np.ndarray, np.ndarray]:
    """Mean amplitude per (time window, region): occipital, parietal, frontal."""
    ch = eps.channels
    rois = [[ch.index(c) for c in r] for r in (("O1", "Oz", "O2", "PO3", "PO4", "POz"),
                                              ("Pz", "P3", "P4", "CPz"), ("Fz", "FCz", "AFz"))]
    wins = [(0.08, 0.14), (0.14, 0.2), (0.24, 0.32), (0.32, 0.42), (0.42, 0.55)]
    x = np.stack([eps.data[:, r, int(a * SFREQ):int(b * SFREQ)].mean((1, 2))
                  for a, b in wins for r in rois], 1)
    return x, np.array([r.exposure for r in eps.rows])


def test_image_features_hand_counted():
    img = np.full((4, 4, 3), 128, np.uint8)
    img[:, 0] = 0      # left half: 4 of 8 pixels black
    img[0, 3] = 255    # right half: 1 of 8 pixels white
    f = image_features(img)
    assert f["under_left"] == 0.5 and f["under_right"] == 0.0
    assert f["over_left"] == 0.0 and f["over_right"] == 0.125


def test_reader_reads_it_and_it_is_marked_synthetic(sessions, tmp_path):
    eps = sessions[0]
    assert eps.data.shape == (60, 64, 250) and len(eps.channels) == 64
    assert sorted({r.exposure for r in eps.rows}) == sorted(CLASSES)
    assert {r.occurrence for r in eps.rows if r.exposure == "over"} == set(range(1, 21))
    m = simulate_session(make_images(2, 2), 7, tmp_path, sfreq=SFREQ, seed=0)
    assert read_raw(tmp_path / "sub-07_raw.fif").info["description"].startswith("SYNTHETIC EEG")
    assert m.read_text().startswith("subject,scene,exposure,file,event,occurrence\n")
    # µV range: the raw signal is EEG-sized, not pixel-sized
    data = read_raw(tmp_path / "sub-07_raw.fif").get_data()
    assert 1e-6 < np.median(np.abs(data)) < 50e-6


def test_exposure_class_decodable_on_held_out_subjects(sessions):
    feats = [roi_features(e) for e in sessions]
    accs = []
    for held in range(4):
        x = np.concatenate([feats[i][0] for i in range(4) if i != held])
        y = np.concatenate([feats[i][1] for i in range(4) if i != held])
        mu, sd = x.mean(0), x.std(0)
        means = np.stack([((x - mu) / sd)[y == c].mean(0) for c in CLASSES])
        xt, yt = feats[held]
        d = ((((xt - mu) / sd)[:, None] - means[None]) ** 2).sum(2)
        accs.append((np.array(CLASSES)[d.argmin(1)] == yt).mean())
    assert np.mean(accs) > 0.6 and min(accs) > 0.5  # chance: 1/3


def test_same_features_give_identical_eeg_other_content_does_not(tmp_path):
    """Only the summary numbers reach the EEG: shuffling pixels within each half keeps them
    (and the recording, bit for bit); different content with other numbers changes it."""
    images = make_images(4, 2)
    rng = np.random.default_rng(9)
    shuffled = []
    for scene, cls, img in images:
        left, right = img[:, :16].reshape(-1, 3), img[:, 16:].reshape(-1, 3)
        img2 = np.concatenate([rng.permutation(left).reshape(32, 16, 3),
                               rng.permutation(right).reshape(32, 16, 3)], 1)
        assert not np.array_equal(img, img2)
        shuffled.append((scene, cls, img2))
    other = [(s, c, np.clip(img * 0.5 + 0.3, 0, 1)) for s, c, img in images]
    runs = []
    for name, imgs in (("a", images), ("b", shuffled), ("c", other), ("d", images)):
        simulate_session(imgs, 1, tmp_path / name, sfreq=SFREQ, seed=5)
        runs.append(read_raw(tmp_path / name / "sub-01_raw.fif").get_data())
    # the shuffle changes the order of the luma sums, so allow rounding, nothing more
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-9, atol=1e-15)
    np.testing.assert_array_equal(runs[0], runs[3])  # same seed: same data
    assert not np.allclose(runs[0], runs[2])


def test_edf_matches_fif_within_quantisation(tmp_path):
    images = make_images(5, 2)
    mf = simulate_session(images, 2, tmp_path, sfreq=SFREQ, seed=1)
    me = simulate_session(images, 2, tmp_path, fmt="edf", sfreq=SFREQ, seed=1)
    assert b"SYNTHETIC_EEG" in (tmp_path / "sub-02.edf").read_bytes()[:256]
    raw = read_raw(tmp_path / "sub-02_raw.fif").get_data()
    step = (raw.max(1) - raw.min(1)) / 65535  # 16-bit samples over each channel's range
    assert np.abs(read_raw(tmp_path / "sub-02.edf").get_data() - raw).max() <= 2 * step.max()
    cfg = EpochConfig(standardize=False)
    a, b = load_epochs(mf, cfg).data, load_epochs(me, cfg).data
    assert np.abs(a - b).max() < 0.01 * np.abs(a).max()
