"""Whole photo collections: one fuse, merge or correct task per bracket, on Dask distributed.

:func:`run_batch` walks a folder tree, groups brackets as ``expokit info`` does
(:func:`plan_items`), runs one task per item on a Dask cluster (a ``LocalCluster`` of worker
processes by default, an existing scheduler by address, or here, one after another, when Dask
is absent) and keeps ``DST/manifest.json`` (:func:`read_manifest`): each item's inputs with
their SHA-256, parameters, output, status and error, so a rerun skips what is done and redoes
what changed or failed. docs/batch.md says how to run it over many machines.
"""

from .manifest import read_manifest
from .ops import run_task
from .plan import OPS, Item, plan_items
from .run import BatchConfig, BatchSummary, dask_available, run_batch

__all__ = ["OPS", "BatchConfig", "BatchSummary", "Item", "dask_available", "plan_items",
           "read_manifest", "run_batch", "run_task"]
