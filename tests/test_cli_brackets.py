"""Which files make a bracket: folders with other files, the same frame twice, marker pixels.

In-process through typer's runner (no subprocess per test).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from expokit.cli import app
from expokit.fusion import fuse_mertens
from expokit.io import read_image, write_image
from expokit.simulate import photograph, render_scene

TIMES = (1 / 64, 1 / 8, 1.0)
BLUE = np.array([0, 0, 255], np.uint8)


def cli(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    return photograph(render_scene(96, 128, seed=5), TIMES)


def write_frames(folder: Path, frames: list[np.ndarray], stem: str = "shot") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, f in enumerate(frames):
        paths.append(folder / f"{stem}{i}.png")
        cv2.imwrite(str(paths[-1]), f[..., ::-1])
    return paths


def assert_input_error(result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for w in words:
        assert w in result.output, result.output


@pytest.mark.parametrize("command", ["fuse", "merge", "align"])
def test_same_file_twice_is_refused(frames, tmp_path, command):
    paths = write_frames(tmp_path / "in", frames)
    target = ["-d", tmp_path / "out"] if command == "align" else ["-o", tmp_path / "o.exr"]
    extra = ["--times", "1/64,1/8,1"] if command == "merge" else []
    result = cli(command, paths[0], paths[1], paths[1], *target, *extra)
    assert_input_error(result, "shot1.png", "twice")
    assert not (tmp_path / "o.exr").exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["fuse", "merge", "align"])
def test_identical_frames_in_two_files_are_refused(frames, tmp_path, command):
    paths = write_frames(tmp_path / "in", frames)
    copy = tmp_path / "in" / "copy_of_shot2.png"
    shutil.copyfile(paths[2], copy)
    target = ["-d", tmp_path / "out"] if command == "align" else ["-o", tmp_path / "o.exr"]
    extra = ["--times", "1/64,1/8,1,2"] if command == "merge" else []
    result = cli(command, *paths, copy, *target, *extra)
    assert_input_error(result, "copy_of_shot2.png", "shot2.png", "exactly the pixels")


def test_fuse_folder_with_an_hdr_file_takes_the_frames(frames, tmp_path):
    # Debevec's memorial/ folder holds memorial.hdr beside the PNG exposures.
    folder = tmp_path / "stack"
    paths = write_frames(folder, frames)
    write_image(folder / "result.hdr", np.ones((96, 128, 3), np.float32))
    write_image(folder / "result.exr", np.ones((96, 128, 3), np.float32))
    result = cli("fuse", folder, "-o", tmp_path / "fused.png")
    assert result.exit_code == 0, result.output
    assert "skipped result.hdr" in result.output and "skipped result.exr" in result.output
    expected = fuse_mertens([read_image(p) for p in paths])
    got = read_image(tmp_path / "fused.png").astype(np.float32) / 255
    assert np.abs(got - expected).max() <= 1 / 255 + 1e-6


def test_folder_with_two_brackets_names_them(frames, tmp_path):
    folder = tmp_path / "two"
    write_frames(folder, frames)
    write_frames(folder, [cv2.resize(f, (64, 48)) for f in frames], stem="small")
    result = cli("fuse", folder, "-o", tmp_path / "fused.png")
    assert_input_error(result, "2 brackets", "shot0.png..shot2.png", "small0.png..small2.png")


def test_info_splits_by_size_and_kind(frames, tmp_path):
    folder = tmp_path / "mixed"
    write_frames(folder, frames)
    write_frames(folder, [cv2.resize(f, (64, 48)) for f in frames[:1]], stem="small")
    write_image(folder / "pano.hdr", np.ones((96, 128, 3), np.float32))
    result = cli("info", folder)
    assert result.exit_code == 0, result.output
    assert "1 bracket(s): shot0.png..shot2.png (3)" in result.output
    assert "small0.png" in result.output and "single 8-bit 64x48 shot" in result.output
    assert "pano.hdr" in result.output and "radiance file" in result.output


def test_info_on_a_folder_of_folders_fails(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert_input_error(cli("info", tmp_path), "holds no image files", "2 folder(s)")


def test_fuse_mask_color_keeps_the_marker_out(frames, tmp_path):
    # Debevec's Memorial PNGs mark shifted-in borders pure blue; fused as a colour, they paint
    # a blue frame. With --mask-color the result must match the fusion of unmarked frames.
    marked = [f.copy() for f in frames]
    marked[0][:, :8] = BLUE          # left border of the darkest frame
    marked[2][-6:, :] = BLUE         # bottom rows of the brightest
    paths = write_frames(tmp_path / "marked", marked)
    clean = fuse_mertens(frames)
    region = np.zeros((96, 128), bool)
    region[:, :8] = True
    region[-6:, :] = True

    def error(out: Path) -> float:
        got = read_image(out).astype(np.float32) / 255
        return float(np.abs(got - clean)[region].mean())

    assert cli("fuse", *paths, "-o", tmp_path / "plain.png").exit_code == 0
    result = cli("fuse", *paths, "-o", tmp_path / "masked.png", "--mask-color", "0,0,255")
    assert result.exit_code == 0, result.output
    assert error(tmp_path / "plain.png") > 0.05          # the marker shows without the mask
    assert error(tmp_path / "masked.png") < 0.02
    unmasked = read_image(tmp_path / "masked.png").astype(np.float32) / 255
    assert np.abs(unmasked - clean)[~region].mean() < 0.01


def test_fill_masked_takes_the_nearest_exposure_at_its_brightness():
    from expokit.fusion.masks import fill_masked

    rng = np.random.default_rng(0)
    scene = rng.uniform(0.05, 0.2, (16, 16, 3)).astype(np.float32)   # linear radiance
    from expokit.color import linear_to_srgb

    shots = [np.rint(linear_to_srgb(np.clip(scene * g, 0, 1)) * 255).astype(np.uint8)
             for g in (0.5, 1.0, 4.0)]
    mask = np.zeros((16, 16), bool)
    mask[4:8, 4:8] = True
    marked = shots[1].copy()
    marked[mask] = BLUE
    none = np.zeros_like(mask)
    out = fill_masked([shots[0], marked, shots[2]], [none, mask, none])
    # filled from the darker neighbour (exposure x0.5) scaled by 2 in linear light
    diff = np.abs(out[1].astype(int) - shots[1].astype(int))
    assert diff[mask].max() <= 3 and diff[~mask].max() == 0
    assert (out[0] == shots[0]).all() and (out[2] == shots[2]).all()


@pytest.mark.parametrize("command", ["fuse", "merge", "tonemap", "align"])
def test_existing_output_needs_overwrite(frames, tmp_path, command):
    paths = write_frames(tmp_path / "in", frames)
    if command == "tonemap":
        hdr = tmp_path / "scene.exr"
        write_image(hdr, np.full((8, 8, 3), 0.5, np.float32))
        args, target = [hdr, "-o", tmp_path / "out.png"], tmp_path / "out.png"
    elif command == "align":
        args, target = [*paths, "-d", tmp_path / "out"], tmp_path / "out" / paths[0].name
    elif command == "merge":
        args, target = [*paths, "-o", tmp_path / "o.exr", "--times", "1/64,1/8,1"], \
            tmp_path / "o.exr"
    else:
        args, target = [*paths, "-o", tmp_path / "o.png"], tmp_path / "o.png"
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(b"keep me")
    assert_input_error(cli(command, *args), "exists", "--overwrite")
    assert target.read_bytes() == b"keep me"
    result = cli(command, *args, "--overwrite")
    assert result.exit_code == 0, result.output
    assert target.read_bytes() != b"keep me"


def test_merge_curves_option(frames, tmp_path):
    from expokit.hdr import calibrate_debevec, merge_debevec

    paths = write_frames(tmp_path / "in", frames)
    result = cli("merge", *paths, "-o", tmp_path / "sep.exr", "--times", "1/64,1/8,1",
                 "--curves", "separate")
    assert result.exit_code == 0, result.output
    imgs = [read_image(p) for p in paths]
    response = calibrate_debevec(imgs, TIMES, channels="separate")
    expected = merge_debevec(imgs, TIMES, response=response)
    np.testing.assert_allclose(read_image(tmp_path / "sep.exr"), expected, rtol=2e-3, atol=1e-6)
    assert_input_error(cli("merge", *paths, "-o", tmp_path / "x.exr", "--times", "1/64,1/8,1",
                           "--curves", "rgb"), "--curves 'rgb'", "shared or separate")


def test_progress_bar_is_closed_when_the_loop_raises():
    # A rich.track generator left suspended by an exception was closed later by the garbage
    # collector in rich's refresh thread, which then waited for itself: the in-process CLI
    # tests hung after a frame failed to read.
    from expokit.cli._common import progress

    with pytest.raises(ValueError), progress([1, 2, 3], "reading") as bar:
        for _ in bar:
            raise ValueError("a frame failed")
    assert bar.gi_frame is None  # closed in this thread, display stopped
