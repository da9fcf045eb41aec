"""Full-reference metrics: hand-computable values, agreement with independent implementations
(scikit-image, pytorch_msssim, a from-the-paper MS-SSIM, the lpips package), properties and
input errors."""

from __future__ import annotations

import importlib.util
import math
import sys
import types

import numpy as np
import pytest
from scipy.signal import correlate2d
from skimage.metrics import peak_signal_noise_ratio as sk_psnr
from skimage.metrics import structural_similarity as sk_ssim

from expokit import InputError, MissingResourceError
from expokit.metrics import cc, cc_sources, lpips, ms_ssim, mse, psnr, ssim

RNG = np.random.default_rng(20261123)


def pair(h: int = 64, w: int = 80, c: int = 3, noise: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """A smooth-ish float64 image in [0, 1] and a noisy copy, clipped to [0, 1]."""
    x = RNG.random((h, w, c))
    x = 0.5 * x + 0.5 * np.linspace(0, 1, w)[None, :, None]
    y = np.clip(x + noise * RNG.standard_normal(x.shape), 0.0, 1.0)
    return np.clip(x, 0, 1), y


def sk_gauss_ssim(x: np.ndarray, y: np.ndarray, data_range: float) -> float:
    """scikit-image SSIM with the options of Wang et al.'s MATLAB code."""
    return float(
        sk_ssim(
            x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
            data_range=data_range, channel_axis=-1 if x.ndim == 3 else None,
        )
    )


# --- hand-computable values ---------------------------------------------------------------

def test_mse_exact() -> None:
    assert mse(np.zeros((4, 4)), np.full((4, 4), 0.5)) == 0.25
    a = np.zeros((3, 5), np.uint8)
    b = a.copy()
    b[0, 0] = 15  # one pixel off by 15 code values: 225 / 15
    assert mse(a, b) == 15.0


def test_psnr_twenty_db() -> None:
    # 1 vs 1.2 with peak 2: MSE 0.04, 10 log10(4 / 0.04) = 20 dB exactly (up to 1.2 in binary)
    assert psnr(np.full((4, 4), 1.0), np.full((4, 4), 1.2), data_range=2.0) == pytest.approx(
        20.0, abs=1e-12
    )


def test_psnr_uint8_default_range() -> None:
    a = np.full((8, 8, 3), 100, np.uint8)
    b = np.full((8, 8, 3), 110, np.uint8)
    assert psnr(a, b) == pytest.approx(10 * math.log10(255.0**2 / 100.0), abs=1e-12)
    a16 = a.astype(np.uint16) * 257
    b16 = b.astype(np.uint16) * 257
    assert psnr(a16, b16) == pytest.approx(psnr(a, b), abs=1e-12)  # 65535 = 257 * 255


def test_identical_images() -> None:
    x, _ = pair()
    assert psnr(x, x, data_range=1.0) == math.inf
    assert mse(x, x) == 0.0
    assert ssim(x, x, data_range=1.0) == pytest.approx(1.0, abs=1e-9)
    big, _ = pair(176, 200)
    assert ms_ssim(big, big, data_range=1.0) == pytest.approx(1.0, abs=1e-9)
    assert cc(x, x) == pytest.approx(1.0, abs=1e-15)


# --- agreement with scikit-image -----------------------------------------------------------

@pytest.mark.parametrize("shape", [(64, 80, 3), (37, 51, 1), (23, 19)])
def test_ssim_equals_skimage_gaussian(shape: tuple[int, ...]) -> None:
    # scikit-image filters with reflected borders, then crops (win - 1) // 2 = 5 pixels per
    # side: that leaves exactly MATLAB's 'valid' region, and truncate=3.5 gives the same
    # 11-tap window, so the two agree to rounding. Measured: difference 0.0 on this machine.
    x, y = pair(shape[0], shape[1], shape[2] if len(shape) == 3 else 1)
    if len(shape) == 2:
        x, y = x[..., 0], y[..., 0]
    ref = sk_gauss_ssim(x if x.ndim == 2 or x.shape[2] > 1 else x[..., 0],
                        y if y.ndim == 2 or y.shape[2] > 1 else y[..., 0], 1.0)
    assert ssim(x, y, data_range=1.0) == pytest.approx(ref, abs=1e-14)


def test_ssim_uint8_equals_skimage() -> None:
    x, y = pair()
    a, b = (x * 255).round().astype(np.uint8), (y * 255).round().astype(np.uint8)
    ref = sk_gauss_ssim(a.astype(np.float64), b.astype(np.float64), 255.0)
    assert ssim(a, b) == pytest.approx(ref, abs=1e-14)
    # the same images as floats in [0, 1] give the same value
    assert ssim(a / 255.0, b / 255.0, data_range=1.0) == pytest.approx(ref, abs=1e-12)


def test_ssim_differs_from_skimage_defaults() -> None:
    # scikit-image's defaults (7x7 uniform window, sample covariance) define another index;
    # on this pair they give a value several percent away: a reminder not to compare them.
    x, y = pair()
    default = sk_ssim(x, y, data_range=1.0, channel_axis=-1)
    assert abs(default - ssim(x, y, data_range=1.0)) > 1e-3


def test_psnr_equals_skimage() -> None:
    x, y = pair()
    assert psnr(x, y, data_range=1.0) == pytest.approx(sk_psnr(x, y, data_range=1.0), abs=1e-12)
    a, b = (x * 255).astype(np.uint8), (y * 255).astype(np.uint8)
    assert psnr(a, b) == pytest.approx(sk_psnr(a, b), abs=1e-12)  # skimage: 255 for uint8


# --- MS-SSIM against a re-implementation from the paper and MATLAB msssim.m ----------------

def paper_ms_ssim(x: np.ndarray, y: np.ndarray, L: float) -> float:
    """Straight from Wang, Simoncelli & Bovik 2003 and msssim.m, for one 2-D image pair."""
    r = np.arange(11) - 5.0
    win = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * 1.5**2))
    win /= win.sum()  # fspecial('gaussian', 11, 1.5)
    weights = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]
    c1, c2 = (0.01 * L) ** 2, (0.03 * L) ** 2
    mcs, mssim = [], 0.0
    for level in range(5):
        mu1 = correlate2d(x, win, mode="valid")
        mu2 = correlate2d(y, win, mode="valid")
        s11 = correlate2d(x * x, win, mode="valid") - mu1**2
        s22 = correlate2d(y * y, win, mode="valid") - mu2**2
        s12 = correlate2d(x * y, win, mode="valid") - mu1 * mu2
        cs_map = (2 * s12 + c2) / (s11 + s22 + c2)
        ssim_map = (2 * mu1 * mu2 + c1) / (mu1**2 + mu2**2 + c1) * cs_map
        mcs.append(cs_map.mean())
        mssim = ssim_map.mean()
        if level < 4:
            # imfilter(im, ones(2)/4, 'symmetric', 'same') then im(1:2:end, 1:2:end)
            def down(im: np.ndarray) -> np.ndarray:
                padded = np.pad(im, ((0, 1), (0, 1)), mode="symmetric")
                return correlate2d(padded, np.full((2, 2), 0.25), mode="valid")[::2, ::2]

            x, y = down(x), down(y)
    return float(np.prod(np.array(mcs[:4]) ** weights[:4]) * mssim ** weights[4])


@pytest.mark.parametrize("shape", [(176, 200), (181, 203)])
def test_ms_ssim_equals_paper_reimplementation(shape: tuple[int, int]) -> None:
    # odd sides at some scale exercise the 'symmetric' edge of the 2x2 mean
    x, y = pair(shape[0], shape[1], 3)
    ref = np.mean([paper_ms_ssim(x[..., c], y[..., c], 1.0) for c in range(3)])
    got = ms_ssim(x, y, data_range=1.0)
    assert got == pytest.approx(ref, abs=1e-12)
    assert 0.5 < got < 1.0


def test_ms_ssim_and_ssim_equal_pytorch_msssim() -> None:
    torch = pytest.importorskip("torch")
    pm = pytest.importorskip("pytorch_msssim")
    x, y = pair(192, 256, 3)  # sides divisible by 16: pytorch_msssim pads odd sides

    def t(a: np.ndarray):  # noqa: ANN202
        return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))[None])

    r = np.arange(11) - 5.0
    g = np.exp(-(r**2) / 4.5)
    win = torch.from_numpy(g / g.sum())[None, None, None].repeat(3, 1, 1, 1)  # float64 window
    assert ms_ssim(x, y, data_range=1.0) == pytest.approx(
        pm.ms_ssim(t(x), t(y), data_range=1.0, win=win).item(), abs=1e-12
    )
    assert ssim(x, y, data_range=1.0) == pytest.approx(
        pm.ssim(t(x), t(y), data_range=1.0, win=win).item(), abs=1e-12
    )
    # with its own float32 window the values move by ~1e-7 (measured -1.9e-7 for MS-SSIM)
    assert ms_ssim(x, y, data_range=1.0) == pytest.approx(
        pm.ms_ssim(t(x), t(y), data_range=1.0).item(), abs=1e-6
    )


# --- properties -----------------------------------------------------------------------------

def test_symmetry() -> None:
    x, y = pair(176, 176)
    for f in (mse, cc):
        assert f(x, y) == pytest.approx(f(y, x), abs=1e-15)
    for f in (psnr, ssim, ms_ssim):
        assert f(x, y, data_range=1.0) == pytest.approx(f(y, x, data_range=1.0), abs=1e-14)


@pytest.mark.parametrize("k", [255.0, 0.01, 1000.0])
def test_scale_invariance(k: float) -> None:
    x, y = pair(176, 180)
    for f in (psnr, ssim, ms_ssim):
        assert f(k * x, k * y, data_range=k) == pytest.approx(
            f(x, y, data_range=1.0), rel=1e-11
        )
    assert cc(k * x, y) == pytest.approx(cc(x, y), rel=1e-12)
    assert mse(k * x, k * y) == pytest.approx(k * k * mse(x, y), rel=1e-12)


def test_channel_handling() -> None:
    x, y = pair(40, 48, 3)
    per = [ssim(x[..., c], y[..., c], data_range=1.0) for c in range(3)]
    assert ssim(x, y, data_range=1.0) == pytest.approx(np.mean(per), abs=1e-15)
    # (H, W), (H, W, 1) and three equal channels give one value
    g, h = x[..., 0], y[..., 0]
    v = ssim(g, h, data_range=1.0)
    assert ssim(g[..., None], h[..., None], data_range=1.0) == v
    assert ssim(np.repeat(g[..., None], 3, 2), np.repeat(h[..., None], 3, 2),
                data_range=1.0) == pytest.approx(v, abs=1e-15)
    # luma = SSIM of the MATLAB rgb2gray images
    w = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])
    assert ssim(x, y, data_range=1.0, channels="luma") == pytest.approx(
        sk_gauss_ssim(x @ w, y @ w, 1.0), abs=1e-14
    )
    assert ssim(g, h, data_range=1.0, channels="luma") == v


def test_inputs_not_modified() -> None:
    x, y = pair()
    x32 = x.astype(np.float32)
    before = x32.copy()
    ssim(x32, y, data_range=1.0)
    psnr(x32, y, data_range=1.0)
    np.testing.assert_array_equal(x32, before)


def test_cc_values() -> None:
    x, y = pair()
    assert cc(x, 0.5 * x + 0.2) == pytest.approx(1.0, abs=1e-14)
    assert cc(x, 1.0 - x) == pytest.approx(-1.0, abs=1e-14)
    assert cc(x, y) == pytest.approx(np.corrcoef(x.ravel(), y.ravel())[0, 1], abs=1e-14)
    assert math.isnan(cc(np.full((4, 4), 0.3), x[:4, :4, 0]))  # undefined for a constant


def test_cc_sources() -> None:
    x, y = pair()
    z = 1.0 - x
    assert cc_sources(x, [y, z]) == pytest.approx((cc(x, y) + cc(x, z)) / 2, abs=1e-15)
    assert cc_sources(x, np.stack([y, z])) == pytest.approx(cc_sources(x, [y, z]), abs=1e-15)


# --- errors ---------------------------------------------------------------------------------

def test_error_mismatched_size() -> None:
    with pytest.raises(InputError, match="fused is 512x340 but reference is 512x341"):
        psnr(np.zeros((340, 512)), np.zeros((341, 512)), data_range=1.0)


def test_error_channels_mismatch() -> None:
    with pytest.raises(InputError, match="3 channel.*reference has 1"):
        ssim(np.zeros((20, 20, 3)), np.zeros((20, 20)), data_range=1.0)


def test_error_float_needs_data_range() -> None:
    x, y = pair()
    for f in (psnr, ssim, ms_ssim):
        with pytest.raises(InputError, match="data_range is required for float"):
            f(x, y)


def test_error_out_of_range() -> None:
    x, y = pair()
    msg = r"fused has values in \[.*\] but data_range=1 means \[0, 1\].*8-bit code"
    with pytest.raises(InputError, match=msg):
        psnr(x * 255, y, data_range=1.0)
    with pytest.raises(InputError, match="reference has values"):
        ssim(x, y - 0.5, data_range=1.0)
    ssim(x, np.clip(y, 0, 1) + 5e-4, data_range=1.0)  # within the 1e-3 tolerance: accepted


def test_error_bad_data_range() -> None:
    x, y = pair()
    for bad in (0.0, -1.0, math.nan, "one"):
        with pytest.raises(InputError, match="data_range must be"):
            psnr(x, y, data_range=bad)  # type: ignore[arg-type]


def test_error_nan() -> None:
    x, y = pair()
    y[3, 4, 1] = np.nan
    with pytest.raises(InputError, match="reference contains 1 NaN"):
        ssim(x, y, data_range=1.0)


def test_error_dtype_mix() -> None:
    a = np.zeros((16, 16), np.uint8)
    with pytest.raises(InputError, match="fused is uint8 but reference is float64"):
        psnr(a, np.zeros((16, 16)), data_range=255.0)
    with pytest.raises(InputError, match="uint8 but reference is uint16"):
        psnr(a, np.zeros((16, 16), np.uint16))


def test_error_too_small() -> None:
    with pytest.raises(InputError, match="ssim needs images of at least 11x11 pixels, got 12x10"):
        ssim(np.zeros((10, 12)), np.zeros((10, 12)), data_range=1.0)
    with pytest.raises(InputError, match="ms_ssim needs images of at least 161x161.*got 200x160"):
        ms_ssim(np.zeros((160, 200)), np.zeros((160, 200)), data_range=1.0)


def test_error_bad_channels_option() -> None:
    x, y = pair()
    with pytest.raises(InputError, match="channels must be 'mean' or 'luma'"):
        ssim(x, y, data_range=1.0, channels="rgb")  # type: ignore[arg-type]


def test_error_missing_sources() -> None:
    x, _ = pair()
    with pytest.raises(InputError, match="needs the source exposures"):
        cc_sources(x, None)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="source 2 is 80x63 but fused is 80x64"):
        cc_sources(x, [x, x[:63]])


def test_error_not_an_array() -> None:
    with pytest.raises(InputError, match="fused is a list"):
        psnr([[0.0, 1.0]], np.zeros((2, 2)), data_range=1.0)  # type: ignore[arg-type]


# --- LPIPS ----------------------------------------------------------------------------------

def test_lpips_missing_weights(tmp_path) -> None:  # noqa: ANN001
    pytest.importorskip("torch")
    x, y = pair(32, 32)
    with pytest.raises(MissingResourceError, match="never downloads|pip install lpips"):
        lpips(x, y, weights_path=tmp_path / "alexnet.pth", data_range=1.0)


def backbone_features(net: str):  # noqa: ANN201
    """torchvision's AlexNet / VGG16 ``features``, written out (torchvision is not needed)."""
    import torch.nn as nn

    if net == "alex":
        convs = {0: (3, 64, 11, 4, 2), 3: (64, 192, 5, 1, 2), 6: (192, 384, 3, 1, 1),
                 8: (384, 256, 3, 1, 1), 10: (256, 256, 3, 1, 1)}
        pools, size, pool = {2, 5, 12}, 13, 3
    else:
        widths = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
                  512, 512, 512, "M"]
        convs, pools, i, cin = {}, set(), 0, 3
        for w in widths:
            if w == "M":
                pools.add(i)
                i += 1
            else:
                convs[i] = (cin, w, 3, 1, 1)
                cin = w
                i += 2
        size, pool = i, 2
    layers = []
    for i in range(size):
        if i in convs:
            cin, cout, k, st, pad = convs[i]
            layers.append(nn.Conv2d(cin, cout, k, stride=st, padding=pad))
        elif i in pools:
            layers.append(nn.MaxPool2d(kernel_size=pool, stride=2))
        else:
            layers.append(nn.ReLU(inplace=False))
    return nn.Sequential(*layers)


def random_backbone(tmp_path, net: str):  # noqa: ANN001, ANN201
    torch = pytest.importorskip("torch")
    if importlib.util.find_spec("lpips") is None:
        pytest.skip("the lpips package (its linear heads) is not installed")
    torch.manual_seed(0)
    feats = backbone_features(net)
    path = tmp_path / f"{net}-random.pth"
    torch.save({f"features.{k}": v for k, v in feats.state_dict().items()}, path)
    return path, feats


def test_lpips_properties(tmp_path) -> None:  # noqa: ANN001
    path, _ = random_backbone(tmp_path, "alex")
    x, y = pair(64, 64)
    assert lpips(x, x, weights_path=path, data_range=1.0) == 0.0
    d = lpips(x, y, weights_path=path, data_range=1.0)
    assert d > 0
    assert lpips(y, x, weights_path=path, data_range=1.0) == pytest.approx(d, rel=1e-12)
    u8 = (x * 255).round().astype(np.uint8)
    assert lpips(u8, u8, weights_path=path) == 0.0
    g = x[..., :1]  # grey is repeated to three channels
    assert lpips(g, y[..., :1], weights_path=path, data_range=1.0) == pytest.approx(
        lpips(np.repeat(g, 3, 2), np.repeat(y[..., :1], 3, 2), weights_path=path,
              data_range=1.0), rel=1e-12)


def test_lpips_wrong_network(tmp_path) -> None:  # noqa: ANN001
    path, _ = random_backbone(tmp_path, "alex")
    with pytest.raises(InputError, match="(?s)alex-random.pth: features.0 does not fit VGG16.*"
                                         "give the weights of vgg16-397923af.pth"):
        lpips(*pair(64, 64), weights_path=path, net="vgg", data_range=1.0)
    torch = pytest.importorskip("torch")
    torch.save({"classifier.0.weight": torch.zeros(2)}, tmp_path / "head.pth")
    with pytest.raises(InputError, match="no features.0.weight/bias: it is not a torchvision "
                                         "AlexNet state dict"):
        lpips(*pair(64, 64), weights_path=tmp_path / "head.pth", data_range=1.0)


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_equals_lpips_package(tmp_path, monkeypatch, net: str) -> None:  # noqa: ANN001
    """Against ``lpips.LPIPS`` itself, its backbone built from the same random weights.

    The lpips package imports torchvision only to build the backbone; a stand-in module that
    returns our written-out network lets the package's own scaling, normalisation, heads and
    averaging run unchanged. Measured: relative difference ~1e-7 (the package runs float32).
    """
    torch = pytest.importorskip("torch")
    path, feats = random_backbone(tmp_path, net)
    tv = types.ModuleType("torchvision")
    models = types.ModuleType("torchvision.models")

    class _Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = feats

    models.alexnet = lambda *a, **kw: _Net()  # type: ignore[attr-defined]
    models.vgg16 = lambda *a, **kw: _Net()  # type: ignore[attr-defined]
    models.squeezenet1_1 = lambda *a, **kw: None  # type: ignore[attr-defined]
    tv.models = models  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torchvision", tv)
    monkeypatch.setitem(sys.modules, "torchvision.models", models)
    for mod in [m for m in sys.modules if m == "lpips" or m.startswith("lpips.")]:
        monkeypatch.delitem(sys.modules, mod)
    import lpips as lpips_pkg

    model = lpips_pkg.LPIPS(net=net, pretrained=True, pnet_rand=True, verbose=False).eval()
    x, y = pair(64, 72)

    def t(a: np.ndarray):  # noqa: ANN202
        return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))[None]).float()

    with torch.no_grad():
        ref = model(t(x), t(y), normalize=True).item()
    assert lpips(x, y, weights_path=path, net=net, data_range=1.0) == pytest.approx(ref, rel=1e-5)


# --- real images ------------------------------------------------------------------------------

def test_real_fused_images_agree(shared_data) -> None:  # noqa: ANN001
    """Two MEFB fusion results of one scene (uint8, 512x339: odd height at scale 1).

    Measured: SSIM 0.916443, MS-SSIM (luma) 0.925384, PSNR 24.7129 dB.
    """
    from conftest import need

    from expokit.io import read_image

    folder = need(shared_data, "mefb/output/fused_images")
    a = read_image(folder / "Arno_GFF.png")
    b = read_image(folder / "Arno_MEFNet.png")
    af, bf = a.astype(np.float64), b.astype(np.float64)
    s = ssim(a, b)
    assert s == pytest.approx(sk_gauss_ssim(af, bf, 255.0), abs=1e-14)
    assert psnr(a, b) == pytest.approx(sk_psnr(a, b), abs=1e-12)
    # MS-SSIM of the grey images against the from-the-paper version
    w = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])
    ms = ms_ssim(a, b, channels="luma")
    assert ms == pytest.approx(paper_ms_ssim(af @ w, bf @ w, 255.0), abs=1e-12)
    assert 0.5 < s < 1 and 0.5 < ms < 1
