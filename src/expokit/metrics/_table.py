"""The table of metric facts: :class:`MetricInfo` and :data:`METRICS`.

Each metric module declares its own metrics and their facts in a small
``INFO: dict[str, MetricInfo]`` beside the functions; :mod:`expokit.metrics._registry` imports
those modules and merges their ``INFO`` into :data:`expokit.metrics.METRICS` (a new module is
one import and one argument there: no folder scanning, no import by string).

How :func:`expokit.metrics.score` calls a metric depends on its ``kind``:

* ``"full_reference"``: ``function(fused, reference, *, data_range=..., **options)``
* ``"hdr"``: ``function(hdr, reference, **options)`` (linear radiance; no ``data_range``)
* ``"fusion"``: ``function(fused, sources, *, data_range=..., **options)``; a metric defined
  for a fixed number of sources (``n_sources=2``: MEFB's edge metrics such as Qabf) gets the
  darkest and the brightest source when more are given (:func:`expokit.metrics.extreme_pair`)
* ``"blind"``: ``function(fused, *, data_range=..., **options)``; metrics with a
  ``checkpoint_env`` (MUSIQ, DBCNN) take their weights file as the ``checkpoint`` option

``data_range`` is passed only to functions that take a keyword of that name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

MetricKind = Literal["full_reference", "fusion", "hdr", "blind"]


@dataclass(frozen=True)
class MetricInfo:
    """The facts about one metric.

    Attributes:
        name: the key in :data:`METRICS` and the column name in result tables.
        function: the metric itself (see the module docstring for how each kind is called).
        higher_is_better: True when a larger value means a better image.
        kind: ``"full_reference"`` and ``"hdr"`` need a reference image, ``"fusion"`` needs the
            source exposures, ``"blind"`` needs only the image.
        range: nominal ``(lo, hi)`` of the value; None for an unbounded end.
        description: one line saying what is measured.
        reference: the paper that defines the metric (and the equation used).
        checkpoint_env: for metrics that need a user-supplied checkpoint (MUSIQ, DBCNN), the
            environment variable that holds its default path; the path itself is given as the
            ``checkpoint`` option. None for metrics that need none.
        n_sources: for fusion metrics defined for a fixed number of source exposures, that
            number (2 for MEFB's under/over-exposed pair metrics such as Qabf);
            :func:`expokit.metrics.score` then passes the darkest and the brightest of longer
            brackets. None for metrics that take any number.
    """

    name: str
    function: Callable[..., float]
    higher_is_better: bool
    kind: MetricKind
    range: tuple[float | None, float | None]
    description: str
    reference: str
    checkpoint_env: str | None = None
    n_sources: int | None = None

    @property
    def needs_checkpoint(self) -> bool:
        """True for learned metrics whose weights the user supplies (a checkpoint file)."""
        return self.checkpoint_env is not None

    @property
    def needs_reference(self) -> bool:
        """True for full-reference and HDR metrics."""
        return self.kind in ("full_reference", "hdr")

    @property
    def needs_sources(self) -> bool:
        """True for fusion metrics."""
        return self.kind == "fusion"


def fusion_info(
    function: Callable[..., float],
    *,
    range: tuple[float | None, float | None],
    description: str,
    reference: str,
    higher_is_better: bool = True,
    n_sources: int | None = None,
) -> MetricInfo:
    """The :class:`MetricInfo` of a fusion metric, keyed by the function's own name."""
    return MetricInfo(
        name=function.__name__,
        function=function,
        higher_is_better=higher_is_better,
        kind="fusion",
        range=range,
        description=description,
        reference=reference,
        n_sources=n_sources,
    )


def merge_tables(*tables: dict[str, MetricInfo]) -> dict[str, MetricInfo]:
    """One table of several modules' ``INFO`` dicts, in order.

    Raises:
        RuntimeError: for a metric defined twice or a key that is not its entry's name.
    """
    out: dict[str, MetricInfo] = {}
    for table in tables:
        for key, entry in table.items():
            if key in out:
                raise RuntimeError(f"metric {key!r} is defined twice")
            if key != entry.name:
                raise RuntimeError(f"metric key {key!r} names {entry.name!r}")
            out[key] = entry
    return out
