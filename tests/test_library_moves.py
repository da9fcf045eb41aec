"""Library functions that used to live in the CLI (issue 10): exposure-time parsing, output
path rules, dynamic range, ``--set`` overrides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from expokit.bracket import parse_times, times_from_list
from expokit.errors import InputError
from expokit.hdr import dynamic_range
from expokit.io import check_new_output, output_paths
from expokit.train.config import parse_overrides


def test_parse_times_fractions_and_decimals() -> None:
    assert parse_times("1/60, 1/15,0.25", 3) == pytest.approx([1 / 60, 1 / 15, 0.25])
    assert parse_times(None, 3) is None


@pytest.mark.parametrize(("text", "match"), [
    ("1/60,fast", "--times '1/60,fast' is not a comma-separated list of seconds"),
    ("1/0,1", "not a comma-separated list"),
    ("1/60,1/15", "--times gives 2 value.s. for 3 image.s."),
])
def test_parse_times_refuses(text: str, match: str) -> None:
    with pytest.raises(InputError, match=match):
        parse_times(text, 3, name="--times")


def test_times_from_list_matches_stems(tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("# Debevec style\nmemorial0061.ppm 1/32\nmemorial0062.ppm 1/16\n")
    files = [tmp_path / "Memorial0062.png", tmp_path / "memorial0061.png"]
    paths, times = times_from_list(listing, files)
    assert paths == files and times == pytest.approx([1 / 16, 1 / 32])
    extra = [*files, tmp_path / "notes.png"]
    with pytest.raises(InputError, match="list.txt lists no time for notes.png"):
        times_from_list(listing, extra)
    paths, times = times_from_list(listing, extra, only_listed=True)
    assert paths == files


def test_check_new_output(tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    src.write_bytes(b"x")
    out = tmp_path / "out.png"
    assert check_new_output(out, inputs=[src]) == out
    out.write_bytes(b"y")
    with pytest.raises(InputError, match="out.png exists: pass overwrite=True") as info:
        check_new_output(out, inputs=[src])
    assert "--" not in str(info.value)  # a library caller has no flags
    assert check_new_output(out, inputs=[src], overwrite=True) == out
    with pytest.raises(InputError):  # an input is never overwritten, even with overwrite
        check_new_output(src, inputs=[src], overwrite=True)
    with pytest.raises(InputError, match="unknown extension"):
        check_new_output(tmp_path / "out.gif", overwrite=True)


def test_output_paths_rules(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jpg", tmp_path / "sub" / "b.png"
    assert output_paths([a, b], None, several=True) == [tmp_path / "a_corrected.jpg",
                                                         tmp_path / "sub" / "b_corrected.png"]
    assert output_paths([a, b], tmp_path / "new", several=True) == [tmp_path / "new" / "a.jpg",
                                                                     tmp_path / "new" / "b.png"]
    assert output_paths([a], tmp_path / "x.png", several=False) == [tmp_path / "x.png"]
    with pytest.raises(InputError, match="is a file name but a folder or several images"):
        output_paths([a, b], tmp_path / "x.png", several=True)


def test_dynamic_range_of_known_scenes() -> None:
    # Half the pixels at 0.01, half at 10: a 1000:1 scene whatever the percentiles.
    img = np.full((20, 20, 3), 0.01, np.float32)
    img[:10] = 10.0
    assert dynamic_range(img) == pytest.approx(1000, rel=1e-4)
    # Zero pixels do not count; a flat image is 1:1; a black one has none.
    img[:5] = 0.0
    assert dynamic_range(img) == pytest.approx(1000, rel=1e-4)
    assert dynamic_range(np.ones((8, 8, 3), np.float32)) == pytest.approx(1.0)
    assert dynamic_range(np.zeros((8, 8, 3), np.float32)) == 0.0
    with pytest.raises(InputError, match="percentiles"):
        dynamic_range(img, low=50, high=10)


def test_parse_overrides_toml_values() -> None:
    got = parse_overrides(["loop.steps=10", "loop.lr=1e-3", "data.crop=[64, 64]", "x.name=ab"])
    assert got == {"loop.steps": 10, "loop.lr": pytest.approx(1e-3), "data.crop": [64, 64],
                   "x.name": "ab"}
    with pytest.raises(InputError, match="--set 'loop.steps' is not KEY=VALUE"):
        parse_overrides(["loop.steps"])
