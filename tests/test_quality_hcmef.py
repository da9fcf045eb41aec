"""The pure helpers of benchmarks/quality_hcmef.py, against hand-computed values (no data)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "quality_hcmef.py"
_spec = importlib.util.spec_from_file_location("quality_hcmef", _PATH)
assert _spec is not None and _spec.loader is not None
qh = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(qh)

ORDER = ("bi-level", "joint", "two-stage", "image-only")


def test_paired_difference_by_hand() -> None:
    # d = (2, 0, 3): mean 5/3; deviations (1/3, -5/3, 4/3), sum of squares 42/9, sample
    # variance 7/3, standard error sqrt(7/3) / sqrt(3) = sqrt(7) / 3; a tie (0) is no win.
    # The NaN pair is not compared.
    mean, se, wins, n = qh.paired_difference([3.0, 1.0, 4.0, math.nan], [1.0, 1.0, 1.0, 2.0])
    assert mean == pytest.approx(5.0 / 3.0)
    assert se == pytest.approx(math.sqrt(7.0) / 3.0)
    assert (wins, n) == (2, 3)


def test_paired_difference_too_few_samples() -> None:
    mean, se, wins, n = qh.paired_difference([2.0], [3.0])
    assert mean == pytest.approx(-1.0) and math.isnan(se) and (wins, n) == (0, 1)
    mean, se, wins, n = qh.paired_difference([math.nan], [1.0])
    assert math.isnan(mean) and (wins, n) == (0, 0)
    with pytest.raises(ValueError):
        qh.paired_difference([1.0, 2.0], [1.0])


def test_ordering_holds_and_fails_where_it_should() -> None:
    lines, holds = qh.check_ordering(
        {"bi-level": 25.0, "joint": 24.5, "two-stage": 24.0, "image-only": 23.0}, ORDER)
    assert holds is True
    assert lines[0] == "bi-level 25.00 > joint 24.50 dB (+0.50): yes"
    assert len(lines) == 3
    # joint below two-stage breaks the middle inequality only
    lines, holds = qh.check_ordering(
        {"bi-level": 25.0, "joint": 23.9, "two-stage": 24.0, "image-only": 23.0}, ORDER)
    assert holds is False
    assert [line.endswith("yes") for line in lines] == [True, False, True]
    # strict: a tie does not hold
    _, holds = qh.check_ordering({"a": 1.0, "b": 1.0}, ("a", "b"))
    assert holds is False


def test_ordering_with_a_missing_row_cannot_be_checked() -> None:
    lines, holds = qh.check_ordering({"bi-level": 25.0, "joint": 24.0, "image-only": 23.0},
                                     ORDER)
    assert holds is None
    assert "two-stage not scored" in lines[1] and "two-stage not scored" in lines[2]
    # ... unless an inequality that can be checked already fails
    _, holds = qh.check_ordering({"bi-level": 20.0, "joint": 24.0, "image-only": 23.0}, ORDER)
    assert holds is False


def test_rank_direction_and_ties() -> None:
    assert qh.rank({"a": 0.9, "b": 0.8, "c": 0.9}, higher_is_better=True) == \
        {"a": 1, "b": 3, "c": 1}
    assert qh.rank({"a": 10.0, "b": 5.0, "c": 7.5}, higher_is_better=False) == \
        {"a": 3, "b": 1, "c": 2}


def test_common_samples_names_what_is_missing() -> None:
    scores = {"m1": {"s1": {"q": 1.0}, "s2": {"q": 2.0}, "s3": {"q": 3.0}},
              "m2": {"s1": {"q": 1.0}, "s2": {"q": math.nan}},
              "m3": {"s1": {"q": 0.5}, "s2": {"q": math.nan}, "s3": {"q": 1.0}}}
    kept, missing = qh.common_samples(scores, "q", ["s1", "s2", "s3"])
    assert kept == ["s1"]
    assert missing == {"s2": ["m2", "m3"], "s3": ["m2"]}
