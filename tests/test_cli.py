"""The command line as a user meets it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import CliResult, run_cli

from expokit.simulate import photograph, render_scene

TIMES = (1 / 64, 1 / 8, 1.0)


def run(*args: str | Path, cwd: Path | None = None) -> CliResult:
    return run_cli(*args, cwd=cwd)


def test_installed_entry_point_runs_in_its_own_process():
    # The one real subprocess: `python -m expokit` as users start it (the other tests run the
    # same app in-process).
    proc = subprocess.run([sys.executable, "-m", "expokit", "--version"], capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0 and proc.stdout.startswith("expokit "), proc.stderr


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("shots")
    frames = photograph(render_scene(96, 128, seed=2), TIMES)
    paths = []
    for i, f in enumerate(frames):
        paths.append(folder / f"shot{i}.png")
        cv2.imwrite(str(paths[-1]), f[..., ::-1])
    return paths


def assert_clean_failure(proc: CliResult, code: int, *words: str) -> None:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    message = " ".join(lines)
    assert message.startswith("error:"), proc.stderr
    for w in words:
        assert w in message, message


def test_fuse_writes_an_image(shots, tmp_path):
    target = tmp_path / "fused.png"
    proc = run("fuse", *shots, "-o", target)
    assert proc.returncode == 0, proc.stderr
    out = cv2.imread(str(target))
    assert out.shape == (96, 128, 3)
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*"))


def test_merge_and_tonemap(shots, tmp_path):
    hdr = tmp_path / "scene.exr"
    proc = run("merge", *shots, "-o", hdr, "--times", "1/64,1/8,1")
    assert proc.returncode == 0, proc.stderr
    png = tmp_path / "scene.png"
    proc = run("tonemap", hdr, "-o", png, "--method", "drago")
    assert proc.returncode == 0, proc.stderr
    assert cv2.imread(str(png)).shape == (96, 128, 3)


def test_merge_prints_the_estimated_times(shots, tmp_path):
    """Issue 9 item 7: --estimate-times says what it found (the shots have no EXIF; true steps
    3 stops each)."""
    import re

    proc = run("merge", *shots, "-o", tmp_path / "est.exr", "--estimate-times")
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("estimated exposure"))
    assert all(p.name in line for p in shots)
    steps = [float(v) for v in re.findall(r"([+-]\d+\.\d+)", line.split("steps")[1])]
    assert len(steps) == 2 and all(abs(v - 3.0) < 0.25 for v in steps), line
    # Given times are not estimated: no such line.
    proc = run("merge", *shots, "-o", tmp_path / "given.exr", "--times", "1/64,1/8,1",
               "--estimate-times")
    assert proc.returncode == 0 and "estimated exposure" not in proc.stderr


def test_help_has_examples():
    for cmd in ("fuse", "merge", "tonemap", "align", "info", "demo"):
        proc = run(cmd, "--help")
        assert proc.returncode == 0
        assert "Example: expokit" in proc.stdout


def test_mismatched_sizes(shots, tmp_path):
    small = tmp_path / "small.png"
    cv2.imwrite(str(small), np.zeros((50, 60, 3), np.uint8))
    target = tmp_path / "out.png"
    assert_clean_failure(run("fuse", shots[0], small, "-o", target), 2, "small.png", "60x50")
    assert not target.exists()


def test_single_image(shots, tmp_path):
    target = tmp_path / "out.png"
    assert_clean_failure(run("fuse", shots[0], "-o", target), 2, "at least 2")
    assert not target.exists()


def test_truncated_file(shots, tmp_path):
    cut = tmp_path / "cut.png"
    data = shots[1].read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    target = tmp_path / "out.png"
    assert_clean_failure(run("fuse", shots[0], cut, "-o", target), 2, "cut.png")
    assert not target.exists()


def test_not_an_image(shots, tmp_path):
    fake = tmp_path / "notes.jpg"
    fake.write_text("this is not a picture\n")
    target = tmp_path / "out.png"
    assert_clean_failure(run("fuse", shots[0], fake, "-o", target), 2, "notes.jpg")
    assert not target.exists()


def test_mixed_bit_depths(shots, tmp_path):
    wide = tmp_path / "wide.png"
    cv2.imwrite(str(wide), cv2.imread(str(shots[1])).astype(np.uint16) * 257)
    target = tmp_path / "out.png"
    assert_clean_failure(run("fuse", shots[0], wide, "-o", target), 2, "bit depth")
    assert not target.exists()


def test_nan_in_exr(tmp_path):
    import OpenEXR

    rad = np.ones((32, 32, 3), np.float32)
    rad[3, 4, 1] = np.nan
    bad = tmp_path / "bad.exr"
    with OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage},
                      {"RGB": rad}) as f:
        f.write(str(bad))
    target = tmp_path / "out.png"
    assert_clean_failure(run("tonemap", bad, "-o", target), 2, "bad.exr", "NaN")
    assert not target.exists()


@pytest.mark.parametrize(("times", "words"), [("1/64,0,1", ["> 0"]),
                                              ("1/8,1/8,1", ["duplicate"])])
def test_bad_exposure_times(shots, tmp_path, times, words):
    target = tmp_path / "out.exr"
    assert_clean_failure(run("merge", *shots, "-o", target, "--times", times), 2, *words)
    assert not target.exists()


def test_output_equal_to_input_is_refused(shots):
    before = shots[0].read_bytes()
    assert_clean_failure(run("fuse", *shots, "-o", shots[0]), 2, "also input 1")
    assert shots[0].read_bytes() == before


def test_missing_exif_times_explained(shots, tmp_path):
    assert_clean_failure(run("merge", *shots, "-o", tmp_path / "x.exr"), 2,
                         "no EXIF exposure time", "--times")


def test_info_lists_files(shots):
    proc = run("info", *shots)
    assert proc.returncode == 0, proc.stderr
    assert "shot0.png" in proc.stdout and "128x96" in proc.stdout


def test_demo_runs(tmp_path):
    proc = run("demo", "--out", tmp_path / "demo", "--size", "256")
    assert proc.returncode == 0, proc.stderr
    sheet = cv2.imread(str(tmp_path / "demo" / "comparison.png"))
    assert sheet is not None and sheet.shape[1] == 4 * 128
    assert (tmp_path / "demo" / "radiance.exr").stat().st_size > 0


def test_fuse_keeps_first_inputs_exif_and_aligns(tmp_path):
    from PIL import Image
    from PIL.TiffImagePlugin import IFDRational

    frames = photograph(render_scene(120, 160, seed=4), TIMES)
    paths = []
    for i, (f, t) in enumerate(zip(frames, (64, 8, 1), strict=True)):
        exif = Image.Exif()
        exif.get_ifd(0x8769)[33434] = IFDRational(1, t)  # ExposureTime 1/t s
        # shift frame i by i pixels so that --align has work to do
        shifted = np.roll(f, i * 3, axis=1)
        paths.append(tmp_path / f"f{i}.jpg")
        Image.fromarray(shifted).save(paths[-1], exif=exif, quality=95)
    target = tmp_path / "fused.jpg"
    proc = run("fuse", *paths, "-o", target, "--align", "mtb")
    assert proc.returncode == 0, proc.stderr
    assert "cropped" in proc.stderr
    with Image.open(target) as im:
        assert float(im.getexif().get_ifd(0x8769)[33434]) == 1 / 64
        assert im.size[0] < 160  # the uncovered border went
