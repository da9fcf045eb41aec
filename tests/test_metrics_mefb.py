"""MEFB's information, statistics and VIFF metrics (expokit.metrics.information, .features,
.perceptual, .mefb).

Reference values: hand-computed cases below, and the scores MEFB's MATLAB code stored in
``mefb/output/evaluation_metrics/evaluationMetrics.mat`` (about 5 significant digits), read
through ``column_mapping.json``. ``benchmarks/validate_mefb.py`` runs the same comparison on
all 336 fused images; here a handful of pairs keeps the test fast.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import need

from expokit.errors import InputError
from expokit.metrics import information
from expokit.metrics import mefb as mi
from expokit.metrics._matlab import edge_sobel
from expokit.metrics._mefb_data import (
    MEFB_METRIC_ORDER,
    iter_pairs,
    load_table,
    source_paths,
)

# MEFB name -> expokit function (12 of the 20)
OURS = {
    "CE": mi.ce,
    "EN": mi.en,
    "FMI": mi.fmi,
    "NMI": mi.nmi,
    "PSNR": mi.psnr_mefb,
    "QNCIE": mi.qncie,
    "TE": mi.te_mefb,
    "AG": mi.ag,
    "EI": mi.ei,
    "SD": mi.sd,
    "SF": mi.sf,
    "VIF": mi.viff,
}

# A handful of (scene, method) pairs: different scenes, sizes, file types and methods.
PAIRS = [
    ("Arno", "DEM"),
    ("Candle", "MEFNet"),
    ("ColorChecker", "GFF"),
    ("Tower", "U2Fusion"),
    ("sculpture", "SPD_MEF"),
]


def half_half(lo: int = 0, hi: int = 255, shape: tuple[int, int] = (8, 8)) -> np.ndarray:
    img = np.full(shape, lo, np.uint8)
    img[: shape[0] // 2] = hi
    return img


def noise(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape).astype(np.uint8)


# --------------------------------------------------------------------------------------------
# agreement with MEFB's stored MATLAB scores
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mefb(shared_data):
    root = need(shared_data, "mefb/output/evaluation_metrics/evaluationMetrics.mat").parents[2]
    need(root, "output/fused_images")
    table = load_table(root)
    from expokit.io import read_image

    wanted = {(s, m) for s, m in PAIRS}
    loaded = {}
    for p in iter_pairs(root, table, scenes={s for s, _ in PAIRS}):
        if (p.scene, p.method) in wanted:
            loaded[(p.scene, p.method)] = (
                read_image(p.fused_path),
                [read_image(s) for s in p.source_paths],
            )
    assert set(loaded) == wanted
    return table, loaded


@pytest.mark.parametrize("name", list(OURS))
def test_matches_mefb_matlab(mefb, name):
    table, loaded = mefb
    rel = []
    for (scene, method), (fused, sources) in loaded.items():
        ours = OURS[name](fused, sources)
        matlab = table.score(scene, method, name)
        rel.append(abs(ours - matlab) / abs(matlab))
    # MATLAB stored ~5 significant digits: agreement shows as ~1e-5 relative error.
    assert np.median(rel) <= 1e-4, (name, rel)
    assert max(rel) <= 2e-4, (name, rel)


def test_mefb_reader(shared_data):
    root = need(shared_data, "mefb/output/evaluation_metrics/evaluationMetrics.mat").parents[2]
    table = load_table(root)
    assert table.values.shape == (100, 21, 20)
    assert len(table.images) == 100 and table.images[0] == "building"
    assert ("Preschool", "DEM") in table.excluded
    assert ("Preschool", "U2Fusion") not in table.excluded
    pairs = list(iter_pairs(root, table))
    assert len(pairs) == 16 * 21  # every fused file found, case and extension ignored
    assert all(len(p.source_paths) == 2 for p in pairs)
    arch = source_paths(root, "ArchSequence")  # its ev.txt is not a source
    assert [p.suffix for p in arch] == [".jpg", ".jpg"]
    assert len(source_paths(root, "Garage")) == 2  # folder is spelled "garage"


# --------------------------------------------------------------------------------------------
# hand-computable values
# --------------------------------------------------------------------------------------------


def test_en_hand_values():
    assert mi.en(np.full((5, 7), 93, np.uint8)) == 0.0
    assert mi.en(half_half()) == 1.0  # two equally likely levels: 1 bit
    four = np.repeat(np.array([0, 1, 2, 3], np.uint8), 4).reshape(4, 4)
    assert mi.en(four) == 2.0
    assert mi.en(np.arange(256, dtype=np.uint8).reshape(16, 16)) == 8.0


def test_sd_sf_ag_ei_hand_values():
    const = np.full((6, 6), 40, np.uint8)
    for fn in (mi.sd, mi.sf, mi.ag, mi.ei):
        assert fn(const) == 0.0
    assert mi.sd(half_half()) == 127.5
    # one vertical step of 10 between columns 1 and 2 of a 4x4 image
    step = np.zeros((4, 4), np.uint8)
    step[:, 2:] = 10
    assert mi.sf(step) == pytest.approx(math.sqrt(4 * 100 / 16))  # 4 row differences of 10
    # gradient: columns 1 and 2 see (10 - 0) / 2 = 5 -> sqrt(25 / 2) each, 8 pixels, / (3*3)
    assert mi.ag(step) == pytest.approx(8 * math.sqrt(12.5) / 9)
    # Sobel (1, 2, 1) rows: |gx| = 40 in columns 1 and 2 (replicated borders), 8 of 16 pixels
    assert mi.ei(step) == pytest.approx(8 * 40 / 16)


def test_ce_hand_values():
    x = noise((16, 16), 0)
    assert mi.ce(x, [x, x]) == pytest.approx(0.0, abs=1e-9)
    black = np.zeros((8, 8), np.uint8)
    # P_s(0) = 1, P_f(0) = 1/2: 1 * log2(1 / (1/2)) = 1 bit for each source
    assert mi.ce(half_half(), [black, black]) == pytest.approx(1.0, abs=1e-9)
    # MEFB skips levels the fused image lacks, so CE can be negative:
    # source levels 0, 1, 2 with 1/4, 1/2, 1/4; fused 0, 1 with 1/2, 1/2 -> 1/4 log2(1/2)
    f = np.array([[0, 0, 1, 1]] * 2, np.uint8)
    s = np.array([[0, 1, 1, 2]] * 2, np.uint8)
    assert mi.ce(f, [s, s]) == pytest.approx(-0.25, abs=1e-9)


def test_psnr_mefb_hand_value():
    f = np.zeros((10, 10), np.uint8)
    s = np.full((10, 10), 10, np.uint8)
    # MEFB's "mse" = sqrt(100 * 10^2) / 100 = 1 -> 20 log10(255)
    assert mi.psnr_mefb(f, [s, s]) == pytest.approx(20 * math.log10(255))
    assert mi.psnr_mefb(s, [s, s]) == math.inf
    # textbook: MSE = 100 to each source -> 10 log10(255^2 / 100)
    assert mi.psnr_fusion(f, [s, s]) == pytest.approx(10 * math.log10(255**2 / 100))
    assert mi.psnr_fusion(f, [s, f]) == pytest.approx(10 * math.log10(255**2 / 50))
    assert mi.psnr_fusion(s, [s, s]) == math.inf  # MSE 0 (this raised ZeroDivisionError)


def test_information_metrics_of_identical_images():
    x = noise((32, 32), 1)
    assert mi.nmi(x, [x, x]) == pytest.approx(2.0)
    assert mi.fmi(x, [x, x]) == pytest.approx(1.0, abs=1e-9)
    # identical half/half images: MI = 1 bit, NCC = 1/8, eigenvalues 1.25, 0.875, 0.875
    h = half_half()
    lam = np.array([1.25, 0.875, 0.875])
    expect = 1 + float((lam / 3 * np.log2(lam / 3)).sum()) / 8
    assert mi.qncie(h, [h, h]) == pytest.approx(expect, abs=1e-12)
    # Tsallis MI, q = 2, two levels of probability 1/2: (1 - 2) / (1 - 2) = 1 per source
    assert mi.te(h, [h, h], q=2.0) == pytest.approx(2.0)
    assert mi.te_mefb(h, [h, h], q=2.0) == pytest.approx(2.0)


def test_viff_of_identical_images_is_one():
    x = noise((64, 64), 2)
    assert mi.viff(x, [x, x]) == pytest.approx(1.0, abs=1e-9)


def test_te_mefb_differs_from_textbook_te():
    x, y = noise((32, 32), 3), noise((32, 32), 4)
    f = (x // 2 + y // 2).astype(np.uint8)
    assert mi.te_mefb(f, [x, y]) != pytest.approx(mi.te(f, [x, y]), rel=1e-3)


# --------------------------------------------------------------------------------------------
# colour handling and invariances
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(OURS))
def test_colour_is_mean_of_channels(name):
    fn = OURS[name]
    f = noise((48, 48, 3), 5)
    a, b = noise((48, 48, 3), 6), noise((48, 48, 3), 7)
    per_channel = [fn(f[..., k], [a[..., k], b[..., k]]) for k in range(3)]
    assert fn(f, [a, b]) == pytest.approx(np.mean(per_channel), rel=1e-12)


@pytest.mark.parametrize("name", ["CE", "NMI", "PSNR", "QNCIE", "TE"])
def test_source_order_does_not_matter(name):
    fn = OURS[name]
    f, a, b = noise((24, 24), 8), noise((24, 24), 9), noise((24, 24), 10)
    assert fn(f, [a, b]) == pytest.approx(fn(f, [b, a]), rel=1e-12)


def test_grey_sources_score_the_red_channel_of_a_colour_fused_image():
    f = noise((16, 16, 3), 11)
    a, b = noise((16, 16), 12), noise((16, 16), 13)
    assert mi.en(f, [a, b]) == mi.en(f[..., 0])
    assert mi.ce(f, [a, b]) == mi.ce(f[..., 0], [a, b])


def test_grey_fused_with_colour_sources_uses_rgb2gray():
    a, b = noise((16, 16, 3), 14), noise((16, 16, 3), 15)
    grey = np.clip(np.floor(a @ [0.298936021293775, 0.587043074451121, 0.114020904255103] + 0.5),
                   0, 255).astype(np.uint8)
    f = noise((16, 16), 16)
    gb = np.clip(np.floor(b @ [0.298936021293775, 0.587043074451121, 0.114020904255103] + 0.5),
                 0, 255).astype(np.uint8)
    assert mi.ce(f, [a, b]) == mi.ce(f, [grey, gb])


def test_float_input_is_quantised_with_data_range():
    x = noise((20, 20, 3), 17)
    y = noise((20, 20, 3), 18)
    assert mi.en(x / 255.0, data_range=1.0) == mi.en(x)
    assert mi.nmi(x / 255.0, [x / 255.0, y / 255.0], data_range=1.0) == mi.nmi(x, [x, y])
    assert mi.sd(x.astype(np.uint16) * 257) == mi.sd(x)


def test_inputs_are_not_modified():
    f, a, b = noise((48, 48, 3), 19), noise((48, 48, 3), 20), noise((48, 48, 3), 21)
    copies = [f.copy(), a.copy(), b.copy()]
    for fn in OURS.values():
        fn(f, [a, b])
    for orig, img in zip(copies, (f, a, b), strict=True):
        np.testing.assert_array_equal(orig, img)


def test_returns_python_float():
    f, a, b = noise((48, 48), 22), noise((48, 48), 23), noise((48, 48), 24)
    for fn in OURS.values():
        assert type(fn(f, [a, b])) is float


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------


def test_missing_sources():
    with pytest.raises(InputError, match="ce is a fusion metric and needs the source exposures"):
        mi.ce(noise((8, 8), 0), None)
    with pytest.raises(InputError, match="at least 2"):
        mi.nmi(noise((8, 8), 0), [noise((8, 8), 1)])
    with pytest.raises(InputError, match="list of images"):
        mi.qncie(noise((8, 8), 0), "a.png")


def test_size_and_channel_mismatch():
    with pytest.raises(InputError, match="source 1 is 9x8 but fused is 8x8"):
        mi.fmi(noise((8, 8), 0), [noise((8, 9), 1), noise((8, 9), 2)])
    with pytest.raises(InputError, match="do not mix grey and colour"):
        mi.psnr_mefb(noise((8, 8), 0), [noise((8, 8), 1), noise((8, 8, 3), 2)])
    with pytest.raises(InputError, match="drop alpha"):
        mi.en(noise((8, 8, 4), 0))


def test_dtype_and_range_errors():
    with pytest.raises(InputError, match="data_range is required for float images"):
        mi.sd(np.zeros((8, 8)))
    # one 8-bit conversion for all 20 metrics: an integer image with a data_range other than
    # its full code range is refused by every metric (the pair metrics used to ignore it)
    u8 = noise((24, 24), 0)
    for fn in (mi.sd, mi.qabf, mi.qc, mi.qcv):
        with pytest.raises(InputError, match="uint8 code values span 255"):
            fn(u8, [u8, u8], data_range=1.0)
    with pytest.raises(InputError, match="uint16 code values span 65535"):
        mi.qabf(u8.astype(np.uint16), [u8.astype(np.uint16)] * 2, data_range=1000.0)
    with pytest.raises(InputError, match=r"values in \[2, 2\] but data_range=1"):
        mi.en(np.full((8, 8), 2.0), data_range=1.0)
    with pytest.raises(InputError, match="q must be"):
        mi.te(noise((8, 8), 0), [noise((8, 8), 1)] * 2, q=1.0)


def test_viff_needs_41_pixels():
    x = noise((40, 60), 0)
    with pytest.raises(InputError, match="at least 41x41"):
        mi.viff(x, [x, x])


# --------------------------------------------------------------------------------------------
# expokit.metrics.mefb: the 20 names
# --------------------------------------------------------------------------------------------


def test_mefb_module_lists_the_20_metrics_in_order():
    mefb = pytest.importorskip("expokit.metrics.mefb")
    assert mefb.MEFB_METRICS == MEFB_METRIC_ORDER
    assert len(mefb.MEFB_METRICS) == 20
    assert list(mefb.MEFB_FUNCTIONS) == list(mefb.MEFB_METRICS)
    for name, fn in OURS.items():
        assert mefb.MEFB_FUNCTIONS[name] is fn


def test_mefb_all_subset_and_errors():
    mefb = pytest.importorskip("expokit.metrics.mefb")
    x = noise((48, 48, 3), 0)
    out = mefb.mefb_all(x, [x, x], metrics=["sd", "EN", "vif"])
    assert list(out) == ["EN", "SD", "VIF"]
    assert out["EN"] == mi.en(x) and out["VIF"] == pytest.approx(1.0)
    with pytest.raises(InputError, match="unknown MEFB metric 'SSIM'"):
        mefb.mefb_all(x, [x, x], metrics=["SSIM"])


def test_normalize1_is_shift_invariant_and_maps_constants_to_zeros():
    # Liu's normalize1 stretches x to [0, 255], so adding a constant changes nothing; MATLAB
    # leaves the all-zero image as it is, so by the same invariance every constant image is
    # all zeros (MATLAB divides 0 by 0 there). The metrics that use it (NMI, QNCIE, TE, QCV)
    # then score a constant fused image the same whatever its level, and finitely.
    from expokit.metrics._matlab import normalize1

    x = noise((8, 8), 3).astype(np.float64)
    assert np.array_equal(normalize1(x + 17.0), normalize1(x))
    assert np.array_equal(normalize1(np.full((4, 4), 7.0)), np.zeros((4, 4)))
    a, b = noise((24, 24), 4), noise((24, 24), 5)
    zero, grey = np.zeros_like(a), np.full_like(a, 7)
    for fn in (mi.qcv, mi.nmi, mi.qncie, mi.te_mefb):
        value = fn(grey, [a, b])
        assert math.isfinite(value) and value == fn(zero, [a, b]), fn.__name__


# Metrics that compare the fused image with its sources (the fused-only ones, EN, SD, SF, AG
# and EI, score noise high by design; TE's scale depends on the histogram's spread).
COMPARING = ("ce", "fmi", "nmi", "psnr_fusion", "qncie", "qabf", "qp", "qc", "qw", "qy",
             "qcb", "qcv", "viff")


def _smooth(seed: int, size: int = 48) -> np.ndarray:
    """A smooth natural-ish image: a ramp plus mild noise, code values 20..235."""
    rng = np.random.default_rng(seed)
    ramp = np.add.outer(np.arange(size), np.arange(size)) * (200.0 / (2 * size))
    return np.clip(20 + ramp + rng.normal(0, 4, (size, size)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("name", COMPARING)
def test_declared_direction_and_range_hold(name):
    # The facts in METRICS against the metric's behaviour: a fused image equal to its sources
    # is a better fusion than unrelated noise, and every value lies in the declared range.
    from expokit.metrics import METRICS

    info = METRICS[name]
    a = _smooth(0)
    good = info.function(a, [a, a])
    bad = info.function(noise(a.shape, 1), [a, a])
    assert (good > bad) == info.higher_is_better, (good, bad)
    lo, hi = info.range
    for v in (good, bad):
        assert (lo is None or v >= lo - 1e-9) and (hi is None or v <= hi + 1e-9), v


# --------------------------------------------------------------------------------------------
# FMI: the table look-up equals the window-by-window formula; other features
# --------------------------------------------------------------------------------------------


def test_fmi_table_equals_general_windows():
    a, b = noise((40, 50), 30), noise((40, 50), 31)
    f = ((a.astype(np.int32) + b) // 2).astype(np.uint8)
    fe = edge_sobel(f.astype(np.float64))
    se = [edge_sobel(x.astype(np.float64)) for x in (a, b)]
    fast = information._fmi_edge3(fe, se)
    slow = information._fmi_general(fe.astype(np.float64), [e.astype(np.float64) for e in se], 3)
    assert fast == slow


@pytest.mark.parametrize("feature", ["none", "gradient", "dct"])
def test_fmi_other_features(feature):
    x = noise((24, 24), 32)
    assert mi.fmi(x, [x, x], feature=feature) == pytest.approx(1.0, abs=1e-9)
    v = mi.fmi(x, [noise((24, 24), 33), noise((24, 24), 34)], feature=feature, window=5)
    assert 0.0 <= v <= 1.0


def test_fmi_bad_options():
    x = noise((8, 8), 0)
    with pytest.raises(InputError, match="unknown FMI feature 'wavelet'"):
        mi.fmi(x, [x, x], feature="wavelet")
    with pytest.raises(InputError, match="odd integer >= 3"):
        mi.fmi(x, [x, x], window=4)
    with pytest.raises(InputError, match="at least 9x9"):
        mi.fmi(x, [x, x], window=9)
