"""A static HTML report of an ``expokit batch`` output folder (``expokit report``).

One self-contained page (no server, nothing fetched; it opens from ``file://``): per bracket
its inputs as thumbnails, its results, its failures, a before/after slider between any two of
its images and a zoom; at the top the counts, the skipped files, the ``expokit eval`` metric
table with the best per column marked, and a summary chart. See ``docs/report.md``.

The page grows by each bracket's thumbnails and view images (some 0.3-1 MB per bracket at the
defaults); :func:`write_report_html` reads and writes one bracket at a time, ``limit`` keeps
the first brackets only and ``view_side`` sets the size of the large images.

>>> from expokit.report import build_report
>>> build_report("no/such/folder")
Traceback (most recent call last):
...
expokit.errors.InputError: no/such/folder does not exist: give the output folder of ...
"""

from __future__ import annotations

from ._inputs import EvalResults, read_eval
from ._page import QUALITY, THUMB_SIDE, VIEW_SIDE, build_report, iter_report, write_report_html

__all__ = [
    "QUALITY",
    "THUMB_SIDE",
    "VIEW_SIDE",
    "EvalResults",
    "build_report",
    "iter_report",
    "read_eval",
    "write_report_html",
]
