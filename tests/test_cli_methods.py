"""The CLI's method choices and options come from the library's tables (issue 10).

In-process through typer's runner. Each refusal happens before any image is read, and names
the method and the option; before issue 10 these options were silently ignored.
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from expokit.align import ALIGNERS
from expokit.cli import app
from expokit.fusion import FUSERS
from expokit.hdr import CALIBRATORS, MERGERS
from expokit.simulate import photograph, render_scene

TIMES = (1 / 64, 1 / 8, 1.0)


def cli(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "400"})


def flat(text: str) -> str:
    """Help text without the box drawing and line wrapping of rich."""
    return re.sub(r"\s+", " ", re.sub(r"[│╭╮╰╯─]", " ", text))


def option_help(command: str, option: str) -> str:
    """The help of one option of one command, on one line."""
    result = cli(command, "--help")
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    # the option's row (name, short flag, then its metavar: `<str>` in newer typer, `TEXT` in
    # older), not an example in the docstring
    row = re.search(rf" {re.escape(option)}(?: -[a-z])? +(?:<[^>]+>|[A-Z][A-Z_]*) ", text)
    assert row is not None, text
    start = row.start()
    following = re.search(r" --[a-z]", text[start + len(option) + 2:])
    return text[start:start + len(option) + 2 + (following.start() if following else 10**6)]


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("shots")
    paths = []
    for i, f in enumerate(photograph(render_scene(48, 64, seed=3), TIMES)):
        paths.append(folder / f"shot{i}.png")
        cv2.imwrite(str(paths[-1]), f[..., ::-1])
    return paths


def names_in(text: str) -> list[str]:
    """The method names listed as ``a, b or c`` after the first colon."""
    listed = text.split(":", 1)[1].split("(")[0].split(".")[0]
    return [n.strip() for n in re.split(r",| or ", listed) if n.strip()]


def test_fuse_help_lists_exactly_the_fusers() -> None:
    assert names_in(option_help("fuse", "--method")) == list(FUSERS)


def test_merge_help_lists_the_calibrators_and_mergers() -> None:
    # "linear" is the one choice that is no table entry: no calibration at all.
    assert names_in(option_help("merge", "--calibrate")) == [*CALIBRATORS, "linear"]
    assert names_in(option_help("merge", "--method")) == list(MERGERS)


def test_align_help_lists_the_aligners() -> None:
    assert names_in(option_help("align", "--method")) == list(ALIGNERS)


def test_train_help_lists_exactly_the_recipes() -> None:
    from expokit.train.recipe import RECIPES

    result = cli("train", "--help")
    assert result.exit_code == 0, result.output
    rows = result.output.split("Commands")[1].splitlines()
    listed = [m.group(1) for r in rows if (m := re.match(r"^│ ([a-z_0-9]+)\s{2,}\S", r))]
    assert sorted(listed) == sorted(RECIPES)


def assert_refused(result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [ln for ln in result.output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    for w in words:
        assert w in result.output, result.output


def test_fuse_refuses_a_flag_deepfuse_does_not_take(shots, tmp_path) -> None:
    target = tmp_path / "f.png"
    assert_refused(cli("fuse", *shots, "-o", target, "--method", "deepfuse", "--sigma", "0.3"),
                   "--sigma", "deepfuse")
    assert not target.exists()


def test_fuse_refuses_tile_with_mertens(shots, tmp_path) -> None:
    assert_refused(cli("fuse", *shots, "-o", tmp_path / "f.png", "--tile", "256"),
                   "--tile", "mertens")


def test_fuse_p_option_reaches_the_method_or_is_refused(shots, tmp_path) -> None:
    assert_refused(cli("fuse", *shots, "-o", tmp_path / "f.png", "-p", "tile=256"),
                   "mertens", "'tile'")
    # A -p option the method takes is passed: levels=1 is a single-level blend, which
    # differs from the default pyramid on this scene.
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert cli("fuse", *shots, "-o", a).exit_code == 0
    assert cli("fuse", *shots, "-o", b, "-p", "levels=1").exit_code == 0
    diff = np.abs(cv2.imread(str(a)).astype(int) - cv2.imread(str(b)).astype(int))
    assert diff.max() > 10


def test_align_refuses_an_option_the_method_lacks(shots, tmp_path) -> None:
    assert_refused(cli("align", *shots, "-d", tmp_path / "out", "--method", "homography",
                       "-p", "max_shift=3"), "homography", "'max_shift'")
    assert not (tmp_path / "out").exists()


def test_tonemap_refuses_an_unknown_parameter(tmp_path) -> None:
    from expokit.io import write_image

    hdr = tmp_path / "scene.exr"
    write_image(hdr, render_scene(32, 48))
    assert_refused(cli("tonemap", hdr, "-o", tmp_path / "t.png", "--method", "drago",
                       "-p", "key=0.2"), "drago", "'key'")


def test_merge_refuses_curves_with_robertson(shots, tmp_path) -> None:
    assert_refused(cli("merge", *shots, "-o", tmp_path / "m.exr", "--times", "1/64,1/8,1",
                       "--calibrate", "robertson", "--curves", "separate"),
                   "--curves", "robertson")


def test_unknown_method_names_the_table(shots, tmp_path) -> None:
    assert_refused(cli("align", *shots, "-d", tmp_path / "out", "--method", "ecc"),
                   "--method 'ecc'", " or ".join(ALIGNERS))
