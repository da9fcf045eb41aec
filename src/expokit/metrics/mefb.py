"""The 20 metrics of the MEFB benchmark, by MEFB's names, and :func:`mefb_all`.

MEFB (Zhang, "Benchmarking and comparing multi-exposure image fusion algorithms",
Information Fusion 2021) scores every fused image with 20 metrics computed by its MATLAB code.
expokit re-implements each from MEFB's definitions, in modules by what a metric measures
(MEFB's own four categories): :mod:`expokit.metrics.information` (CE, EN, FMI, NMI, PSNR,
QNCIE, TE), :mod:`expokit.metrics.features` (AG, EI, QABF, QP, SD, SF),
:mod:`expokit.metrics.structural` (QC, QW, QY; MEF-SSIM is
:func:`expokit.metrics.mef.mefb_mef_ssim`) and :mod:`expokit.metrics.perceptual` (QCB, QCV,
VIF), and checks them against the scores MEFB stored (``benchmarks/validate_mefb.py``).

:data:`MEFB_METRICS` lists the names in MEFB's order (the order of its tables and of the
metric axis of ``evaluationMetrics.mat``); :data:`MEFB_FUNCTIONS` maps each name to the
expokit function that computes it as MEFB does. Where MEFB's definition departs from the
textbook one the function says so in its name: ``PSNR`` is :func:`psnr_mefb` (the textbook
form is :func:`psnr_fusion`), ``TE`` is :func:`te_mefb` (the published formula is :func:`te`),
``VIF`` is Han et al.'s fusion metric :func:`viff`, not Sheikh and Bovik's VIF.

**MEFB's protocol** (one implementation, :mod:`expokit.metrics._checks`):

* Inputs are 8-bit code values as MATLAB's ``imread`` gives them: ``uint8`` ``(H, W)``,
  ``(H, W, 1)`` or ``(H, W, 3)``. uint16 is divided by 257; float images are quantised with
  ``round(x / data_range * 255)``, so ``data_range`` is required for them (1.0 for
  display-referred images in [0, 1]). Integer images take no ``data_range`` other than their
  full code range (255, 65535): any other value is refused, not ignored.
* Colour: with colour sources and a colour fused image each metric is computed on R, G and B
  separately (source channel k against fused channel k) and the three values are averaged
  (MEF-SSIM alone works on ``rgb2gray`` images). With grey sources and a colour fused image
  MEFB scores only the fused image's first (red) channel (AG uses its ``rgb2gray``); with
  colour sources and a grey fused image, the sources are MATLAB ``rgb2gray``-ed (rounded to
  8 bits). The pair metrics (QABF, QP, QC, QW, QY, QCB, QCV) also take ``channels="grey"``,
  the textbook greyscale form.
* Liu's ``normalize1`` (NMI, QNCIE, TE, QCV) maps a constant image to zeros (see
  :func:`expokit.metrics._matlab.normalize1`).

**The two-source contract**: the pair metrics (QABF, QP, QC, QW, QY, QCB, QCV, and
:func:`~expokit.metrics.structural.qw_weighted`, :func:`~expokit.metrics.structural.qe_piella`)
share one signature ``(fused, sources, *, data_range=None, channels="mefb")``; their
docstrings refer here for it.

* ``fused``: the fused image, 8-bit code values (``uint8`` ``(H, W, 3)`` or ``(H, W)``), at
  least 16x16 pixels.
* ``sources``: exactly two source exposures, same size as ``fused``; the order matters where
  a metric is not symmetric (QC): MEFB passes the ``_A`` image first.
* ``data_range``: span of the values of non-uint8 input, required for float images (quantised
  to 8 bits as above).
* ``channels``: ``"mefb"``, the mean of the per-channel values (MEFB); ``"grey"``, once on
  MATLAB ``rgb2gray`` luminance (the textbook form).
* Raises :class:`~expokit.errors.InputError` for other than two sources, mismatched sizes,
  images under 16x16, another ``channels``, or float input without ``data_range``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..errors import InputError
from .features import ag, ei, qabf, qp, sd, sf
from .information import ce, en, fmi, nmi, psnr_fusion, psnr_mefb, qncie, te, te_mefb
from .mef import mefb_mef_ssim
from .perceptual import qcb, qcv, viff
from .structural import qc, qw, qy

#: MEFB's 20 metrics in MEFB's order.
MEFB_METRICS: tuple[str, ...] = (
    "CE", "EN", "FMI", "NMI", "PSNR", "QNCIE", "TE", "AG", "EI", "QABF",
    "QP", "SD", "SF", "QC", "QW", "QY", "MEF-SSIM", "QCB", "QCV", "VIF",
)  # fmt: skip

#: The expokit function computing each MEFB metric the way MEFB's MATLAB code does.
MEFB_FUNCTIONS: dict[str, Callable[..., float]] = {
    "CE": ce,
    "EN": en,
    "FMI": fmi,
    "NMI": nmi,
    "PSNR": psnr_mefb,
    "QNCIE": qncie,
    "TE": te_mefb,
    "AG": ag,
    "EI": ei,
    "QABF": qabf,
    "QP": qp,
    "SD": sd,
    "SF": sf,
    "QC": qc,
    "QW": qw,
    "QY": qy,
    "MEF-SSIM": mefb_mef_ssim,
    "QCB": qcb,
    "QCV": qcv,
    "VIF": viff,
}

#: MEFB metrics where a lower value is better (all others: higher is better).
MEFB_LOWER_IS_BETTER: frozenset[str] = frozenset({"CE", "QCV"})


def mefb_all(
    fused: object,
    sources: object,
    *,
    metrics: Sequence[str] | None = None,
    data_range: float | None = None,
) -> dict[str, float]:
    """Score one fused image with MEFB's metrics, as MEFB's MATLAB code would.

    Args:
        fused: fused image, uint8 ``(H, W)`` or ``(H, W, 3)``; float images need
            ``data_range``.
        sources: the source exposures (MEFB: two), same size.
        metrics: MEFB names to compute (see :data:`MEFB_METRICS`, case-insensitive); all 20
            when None.
        data_range: span of float inputs (1.0 for images in [0, 1]); leave out for uint8.

    Returns:
        ``{MEFB name: value}`` in MEFB's order.

    Raises:
        InputError: for an unknown metric name (the message lists the valid ones) or bad
            images.

    >>> import numpy as np
    >>> x = np.tile(np.arange(64, dtype=np.uint8) * 4, (64, 1))
    >>> {k: round(v, 2) for k, v in mefb_all(x, [x, x], metrics=["en", "SD"]).items()}
    {'EN': 6.0, 'SD': 73.89}
    """
    if metrics is None:
        names = list(MEFB_METRICS)
    else:
        if isinstance(metrics, str):
            metrics = [metrics]
        upper = {n.upper(): n for n in MEFB_METRICS}
        names = []
        for m in metrics:
            key = str(m).upper().replace("_", "-")
            if key not in upper:
                raise InputError(
                    f"unknown MEFB metric {m!r}; valid names: {', '.join(MEFB_METRICS)}"
                )
            names.append(upper[key])
        names = [n for n in MEFB_METRICS if n in names]
    kwargs = {} if data_range is None else {"data_range": data_range}
    return {n: float(MEFB_FUNCTIONS[n](fused, sources, **kwargs)) for n in names}


__all__ = [
    "MEFB_FUNCTIONS",
    "MEFB_LOWER_IS_BETTER",
    "MEFB_METRICS",
    "ag",
    "ce",
    "ei",
    "en",
    "fmi",
    "mefb_all",
    "mefb_mef_ssim",
    "nmi",
    "psnr_fusion",
    "psnr_mefb",
    "qabf",
    "qc",
    "qcb",
    "qcv",
    "qncie",
    "qp",
    "qw",
    "qy",
    "sd",
    "sf",
    "te",
    "te_mefb",
    "viff",
]
