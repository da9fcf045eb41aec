"""Exposure correction of single photos: UEC (learned) and two reference-based baselines.

* :func:`correct_exposure` - UEC (Cui, Niu & Hu, ECCV 2024) toward a reference image, an EV
  offset, or the shipped default exposure; needs PyTorch (``pip install "expokit[torch]"``).
  :func:`plan_default_correction` says what the default (no reference) will do to a photo.
* :func:`match_histograms_to`, :func:`gain_gamma_to` - classical baselines that take their
  target from a reference image (NumPy / scikit-image only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .baselines import fit_gain_gamma, gain_gamma_to, match_histograms_to

if TYPE_CHECKING:
    from .uec import DefaultPlan, correct_exposure, load_uec, plan_default_correction

__all__ = ["DefaultPlan", "correct_exposure", "fit_gain_gamma", "gain_gamma_to", "load_uec",
           "match_histograms_to", "plan_default_correction"]


def __getattr__(name: str) -> Any:
    # UEC needs torch: import it on first use so the baselines work without it.
    if name in ("DefaultPlan", "correct_exposure", "load_uec", "plan_default_correction"):
        from ..nn.runtime import require_torch

        require_torch("UEC exposure correction")
        from . import uec

        return getattr(uec, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
