"""Semantic knowledge transfer parts (expokit.models.semantic).

Reference values: histogram kernels are computed by hand from Eqs. 6-8 (bin centres
``255 (i + 0.5) / N``, kernel ``exp(-(x - c)^2 / sigma^2)`` on the 0-255 scale); the descriptor's
gradients are those of a linear ramp (Sobel / 8 of a ramp of slope g is g); identities come from
zero-initialised output layers; the VGG19 key layout is built from the "E" configuration of
Simonyan & Zisserman (2015) as torchvision numbers its ``features`` modules.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skimage")

from torch import Tensor  # noqa: E402
from torch.nn import functional as F  # noqa: E402, N812

from expokit.errors import InputError, MissingResourceError  # noqa: E402
from expokit.models.semantic import (  # noqa: E402
    PRIOR_STRIDES,
    SKAM,
    SPGRM,
    ClassicalPrior,
    PriorFusionBlock,
    TorchScriptPrior,
    VGG19Features,
    content_loss,
    fixed_descriptor,
    semantic_color_loss,
    slic_masks,
    soft_histograms,
)

torch.set_num_threads(1)


def _ramp_image(h: int = 32, w: int = 32) -> Tensor:
    """A smooth two-gradient colour image (SLIC splits it into a grid of regions)."""
    yy, xx = torch.meshgrid(torch.arange(h) / (h - 1), torch.arange(w) / (w - 1), indexing="ij")
    return torch.stack([xx, yy, torch.full_like(xx, 0.5)])[None]


# --- soft histograms -----------------------------------------------------------------------------
def _hand_histogram(values: np.ndarray, bins: int, sigma: float) -> np.ndarray:
    """Eqs. 6-8 for one channel of one segment: mean over pixels of the kernel per bin."""
    centres = [255.0 * (i + 0.5) / bins for i in range(bins)]
    return np.array([np.mean([math.exp(-((255.0 * v - c) ** 2) / sigma ** 2) for v in values])
                     for c in centres])


@pytest.mark.parametrize("sigma", [400.0, 20.0])
def test_histogram_of_a_constant_image_peaks_at_its_bin_and_is_symmetric(sigma):
    bins = 32
    v = (10 + 0.5) / bins  # the centre of bin 10: 255 v = 83.671875
    x = torch.full((1, 3, 4, 4), v, dtype=torch.float64)
    h = soft_histograms(x, torch.ones(1, 1, 4, 4, dtype=torch.float64), bins=bins, sigma=sigma)
    assert h.shape == (1, 1, 3, bins)
    hist = h[0, 0, 0].numpy()
    assert int(np.argmax(hist)) == 10 and hist[10] == pytest.approx(1.0, abs=1e-12)
    for k in range(1, 11):  # bins 10 - k and 10 + k are equally far from the value
        assert hist[10 - k] == pytest.approx(hist[10 + k], abs=1e-12)
    # one bin away: exp(-(255 / 32)^2 / sigma^2)
    assert hist[11] == pytest.approx(math.exp(-((255 / 32) ** 2) / sigma ** 2), abs=1e-12)
    assert np.abs(hist - _hand_histogram(np.array([v]), bins, sigma)).max() < 1e-12
    assert torch.equal(h[0, 0, 0], h[0, 0, 2])  # every channel alike


def test_histogram_of_a_value_between_two_bins():
    x = torch.full((1, 3, 2, 2), 0.5, dtype=torch.float64)  # 127.5: between bins 15 and 16
    hist = soft_histograms(x, torch.ones(1, 1, 2, 2, dtype=torch.float64), sigma=30.0)[0, 0, 1]
    assert hist[15] == pytest.approx(float(hist[16]), abs=1e-12)
    assert hist[15] == pytest.approx(math.exp(-((255 / 64) ** 2) / 900), abs=1e-12)
    assert int(hist.argmax()) in (15, 16) and float(hist[0]) < float(hist[14])


def test_masks_select_regions():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 8, 12, generator=gen, dtype=torch.float64)
    left = torch.zeros(1, 1, 8, 12, dtype=torch.float64)
    left[..., :5] = 1.0
    masks = torch.cat([left, 1.0 - left], dim=1)
    h = soft_histograms(x, masks, bins=16, sigma=40.0)
    assert h.shape == (1, 2, 3, 16)
    for seg, region in [(0, x[..., :5]), (1, x[..., 5:])]:
        alone = soft_histograms(region, torch.ones_like(region[:, :1]), bins=16, sigma=40.0)
        assert torch.allclose(h[0, seg], alone[0, 0], atol=1e-12)
        for c in range(3):  # and by hand
            hand = _hand_histogram(region[0, c].flatten().numpy(), 16, 40.0)
            assert np.abs(h[0, seg, c].numpy() - hand).max() < 1e-12
    # the histogram does not depend on the segment's size: a tiled region gives the same one
    tiled = torch.cat([x[..., :5]] * 3, dim=3)
    assert torch.allclose(soft_histograms(tiled, torch.ones_like(tiled[:, :1]), bins=16,
                                          sigma=40.0)[0, 0], h[0, 0], atol=1e-12)


# --- the colour loss -----------------------------------------------------------------------------
def _two_masks(h: int = 16, w: int = 16) -> Tensor:
    top = torch.zeros(1, 1, h, w)
    top[..., : h // 2, :] = 1.0
    return torch.cat([top, 1.0 - top], dim=1)


def test_color_loss_zero_for_identical_positive_for_a_shift():
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(2, 3, 16, 16, generator=gen) * 0.6
    masks = _two_masks().expand(2, -1, -1, -1)
    assert float(semantic_color_loss(x, x.clone(), masks)) == 0.0
    shifted = semantic_color_loss(x + 0.2, x, masks)
    assert float(shifted) > 0.0
    # a larger shift costs more; the loss is symmetric
    assert float(semantic_color_loss(x + 0.4, x, masks)) > float(shifted)
    assert float(semantic_color_loss(x, x + 0.2, masks)) == pytest.approx(float(shifted),
                                                                          rel=1e-5)


def test_color_loss_ignores_padding_masks():
    gen = torch.Generator().manual_seed(2)
    a, b = torch.rand(1, 3, 16, 16, generator=gen), torch.rand(1, 3, 16, 16, generator=gen)
    masks = _two_masks()
    padded = torch.cat([masks, torch.zeros(1, 3, 16, 16)], dim=1)
    base = semantic_color_loss(a, b, masks)
    assert float(semantic_color_loss(a, b, padded)) == pytest.approx(float(base), rel=1e-6)
    # the mean over segments: one segment alone and the whole image as one segment
    per = [semantic_color_loss(a, b, masks[:, i:i + 1]) for i in range(2)]
    assert float(base) == pytest.approx(float(sum(per)) / 2, rel=1e-6)
    # a batch whose second image has one segment fewer (a zero mask) averages over 3 segments
    one = torch.cat([torch.ones(1, 1, 16, 16), torch.zeros(1, 1, 16, 16)], dim=1)
    batch = semantic_color_loss(torch.cat([a, a]), torch.cat([b, b]), torch.cat([masks, one]))
    whole = semantic_color_loss(a, b, torch.ones(1, 1, 16, 16))
    assert float(batch) == pytest.approx((float(per[0]) + float(per[1]) + float(whole)) / 3,
                                         rel=1e-5)


def test_color_loss_gradient_is_finite_and_checks():
    gen = torch.Generator().manual_seed(3)
    x = (torch.rand(1, 3, 16, 16, generator=gen) * 0.5 + 0.25).requires_grad_(True)
    masks = torch.cat([_two_masks(), torch.zeros(1, 1, 16, 16)], dim=1)  # with a padding mask
    semantic_color_loss(x, x.detach() + 0.1, masks).backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().max() > 0
    # float64 gradcheck on a tiny image (the loss trains the ORM)
    a = torch.rand(1, 3, 3, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    b = torch.rand(1, 3, 3, 3, generator=gen, dtype=torch.float64)
    m = torch.zeros(1, 3, 3, 3, dtype=torch.float64)
    m[:, 0, :2], m[:, 1, 2:] = 1.0, 1.0
    assert torch.autograd.gradcheck(lambda t: semantic_color_loss(t, b, m), (a,))


# --- SLIC masks and the classical prior ----------------------------------------------------------
@pytest.mark.parametrize("segments", [1, 2, 6, 16])  # SLIC makes 1, 1, 4, 16 regions here
def test_slic_masks_cover_every_pixel_once(segments):
    x = torch.cat([_ramp_image(), _ramp_image().flip(3)])
    m = slic_masks(x, segments)
    assert m.shape == (2, segments, 32, 32) and m.dtype == x.dtype
    assert torch.equal(m.sum(1), torch.ones(2, 32, 32))
    assert set(m.unique().tolist()) <= {0.0, 1.0}
    # regions are ordered by size, largest first
    area = m.sum(dim=(2, 3))
    assert (area[:, :-1] >= area[:, 1:]).all()


def test_slic_masks_two_colour_image_follows_the_colours():
    x = torch.zeros(1, 3, 32, 32)
    x[:, 0, :, :16] = 0.9
    x[:, 2, :, 16:] = 0.9
    m = slic_masks(x, 4)
    assert torch.equal(m.sum(1), torch.ones(1, 32, 32))
    # every region lies in one colour, and each colour has a region
    halves = [(bool(m[0, j, :, :16].any()), bool(m[0, j, :, 16:].any())) for j in range(4)]
    assert set(halves) == {(True, False), (False, True)}


@pytest.mark.parametrize("segments", [3, 8])
def test_slic_masks_when_slic_returns_more_regions_than_asked(segments):
    from skimage.segmentation import slic

    x = _ramp_image()  # SLIC makes 4 regions when asked for 3, 9 when asked for 8
    labels = slic(x[0].permute(1, 2, 0).double().numpy(), n_segments=segments,
                  compactness=10.0, start_label=0, channel_axis=-1, convert2lab=True)
    assert labels.max() + 1 > segments  # the case under test
    m = slic_masks(x, segments)
    assert m.shape == (1, segments, 32, 32)
    assert torch.equal(m.sum(1), torch.ones(1, 32, 32))


def test_classical_prior_pyramid_and_sizes():
    prior = ClassicalPrior(segments=4)
    x = torch.cat([_ramp_image(32, 48), torch.rand(1, 3, 32, 48)])
    feats, masks = prior(x)
    assert prior.channels == (10, 10, 10, 10)
    assert [tuple(f.shape) for f in feats] == [(2, 10, 32 // s, 48 // s) for s in PRIOR_STRIDES]
    assert masks.shape == (2, 4, 32, 48)
    # the region-mean channels (7..9) at stride 16 of a one-colour image are that colour
    flat = torch.tensor([0.2, 0.5, 0.7]).reshape(1, 3, 1, 1).expand(1, 3, 32, 32)
    f16 = prior(flat)[0][3]
    assert torch.allclose(f16[0, 7:], flat[0, :, :2, :2], atol=1e-6)
    for bad in [(1, 3, 40, 32), (1, 3, 32, 24)]:
        with pytest.raises(InputError, match="multiples of 16.*crop or pad"):
            prior(torch.rand(*bad))
    with pytest.raises(InputError, match=r"\(B, 3, H, W\)"):
        prior(torch.rand(1, 1, 32, 32))
    with pytest.raises(InputError, match="segments"):
        ClassicalPrior(segments=0)


def test_fixed_descriptor_constant_and_ramp():
    flat = torch.full((1, 3, 32, 32), 0.3, dtype=torch.float64)
    for f, s in zip(fixed_descriptor(flat), PRIOR_STRIDES, strict=True):
        assert f.shape == (1, 7, 32 // s, 32 // s)
        assert torch.allclose(f[:, :3], flat[:, :, :1, :1].expand_as(f[:, :3]))
        assert f[:, [3, 4, 6]].abs().max() < 1e-12  # x, y gradients and Laplacian
        assert f[:, 5].abs().max() < 1e-3  # magnitude: 4 sqrt(1e-8) = 4e-4 (the epsilon)
    # a grey ramp of slope a per pixel: at stride s the pooled ramp has slope a s per pixel,
    # Sobel / 8 returns that slope, and the descriptor scales it by 4
    a = 0.01
    ramp = (torch.arange(64, dtype=torch.float64) * a).expand(1, 3, 64, 64)
    for f, s in zip(fixed_descriptor(ramp), PRIOR_STRIDES, strict=True):
        inner = f[0, :, 1:-1, 1:-1]
        assert torch.allclose(inner[3], torch.full_like(inner[3], 4 * a * s), atol=1e-12)
        assert inner[4].abs().max() < 1e-12 and inner[6].abs().max() < 1e-12
        assert torch.allclose(inner[5], torch.full_like(inner[5], 4 * a * s), atol=1e-6)


# --- SPGRM and its blocks ------------------------------------------------------------------------
def test_prior_fusion_block_shape_and_zero_projection_identity():
    torch.manual_seed(0)
    pfb = PriorFusionBlock(8, heads=2)
    feat, prior = torch.rand(2, 8, 12, 10), torch.rand(2, 8, 12, 10)
    out = pfb(feat, prior)
    assert out.shape == feat.shape and not torch.allclose(out, feat)
    with torch.no_grad():
        pfb.proj.weight.zero_()
        pfb.proj.bias.zero_()
    assert torch.equal(pfb(feat, prior), feat)
    with pytest.raises(InputError, match="multiple of heads"):
        PriorFusionBlock(6, heads=4)


def test_prior_fusion_block_attention_uses_the_prior():
    torch.manual_seed(1)
    pfb = PriorFusionBlock(4, heads=1)
    feat = torch.rand(1, 4, 8, 8)
    a = pfb(feat, torch.rand(1, 4, 8, 8))
    b = pfb(feat, torch.rand(1, 4, 8, 8))
    assert not torch.allclose(a, b)


def _pyramid(b: int, h: int, w: int, channels=(10, 10, 10, 10)) -> list[Tensor]:
    return [torch.rand(b, c, h // s, w // s) for c, s in zip(channels, PRIOR_STRIDES,
                                                              strict=True)]


def test_spgrm_starts_as_the_identity():
    torch.manual_seed(2)
    hs = torch.rand(2, 3, 32, 32)
    with_prior = SPGRM((10, 10, 10, 10), channels=8, modules=3)
    out, feats = with_prior(hs, _pyramid(2, 32, 32))
    assert torch.equal(out, hs)
    assert len(feats) == 3 and all(f.shape == (2, 8, 32, 32) for f in feats)
    without = SPGRM(None, channels=8, modules=2)
    out, feats = without(hs, None)
    assert torch.equal(out, hs) and len(feats) == 2
    with pytest.raises(InputError, match="built with a prior"):
        with_prior(hs, None)
    # the prior reaches the teacher features (once the output layer learns, the output too)
    assert not torch.allclose(with_prior(hs, _pyramid(2, 32, 32))[1][0],
                              with_prior(hs, _pyramid(2, 32, 32))[1][0])


# --- SKAM ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("ratio", "student_learns"), [(1.0, False), (0.0, True), (0.5, True)])
def test_skam_mask_ratio_decides_whose_features_are_decoded(ratio, student_learns):
    torch.manual_seed(3)
    skam = SKAM([4, 4], [6, 6], latent=4, mask_ratio=ratio)
    student = [torch.rand(1, 4, 8, 8, requires_grad=True) for _ in range(2)]
    teacher = [torch.rand(1, 6, 8, 8) for _ in range(2)]
    loss = skam(student, teacher)
    assert loss.ndim == 0 and math.isfinite(loss.item()) and loss.item() > 0
    loss.backward()
    for f in student:
        gets = f.grad is not None and bool(f.grad.abs().max() > 0)
        assert gets == student_learns
    assert all(p.grad is not None for p in skam.dec.parameters())


def test_skam_rejects_bad_settings():
    with pytest.raises(InputError, match="mask_ratio"):
        SKAM([4], [4], mask_ratio=1.5)
    with pytest.raises(InputError, match="as many student as teacher"):
        SKAM([4, 4], [4])


# --- TorchScript prior ---------------------------------------------------------------------------
class _Contract(torch.nn.Module):
    """Four average-pooled copies of the image and two masks (one overshooting 1)."""

    def forward(self, x: Tensor) -> tuple[list[Tensor], Tensor]:
        feats = [F.avg_pool2d(x, 2), F.avg_pool2d(x, 4), F.avg_pool2d(x, 8),
                 F.avg_pool2d(x, 16).repeat(1, 2, 1, 1)]
        grey = x.mean(1, keepdim=True)
        return feats, torch.cat([2.0 * grey, 1.0 - grey], dim=1)


class _WrongStrides(torch.nn.Module):
    def forward(self, x: Tensor) -> tuple[list[Tensor], Tensor]:
        feats = [F.avg_pool2d(x, 2), F.avg_pool2d(x, 2), F.avg_pool2d(x, 8),
                 F.avg_pool2d(x, 16)]
        return feats, x[:, :1]


class _NoTuple(torch.nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x


def test_torchscript_prior_missing_and_not_torchscript(tmp_path):
    missing = tmp_path / "nowhere" / "fastsam.pt"
    with pytest.raises(MissingResourceError, match=str(missing).replace("\\", "\\\\")):
        TorchScriptPrior(missing)
    pickle = tmp_path / "weights.pt"
    torch.save({"w": torch.zeros(2)}, pickle)
    with pytest.raises(InputError, match="is not a TorchScript file"):
        TorchScriptPrior(pickle)
    text = tmp_path / "notes.ts"
    text.write_text("not a model")
    with pytest.raises(InputError, match="is not a TorchScript file"):
        TorchScriptPrior(text)


def test_torchscript_prior_contract(tmp_path):
    good = tmp_path / "good.pt"
    torch.jit.save(torch.jit.script(_Contract()), str(good))
    prior = TorchScriptPrior(good)
    x = torch.rand(2, 3, 32, 48)
    feats, masks = prior(x)
    assert prior.channels == (3, 3, 3, 6)
    assert [tuple(f.shape[2:]) for f in feats] == [(32 // s, 48 // s) for s in PRIOR_STRIDES]
    assert torch.allclose(feats[1], F.avg_pool2d(x, 4))
    assert masks.shape == (2, 2, 32, 48) and masks.min() >= 0 and masks.max() <= 1  # clamped
    assert torch.allclose(masks[:, 1], 1 - x.mean(1))
    with pytest.raises(InputError, match="multiples of 16"):
        prior(torch.rand(1, 3, 20, 32))

    for module, pattern in [(_WrongStrides(), "four feature maps at strides"),
                            (_NoTuple(), r"must return \(features, masks\)")]:
        path = tmp_path / f"{type(module).__name__}.pt"
        torch.jit.save(torch.jit.script(module), str(path))
        with pytest.raises(InputError, match=pattern):
            TorchScriptPrior(path)(x)


def test_torch_export_archive_prior(tmp_path):
    """A .pt2 archive (torch.export, TorchScript's successor) with dynamic shapes works the
    same; a .pt2 that is not one is an InputError."""
    auto = torch.export.Dim.AUTO
    program = torch.export.export(_Contract(), (torch.rand(2, 3, 32, 32),),
                                  dynamic_shapes=({0: auto, 2: auto, 3: auto},))
    path = tmp_path / "prior.pt2"
    torch.export.save(program, str(path))
    x = torch.rand(3, 3, 32, 48)
    feats, masks = TorchScriptPrior(path)(x)
    assert [tuple(f.shape[2:]) for f in feats] == [(32 // s, 48 // s) for s in PRIOR_STRIDES]
    assert torch.allclose(feats[1], F.avg_pool2d(x, 4))
    assert torch.allclose(masks[:, 1], 1 - x.mean(1))
    bad = tmp_path / "bad.pt2"
    bad.write_text("not an archive")
    with pytest.raises(InputError, match="torch.export"):
        TorchScriptPrior(bad)


# --- VGG19 and the content loss ------------------------------------------------------------------
VGG19_E = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
           512, 512, 512, 512, "M")  # Simonyan & Zisserman (2015), Table 1, column E


def _torchvision_vgg19_shapes() -> dict[str, tuple[int, ...]]:
    """torchvision's ``vgg19().state_dict()`` layout: ``features.<i>`` counts every module
    (conv, ReLU, max-pool), the classifier has three linear layers."""
    shapes: dict[str, tuple[int, ...]] = {}
    i, c_in = 0, 3
    for v in VGG19_E:
        if v == "M":
            i += 1
        else:
            shapes[f"features.{i}.weight"] = (v, c_in, 3, 3)
            shapes[f"features.{i}.bias"] = (v,)
            i, c_in = i + 2, v
    for j, (n_in, n_out) in zip((0, 3, 6), ((512 * 7 * 7, 4), (4, 4), (4, 10)), strict=True):
        shapes[f"classifier.{j}.weight"] = (n_out, n_in)  # shrunk: only features are read
        shapes[f"classifier.{j}.bias"] = (n_out,)
    return shapes


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory):
    shapes = _torchvision_vgg19_shapes()
    assert sum(k.startswith("features.") and k.endswith("weight") for k in shapes) == 16
    assert "features.34.weight" in shapes  # conv5_4, the last layer used
    gen = torch.Generator().manual_seed(0)
    state = {}
    for k, shape in shapes.items():
        fan_in = math.prod(shape[1:]) if len(shape) > 1 else 1
        state[k] = torch.randn(shape, generator=gen) * math.sqrt(2.0 / fan_in)
    path = tmp_path_factory.mktemp("vgg") / "vgg19-random.pth"
    torch.save(state, path)
    return path


def test_vgg19_features_load_and_shape(vgg_file):
    vgg = VGG19Features(vgg_file)
    assert not any(p.requires_grad for p in vgg.parameters())
    x = torch.rand(1, 3, 32, 48)
    with torch.no_grad():
        out = vgg(x)
    assert out.shape == (1, 512, 2, 3)  # four max-pools: 1/16
    assert (out < 0).any()  # before conv5_4's ReLU
    state = torch.load(vgg_file, weights_only=True)
    assert torch.equal(vgg.features[34].weight, state["features.34.weight"])
    assert content_loss(x, x.clone(), vgg=vgg).item() == 0.0
    # with VGG the perceptual term is the L1 distance of the conv5_4 maps
    y = x * 0.5
    with torch.no_grad():
        want = F.l1_loss(x, y) + 0.1 * (vgg(x) - vgg(y)).abs().mean()
    got = content_loss(x, y, vgg=vgg, perceptual_weight=0.1)
    assert got.item() == pytest.approx(want.item(), rel=1e-5)
    assert got.item() != pytest.approx(content_loss(x, y, perceptual_weight=0.1).item(), rel=1e-3)


def test_vgg19_features_bad_files(tmp_path, vgg_file):
    with pytest.raises(MissingResourceError, match="vgg19.pth do not exist"):
        VGG19Features(tmp_path / "vgg19.pth")
    wrong = tmp_path / "wrong.pth"
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, wrong)
    with pytest.raises(InputError, match="is not a VGG19 state dict"):
        VGG19Features(wrong)
    text = tmp_path / "text.pth"
    text.write_text("hello")
    with pytest.raises(InputError, match="is not a PyTorch state dict"):
        VGG19Features(text)
    # a state dict nested under "state_dict" loads too
    nested = tmp_path / "nested.pth"
    torch.save({"state_dict": torch.load(vgg_file, weights_only=True)}, nested)
    assert VGG19Features(nested)(torch.rand(1, 3, 16, 16)).shape == (1, 512, 1, 1)


def test_vgg19_features_file_that_is_not_a_dict(tmp_path):
    path = tmp_path / "tensor.pth"
    torch.save(torch.zeros(3), path)
    with pytest.raises(InputError):
        VGG19Features(path)


def test_content_loss_by_hand():
    a = torch.full((1, 3, 32, 32), 0.2)
    b = torch.full((1, 3, 32, 32), 0.5)
    assert float(content_loss(a, a.clone())) == 0.0
    assert float(content_loss(a, b, perceptual_weight=0.0)) == pytest.approx(0.3, abs=1e-6)
    # constant images: the descriptor differs only in the 3 colour channels (by 0.3) of 7
    want = 0.3 + 1e-2 * 0.3 * 3 / 7
    assert float(content_loss(a, b)) == pytest.approx(want, abs=1e-6)
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    content_loss(x, b).backward()
    assert torch.isfinite(x.grad).all()
