"""Readers for multi-frame HDR data sets (Kalantari 2017 and Tel 2023 layouts).

Independent references: the frames are written with tifffile (not expokit) and compared with
``uint16 / 65535``; the exposure times are ``2 ** EV`` of the EVs written; the radiance is what
was written, to RGBE precision (8-bit mantissa shared by the pixel: error <= max channel / 256).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from expokit.datasets import LAYOUTS, HDRSample, load_hdr_scenes, read_hdr_scene
from expokit.errors import InputError
from expokit.io import write_image

H, W = 5, 7


def _frames(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 65536, size=(H, W, 3), dtype=np.uint16) for _ in range(3)]


def _radiance(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 100)
    return (rng.uniform(0.01, 1.0, size=(H, W, 3)) * 2.0 ** rng.integers(-4, 5, size=(H, W, 1))
            ).astype(np.float32)


def _scene(folder: Path, seed: int, *, names: tuple[str, ...] = ("a.tif", "b.tif", "c.tif"),
           evs: str = "-2\n0\n2\n", gt: str | None = "HDRImg.hdr") -> tuple[list, np.ndarray]:
    folder.mkdir(parents=True)
    frames = _frames(seed)
    for name, frame in zip(names, frames, strict=False):
        tifffile.imwrite(folder / name, frame, photometric="rgb")
    (folder / "exposure.txt").write_text(evs)
    radiance = _radiance(seed)
    if gt is not None:
        write_image(folder / gt, radiance)
    return frames, radiance


def _check_radiance(got: np.ndarray, want: np.ndarray) -> None:
    err = np.abs(got.astype(np.float64) - want)
    assert np.all(err <= want.max(axis=2, keepdims=True) / 256.0 + 1e-12)


def test_kalantari_two_scenes_sorted_and_read(tmp_path: Path) -> None:
    root = tmp_path / "Training"
    # created in reverse order, frames named so that name order = short, medium, long
    want = {name: _scene(root / name, seed, names=("262A0898.tif", "262A0899.tif",
                                                    "262A0900.tif"))
            for seed, name in enumerate(["002", "001"])}
    scenes = load_hdr_scenes(root)
    assert [s.name for s in scenes] == ["001", "002"]
    for scene in scenes:
        assert [p.name for p in scene.ldr_paths] == ["262A0898.tif", "262A0899.tif",
                                                     "262A0900.tif"]
        assert scene.evs == (-2.0, 0.0, 2.0)
        np.testing.assert_allclose(scene.exposure_times, [2.0 ** -2, 1.0, 2.0 ** 2], rtol=1e-12)
        assert scene.reference_index == 1
        assert scene.gt_path.name == "HDRImg.hdr"
        sample = read_hdr_scene(scene)
        assert isinstance(sample, HDRSample)
        frames, times, radiance = sample
        want_frames, want_radiance = want[scene.name]
        assert frames.shape == (3, H, W, 3) and frames.dtype == np.float32
        for got, ref in zip(frames, want_frames, strict=True):
            np.testing.assert_allclose(got, ref / 65535.0, rtol=0, atol=1e-6)
        np.testing.assert_allclose(times, [0.25, 1.0, 4.0], rtol=1e-12)
        assert radiance.shape == (H, W, 3) and radiance.dtype == np.float32
        _check_radiance(radiance, want_radiance)


def test_frames_sorted_by_name_not_creation(tmp_path: Path) -> None:
    """Files are written c, a, b; the reader lists a, b, c with their own pixels."""
    folder = tmp_path / "s"
    frames, _ = _scene(folder, 3, names=("c.tif", "a.tif", "b.tif"))
    [scene] = load_hdr_scenes(tmp_path)
    assert [p.name for p in scene.ldr_paths] == ["a.tif", "b.tif", "c.tif"]
    got = read_hdr_scene(scene).frames
    np.testing.assert_allclose(got[0], frames[1] / 65535.0, atol=1e-6)  # a.tif
    np.testing.assert_allclose(got[2], frames[0] / 65535.0, atol=1e-6)  # c.tif


def test_one_scene_folder_as_root_and_ev_formats(tmp_path: Path) -> None:
    """A scene folder may be the root; EVs may share a line and carry CRLF and blank lines."""
    _scene(tmp_path / "BarbequeDay", 4, evs="0 3\r\n\r\n6\r\n")
    [scene] = load_hdr_scenes(tmp_path / "BarbequeDay")
    assert scene.name == "BarbequeDay"
    np.testing.assert_allclose(scene.exposure_times, [1.0, 8.0, 64.0], rtol=1e-12)


def test_tel_layout(tmp_path: Path) -> None:
    """Tel's Test/<scene> folders as Kalantari's; cropped patches carry label.hdr."""
    root = tmp_path / "Test"
    _, want = _scene(root / "scene_01", 5)
    _, want_label = _scene(root / "scene_02", 6, gt="label.hdr")
    scenes = load_hdr_scenes(root, layout="tel")
    assert [(s.name, s.gt_path.name, s.layout) for s in scenes] == [
        ("scene_01", "HDRImg.hdr", "tel"), ("scene_02", "label.hdr", "tel")]
    _check_radiance(read_hdr_scene(scenes[0]).radiance, want)
    _check_radiance(read_hdr_scene(scenes[1]).radiance, want_label)
    assert LAYOUTS["tel"][0] == "HDRImg.hdr"  # the full-size ground truth wins over label.hdr
    with pytest.raises(InputError, match=r"scene_02.*no HDRImg\.hdr .*'kalantari'"):
        load_hdr_scenes(root)


@pytest.mark.parametrize(("kwargs", "setup", "match"), [
    ({}, lambda f: (f / "exposure.txt").unlink(), r"scene .*001: no exposure\.txt"),
    ({}, lambda f: (f / "c.tif").unlink(),
     r"001: 2 \.tif frame\(s\) \(a\.tif, b\.tif\), expected 3"),
    ({}, lambda f: tifffile.imwrite(f / "d.tif", _frames(0)[0], photometric="rgb"),
     r"001: 4 \.tif frame\(s\).*expected 3"),
    ({}, lambda f: (f / "exposure.txt").write_text("-2\n0\ntwo\n"),
     r"001: exposure\.txt line 3: 'two' is not a finite number"),
    ({}, lambda f: (f / "exposure.txt").write_text("-2\nnan\n2\n"),
     r"exposure\.txt line 2: 'nan' is not a finite number"),
    ({}, lambda f: (f / "exposure.txt").write_text("-2\n0\n"),
     r"001: exposure\.txt holds 2 exposure value\(s\), expected 3"),
    ({}, lambda f: (f / "exposure.txt").write_text("2\n0\n-2\n"),
     r"001: exposure\.txt holds \[2\.0, 0\.0, -2\.0\], which do not increase"),
    ({}, lambda f: (f / "HDRImg.hdr").unlink(), r"001: no HDRImg\.hdr \(the ground-truth"),
    ({"layout": "tel"}, lambda f: (f / "HDRImg.hdr").unlink(),
     r"001: no HDRImg\.hdr or label\.hdr"),
    ({"layout": "sig17"}, lambda f: None, r"layout 'sig17' is unknown: use one of kalantari, tel"),
])
def test_bad_scene_folders(tmp_path: Path, kwargs: dict, setup, match: str) -> None:
    folder = tmp_path / "001"
    _scene(folder, 0)
    setup(folder)
    with pytest.raises(InputError, match=match):
        load_hdr_scenes(tmp_path, **kwargs)


def test_frames_of_different_sizes(tmp_path: Path) -> None:
    folder = tmp_path / "001"
    _scene(folder, 0)
    tifffile.imwrite(folder / "b.tif", _frames(1)[0][:, :-1], photometric="rgb")
    [scene] = load_hdr_scenes(tmp_path)
    with pytest.raises(InputError, match=r"001: frame 2 \(b\.tif\) is 6×5 .* frame 1 \(a\.tif\) "
                                         r"is 7×5.*one size"):
        read_hdr_scene(scene)


def test_radiance_of_another_size(tmp_path: Path) -> None:
    folder = tmp_path / "001"
    _scene(folder, 0)
    write_image(folder / "HDRImg.hdr", np.ones((H + 1, W, 3), np.float32))
    [scene] = load_hdr_scenes(tmp_path)
    with pytest.raises(InputError, match=r"001: ground truth HDRImg\.hdr is 7×6 .*frames are 7×5"):
        read_hdr_scene(scene)


def test_float_tiff_is_not_a_frame(tmp_path: Path) -> None:
    folder = tmp_path / "001"
    _scene(folder, 0)
    tifffile.imwrite(folder / "a.tif", np.ones((H, W, 3), np.float32), photometric="rgb")
    [scene] = load_hdr_scenes(tmp_path)
    with pytest.raises(InputError, match=r"a\.tif holds float32 values, not 8- or 16-bit"):
        read_hdr_scene(scene)


def test_bad_roots(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"missing does not exist or is not a folder"):
        load_hdr_scenes(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"empty holds no scene folder"):
        load_hdr_scenes(tmp_path / "empty")
    # Kalantari's Test holds PAPER and EXTRA, each a folder of scenes: the hint says so
    _scene(tmp_path / "Test" / "PAPER" / "BarbequeDay", 0)
    with pytest.raises(InputError, match=r"PAPER: no exposure\.txt.*PAPER and EXTRA"):
        load_hdr_scenes(tmp_path / "Test")
    assert [s.name for s in load_hdr_scenes(tmp_path / "Test" / "PAPER")] == ["BarbequeDay"]
