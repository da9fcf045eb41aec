"""HDR-FLIP (hdr_flip): the wrapper passes reference and test to NVIDIA's flip-evaluator in
its order (reference first) with the viewing distance, grey images as three equal channels,
and says which extra to install when the package is absent."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from expokit import InputError, MissingResourceError
from expokit.metrics import METRICS, hdr_flip, score
from expokit.metrics import hdr as hdr_module

HAVE_FLIP = importlib.util.find_spec("flip_evaluator") is not None
needs_flip = pytest.mark.skipif(
    not HAVE_FLIP, reason='flip-evaluator is not installed (pip install "expokit[flip]")')

RNG = np.random.default_rng(2021)


def hdr_pair(h: int = 48, w: int = 64) -> tuple[np.ndarray, np.ndarray]:
    ref = RNG.lognormal(0.0, 2.0, (h, w, 3)).astype(np.float32)
    est = (ref * RNG.uniform(0.7, 1.3, ref.shape)).astype(np.float32)
    return est, ref


def test_absent_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    def absent(name: str) -> None:
        raise ModuleNotFoundError(f"No module named {name!r}")

    monkeypatch.setattr(hdr_module, "_import_module", absent)
    est, ref = hdr_pair()
    want = r'flip-evaluator.*pip install "expokit\[flip\]"'
    with pytest.raises(MissingResourceError, match=want):
        hdr_flip(est, ref)
    assert METRICS["hdr_flip"].kind == "hdr" and not METRICS["hdr_flip"].higher_is_better


def test_input_errors_come_before_the_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hdr_module, "_import_module", lambda name: None)
    est, ref = hdr_pair()
    with pytest.raises(InputError, match="ppd must be"):
        hdr_flip(est, ref, ppd=0)
    with pytest.raises(InputError, match="test is 63x48 but reference is 64x48"):
        hdr_flip(est[:, :63], ref)


@needs_flip
def test_matches_flip_evaluator_called_directly() -> None:
    import flip_evaluator as flip

    est, ref = hdr_pair()
    want = flip.evaluate(ref, est, "HDR", applyMagma=False)[1]  # reference first
    assert hdr_flip(est, ref) == pytest.approx(want, abs=1e-7)
    want30 = flip.evaluate(ref, est, "HDR", applyMagma=False, parameters={"ppd": 30.0})[1]
    assert hdr_flip(est, ref, ppd=30.0) == pytest.approx(want30, abs=1e-7)


@needs_flip
def test_identical_zero_and_more_error_scores_higher() -> None:
    est, ref = hdr_pair()
    worse = ref * RNG.uniform(0.4, 1.6, ref.shape).astype(np.float32)
    assert hdr_flip(ref, ref) == 0.0
    assert 0.0 < hdr_flip(est, ref) < hdr_flip(worse, ref) < 1.0
    # the exposure range follows the reference: a common factor leaves the value ~unchanged
    assert hdr_flip(8.0 * est, 8.0 * ref) == pytest.approx(hdr_flip(est, ref), abs=1e-4)


@needs_flip
def test_grey_is_three_equal_channels_and_score_runs_it() -> None:
    est, ref = hdr_pair()
    g_est, g_ref = est[..., 1], ref[..., 1]
    rgb = hdr_flip(np.repeat(g_est[..., None], 3, 2), np.repeat(g_ref[..., None], 3, 2))
    assert hdr_flip(g_est, g_ref) == pytest.approx(rgb, abs=1e-9)
    assert score(est, reference=ref, metrics=["hdr_flip"]) == {"hdr_flip": hdr_flip(est, ref)}
