"""Torch MEF-SSIM loss: agreement with the NumPy metric, gradients, shapes and errors."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from expokit.errors import InputError  # noqa: E402
from expokit.metrics.mef import mef_ssim  # noqa: E402
from expokit.nn import MEFSSIMLoss, mef_ssim_loss, mef_ssim_map  # noqa: E402
from expokit.nn.losses import structure_exponent  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors: one intra-op thread (on a loaded 2-core machine more threads only spin)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _bracket(seed: int, *, b: int = 2, n: int = 3, c: int = 3, h: int = 30, w: int = 27):
    """Smooth random scenes in [0, 1] under n exposure gains, clipped (flat saturated areas)."""
    gen = torch.Generator().manual_seed(seed)
    scene = torch.rand(b, 1, c, h, w, generator=gen, dtype=torch.float64)
    scene = torch.nn.functional.avg_pool2d(scene.flatten(0, 2)[:, None], 3, 1, 1).view(
        b, 1, c, h, w)
    gains = torch.linspace(0.6, 2.4, n, dtype=torch.float64).view(1, n, 1, 1, 1)
    sources = (scene * gains).clamp(0.0, 1.0)
    fused = (0.6 * sources.mean(dim=1) + 0.4 * sources[:, 0]).clamp(0.0, 1.0)
    return fused, sources


def _numpy_score(fused, sources, i):
    f = fused[i].permute(1, 2, 0).numpy()
    s = [x.permute(1, 2, 0).numpy() for x in sources[i]]
    return mef_ssim(f, s, data_range=1.0)


@pytest.mark.parametrize("channels", [1, 3])
def test_agrees_with_numpy_metric(channels):
    fused, sources = _bracket(0, c=channels)
    assert (sources == 1.0).any()  # saturated (flat) patches are part of the test
    loss = mef_ssim_loss(fused, sources, reduction="none")
    for i in range(fused.shape[0]):
        assert float(1.0 - loss[i]) == pytest.approx(_numpy_score(fused, sources, i), abs=1e-5)
        assert float(1.0 - loss[i]) == pytest.approx(_numpy_score(fused, sources, i), abs=1e-12)


def test_float32_close_and_kernels_follow_dtype():
    fused, sources = _bracket(1)
    ref = mef_ssim_loss(fused, sources)
    got = mef_ssim_loss(fused.float(), sources.float())
    assert got.dtype == torch.float32
    assert float(got) == pytest.approx(float(ref), abs=1e-4)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_structure_exponent_stays_in_range_at_full_consistency(dtype):
    """R = 1 (or a rounding above it) must give the cap 10, never tan(pi / 2) < 0: in float32
    MATLAB's cap 1 - 2.2e-16 rounds back to 1 and once made NaN weights in training."""
    r = torch.tensor([1.0, 1.0 + 1e-6, 1.5, 0.5, -0.1], dtype=dtype)
    p = structure_exponent(r)
    assert p.dtype == dtype
    assert p.tolist()[:3] == [10.0, 10.0, 10.0]
    assert float(p[3]) == pytest.approx(1.0, abs=1e-6)  # tan(pi / 4)
    assert 0.0 <= float(p[4]) < 1e-6


def test_identity_is_zero_and_reductions():
    fused, sources = _bracket(2)
    same = torch.stack([fused, fused], dim=1)
    assert float(mef_ssim_loss(fused, same)) == pytest.approx(0.0, abs=1e-9)
    per = mef_ssim_loss(fused, sources, reduction="none")
    assert per.shape == (2,)
    assert float(mef_ssim_loss(fused, sources, reduction="sum")) == pytest.approx(
        float(per.sum()), abs=1e-14)
    assert float(mef_ssim_loss(fused, sources)) == pytest.approx(float(per.mean()), abs=1e-14)
    assert mef_ssim_map(fused, sources).shape == (2, 20, 17)


def test_module_calls_function():
    fused, sources = _bracket(3)
    module = MEFSSIMLoss(sigma=2.0, reduction="none")
    assert "sigma=2.0" in repr(module)
    assert torch.equal(module(fused, sources),
                       mef_ssim_loss(fused, sources, sigma=2.0, reduction="none"))


def test_gradcheck_float64():
    fused, sources = _bracket(4, b=1, n=2, c=1, h=13, w=12)
    fused = fused.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda f: mef_ssim_loss(f, sources), (fused,))
    # with respect to the sources too (random patches: no ties, no flat areas, p below its cap)
    gen = torch.Generator().manual_seed(5)
    src = torch.rand(1, 2, 1, 13, 12, generator=gen, dtype=torch.float64, requires_grad=True)
    f2 = torch.rand(1, 1, 13, 12, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda f, s: mef_ssim_loss(f, s), (f2, src))


def test_gradients_finite_on_flat_patches():
    fused = torch.full((1, 1, 16, 16), 0.5, dtype=torch.float64, requires_grad=True)
    sources = torch.ones(1, 2, 1, 16, 16, dtype=torch.float64, requires_grad=True)
    loss = mef_ssim_loss(fused, sources)
    loss.backward()
    assert torch.isfinite(fused.grad).all() and torch.isfinite(sources.grad).all()
    assert float(loss.detach()) == pytest.approx(0.0, abs=1e-12)  # nothing to compare: C / C


def test_training_step_improves_score():
    fused, sources = _bracket(6, b=1)
    x = (fused * 0.2 + 0.4).clone().requires_grad_(True)  # a washed-out start
    opt = torch.optim.Adam([x], lr=0.02)
    start = float(mef_ssim_loss(x, sources).detach())
    for _ in range(20):
        opt.zero_grad()
        loss = mef_ssim_loss(x, sources)
        loss.backward()
        opt.step()
    assert float(mef_ssim_loss(x, sources).detach()) < start


def test_errors():
    fused, sources = _bracket(7)
    with pytest.raises(InputError, match=r"\(B, N, C, H, W\)"):
        mef_ssim_loss(fused, sources[:, 0])
    with pytest.raises(InputError, match="expected"):
        mef_ssim_loss(fused[:, :2], sources)
    with pytest.raises(InputError, match="share one floating dtype"):
        mef_ssim_loss(fused.float(), sources)
    with pytest.raises(InputError, match="smaller than the 11x11 window"):
        mef_ssim_loss(fused[..., :8, :8], sources[..., :8, :8])
    with pytest.raises(InputError, match="reduction"):
        mef_ssim_loss(fused, sources, reduction="max")
    with pytest.raises(InputError, match="torch tensors"):
        mef_ssim_loss(np.zeros((1, 1, 16, 16)), sources)
