"""``expokit merge --method ahdr`` and ``expokit models`` with AHDR weights (tiny exports)."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest
from conftest import run_cli

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from expokit.hdr import merge_ahdr  # noqa: E402
from expokit.io import read_image  # noqa: E402
from expokit.models import zoo  # noqa: E402
from expokit.models.ahdr import AHDR  # noqa: E402
from expokit.models.zoo import export_weights  # noqa: E402

TIMES = (1 / 64, 1 / 8, 1.0)
TIMES_ARG = "1/64,1/8,1"


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    monkeypatch.setenv("EXPOKIT_THREADS", "1")  # the merge's torch threads


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Three PNG exposures and two tiny AHDR exports: random, and one whose output is 0.5."""
    from expokit.simulate import photograph, render_scene

    folder = tmp_path_factory.mktemp("ahdr")
    shots = []
    for i, f in enumerate(photograph(render_scene(30, 40, seed=5), TIMES)):
        shots.append(folder / f"shot{i}.png")
        cv2.imwrite(str(shots[-1]), f[..., ::-1])
    torch.manual_seed(0)
    net = AHDR(features=4, growth=2, layers=1, blocks=1)
    export_weights(net, folder / "tiny", name="ahdr", architecture=net.architecture)
    with torch.no_grad():  # last conv 0: sigmoid(0) = 0.5 everywhere
        net.conv3.weight.zero_()
        net.conv3.bias.zero_()
    export_weights(net, folder / "half", name="ahdr", architecture=net.architecture)
    return {"shots": shots, "tiny": folder / "tiny.safetensors",
            "half": folder / "half.safetensors"}


def merge(files, out, *extra):
    return run_cli("merge", *files["shots"], "--times", TIMES_ARG, "-o", out, *extra)


def test_merge_ahdr_writes_radiance_in_seconds_units(files, tmp_path):
    out = tmp_path / "half.exr"
    proc = merge(files, out, "--method", "ahdr", "--model", files["half"])
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stderr
    hdr = read_image(out)
    assert hdr.shape == (30, 40, 3)
    # network output 0.5 (half the shortest frame's clipping level) / t_min = 0.5 * 64 = 32
    np.testing.assert_allclose(hdr, 32.0, rtol=1e-6)


def test_merge_ahdr_equals_the_library_with_tiles(files, tmp_path):
    out = tmp_path / "tiny.exr"
    proc = merge(files, out, "--method", "ahdr", "--model", files["tiny"], "--tile", "16")
    assert proc.returncode == 0, proc.stderr
    frames = [cv2.imread(str(p))[..., ::-1] for p in files["shots"]]
    expected = merge_ahdr(frames, TIMES, model=AHDR.from_pretrained(path=files["tiny"]),
                          tile=512)
    np.testing.assert_allclose(read_image(out), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("flag", [["--deghost"], ["--calibrate", "robertson"],
                                  ["--curves", "separate"], ["--weighting", "triangle"],
                                  ["--mask-color", "0,0,255"]])
def test_merge_ahdr_refuses_the_classical_options(files, tmp_path, flag):
    out = tmp_path / "x.exr"
    proc = merge(files, out, "--method", "ahdr", "--model", files["tiny"], *flag)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("error:") and "Traceback" not in proc.stderr
    assert f"{flag[0]} is not an option of ahdr" in lines[-1]
    assert not out.exists()


@pytest.mark.parametrize("flag", [["--model", "ahdr"], ["--tile", "64"]])
def test_classical_merges_refuse_the_learned_options(files, tmp_path, flag):
    proc = merge(files, tmp_path / "x.exr", *flag)
    assert proc.returncode == 2
    assert f"{flag[0]} is not an option of debevec" in proc.stderr


def test_merge_ahdr_unknown_model_and_frame_count(files, tmp_path):
    proc = merge(files, tmp_path / "x.exr", "--method", "ahdr", "--model", "ahdr_big")
    assert proc.returncode == 2
    assert "'ahdr_big' is neither a shipped AHDR weights name (ahdr_skt, ahdr" in proc.stderr
    proc = run_cli("merge", *files["shots"][:2], "--times", "1/64,1/8", "-o",
                   tmp_path / "x.exr", "--method", "ahdr", "--model", files["tiny"])
    assert proc.returncode == 2
    assert "AHDR takes exactly three frames (short, reference, long), got 2" in proc.stderr
    assert "--method debevec" in proc.stderr
    assert not (tmp_path / "x.exr").exists()


def test_merge_ahdr_without_torch_exits_3(files, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # find_spec("torch") is None: not installed
    proc = merge(files, tmp_path / "x.exr", "--method", "ahdr", "--model", files["tiny"])
    assert proc.returncode == 3, proc.stderr
    assert 'AHDR needs torch, which is not installed: pip install "expokit[torch]"' in proc.stderr
    assert "Traceback" not in proc.stderr


def test_models_lists_shipped_ahdr_weights_and_merge_uses_them(files, tmp_path, monkeypatch):
    shipped = tmp_path / "weights"  # a stand-in for the package's weights folder
    net = AHDR.from_pretrained(path=files["half"])
    export_weights(net, shipped / "ahdr_skt", name="ahdr_skt", architecture=net.architecture,
                   data="simulated dynamic brackets", scores={"psnr_mu": 38.5})
    monkeypatch.setattr(zoo, "WEIGHTS_DIR", shipped)
    proc = run_cli("models")
    assert proc.returncode == 0, proc.stderr
    assert "ahdr_skt.safetensors" in proc.stdout and "psnr_mu 38.5" in proc.stdout
    assert "ahdr_skt trained on: simulated dynamic brackets" in proc.stdout
    out = tmp_path / "default.exr"
    proc = merge(files, out, "--method", "ahdr")  # no --model: the shipped "ahdr_skt"
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_allclose(read_image(out), 32.0, rtol=1e-6)
