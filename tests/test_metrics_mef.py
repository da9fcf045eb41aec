"""MEF-SSIM family: hand-computed values, an independent loop implementation, invariances,
errors, and MEFB's MATLAB scores."""

from __future__ import annotations

import itertools
import math
import statistics

import numpy as np
import pytest
from conftest import need
from scipy import ndimage

from expokit.errors import InputError
from expokit.metrics.mef import (
    INFO,
    mef_ms_ssim,
    mef_ssim,
    mef_ssimc,
    mefb_mef_ssim,
)

C = (0.03 * 255) ** 2
EPS = np.finfo(np.float64).eps


def _gauss2d(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """MATLAB fspecial('gaussian', size, sigma), written out from its definition."""
    r = np.arange(size) - size // 2
    h = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma**2))
    return h / h.sum()


def _loop_mef_ssim(seq: np.ndarray, f: np.ndarray, ws: int = 11) -> float:
    """The algorithm of mef_ssim.m as literal loops over patches (8-bit grey units).

    An independent implementation: every patch is formed explicitly and its norms and
    Gaussian-weighted moments are computed directly, as the MATLAB code does.
    """
    n_src, h, w = seq.shape
    bd = ws // 2
    win = _gauss2d(ws).ravel()
    scores = []
    for i in range(bd, h - bd):
        for j in range(bd, w - bd):
            blocks = seq[:, i - bd: i + bd + 1, j - bd: j + bd + 1].reshape(n_src, -1)
            dev = blocks - blocks.mean(axis=1, keepdims=True)
            norms = np.linalg.norm(dev, axis=1)
            ed = norms + 0.001
            total = blocks.sum(axis=0)
            r = (np.linalg.norm(total - total.mean()) + EPS) / (norms.sum() + EPS)
            r = min(max(r, EPS), 1 - EPS) if r > 1 or r < 0 else r
            p = min(math.tan(math.pi / 2 * r), 10.0)
            wts = (ed / ws) ** p + EPS
            wts /= wts.sum()
            rb = (wts[:, None] * dev / ed[:, None]).sum(axis=0)
            if np.linalg.norm(rb) > 0:
                rb = rb / np.linalg.norm(rb) * ed.max()
            fv = f[i - bd: i + bd + 1, j - bd: j + bd + 1].ravel()
            m1, m2 = win @ rb, win @ fv
            s1 = win @ (rb - m1) ** 2
            s2 = win @ (fv - m2) ** 2
            s12 = win @ ((rb - m1) * (fv - m2))
            scores.append((2 * s12 + C) / (s1 + s2 + C))
    return float(np.mean(scores))


@pytest.fixture(scope="module")
def bracket() -> tuple[np.ndarray, list[np.ndarray]]:
    """A small uint8 bracket (3 exposures with clipped areas) and their average as 'fused'."""
    rng = np.random.default_rng(7)
    scene = ndimage.gaussian_filter(rng.random((48, 53)), 2.0)
    scene = (scene - scene.min()) / (scene.max() - scene.min())
    srcs = [np.clip(scene * g * 255, 0, 255).round().astype(np.uint8) for g in (0.4, 1.0, 2.5)]
    fused = np.mean(srcs, axis=0).round().astype(np.uint8)
    return fused, srcs


# --------------------------------------------------------------------------- exact values
def test_fused_with_itself_is_one(bracket):
    fused, _ = bracket
    img = np.tile(np.arange(64, dtype=np.uint8) * 4, (64, 1))
    for sources in ([fused], [fused, fused], [fused] * 4):
        assert mef_ssim(fused, sources) == pytest.approx(1.0, abs=1e-9)
    assert mef_ms_ssim(img, [img, img, img]) == pytest.approx(1.0, abs=1e-9)
    assert mefb_mef_ssim(img, [img, img]) == pytest.approx(1.0, abs=1e-9)
    assert mef_ssimc(fused, [fused, fused]) == pytest.approx(1.0, abs=1e-12)


def test_hand_computed_single_window():
    """11x11 images, one window: a vertical step (6 columns 0, 5 columns 255) and a flat frame.

    With the flat frame the consistency R is 1 and the desired patch is the step with its
    norm raised from ||x~|| = 255*sqrt(30) to ||x~|| + 0.001 (factor c). The Gaussian
    variance of the step is 255^2 * P * (1 - P) with P = (1 - g0) / 2 the weight of the 5 right
    columns (g0: centre tap of the normalised 1-D Gaussian, sigma 1.5).
    """
    step = np.zeros((11, 11), np.uint8)
    step[:, 6:] = 255
    flat = np.full((11, 11), 100, np.uint8)
    g0 = 1.0 / sum(math.exp(-(i * i) / 4.5) for i in range(-5, 6))
    var_g = 255.0**2 * (1 - g0**2) / 4
    c = (255 * math.sqrt(30) + 0.001) / (255 * math.sqrt(30))
    # fused flat: no structure at all
    assert mef_ssim(flat, [step, flat]) == pytest.approx(C / (c * c * var_g + C), rel=1e-12)
    # fused = the inverted step: structure reversed
    inv = 255 - step
    expected = (-2 * c * var_g + C) / ((c * c + 1) * var_g + C)
    assert mef_ssim(inv, [step, flat]) == pytest.approx(expected, rel=1e-12)
    assert expected < 0  # the index can go below 0 for anti-correlated structure


def test_matches_independent_loop_implementation(bracket):
    fused, srcs = bracket
    seq = np.stack([s.astype(np.float64) for s in srcs])
    ref = _loop_mef_ssim(seq, fused.astype(np.float64))
    assert mef_ssim(fused, srcs) == pytest.approx(ref, abs=1e-10)
    # and with a random fused image (much lower score)
    rnd = np.random.default_rng(3).integers(0, 256, fused.shape, dtype=np.uint8)
    assert mef_ssim(rnd, srcs) == pytest.approx(
        _loop_mef_ssim(seq, rnd.astype(np.float64)), abs=1e-10)


def test_multiscale_matches_scales_by_hand(bracket):
    """MATLAB's downsampling: mean of 2x2 blocks, last odd row/column mirrored."""
    fused, srcs = bracket
    big_f = np.kron(fused, np.ones((2, 2), np.uint8))[:-1]  # 95 rows (odd), 106 columns
    big_s = [np.kron(s, np.ones((2, 2), np.uint8))[:-1] for s in srcs]

    def down(x):
        x = np.pad(x.astype(np.float64), ((0, x.shape[0] % 2), (0, x.shape[1] % 2)), "edge")
        return (x[::2, ::2] + x[1::2, ::2] + x[::2, 1::2] + x[1::2, 1::2]) / 4

    q1 = mef_ssim(big_f, big_s)
    q2 = mef_ssim(down(big_f), [down(s) for s in big_s], data_range=255.0)
    w = np.array([0.0448, 0.2856])
    w = w / w.sum()
    expected = q1 ** w[0] * q2 ** w[1]
    got = mef_ms_ssim(big_f, big_s, weights=(0.0448, 0.2856))
    assert got == pytest.approx(expected, rel=1e-12)
    assert mef_ms_ssim(big_f, big_s, weights=(1.0,)) == pytest.approx(q1, rel=1e-12)


# --------------------------------------------------------------------------- invariances
def test_source_order_does_not_matter(bracket):
    fused, srcs = bracket
    ref = mef_ssim(fused, srcs)
    for perm in itertools.permutations(range(3)):
        assert mef_ssim(fused, [srcs[i] for i in perm]) == pytest.approx(ref, abs=1e-12)
    assert mef_ssimc(fused, srcs[::-1]) == pytest.approx(mef_ssimc(fused, srcs), abs=1e-12)


def test_data_range_scales_consistently(bracket):
    fused, srcs = bracket
    ref = mef_ms_ssim(fused, srcs)
    as_unit = [s / 255.0 for s in srcs]
    assert mef_ms_ssim(fused / 255.0, as_unit, data_range=1.0) == pytest.approx(ref, abs=1e-12)
    as_16 = [s.astype(np.uint16) * 257 for s in srcs]
    assert mef_ms_ssim(fused.astype(np.uint16) * 257, as_16) == pytest.approx(ref, abs=1e-12)
    assert mef_ssimc(fused / 255.0, as_unit, data_range=1.0) == pytest.approx(
        mef_ssimc(fused, srcs), abs=1e-12)


def test_luminance_offsets_do_not_matter(bracket):
    """MEF-SSIM compares structure and contrast only: adding a constant changes nothing."""
    fused, srcs = bracket
    f = fused / 255.0 * 0.5 + 0.1  # room for offsets inside [0, 1]
    s = [x / 255.0 * 0.5 + 0.1 for x in srcs]
    ref = mef_ssim(f, s, data_range=1.0)
    assert mef_ssim(f + 0.3, s, data_range=1.0) == pytest.approx(ref, abs=1e-10)
    assert mef_ssim(f, [s[0] + 0.2, s[1], s[2] - 0.05], data_range=1.0) == pytest.approx(
        ref, abs=1e-10)


def test_grey_as_three_equal_channels_is_grey(bracket):
    fused, srcs = bracket
    rgb = lambda x: np.repeat(x[..., None], 3, axis=2)  # noqa: E731
    assert mef_ssim(rgb(fused), [rgb(s) for s in srcs]) == pytest.approx(
        mef_ssim(fused, srcs), abs=1e-12)
    assert mef_ssimc(rgb(fused), [rgb(s) for s in srcs]) == pytest.approx(
        mef_ssimc(fused, srcs), abs=1e-12)
    # rgb2gray weights sum to 1, so MEFB's rounding leaves uint8 grey levels unchanged
    assert mefb_mef_ssim(rgb(fused), [rgb(s) for s in srcs]) == pytest.approx(
        mef_ms_ssim(fused, srcs), abs=1e-12)


def test_values_in_range_and_ordering(bracket):
    fused, srcs = bracket
    rng = np.random.default_rng(5)
    noise = rng.integers(0, 256, fused.shape, dtype=np.uint8)
    for fn in (mef_ssim, mef_ms_ssim, mefb_mef_ssim, mef_ssimc):
        good, bad = fn(fused, srcs), fn(noise, srcs)
        assert 0.0 <= bad < good <= 1.0, fn.__name__
    for _ in range(5):  # random sources and fused: still within (-1, 1]
        s = list(rng.random((3, 20, 21)))
        q = mef_ssim(rng.random((20, 21)), s, data_range=1.0)
        assert -1.0 < q <= 1.0


def test_mef_ssimc_matches_direct_formula():
    """MEF-SSIMc written out with scipy filters (zero padding, sigma 11/6, colour patches)."""
    rng = np.random.default_rng(11)
    srcs = [ndimage.uniform_filter(rng.random((23, 19, 3)), (3, 3, 1)) * g for g in (0.6, 1.0)]
    fused = np.clip(0.5 * srcs[0] + 0.6 * srcs[1], 0, 1)
    r = np.arange(11) - 5
    g = np.exp(-(r[:, None] ** 2 + r[None] ** 2) / (2 * (11 / 6) ** 2))
    g /= g.sum()

    def mean(x):
        return sum(ndimage.correlate(x[..., c], g, mode="constant") for c in range(3)) / 3

    mx, vx = mean(fused), mean(fused**2) - mean(fused) ** 2
    best_cs = None
    best_var = None
    for y in srcs:
        my, vy = mean(y), mean(y**2) - mean(y) ** 2
        cs = (2 * (mean(fused * y) - mx * my) + 0.03**2) / (vx + vy + 0.03**2)
        if best_var is None:
            best_var, best_cs = vy, cs
        else:
            take = vy > best_var
            best_var, best_cs = np.where(take, vy, best_var), np.where(take, cs, best_cs)
    assert mef_ssimc(fused, srcs, data_range=1.0) == pytest.approx(best_cs.mean(), abs=1e-12)
    lum = mef_ssimc(fused, srcs, data_range=1.0, luminance=True)
    assert 0.0 < lum <= best_cs.mean() + 1e-12


# --------------------------------------------------------------------------- errors
def test_errors(bracket):
    fused, srcs = bracket
    with pytest.raises(InputError, match="needs the source exposures"):
        mef_ssim(fused, None)
    with pytest.raises(InputError, match="one size"):
        mef_ssim(fused, [srcs[0][:-1]])
    with pytest.raises(InputError, match="data_range is required"):
        mef_ssim(fused / 255.0, [s / 255.0 for s in srcs])
    with pytest.raises(InputError, match="data_range=1"):
        mef_ssim(fused.astype(np.float64), srcs, data_range=1.0)
    with pytest.raises(InputError, match="different scales"):
        mef_ssim(fused, [s / 255.0 for s in srcs], data_range=255.0)
    with pytest.raises(InputError, match="at least 44 pixels"):
        mef_ms_ssim(fused[:30], [s[:30] for s in srcs])
    with pytest.raises(InputError, match="window_size"):
        mef_ssim(fused, srcs, window_size=10)
    with pytest.raises(InputError, match="weights"):
        mef_ms_ssim(fused, srcs, weights=())


def test_info_table():
    assert set(INFO) == {"mef_ssim", "mef_ms_ssim", "mefb_mef_ssim", "mef_ssimc"}
    for key, info in INFO.items():
        assert info.name == key and info.kind == "fusion" and info.higher_is_better
        assert info.range == (0.0, 1.0)


# --------------------------------------------------------------------------- MEFB MATLAB scores
#: A PNG scene and two JPEG scenes (OpenCV and MATLAB must decode JPEG alike), 21 methods each.
MEFB_SCENES = {"Arno", "Candle", "ColorChecker"}


def test_mefb_mef_ssim_matches_matlab_table(shared_data):
    """MEFB's stored MATLAB MEF_SSIM (metric 17, ~5 significant digits) on real fused images.

    Measured over all 336 (scene, method) pairs: median relative error 2.9e-6, max 6.4e-6 (the
    storage precision). Without MATLAB's rounding of rgb2gray to uint8, errors reach 2e-4.
    """
    from expokit.io import read_image
    from expokit.metrics._mefb_data import iter_pairs, load_table

    root = need(shared_data, "mefb/output/evaluation_metrics/evaluationMetrics.mat").parents[2]
    need(shared_data, "mefb/output/fused_images")
    table = load_table(root)
    rel, worst = [], 0.0
    for pair in iter_pairs(root, table, scenes=MEFB_SCENES):
        srcs = [read_image(p) for p in pair.source_paths]
        ours = mefb_mef_ssim(read_image(pair.fused_path), srcs)
        matlab = table.score(pair.scene, pair.method, "MEF-SSIM")
        rel.append(abs(ours - matlab) / abs(matlab))
        worst = max(worst, abs(ours - matlab))
    assert len(rel) == 21 * len(MEFB_SCENES)
    assert statistics.median(rel) <= 1e-5
    assert worst <= 1e-5  # stored values are rounded to 5 decimals
