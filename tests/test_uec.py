"""UEC model (expokit.models.uec) and its training (expokit.train.uec).

Reference values: the parameter count is computed by hand from the layer sizes of the paper /
the authors' code; identity and antisymmetry follow from the predictor's construction; the
3-D table of the identity transform must reproduce its grid (trilinear interpolation of a
linear function is exact).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from expokit.errors import InputError  # noqa: E402
from expokit.models.uec import (  # noqa: E402
    EV_STOPS,
    FEATURE_DIM,
    UEC,
    ExposureCorrector,
    ExposureEncoder,
    ParameterPredictor,
    thumbnail,
)
from expokit.models.zoo import WEIGHTS_DIR  # noqa: E402


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def model() -> UEC:
    torch.manual_seed(0)
    m = UEC().eval()
    with torch.no_grad():  # a random but not-near-identity model
        m.predictor.fc4.weight.mul_(20.0)
    return m


def test_parameter_count_by_hand() -> None:
    encoder = (3 * 7 * 7 * 32 + 32) + (32 * 3 * 3 * 32 + 32)  # 4736 + 9248
    predictor = (96 * 8 + 8) + (16 * 1 + 1)  # shared 96->8, then 16->1
    corrector = (3 * 64 + 64) + (64 * 64 + 64) + (64 * 3 + 3)  # 1x1 convs 3->64->64->3
    assert (encoder, predictor, corrector) == (13984, 793, 4611)
    assert _count(ExposureEncoder()) == encoder
    assert _count(ParameterPredictor()) == predictor
    assert _count(ExposureCorrector()) == corrector
    total = _count(UEC())
    assert total == encoder + predictor + corrector == 19388  # the authors' code
    assert abs(total - 19_000) / 19_000 < 0.10  # the paper's "about 19K"


def test_encoder_feature_is_std_mean_max() -> None:
    enc = ExposureEncoder()
    x = torch.rand(2, 3, 64, 80)
    f = enc(x)
    assert f.shape == (2, FEATURE_DIM)
    with torch.no_grad():
        y = torch.relu(enc.conv2(torch.relu(enc.conv1(x))))
    assert y.shape[-2:] == (15, 19)  # (64 + 2 - 7) // 2 + 1 = 30, then (30 + 2 - 3) // 2 + 1
    torch.testing.assert_close(f[:, :32], y.std(dim=(2, 3)))  # unbiased, as torch.std_mean
    torch.testing.assert_close(f[:, 32:64], y.mean(dim=(2, 3)))
    torch.testing.assert_close(f[:, 64:], y.amax(dim=(2, 3)))


def test_thumbnail_is_256_high_and_keeps_aspect() -> None:
    assert thumbnail(torch.rand(1, 3, 512, 1000)).shape == (1, 3, 256, 500)
    x = torch.rand(1, 3, 256, 300)
    assert thumbnail(x) is x
    flat = torch.full((1, 3, 600, 900), 0.3)
    torch.testing.assert_close(thumbnail(flat), torch.full((1, 3, 256, 384), 0.3))


def test_predictor_is_antisymmetric_and_zero_at_equal_features() -> None:
    torch.manual_seed(1)
    p = ParameterPredictor()
    a, b = torch.randn(5, 96), torch.randn(5, 96)
    assert torch.equal(p(a, a), torch.zeros(5))  # 1 - lambda = 0: lambda = 1 exactly
    torch.testing.assert_close(p(a, b), -p(b, a))
    # p = (W_a - W_b)(tanh(fc3 a) - tanh(fc3 b)): the bias of fc4 cancels
    w = p.fc4.weight[0, :8] - p.fc4.weight[0, 8:]
    want = (torch.tanh(p.fc3(a)) - torch.tanh(p.fc3(b))) @ w
    torch.testing.assert_close(p(a, b), want)


def test_identity_when_reference_feature_equals_input(model: UEC) -> None:
    x = torch.rand(2, 3, 100, 140)
    with torch.no_grad():
        assert torch.equal(model.predict(x, model.encode(x)), torch.zeros(2, 3))
        assert torch.equal(model(x, model.encode(x)), x)
        # and for the training path, where the input is its own 256-high copy
        x256 = torch.rand(1, 3, 256, 256)
        assert torch.equal(model(x256, model.encode(x256)), x256)


def test_corrector_formula_and_range(model: UEC) -> None:
    x = torch.rand(2, 3, 16, 16)
    k = torch.tensor([0.5, -3.0])  # k = 1 - lambda
    with torch.no_grad():
        h = model.corrector.h(x)
        want = torch.clamp((1 - k.view(-1, 1, 1, 1)) * x + k.view(-1, 1, 1, 1) * h, 0, 1)
        torch.testing.assert_close(model.corrector(x, k), want)
        # the pixel-list form is the same MLP
        px = x.permute(0, 2, 3, 1).reshape(2, -1, 3)
        torch.testing.assert_close(model.corrector.h_pixels(px),
                                   h.permute(0, 2, 3, 1).reshape(2, -1, 3), rtol=1e-5, atol=1e-6)


def test_output_in_unit_range_for_extreme_inputs(model: UEC) -> None:
    x = torch.cat([torch.zeros(1, 3, 40, 40), torch.ones(1, 3, 40, 40), torch.rand(1, 3, 40, 40)])
    ref = model.encode(torch.rand(3, 3, 40, 40) ** 4)
    with torch.no_grad():
        out = model(x, ref)
    assert out.shape == x.shape
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_full_resolution_render_is_the_per_pixel_transform(model: UEC) -> None:
    x = torch.rand(1, 3, 300, 200)
    ref = model.encode(torch.rand(1, 3, 90, 90) ** 3)
    with torch.no_grad():
        k = model.predict(x, ref)
        out = model(x, ref)
        torch.testing.assert_close(out, model.render(x, k))
        px = x[0].permute(1, 2, 0).reshape(-1, 3)
        got = model.transform_pixels(px, k[0]).reshape(300, 200, 3).permute(2, 0, 1)
        torch.testing.assert_close(got[None], out, rtol=1e-5, atol=1e-6)


def test_lut_of_identity_reproduces_its_grid(model: UEC) -> None:
    import torch.nn.functional as F  # noqa: N812

    with torch.no_grad():
        lut = model.lut(torch.zeros(3), size=9)  # k = 0: identity
    assert lut.shape == (1, 3, 9, 9, 9)
    axis = torch.linspace(0, 1, 9)
    torch.testing.assert_close(lut[0, 0, 2, 5, :], axis)  # red varies along the last axis
    torch.testing.assert_close(lut[0, 2, :, 4, 1], axis)  # blue along the first
    pts = torch.rand(1, 1, 1, 500, 3)
    got = F.grid_sample(lut, pts * 2 - 1, mode="bilinear", align_corners=True)
    torch.testing.assert_close(got[0, :, 0, 0].T, pts[0, 0, 0], rtol=0, atol=1e-6)


def test_ev_feature_interpolates_the_table() -> None:
    m = UEC()
    with torch.no_grad():
        m.ev_features.copy_(torch.arange(7.0)[:, None].expand(7, FEATURE_DIM))
    assert m.ev_stops.tolist() == list(EV_STOPS)
    torch.testing.assert_close(m.ev_feature(0.5), torch.full((FEATURE_DIM,), 3.5))
    torch.testing.assert_close(m.ev_feature(-3), torch.zeros(FEATURE_DIM))
    torch.testing.assert_close(m.ev_feature(3.0), torch.full((FEATURE_DIM,), 6.0))
    with pytest.raises(InputError, match=r"ev must be .* \[-3, 3\]"):
        m.ev_feature(3.5)
    with pytest.raises(InputError, match="ev must be"):
        m.ev_feature(float("nan"))


def test_bad_inputs_raise_input_error(model: UEC) -> None:
    with pytest.raises(InputError, match=r"expected \(B, 3, H, W\)"):
        model(torch.rand(3, 32, 32))
    with pytest.raises(InputError, match="expected a torch tensor"):
        model(np.zeros((1, 3, 32, 32), np.float32))
    with pytest.raises(InputError, match="expected a float tensor"):
        model(torch.zeros(1, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(InputError, match=r"ref_feature has shape \(1, 95\)"):
        model(torch.rand(1, 3, 32, 32), torch.zeros(1, 95))
    with pytest.raises(InputError, match="ref_feature has shape"):
        model(torch.rand(2, 3, 32, 32), torch.zeros(3, 96))


# --- shipped weights -------------------------------------------------------------------------
def _shipped() -> UEC:
    if not (WEIGHTS_DIR / "uec.safetensors").is_file():
        pytest.skip("shipped UEC weights are absent")
    return UEC.from_pretrained("uec")


def test_from_pretrained_is_strict_and_carries_reference_features(tmp_path) -> None:
    import json

    from safetensors.torch import load_file, save_file

    from expokit.models.zoo import file_sha256

    m = _shipped()
    record = json.loads((WEIGHTS_DIR / "uec.json").read_text())
    assert record["sha256"] == file_sha256(WEIGHTS_DIR / "uec.safetensors")
    assert float(m.default_feature.abs().sum()) > 0  # a real default reference
    torch.testing.assert_close(m.default_feature, m.ev_features[EV_STOPS.index(0.0)])
    # a file missing one tensor is refused, not silently half-loaded
    tensors = load_file(str(WEIGHTS_DIR / "uec.safetensors"))
    del tensors["default_feature"]
    save_file(tensors, str(tmp_path / "cut.safetensors"))
    (tmp_path / "cut.json").write_text(json.dumps({**record, "sha256": None}))
    with pytest.raises(InputError, match="default_feature"):
        UEC.from_pretrained(path=tmp_path / "cut.safetensors")


def test_shipped_per_ev_features_grow_with_exposure() -> None:
    m = _shipped()
    mean_part = m.ev_features[:, 32:64].mean(dim=1)  # mean-pooled activations
    assert bool((mean_part[1:] > mean_part[:-1]).all()), mean_part.tolist()


def _random_images(seed: int = 0) -> torch.Tensor:
    """Smooth random images through gammas 0.4..4 (dark to bright) and two noise images."""
    g = torch.Generator().manual_seed(seed)
    low = torch.nn.functional.interpolate(torch.rand(4, 3, 8, 12, generator=g), size=(96, 144),
                                          mode="bilinear", align_corners=False)
    gammas = torch.tensor([0.4, 1.0, 2.0, 4.0]).view(4, 1, 1, 1)
    return torch.cat([low ** gammas, torch.rand(2, 3, 96, 144, generator=g)])


def test_shipped_one_pass_is_pixelwise_monotonic_in_reference() -> None:
    """The property the monotonicity loss trains (one pass, as in the authors' code, eq. 5).

    One pass is ``x + k (h(x) - x)``: it is pixel-wise non-decreasing in the reference's
    brightness exactly when ``h(x) - x`` keeps one sign over all colours and ``k`` moves the
    other way as the reference brightens. Both are checked on random colours / images with
    the shipped per-EV reference features, then the outputs themselves.
    """
    m = _shipped()
    colours = torch.rand(100_000, 3, generator=torch.Generator().manual_seed(1))
    x = _random_images()
    with torch.no_grad():
        step = m.corrector.h_pixels(colours) - colours
        f = m.encode(x)
        k = torch.stack([m.predictor(f, m.ev_features[i].expand_as(f))
                         for i in range(len(EV_STOPS))], dim=1)
        outs = [m.corrector(x, k[:, i]) for i in range(len(EV_STOPS))]
    sign = 1.0 if float(step.mean()) > 0 else -1.0
    assert bool((sign * step >= 0).all())
    assert bool((sign * (k[:, 1:] - k[:, :-1]) > 0).all()), k
    for darker, brighter in zip(outs[:-1], outs[1:], strict=True):
        assert float((darker - brighter).max()) <= 1e-6


def test_shipped_three_passes_brighten_with_the_reference_on_average() -> None:
    """The full 3-pass model: a brighter reference gives a brighter mean output, per image.

    Pixel-wise it does not hold everywhere (each pass re-predicts lambda from the current
    image, which the one-pass monotonicity loss does not constrain); the measured share of
    violating pixels is in the weights' record and the report.
    """
    m = _shipped()
    x = _random_images(2)
    with torch.no_grad():
        means = torch.stack([m(x, m.ev_features[i]).mean(dim=(1, 2, 3))
                             for i in range(len(EV_STOPS))], dim=1)
    assert bool((means[:, 1:] > means[:, :-1]).all()), means


# --- training --------------------------------------------------------------------------------
def test_tiny_training_run_reduces_the_loss() -> None:
    """12 Adam steps on one fixed simulated sequence pair lower the total loss."""
    from expokit.simulate import render_scene
    from expokit.train.uec import UECDataConfig, UECLossConfig, _Sources, make_batch, uec_losses

    rad = render_scene(300, 300)
    cfg = UECDataConfig(window=64)
    batch = make_batch(_Sources([rad], [], {}), cfg, 1, np.random.default_rng(0))
    assert batch["x"].shape == (1, 3, 256, 256) and batch["win"].tolist()[2] == 64
    torch.manual_seed(0)
    m = UEC()
    opt = torch.optim.Adam(m.parameters(), lr=5e-3)
    weights = UECLossConfig()
    with torch.no_grad():
        first = float(uec_losses(m, batch, weights)["total"])
    for _ in range(12):
        loss = uec_losses(m, batch, weights)["total"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        last = float(uec_losses(m, batch, weights)["total"])
    assert last < 0.8 * first, (first, last)


def test_losses_by_hand() -> None:
    from expokit.train.uec import UECLossConfig, tv_loss, uec_losses

    img = torch.zeros(1, 3, 4, 4)
    img[..., :, 2:] = 1.0  # one vertical edge: 4 of 12 horizontal pairs differ by 1
    torch.testing.assert_close(tv_loss(img), torch.tensor(4 / 12))
    m = UEC()
    x = torch.rand(2, 3, 256, 256)
    batch = {"x": x, "ref": x.clone(), "mono_dark": x.clone(), "mono_bright": x.clone(),
             "win": torch.tensor([0, 0, 0])}
    with torch.no_grad():
        losses = uec_losses(m, batch, UECLossConfig())
    # reference = input: identity, so no restoration error and no monotonicity violation
    assert float(losses["restoration"]) == 0.0 and float(losses["monotonic"]) == 0.0
    torch.testing.assert_close(losses["total"], 0.1 * tv_loss(x))


def test_training_refuses_inputs_that_are_not_256_high() -> None:
    from expokit.train.uec import UECLossConfig, uec_losses

    x = torch.rand(1, 3, 128, 128)
    batch = {"x": x, "ref": x, "mono_dark": x, "mono_bright": x, "win": torch.tensor([0, 0, 0])}
    with pytest.raises(InputError, match="256 pixels high"):
        uec_losses(UEC(), batch, UECLossConfig())


def test_mefb_training_files_exclude_ma2015(shared_data) -> None:
    from conftest import need

    from expokit.train.uec import MA2015_IN_MEFB, mefb_training_files

    need(shared_data, "mefb/input")
    need(shared_data, "ma2015/source image sequences")
    files, record = mefb_training_files(shared_data)
    banned = {n.lower() for n in MA2015_IN_MEFB}
    assert files and not any(f.parent.name.lower() in banned for f in files)
    assert len(record["excluded_by_name"]) == 16
    # TableLamp's two files are byte-for-byte Ma 2015 images under another name
    assert "TableLamp/TableLamp_A.png" in record["excluded_by_pixel_hash"]
