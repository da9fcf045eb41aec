"""Run a batch: plan the items, skip those done, run the rest on Dask distributed (or here,
one after another), keep the manifest.

Dask is the ``batch`` extra. Without it, or with ``workers=0``, the items run in this process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError, MissingResourceError
from . import manifest as mf
from .ops import blank_row, error_line, run_task
from .plan import OPS, Item, plan_items

log = logging.getLogger(__name__)

#: Default method per operation.
DEFAULT_METHOD = {"fuse": "mertens", "merge": "debevec", "correct": "uec"}

#: The manifest is saved at least this often (seconds) while items finish.
SAVE_EVERY = 2.0


@dataclass
class BatchConfig:
    """What to do with every item; the fields an operation uses are its manifest ``params``.

    Attributes:
        op: ``fuse``, ``merge`` or ``correct``.
        method: fusion method (:data:`expokit.fusion.FUSERS`) or merge
            (:data:`expokit.hdr.MERGERS`); ignored by correct (UEC).
        options: the method's keyword options (``-p NAME=VALUE``).
        fmt: output format (suffix without the dot); default png (fuse), exr (merge), the
            photo's own (correct).
        bit_depth: fuse: 8 or 16 for PNG/TIFF (default 8).
        align: ``none`` or an aligner of :data:`expokit.align.ALIGNERS` (fuse, merge).
        mask_color: ``"R,G,B"`` code value of invalid pixels (fuse, merge).
        negative: ``clip`` or ``error``: negative values in float files (fuse, merge).
        calibrate: merge: camera response calibration, or ``linear`` for none.
        curves: merge (debevec calibration): ``shared`` or ``separate``; None: the default.
        estimate_times: merge: estimate relative times where EXIF has none.
        deghost: merge: suppress moving content.
        weights: correct: UEC weights name or file.
        ev: correct: target exposure shift in stops.
        reference: correct: the photo whose exposure to match.
        max_gap: seconds between two shots that start a new bracket (as ``expokit info``).
        bracket_size: shots per bracket where the camera shot brackets back to back.
    """

    op: str = "fuse"
    method: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    fmt: str | None = None
    bit_depth: int | None = None
    align: str = "none"
    mask_color: str | None = None
    negative: str = "clip"
    calibrate: str = "debevec"
    curves: str | None = None
    estimate_times: bool = False
    deghost: bool = False
    weights: str = "uec"
    ev: float | None = None
    reference: str | None = None
    max_gap: float = 2.0
    bracket_size: int | None = None

    @property
    def method_name(self) -> str:
        return DEFAULT_METHOD[self.op] if self.op == "correct" or self.method is None \
            else self.method

    def params(self) -> dict[str, Any]:
        """The parameters that decide an item's pixels (a change redoes the items)."""
        from ..nn.runtime import file_sha256

        keys: tuple[str, ...]
        if self.op == "fuse":
            keys = ("options", "align", "mask_color", "negative", "bit_depth")
            return {"method": self.method_name, **{k: getattr(self, k) for k in keys}}
        if self.op == "merge":
            keys = ("options", "calibrate", "estimate_times", "deghost", "align", "mask_color",
                    "negative")
            calibration = {} if self.curves is None else {"channels": self.curves}
            return {"method": self.method_name, **{k: getattr(self, k) for k in keys},
                    "calibration": calibration}
        ref = None if self.reference is None else str(Path(self.reference).resolve())
        return {"weights": self.weights, "ev": self.ev, "reference": ref,
                "reference_sha256": None if ref is None else file_sha256(ref)}

    def check(self) -> None:
        """Refuse, before any work, an unknown operation, method or option."""
        from .._methods import check_options

        if self.op not in OPS:
            raise InputError(f"--op {self.op!r} is not known: use " + ", ".join(OPS))
        if self.fmt is not None:
            from ..io import WRITE_FORMATS

            ext = self.fmt.lower().lstrip(".")
            if f".{ext}" not in WRITE_FORMATS:
                raise InputError(f"--format {self.fmt}: not a format expokit writes; choose "
                                 + ", ".join(sorted(e.lstrip(".") for e in WRITE_FORMATS)))
            if self.op == "merge" and f".{ext}" not in (".exr", ".hdr", ".tif", ".tiff"):
                raise InputError(f"--format {self.fmt}: HDR radiance needs exr, hdr or tif")
        if self.op == "correct":
            if self.reference is not None and self.ev is not None:
                raise InputError("give --reference or --ev, not both")
            if self.reference is not None and not Path(self.reference).is_file():
                raise InputError(f"--reference {self.reference} does not exist")
            if self.options:
                raise InputError("correct takes no -p options")
            from ..nn.runtime import require_torch

            require_torch("expokit batch --op correct")
            return
        if self.negative not in ("clip", "error"):
            raise InputError(f"--negative {self.negative!r}: choose clip or error")
        if self.align != "none":
            from ..align import ALIGNERS

            if self.align not in ALIGNERS:
                raise InputError(f"--align {self.align!r} is not known: use none, "
                                 + ", ".join(ALIGNERS))
        if self.mask_color is not None:
            from ..hdr import parse_marker

            marker = parse_marker(self.mask_color)
            if len(marker) != 3 or min(marker) < 0:
                raise InputError(f"--mask-color {self.mask_color!r}: expected R,G,B such as "
                                 "0,0,255")
        exclude: tuple[str, ...]
        if self.op == "fuse":
            from ..fusion import FUSERS

            table, exclude = FUSERS, ("paths",)
        else:
            from ..hdr import CALIBRATORS, MERGERS

            table, exclude = MERGERS, ("response", "deghost", "mask")
            if self.calibrate != "linear":
                if self.calibrate not in CALIBRATORS:
                    raise InputError(f"--calibrate {self.calibrate!r} is not known: use "
                                     + ", ".join([*CALIBRATORS, "linear"]))
                check_options(self.calibrate, CALIBRATORS[self.calibrate],
                              {} if self.curves is None else {"channels": self.curves})
        if self.method_name not in table:
            raise InputError(f"--method {self.method_name!r} is not a {self.op} method: use "
                             + ", ".join(table))
        check_options(self.method_name, table[self.method_name], self.options, exclude=exclude)


@dataclass
class BatchSummary:
    """What a run did.

    Attributes:
        done: items run now that succeeded.
        failed: ``(key, error)`` of the items that failed now.
        up_to_date: items skipped because their manifest row is still valid.
        skipped: ``(path, reason)``: files in no item.
        rows: the manifest rows of this run's items.
        runner: how the items ran (``serial``, ``LocalCluster with 2 workers``...).
        to_run: ``(key, why)`` of each item that ran (or, with ``dry_run``, would run): new,
            failed before, parameters changed, inputs changed, output missing or changed.
    """

    done: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    up_to_date: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    runner: str = ""
    to_run: list[tuple[str, str]] = field(default_factory=list)


def dask_available() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def _serial(tasks: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for t in tasks:
        yield run_task(t)


def _failed_row(task: dict[str, Any], error: str) -> dict[str, Any]:
    """The row of an item whose task never returned (its worker kept dying)."""
    from .. import __version__

    return {**blank_row(task), "inputs": task.get("known") or [], "error": error,
            "seconds": None, "worker": None, "finished": mf.now(), "expokit": __version__}


def _on_dask(tasks: list[dict[str, Any]], client: Any,
             fn: Callable[[dict[str, Any]], dict[str, Any]] = run_task
             ) -> Iterator[dict[str, Any]]:
    """Submit every task, yield rows as they finish. A task whose worker dies is run again on
    another (Dask's own rescheduling, up to ``distributed.scheduler.allowed-failures``); one
    that kills its workers that often gets a failed row."""
    from distributed import as_completed

    run = uuid.uuid4().hex[:8]
    futures = {client.submit(fn, t, key=f"expokit-batch-{run}-{i}", pure=False,
                             retries=0): t for i, t in enumerate(tasks)}
    try:
        for fut in as_completed(futures):
            try:
                yield fut.result()
            except Exception as exc:  # noqa: BLE001 - KilledWorker and the like
                row = _failed_row(futures[fut], "its worker died while running it, "
                                  f"repeatedly ({error_line(exc)}): too little memory?")
                mf.write_json(mf.record_path(Path(futures[fut]["dst"]), row["key"]), row)
                yield row
    finally:
        client.cancel(list(futures))


def _check_runner(workers: int | None, scheduler: str | None) -> None:
    if scheduler is not None and workers is not None:
        raise InputError("give --workers or --scheduler, not both")
    if workers is not None and workers < 0:
        raise InputError(f"--workers {workers}: give 0 (run here) or more")


@contextlib.contextmanager
def open_runner(workers: int | None, scheduler: str | None, client: Any = None
                ) -> Iterator[tuple[Callable[[list[dict[str, Any]]], Iterator[dict[str, Any]]],
                                    str, int | None]]:
    """``(run, description, threads per task)`` for the chosen place to run.

    Args:
        workers: worker processes of a local cluster; 0 runs here, one item after another;
            None: one per CPU core when Dask is installed, else here.
        scheduler: address of a running Dask scheduler (``tcp://host:8786``).
        client: a Dask ``Client`` to use as it is (library callers, tests).
    """
    if client is not None:
        yield (lambda t: _on_dask(t, client)), f"Dask client {client.scheduler.address}", None
        return
    _check_runner(workers, scheduler)
    if workers == 0:
        yield _serial, "serial, in this process", None
        return
    if not dask_available():
        if scheduler is not None:
            raise MissingResourceError("--scheduler needs Dask distributed: pip install "
                                       "'expokit[batch]'")
        log.warning("Dask distributed is not installed: running the items one after another "
                    "in this process (pip install 'expokit[batch]' for parallel workers)")
        yield _serial, "serial, in this process (Dask not installed)", None
        return
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            remote = Client(scheduler, timeout="10s")
        except OSError as exc:
            raise InputError(f"--scheduler {scheduler}: no Dask scheduler answers there "
                             f"({exc}); start one with 'dask scheduler'") from None
        with remote:
            n = len(remote.scheduler_info().get("workers", {}))
            yield (lambda t: _on_dask(t, remote)), f"Dask scheduler {scheduler} ({n} " \
                "workers now)", None
        return
    import dask

    n = workers or os.cpu_count() or 1
    threads = max(1, (os.cpu_count() or 1) // n)
    # Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 for its workers, which made every item
    # about 15 % slower here (benchmarks/bench_batch.py: 0.28 s vs 0.24 s a bracket); an item
    # frees its large arrays (mmap'ed, returned at once) when it ends, so glibc's default is
    # kept. The nanny also writes its variables into this process's environment: put it back.
    saved = dict(os.environ)
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        try:
            with _sigint_ignored():  # inherited by the worker processes started now
                cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR)
        except RuntimeError as exc:  # "Nanny failed to start": the workers could not start
            raise MissingResourceError(
                f"could not start {n} Dask worker process(es) ({exc}): a script that calls "
                "run_batch must do so under `if __name__ == \"__main__\":` (workers start by "
                "importing it), or run here with workers=0") from None
    with cluster, Client(cluster) as local, _environment(saved):
        yield (lambda t: _on_dask(t, local)), f"LocalCluster with {n} worker process(es)", \
            threads


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore Ctrl-C (SIGINT) while worker processes start, so that they inherit that.

    A terminal sends Ctrl-C to the whole process group: the workers would each print a
    traceback. The client alone handles it (it saves the manifest and closes the cluster,
    which ends the workers); a worker restarted later does not inherit this.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


@contextlib.contextmanager
def _environment(saved: dict[str, str]) -> Iterator[None]:
    """Restore ``os.environ`` to ``saved`` now and when the block ends."""

    def restore() -> None:
        for k in set(os.environ) - set(saved):
            del os.environ[k]
        os.environ.update(saved)

    restore()
    try:
        yield
    finally:
        restore()


def run_batch(src: str | os.PathLike[str], dst: str | os.PathLike[str], config: BatchConfig, *,
              workers: int | None = None, scheduler: str | None = None, client: Any = None,
              threads: int | None = None, redo: bool = False, dry_run: bool = False,
              on_plan: Callable[[int, int], None] | None = None,
              on_result: Callable[[dict[str, Any]], None] | None = None) -> BatchSummary:
    """Run ``config`` on every bracket (or photo) under ``src``, writing under ``dst``.

    Items whose manifest row is still valid (:func:`~expokit.batch.manifest.why_redo`) are
    skipped unless ``redo``; the rest run on Dask (see :func:`open_runner`). Outputs mirror
    ``src``'s folders; ``dst/manifest.json`` gets one row per item, kept across runs.

    Args:
        src: the folder tree of photos.
        dst: the output folder (created; may not be ``src``).
        config: the operation and its parameters.
        workers, scheduler, client: where to run (:func:`open_runner`).
        threads: threads per item (default: the CPU count over the local workers; the
            library's default when run here or on a remote cluster).
        redo: run every item again, done or not.
        dry_run: only say what would run and why (``summary.to_run``); nothing is written.
        on_plan: called with ``(items to run, items up to date)`` before running.
        on_result: called with each finished item's row.

    Returns:
        The run's :class:`BatchSummary`; failed items are in it, never raised.

    Raises:
        InputError: for a bad folder, operation, method or option (before any work), or a
            DST that another run is using.
    """
    source, target = Path(src).resolve(), Path(dst).resolve()
    config.check()
    if client is None:
        _check_runner(workers, scheduler)
    if not source.is_dir():
        raise InputError(f"{src} is not a folder: give the folder that holds the photos")
    if target == source:
        raise InputError("the output folder is the input folder: choose another -o, "
                         "inputs are never overwritten")
    if source in target.parents:
        log.info("%s lies inside %s: it is not searched for photos", target, source)
    items, skipped = plan_items(source, config.op, config.method_name, fmt=config.fmt,
                                exclude=target, max_gap=config.max_gap,
                                bracket_size=config.bracket_size)
    summary = BatchSummary(skipped=skipped)
    params = config.params()
    if dry_run:  # read only: no folder made, no lock taken, nothing written
        manifest, rows = mf.load_state(target)
        _check_source(manifest, source, dst)
        _sort_out(items, rows, params, source, target, redo, summary)
        return summary
    target.mkdir(parents=True, exist_ok=True)
    with mf.lock(target):
        manifest, rows = mf.load_state(target)
        _check_source(manifest, source, dst)
        manifest["src"] = str(source)
        manifest["skipped"] = [{"path": p, "reason": r} for p, r in skipped]
        todo = _sort_out(items, rows, params, source, target, redo, summary)
        _clean_temporaries(target, todo)
        if on_plan is not None:
            on_plan(len(todo), summary.up_to_date)
        tasks = [{**asdict(it), "src": str(source), "dst": str(target), "params": params,
                  "known": (rows.get(it.key) or {}).get("inputs") or []} for it in todo]
        last_save = time.monotonic()
        try:
            if tasks:
                with open_runner(workers, scheduler, client) as (run, summary.runner, per):
                    for t in tasks:
                        t["threads"] = threads if threads is not None else per
                    for row in run(tasks):
                        rows[row["key"]] = row
                        summary.rows.append(row)
                        if row["status"] == "ok":
                            summary.done += 1
                        else:
                            summary.failed.append((row["key"], row["error"]))
                        if on_result is not None:
                            on_result(row)
                        if time.monotonic() - last_save > SAVE_EVERY:
                            mf.save(target, manifest, rows)
                            last_save = time.monotonic()
        finally:
            mf.save(target, manifest, rows, drop_records=True)
    return summary


def _check_source(manifest: dict[str, Any], source: Path, dst: str | os.PathLike[str]) -> None:
    if manifest["src"] not in (None, str(source)):
        raise InputError(f"{dst} holds the results of {manifest['src']}, not {source}: "
                         "choose another -o folder")


def _sort_out(items: list[Item], rows: dict[str, dict[str, Any]], params: dict[str, Any],
              source: Path, target: Path, redo: bool, summary: BatchSummary) -> list[Item]:
    """The items to run (with why in ``summary.to_run``); the others count as up to date."""
    todo = []
    for item in items:
        why = "redo asked" if redo else mf.why_redo(rows.get(item.key), item.inputs, params,
                                                     source, target)
        if why is None:
            summary.up_to_date += 1
            summary.rows.append(rows[item.key])
        else:
            todo.append(item)
            summary.to_run.append((item.key, why))
    return todo


def _clean_temporaries(dst: Path, todo: list[Item]) -> None:
    """Remove the half-written temporary files (``.NAME.*.tmp``, see
    :func:`expokit.io.atomic_path`) that a killed run left beside the outputs it will redo."""
    by_folder: dict[Path, set[str]] = {}
    for it in todo:
        out = dst / it.key
        by_folder.setdefault(out.parent, set()).add(out.name)
    for folder, names in by_folder.items():
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            if p.name.startswith(".") and p.name.endswith(".tmp") and \
                    p.name[1:].rsplit(".", 2)[0] in names:
                with contextlib.suppress(OSError):
                    p.unlink()
