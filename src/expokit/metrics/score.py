"""``score``: several metrics of one image in one call, from arrays or files."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .._checks import Negative
from .._methods import check_options, keyword_options
from ..errors import InputError
from ._registry import get_metric
from ._table import MetricInfo

ImageLike = np.ndarray | str | os.PathLike[str]


def _load(img: object, name: str, negative: Negative = "clip") -> np.ndarray:
    if isinstance(img, (str, os.PathLike)):
        from ..io import read_image

        return read_image(Path(img), negative=negative)
    if not isinstance(img, np.ndarray):
        raise InputError(
            f"{name} is a {type(img).__name__}, expected a NumPy array or a file path"
        )
    return img


def extreme_pair(sources: Sequence[np.ndarray]) -> tuple[int, int]:
    """Indices of the darkest and the brightest of several source exposures.

    Fusion metrics defined for two sources (:attr:`MetricInfo.n_sources` is 2: MEFB's Qabf,
    QP, QC, QW, QY, QCB, QCV) compare the fused image with an under- and an over-exposed shot;
    :func:`score` gives them these two when a bracket has more. Brightness is the mean Rec. 709
    luma of each shot's values scaled to [0, 1] (uint8 / 255, uint16 / 65535, floats as
    they are), so no exposure times are needed: for a real bracket this is the order of the
    exposure times. Shots of equal brightness keep their input order (the darkest is the first
    of them, the brightest the last), so the pair is always two different shots.

    Args:
        sources: two or more display-referred images ``(H, W, C)`` or ``(H, W)``.

    Returns:
        ``(darkest, brightest)``, 0-based indices into ``sources``.

    Raises:
        InputError: for fewer than two sources.

    >>> shots = [np.full((4, 4, 3), v, np.uint8) for v in (128, 20, 240)]
    >>> extreme_pair(shots)
    (1, 2)
    """
    from .._checks import to_float32
    from ..color import luminance

    if len(sources) < 2:
        raise InputError(f"sources holds {len(sources)} image(s); at least two are needed to "
                         "pick the darkest and the brightest")
    means = [float(np.mean(luminance(to_float32(np.asarray(s))), dtype=np.float64))
             for s in sources]
    order = sorted(range(len(means)), key=means.__getitem__)  # stable: ties keep input order
    return order[0], order[-1]


def score(
    fused: ImageLike,
    *,
    metrics: Sequence[str],
    sources: Sequence[ImageLike] | None = None,
    reference: ImageLike | None = None,
    data_range: float | None = None,
    options: Mapping[str, Mapping[str, object]] | None = None,
    negative: Negative = "clip",
) -> dict[str, float]:
    """Compute several metrics of one image.

    Each metric is called according to its :attr:`MetricInfo.kind` (see
    :mod:`expokit.metrics._table`): full-reference and HDR metrics with ``reference``,
    fusion metrics with ``sources``, blind metrics with the image alone. A fusion metric
    defined for two sources (:attr:`MetricInfo.n_sources` is 2, e.g. Qabf) given more gets the
    darkest and the brightest of them (:func:`extreme_pair`). ``data_range`` is
    passed to every metric that takes it (HDR metrics do not: they take linear radiance and
    a ``normalize`` option instead).

    Files are read with :func:`expokit.io.read_image` and keep their type: an 8-bit PNG gives
    uint8 code values, so ``data_range`` defaults to 255 (65535 for 16-bit files); EXR and
    ``.hdr`` files give float radiance, for which full-reference metrics need ``data_range``.

    Args:
        fused: the image to score: an array or a file path.
        metrics: names from :data:`expokit.metrics.METRICS`, computed in this order.
        sources: the source exposures (arrays or paths), needed by fusion metrics.
        reference: the reference image (array or path), needed by full-reference and HDR
            metrics.
        data_range: span of the image values; required for float display-referred images,
            255 / 65535 by default for uint8 / uint16.
        options: extra keyword arguments per metric, e.g.
            ``{"lpips": {"weights_path": "alexnet-owt-7be5be79.pth"}}``; learned metrics take
            their weights file as ``{"musiq": {"checkpoint": "musiq_koniq_ckpt-e95806b9.pth"}}``
            (or from ``$EXPOKIT_MUSIQ_CHECKPOINT`` / ``$EXPOKIT_DBCNN_CHECKPOINT``).
        negative: for files: negative values in float files (EXR, float TIFF) are set to 0
            with a warning (``"clip"``) or refused (``"error"``); see
            :func:`expokit.io.read_image`.

    Returns:
        ``{name: value}`` in the order of ``metrics``.

    Raises:
        MissingResourceError: for a metric that needs a checkpoint (:attr:`MetricInfo.
            needs_checkpoint`) when none is given or the file does not exist, before anything
            is computed.
        InputError: for an unknown metric name (with the valid ones), a fusion metric without
            sources, a full-reference metric without a reference, options for a metric not
            requested, or anything the metrics themselves refuse.

    >>> x = np.linspace(0, 1, 16 * 16).reshape(16, 16)
    >>> s = score(x, reference=x, metrics=["mse", "ssim"], data_range=1.0)
    >>> {k: round(v, 9) for k, v in s.items()}
    {'mse': 0.0, 'ssim': 1.0}
    """
    if negative not in ("clip", "error"):
        raise InputError(f"negative must be 'clip' or 'error', got {negative!r}")
    if isinstance(metrics, str):
        metrics = [metrics]
    infos: list[MetricInfo] = [get_metric(name) for name in metrics]
    if not infos:
        raise InputError("metrics is empty: name at least one metric (see expokit.metrics.METRICS)")
    opts = dict(options or {})
    unknown = sorted(set(opts) - {info.name for info in infos})
    if unknown:
        raise InputError(
            f"options given for {', '.join(unknown)}, which is not in metrics: add it to "
            "metrics or drop its options"
        )
    for info in infos:
        if info.needs_checkpoint:
            # Fail before any image is read or any other metric computed.
            from .learned import resolve_checkpoint

            resolve_checkpoint(info.name, opts.get(info.name, {}).get("checkpoint"))
    need_ref = [i.name for i in infos if i.needs_reference]
    need_src = [i.name for i in infos if i.needs_sources]
    if need_ref and reference is None:
        raise InputError(
            f"{', '.join(need_ref)} compare with a reference image: pass reference=... "
            "(an array or a file path)"
        )
    if need_src and (sources is None or len(sources) == 0):
        raise InputError(
            f"{', '.join(need_src)} are fusion metrics and need the source exposures: pass "
            "sources=[...] (arrays or file paths)"
        )

    img = _load(fused, "fused", negative)
    ref = _load(reference, "reference", negative) if need_ref else None
    srcs = None
    if need_src and sources is not None:
        if isinstance(sources, (str, os.PathLike)):
            raise InputError("sources must be a list of images or paths, got a single path")
        srcs = [_load(s, f"source {i + 1}", negative) for i, s in enumerate(sources)]

    out: dict[str, float] = {}
    pair: tuple[int, int] | None = None
    for info in infos:
        kwargs = dict(opts.get(info.name, {}))
        check_options(info.name, info.function, kwargs)
        accepted = keyword_options(info.function)
        if info.kind != "hdr" and (accepted is None or "data_range" in accepted):
            kwargs.setdefault("data_range", data_range)
        if info.kind in ("full_reference", "hdr"):
            value = info.function(img, ref, **kwargs)
        elif info.kind == "fusion":
            use = srcs
            if info.n_sources == 2 and srcs is not None and len(srcs) > 2:
                pair = pair or extreme_pair(srcs)
                use = [srcs[pair[0]], srcs[pair[1]]]
            value = info.function(img, use, **kwargs)
        else:
            value = info.function(img, **kwargs)
        out[info.name] = float(value)
    return out
