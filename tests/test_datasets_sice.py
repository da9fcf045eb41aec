"""Reader for the SICE layout (Cai, Gu & Zhang 2018): numbered scene folders and ``Label/``.

Independent references: the files are written with OpenCV (not expokit); PNG pixels are compared
with what was written; brightness order is worked out by hand from Rec. 709 luma weights
(0.2126, 0.7152, 0.0722) and chosen so that the per-channel mean would give another order;
the INTER_AREA halvings are of 2×2 blocks whose mean is known by construction.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from expokit.datasets import (
    SICESample,
    SICEScene,
    load_sice_scenes,
    read_sice_scene,
    sice_extreme_pair,
)
from expokit.errors import InputError

H, W = 8, 12


def _write(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = rgb[..., ::-1] if rgb.ndim == 3 and rgb.shape[2] == 3 else rgb
    assert cv2.imwrite(str(path), np.ascontiguousarray(img))


def _flat(rgb: tuple[int, int, int], h: int = H, w: int = W) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, np.uint8), (h, w, 3)).copy()


def _grey(v: int) -> np.ndarray:
    return _flat((v, v, v))


# Scene 2, file number -> RGB. Rec. 709 luma / 255: 1: 180, 2: 0.0722 * 250 = 18.05,
# 3: 0.7152 * 100 = 71.52, 4: 40. Darkest first: files 2, 4, 3, 1 (indices 1, 3, 2, 0).
# The per-channel mean (180, 83.3, 33.3, 40) would give 3, 4, 2, 1 instead.
SCENE2 = {1: (180, 180, 180), 2: (0, 0, 250), 3: (0, 100, 0), 4: (40, 40, 40)}


def _part(root: Path) -> Path:
    """Three scenes 10, 2, 1 (created in that order); labels with mixed extension case."""
    for i, v in enumerate((40, 120, 220), start=1):
        _write(root / "10" / f"{i}.JPG", _grey(v))
    for i in (3, 1, 4, 2):  # shuffled creation order
        _write(root / "2" / f"{i}.png", _flat(SCENE2[i]))
    for i, v in enumerate((30, 110, 230), start=1):
        _write(root / "1" / f"{i}.JPG", _grey(v))
    _write(root / "Label" / "1.JPG", _grey(128))
    _write(root / "Label" / "2.png", _grey(100))
    _write(root / "Label" / "10.jpg", _grey(140))
    return root


def test_scenes_numeric_order_and_files(tmp_path: Path) -> None:
    scenes = load_sice_scenes(_part(tmp_path / "Part1"))
    assert [s.name for s in scenes] == ["1", "2", "10"]  # not "1", "10", "2"
    assert all(isinstance(s, SICEScene) for s in scenes)
    assert [p.name for p in scenes[1].shot_paths] == ["1.png", "2.png", "3.png", "4.png"]
    assert [p.name for p in scenes[0].shot_paths] == ["1.JPG", "2.JPG", "3.JPG"]
    assert [s.label_path.name for s in scenes] == ["1.JPG", "2.png", "10.jpg"]
    assert scenes[2].folder == tmp_path / "Part1" / "10"


def test_shots_darkest_first_by_luma(tmp_path: Path) -> None:
    scene = load_sice_scenes(_part(tmp_path))[1]
    sample = read_sice_scene(scene)
    assert isinstance(sample, SICESample)
    assert sample.order == (1, 3, 2, 0)
    for shot, i in zip(sample.shots, sample.order, strict=True):
        assert shot.dtype == np.uint8 and shot.shape == (H, W, 3)
        np.testing.assert_array_equal(shot, _flat(SCENE2[i + 1]))  # PNG: exact
    np.testing.assert_array_equal(sample.label, _grey(100))
    dark, bright = sice_extreme_pair(sample)
    np.testing.assert_array_equal(dark, _flat(SCENE2[2]))
    np.testing.assert_array_equal(bright, _flat(SCENE2[1]))


def test_jpeg_scenes_read(tmp_path: Path) -> None:
    scenes = load_sice_scenes(_part(tmp_path))
    sample = read_sice_scene(scenes[2])
    assert sample.order == (0, 1, 2)
    for shot, v in zip(sample.shots, (40, 120, 220), strict=True):
        assert abs(float(shot.mean()) - v) <= 2  # flat grey survives JPEG within 2 code values
    assert abs(float(sample.label.mean()) - 140) <= 2


def test_equal_brightness_keeps_file_order(tmp_path: Path) -> None:
    for i, v in enumerate((90, 50, 90, 50), start=1):
        _write(tmp_path / "1" / f"{i}.png", _grey(v))
    _write(tmp_path / "Label" / "1.png", _grey(70))
    sample = read_sice_scene(load_sice_scenes(tmp_path)[0])
    assert sample.order == (1, 3, 0, 2)


def test_shots_sorted_by_number_in_name(tmp_path: Path) -> None:
    for i, v in ((10, 200), (2, 20), (1, 100)):
        _write(tmp_path / "7" / f"{i}.png", _grey(v))
    (tmp_path / "7" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")  # hidden: skipped
    _write(tmp_path / "Label" / "7.PNG", _grey(70))
    [scene] = load_sice_scenes(tmp_path)
    assert [p.name for p in scene.shot_paths] == ["1.png", "2.png", "10.png"]
    assert read_sice_scene(scene).order == (1, 0, 2)


def test_label_without_scene_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _part(tmp_path)
    _write(tmp_path / "Label" / "99.JPG", _grey(1))
    with caplog.at_level(logging.WARNING, logger="expokit.datasets.sice"):
        scenes = load_sice_scenes(tmp_path)
    assert [s.name for s in scenes] == ["1", "2", "10"]
    assert "99.JPG" in caplog.text and "no scene folder 99" in caplog.text


def test_size_mismatch_error_names_both_sizes(tmp_path: Path) -> None:
    _write(tmp_path / "3" / "1.png", _grey(10))
    _write(tmp_path / "3" / "2.png", _flat((90, 90, 90), 2 * H, 2 * W))
    _write(tmp_path / "Label" / "3.png", _grey(50))
    [scene] = load_sice_scenes(tmp_path)
    with pytest.raises(InputError, match=r"shot 2\.png is 24×16 but label 3\.png is 12×8.*"
                                         r"resize='label'"):
        read_sice_scene(scene)


def test_resize_to_label_averages_blocks(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    target = rng.integers(20, 236, size=(H, W), dtype=np.uint8)
    # each 2×2 block is target ± 15 in a checker pattern: its mean is exactly target
    checker = np.array([[15, -15], [-15, 15]])
    big = (np.kron(target.astype(int), np.ones((2, 2), int)) + np.tile(checker, (H, W)))
    big = np.repeat(big.astype(np.uint8)[..., None], 3, axis=2)
    _write(tmp_path / "3" / "1.png", big)
    _write(tmp_path / "3" / "2.png", _grey(250))
    _write(tmp_path / "Label" / "3.png", _grey(50))
    sample = read_sice_scene(load_sice_scenes(tmp_path)[0], resize="label")
    assert sample.order == (0, 1)
    np.testing.assert_array_equal(sample.shots[0], np.repeat(target[..., None], 3, axis=2))
    np.testing.assert_array_equal(sample.shots[1], _grey(250))


def test_max_side_halves_shots_and_label(tmp_path: Path) -> None:
    label = np.zeros((H, W, 3), np.uint8)
    label[:, : W // 2] = (10, 20, 30)  # left half; blocks never straddle column 6
    label[:, W // 2:] = (200, 100, 50)
    label[::2, ::2] += 4  # one corner of each 2×2 block is 4 higher: block mean + 1
    for i, v in enumerate((60, 160), start=1):
        _write(tmp_path / "5" / f"{i}.png", _grey(v))
    _write(tmp_path / "Label" / "5.png", label)
    sample = read_sice_scene(load_sice_scenes(tmp_path)[0], max_side=6)
    want = np.zeros((H // 2, W // 2, 3), np.uint8)
    want[:, :3] = (11, 21, 31)
    want[:, 3:] = (201, 101, 51)
    np.testing.assert_array_equal(sample.label, want)
    for shot, v in zip(sample.shots, (60, 160), strict=True):
        np.testing.assert_array_equal(shot, _flat((v, v, v), H // 2, W // 2))
    same = read_sice_scene(load_sice_scenes(tmp_path)[0], max_side=12)  # no larger: untouched
    np.testing.assert_array_equal(same.label, label)


@pytest.mark.parametrize("kwargs, match", [
    ({"resize": "shots"}, "resize must be None or 'label'"),
    ({"max_side": 0}, "max_side must be None or a whole number >= 1"),
    ({"max_side": 6.0}, "max_side must be None"),
])
def test_bad_options(tmp_path: Path, kwargs: dict, match: str) -> None:
    scene = load_sice_scenes(_part(tmp_path))[0]
    with pytest.raises(InputError, match=match):
        read_sice_scene(scene, **kwargs)


def _error(root: Path) -> str:
    with pytest.raises(InputError) as info:
        load_sice_scenes(root)
    return str(info.value)


def test_missing_root_and_label_folder(tmp_path: Path) -> None:
    assert "does not exist or is not a folder" in _error(tmp_path / "nope")
    _write(tmp_path / "1" / "1.png", _grey(1))
    msg = _error(tmp_path)
    assert f"{tmp_path} has no Label/ folder" in msg and "Part1" in msg
    (tmp_path / "1" / "1.png").unlink()
    (tmp_path / "1").rmdir()
    (tmp_path / "Label").mkdir()
    assert "holds no scene folder beside Label/" in _error(tmp_path)


def test_scene_without_label(tmp_path: Path) -> None:
    _part(tmp_path)
    (tmp_path / "Label" / "2.png").unlink()
    msg = _error(tmp_path)
    assert f"scene {tmp_path / '2'}: no label Label/2.JPG" in msg


def test_two_labels_for_one_scene(tmp_path: Path) -> None:
    _part(tmp_path)
    _write(tmp_path / "Label" / "1.png", _grey(128))
    msg = _error(tmp_path)
    assert f"scene {tmp_path / '1'}: 2 labels" in msg and "1.JPG, 1.png" in msg


def test_non_image_files(tmp_path: Path) -> None:
    _part(tmp_path)
    (tmp_path / "2" / "notes.txt").write_text("x")
    assert f"scene {tmp_path / '2'}: notes.txt is not an image file" in _error(tmp_path)
    (tmp_path / "2" / "notes.txt").unlink()
    (tmp_path / "2" / "sub").mkdir()
    assert f"scene {tmp_path / '2'}: holds a folder sub" in _error(tmp_path)
    (tmp_path / "2" / "sub").rmdir()
    (tmp_path / "Label" / "readme.md").write_text("x")
    assert f"label folder {tmp_path / 'Label'}: readme.md is not an image" in _error(tmp_path)


def test_scene_with_fewer_than_two_shots(tmp_path: Path) -> None:
    _part(tmp_path)
    (tmp_path / "11").mkdir()
    _write(tmp_path / "Label" / "11.jpg", _grey(9))
    assert f"scene {tmp_path / '11'}: 0 shot(s) (none), expected at least 2" in _error(tmp_path)
    _write(tmp_path / "11" / "1.jpg", _grey(9))
    assert f"scene {tmp_path / '11'}: 1 shot(s) (1.jpg)" in _error(tmp_path)


def test_channel_and_bit_depth_errors(tmp_path: Path) -> None:
    _write(tmp_path / "4" / "1.png", _grey(30))
    _write(tmp_path / "4" / "2.png", np.full((H, W), 200, np.uint8))  # greyscale file
    _write(tmp_path / "Label" / "4.png", _grey(90))
    scene = load_sice_scenes(tmp_path)[0]
    with pytest.raises(InputError, match=r"shot 2\.png has 1 channel\(s\) but label 4\.png has 3"):
        read_sice_scene(scene)
    _write(tmp_path / "4" / "2.png", np.full((H, W, 3), 50000, np.uint16))
    with pytest.raises(InputError, match=r"2\.png holds uint16 values, not 8-bit"):
        read_sice_scene(scene)


def test_extreme_pair_needs_two_shots() -> None:
    sample = SICESample([_grey(1)], _grey(1), (0,))
    with pytest.raises(InputError, match="holds 1 shot"):
        sice_extreme_pair(sample)
