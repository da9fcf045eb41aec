"""The learned HDR merge (expokit.hdr.merge_ahdr): tiling, units, frame order, input checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from expokit.errors import InputError, MissingResourceError  # noqa: E402
from expokit.hdr import MERGERS, merge, merge_ahdr  # noqa: E402
from expokit.models import zoo  # noqa: E402
from expokit.models.ahdr import AHDR, ahdr_inputs  # noqa: E402
from expokit.models.zoo import export_weights  # noqa: E402

TINY = {"features": 4, "growth": 2, "layers": 1, "blocks": 1}  # radius 1+2+1+2+1+1+1 = 9


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    monkeypatch.setenv("EXPOKIT_THREADS", "1")  # merge_ahdr's default thread count
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _net(seed: int = 0, **arch: int) -> AHDR:
    torch.manual_seed(seed)
    return AHDR(**{**TINY, **arch}).eval()


def _frames(h: int = 40, w: int = 50, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(3)]


def _whole(net: AHDR, frames: list[np.ndarray], times: list[float]) -> np.ndarray:
    """The network run by hand on the whole image, shortest frame first, in its own units."""
    x = torch.from_numpy(np.stack(frames).astype(np.float32) / 255.0).permute(0, 3, 1, 2)
    rel = torch.tensor([t / times[0] for t in times], dtype=torch.float32)
    with torch.no_grad():
        return net(ahdr_inputs(x[None], rel[None]))[0].permute(1, 2, 0).numpy()


def test_tiles_give_the_whole_image_result_and_too_little_overlap_shows_seams():
    net = _net()
    assert net.radius == 9
    frames, times = _frames(), [1.0, 4.0, 16.0]  # t_min = 1 s: radiance in network units
    whole = _whole(net, frames, times)
    for tile, overlap in [(16, None), (16, 9), (24, 12), (512, None)]:
        tiled = merge_ahdr(frames, times, model=net, tile=tile, overlap=overlap)
        assert np.abs(tiled - whole).max() < 1e-5, (tile, overlap)
    # less context than the receptive radius shows at tile borders: the test can fail
    seams = merge_ahdr(frames, times, model=net, tile=16, overlap=0)
    assert np.abs(seams - whole).max() > 1e-3


def test_frames_in_any_order_are_sorted_and_divided_by_the_shortest_time():
    net = _net(1)
    frames, times = _frames(24, 30, seed=2), [0.01, 0.04, 0.16]
    expected = _whole(net, frames, times) / 0.01  # the network's unit: 1 = t_min's saturation
    shuffled = merge_ahdr([frames[2], frames[0], frames[1]], [0.16, 0.01, 0.04], model=net)
    assert shuffled.dtype == np.float32 and shuffled.shape == (24, 30, 3)
    np.testing.assert_allclose(shuffled, expected, rtol=1e-5)
    # the network is not symmetric in its frames: the order matters, so the test can fail
    wrong = _whole(net, [frames[2], frames[0], frames[1]], [0.16, 0.01, 0.04]) / 0.16
    assert np.abs(wrong - expected).max() > 1e-2


def test_a_constant_network_output_of_one_half_is_radiance_half_over_t_min():
    net = _net()
    with torch.no_grad():  # last conv 0: sigmoid(0) = 0.5 everywhere, whatever the frames
        net.conv3.weight.zero_()
        net.conv3.bias.zero_()
    times = [1 / 30, 1 / 120, 1 / 480]  # not sorted: t_min is the last one
    out = merge_ahdr(_frames(20, 26), times, model=net, tile=16)
    np.testing.assert_allclose(out, 0.5 * 480, rtol=1e-6)  # 0.5 / (1/480 s) = 240
    # so radiance * t_min = 0.5: half the level at which the shortest frame clips


def test_uint8_uint16_and_float_frames_agree():
    net = _net()
    frames8, times = _frames(16, 20), [1.0, 2.0, 4.0]
    a = merge_ahdr(frames8, times, model=net)
    b = merge_ahdr([f.astype(np.uint16) * 257 for f in frames8], times, model=net)  # v/255
    c = merge_ahdr([f / 255.0 for f in frames8], times, model=net)
    np.testing.assert_allclose(b, a, atol=1e-6)
    np.testing.assert_allclose(c, a, atol=1e-6)


@pytest.mark.parametrize("count", [2, 4])
def test_only_three_frames(count):
    rng = np.random.default_rng(0)
    frames = [rng.random((16, 16, 3), dtype=np.float32) for _ in range(count)]
    with pytest.raises(InputError, match=r"exactly three frames \(short, reference, long\), "
                       rf"got {count}.*debevec"):
        merge_ahdr(frames, [2.0**k for k in range(count)], model=_net())


def test_bad_inputs_are_refused():
    net, times = _net(), [1.0, 4.0, 16.0]
    grey = [f[..., 0] for f in _frames(16, 16)]
    with pytest.raises(InputError, match="RGB.*greyscale.*debevec"):
        merge_ahdr(grey, times, model=net)
    frames = _frames(16, 16)
    frames[2] = frames[2][:, :15]
    with pytest.raises(InputError, match="image 3 is 15x16 but image 1 is 16x16"):
        merge_ahdr(frames, times, model=net)
    with pytest.raises(InputError, match=r"expected \[0, 1\]"):
        merge_ahdr([f.astype(np.float32) for f in _frames(16, 16)], times, model=net)
    with pytest.raises(InputError, match="duplicate"):
        merge_ahdr(_frames(16, 16), [1.0, 1.0, 4.0], model=net)
    with pytest.raises(InputError, match="tile must be an integer >= 16"):
        merge_ahdr(_frames(16, 16), times, model=net, tile=8)
    with pytest.raises(InputError, match="overlap must be an integer >= 0"):
        merge_ahdr(_frames(16, 16), times, model=net, overlap=-1)


def test_model_by_name_path_or_instance(tmp_path, monkeypatch):
    net, frames, times = _net(3), _frames(16, 20), [1.0, 4.0, 16.0]
    with pytest.raises(InputError, match=r"'nope' is neither .*\(ahdr_skt, ahdr"):
        merge_ahdr(frames, times, model="nope")
    export_weights(net, tmp_path / "mine", name="ahdr", architecture=net.architecture)
    expected = merge_ahdr(frames, times, model=net)
    for given in (tmp_path / "mine.safetensors", str(tmp_path / "mine.safetensors")):
        np.testing.assert_array_equal(merge_ahdr(frames, times, model=given), expected)
    with pytest.raises(MissingResourceError, match="absent.safetensors"):
        merge_ahdr(frames, times, model=tmp_path / "absent.safetensors")
    # shipped names resolve in the package's weights folder (here a stand-in), loaded once
    shipped = tmp_path / "shipped"
    export_weights(net, shipped / "ahdr_skt", name="ahdr_skt", architecture=net.architecture)
    monkeypatch.setattr(zoo, "WEIGHTS_DIR", shipped)
    loads = []
    real = AHDR.from_pretrained.__func__

    def counting(cls, *args, **kwargs):
        loads.append(args)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(AHDR, "from_pretrained", classmethod(counting))
    np.testing.assert_array_equal(merge_ahdr(frames, times, tile=16), expected)  # 2 tiles
    assert loads == [("ahdr_skt",)]  # the default
    with pytest.raises(MissingResourceError, match="ahdr.safetensors is absent"):
        merge_ahdr(frames, times, model="ahdr")


def test_merge_dispatches_ahdr_and_refuses_classical_options():
    net, frames, times = _net(), _frames(16, 16), [1.0, 4.0, 16.0]
    assert MERGERS["ahdr"] is merge_ahdr
    np.testing.assert_array_equal(merge(frames, times, method="ahdr", model=net),
                                  merge_ahdr(frames, times, model=net))
    with pytest.raises(InputError, match="ahdr has no option 'deghost'"):
        merge(frames, times, method="ahdr", model=net, deghost="reference")


def test_expokit_hdr_imports_without_torch_and_ahdr_then_asks_for_it():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import numpy as np\n"
        "import expokit.hdr as h\n"
        "from expokit.errors import MissingResourceError\n"
        "f = [np.full((8, 8, 3), v, np.uint8) for v in (10, 100, 200)]\n"
        "assert h.merge(f, [1, 2, 4], method='debevec').shape == (8, 8, 3)\n"
        "try:\n"
        "    h.merge(f, [1, 2, 4], method='ahdr')\n"
        "except MissingResourceError as e:\n"
        "    print(e)\n"
    )
    src = str(Path(__file__).resolve().parents[1] / "src")  # this checkout, not an install
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert 'AHDR needs torch, which is not installed: pip install "expokit[torch]"' in proc.stdout
