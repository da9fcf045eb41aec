"""CLI plumbing of the learned-model commands that needs no trained model."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import CliResult, run_cli

from expokit.errors import InputError
from expokit.train.config import parse_overrides  # moved from the CLI (issue 10)


def test_overrides_are_toml_values():
    got = parse_overrides(["loop.steps=10", "loop.lr=1e-3", "data.name=abc", "loop.flip=true",
                           "data.evs=[-1, 1]"])
    assert got == {"loop.steps": 10, "loop.lr": 1e-3, "data.name": "abc", "loop.flip": True,
                   "data.evs": [-1, 1]}


def test_override_without_equals_is_refused():
    with pytest.raises(InputError, match="KEY=VALUE"):
        parse_overrides(["loop.steps"])


def run(*args: str) -> CliResult:
    return run_cli(*args)


def test_score_learned_metric_without_checkpoint_exits_3(tmp_path):
    img = tmp_path / "x.png"
    cv2.imwrite(str(img), np.full((40, 40, 3), 128, np.uint8))
    proc = run("score", str(img), "-m", "musiq")
    assert proc.returncode == 3, proc.stderr
    assert "--checkpoint musiq=PATH" in proc.stderr and "Traceback" not in proc.stderr


def test_score_checkpoint_option_names_learned_metrics(tmp_path):
    proc = run("score", "x.png", "-m", "musiq", "--checkpoint", "psnr=a.pth")
    assert proc.returncode == 2
    assert "musiq, dbcnn" in proc.stderr


@pytest.fixture(scope="module")
def bracket_files(tmp_path_factory):
    from expokit.simulate import photograph, render_scene

    folder = tmp_path_factory.mktemp("bracket")
    frames = photograph(render_scene(60, 80, seed=3), (1 / 64, 1 / 8, 1.0))
    paths = []
    for i, f in enumerate(frames):
        paths.append(folder / f"shot{i}.png")
        cv2.imwrite(str(paths[-1]), f[..., ::-1])
    return paths


def test_fuse_deepfuse_end_to_end(bracket_files, tmp_path):
    target = tmp_path / "fused.png"
    proc = run("fuse", *map(str, bracket_files), "-o", str(target), "--method", "deepfuse")
    assert proc.returncode == 0, proc.stderr
    fused = cv2.imread(str(target))
    assert fused.shape == (60, 80, 3)
    # a fused image is not any one of its inputs
    assert all(np.abs(fused.astype(int) - cv2.imread(str(p)).astype(int)).mean() > 2
               for p in bracket_files)


def test_fuse_unknown_method_and_bad_weights(bracket_files, tmp_path):
    proc = run("fuse", *map(str, bracket_files), "-o", str(tmp_path / "f.png"), "--method",
               "magic")
    assert proc.returncode == 2 and "mertens, deepfuse, hcmef or lut" in proc.stderr
    proc = run("fuse", *map(str, bracket_files), "-o", str(tmp_path / "f.png"), "--method",
               "deepfuse", "--weights", str(tmp_path / "nothing.safetensors"))
    assert proc.returncode in (2, 3) and "Traceback" not in proc.stderr
    assert "nothing" in proc.stderr
    assert not (tmp_path / "f.png").exists()


def test_correct_keeps_bit_depth_and_brightens_a_dark_shot(bracket_files, tmp_path):
    dark16 = tmp_path / "dark16.png"
    img = cv2.imread(str(bracket_files[0]))
    cv2.imwrite(str(dark16), img.astype(np.uint16) * 257)
    proc = run("correct", str(dark16), "-o", str(tmp_path / "fixed.png"))
    assert proc.returncode == 0, proc.stderr
    out = cv2.imread(str(tmp_path / "fixed.png"), cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint16 and out.shape == (60, 80, 3)
    assert out.mean() > img.astype(np.uint16).mean() * 257  # the default exposure is brighter


def test_correct_folder_and_exclusive_options(bracket_files, tmp_path):
    proc = run("correct", str(bracket_files[0].parent), "-o", str(tmp_path / "out"),
               "--ev", "1")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == \
        sorted(p.name for p in bracket_files)
    proc = run("correct", str(bracket_files[0]), "--ev", "1", "--reference",
               str(bracket_files[1]))
    assert proc.returncode == 2 and "not both" in proc.stderr


def test_correct_never_overwrites_without_the_flag(bracket_files, tmp_path):
    src = tmp_path / "a.png"
    src.write_bytes(bracket_files[0].read_bytes())
    assert run("correct", str(src), "--ev", "1").returncode == 0
    made = tmp_path / "a_corrected.png"
    before = made.read_bytes()
    proc = run("correct", str(src), "--ev", "2")
    assert proc.returncode == 2 and "--overwrite" in proc.stderr and "Traceback" not in proc.stderr
    assert made.read_bytes() == before
    assert run("correct", str(src), "--ev", "2", "--overwrite").returncode == 0
    assert made.read_bytes() != before


def test_correct_folder_to_a_file_name_is_refused(bracket_files, tmp_path):
    proc = run("correct", str(bracket_files[0].parent), "-o", str(tmp_path / "x.jpg"))
    assert proc.returncode == 2 and "give a folder" in proc.stderr
    assert not (tmp_path / "x.jpg").exists()


def test_models_lists_the_shipped_weights():
    import hashlib
    from pathlib import Path

    import expokit.models

    proc = run("models")
    assert proc.returncode == 0, proc.stderr
    for name in ("deepfuse", "uec", "uec_notv"):
        assert name in proc.stdout
        # the whole SHA-256 of the shipped file, computed here independently
        file = Path(expokit.models.__file__).parent / "weights" / f"{name}.safetensors"
        assert hashlib.sha256(file.read_bytes()).hexdigest() in proc.stdout


def test_version():
    import expokit

    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"expokit {expokit.__version__}"


def test_train_with_missing_config_is_a_clean_error(tmp_path):
    proc = run("train", "deepfuse", "--config", str(tmp_path / "none.toml"), "--out",
               str(tmp_path / "run"))
    assert proc.returncode == 2 and "configs/deepfuse.toml" in proc.stderr


def test_train_deepfuse_resumes_and_exports(shared_data, tmp_path):
    from conftest import need

    need(shared_data, "mefb/input")
    run_dir, weights = tmp_path / "run", tmp_path / "mine"
    proc = run("train", "deepfuse", "--out", str(run_dir), "--set", "loop.steps=2",
               "--set", f"data.data_root={str(shared_data)!r}")
    assert proc.returncode == 0, proc.stderr
    assert "step 2" in proc.stderr
    proc = run("train", "deepfuse", "--out", str(run_dir), "--set", "loop.steps=3",
               "--set", f"data.data_root={str(shared_data)!r}", "--export", str(weights))
    assert proc.returncode == 0, proc.stderr
    assert "step 3" in proc.stderr
    steps = [line.split(",")[0] for line in (run_dir / "log.csv").read_text().splitlines()[1:]]
    assert steps == sorted(set(steps), key=int)  # resumed: no step logged twice
    assert (tmp_path / "mine.safetensors").is_file() and (tmp_path / "mine.json").is_file()
    fused = tmp_path / "fused.png"
    shots = sorted((shared_data / "mefb" / "input" / "Arno").iterdir())
    proc = run("fuse", *map(str, shots), "-o", str(fused), "--method", "deepfuse",
               "--weights", str(tmp_path / "mine.safetensors"))
    assert proc.returncode == 0, proc.stderr
