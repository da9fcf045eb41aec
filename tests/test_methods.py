"""Method tables and their dispatchers: one option check for every family (issue 10)."""

from __future__ import annotations

import numpy as np
import pytest

from expokit._methods import check_options, keyword_options, parse_assignments, parse_value, pick
from expokit.align import ALIGNERS
from expokit.errors import InputError
from expokit.fusion import FUSERS, fuse, fuse_mertens
from expokit.hdr import CALIBRATORS, MERGERS, calibrate, calibrate_debevec, merge, merge_debevec
from expokit.simulate import photograph, render_scene
from expokit.tonemap import TONEMAPPERS

TIMES = [1 / 64, 1 / 8, 1.0]


def mertens_like(images, *, sigma=0.2, levels=None, paths=None): ...


def takes_anything(images, **options): ...


def test_keyword_options_in_signature_order() -> None:
    assert keyword_options(mertens_like) == ["sigma", "levels", "paths"]
    assert keyword_options(mertens_like, exclude=("paths",)) == ["sigma", "levels"]
    assert keyword_options(takes_anything) is None


def test_check_options_names_method_option_and_valid_ones() -> None:
    check_options("demo", mertens_like, {"sigma": 0.3})
    with pytest.raises(InputError, match="demo has no option 'tile'; its options are sigma, "
                                         "levels$"):
        check_options("demo", mertens_like, ["tile"], exclude=("paths",))
    with pytest.raises(InputError, match="has no options 'a', 'b'"):
        check_options("demo", mertens_like, ["a", "b"])
    check_options("demo", takes_anything, ["whatever"])  # **options: nothing to check


def test_pick_lists_the_table() -> None:
    assert pick(FUSERS, "mertens", what="fusion method") is fuse_mertens
    with pytest.raises(InputError, match="unknown fusion method 'magic': choose one of "
                                         "'mertens', 'deepfuse'"):
        pick(FUSERS, "magic", what="fusion method")
    with pytest.raises(InputError, match="unknown"):
        pick(FUSERS, None, what="fusion method")


@pytest.mark.parametrize("table", [FUSERS, CALIBRATORS, MERGERS, ALIGNERS, TONEMAPPERS])
def test_every_method_has_keyword_only_options(table) -> None:
    # The CLI lists and checks options by signature: no method may hide them in **kwargs.
    for name, fn in table.items():
        assert keyword_options(fn) is not None, name


def test_parse_value_is_toml_or_a_bare_word() -> None:
    assert parse_value("3") == 3 and isinstance(parse_value("3"), int)
    assert parse_value("0.25") == pytest.approx(0.25)
    assert parse_value("false") is False
    assert parse_value("[1, 2]") == [1, 2]
    assert parse_value("sift") == "sift"


def test_parse_assignments() -> None:
    assert parse_assignments(["a=1", " b.c=x"], flag="-p", example="a=1") == {"a": 1,
                                                                                 "b.c": "x"}
    assert parse_assignments(None, flag="-p", example="a=1") == {}
    with pytest.raises(InputError, match="-p 'sigma' is not KEY=VALUE, e.g. -p a=1"):
        parse_assignments(["sigma"], flag="-p", example="a=1")
    with pytest.raises(InputError, match="KEY=VALUE"):
        parse_assignments(["=1"], flag="-p", example="a=1")


@pytest.fixture(scope="module")
def bracket() -> list[np.ndarray]:
    return photograph(render_scene(32, 48, seed=4), TIMES)


def test_fuse_dispatches_to_the_named_function(bracket) -> None:
    np.testing.assert_array_equal(fuse(bracket, "mertens", sigma=0.3),
                                  fuse_mertens(bracket, sigma=0.3))
    with pytest.raises(InputError, match="mertens has no option 'tile'"):
        fuse(bracket, "mertens", tile=256)
    with pytest.raises(InputError, match="deepfuse has no option 'sigma'"):
        fuse(bracket, "deepfuse", sigma=0.3)  # refused before DeepFuse (torch) is loaded


def test_fusers_hold_the_real_deepfuse_and_importing_fusion_needs_no_torch() -> None:
    import subprocess
    import sys

    from expokit.fusion import deepfuse

    assert FUSERS["deepfuse"] is deepfuse.fuse_deepfuse  # one signature, no wrapper to keep
    code = "import expokit.fusion, sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_calibrate_and_merge_dispatch(bracket) -> None:
    response = calibrate(bracket, TIMES, "debevec", samples=200, channels="separate")
    np.testing.assert_array_equal(
        response, calibrate_debevec(bracket, TIMES, samples=200, channels="separate"))
    np.testing.assert_array_equal(merge(bracket, TIMES, "debevec", response=response),
                                  merge_debevec(bracket, TIMES, response=response))
    with pytest.raises(InputError, match="robertson has no option 'channels'"):
        calibrate(bracket, TIMES, "robertson", channels="shared")
    with pytest.raises(InputError, match="unknown merge method 'mean'"):
        merge(bracket, TIMES, "mean")  # type: ignore[arg-type]
