"""Batch throughput: brackets per second of ``expokit batch``, serial and on 1 and 2 Dask workers.

    python benchmarks/bench_batch.py [--brackets 40] [--size 1024x768] [--workers 0,1,2]
                                     [--method mertens] [--repeat 3] [--csv PATH]

Writes ``--brackets`` synthetic 3-shot JPEG brackets (expokit.simulate, one scene each, EXIF
exposure and capture times) into a temporary tree of five folders (not timed), then, for each
runner of ``--workers`` (0: serial, in this process; N: a Dask ``LocalCluster`` of N worker
processes, as ``expokit batch --workers N``), runs :func:`expokit.batch.run_batch` with
``--op fuse`` into a fresh output folder, ``--repeat`` times with the runners interleaved (so a
change in the machine's load hits all of them), and prints a table of the best runs: seconds,
brackets per second and the ratio to the serial run, beside the median time of one item.

Two timings per Dask runner:

* **wall**: ``run_batch(..., workers=N)`` from call to return, as a user waits for it: planning,
  cluster start-up, the items, the manifest and the cluster's shutdown.
* **work**: a second run into another fresh folder on a cluster started beforehand by the same
  code (``expokit.batch.run.open_runner``, so the same settings and threads per item); the
  start-up (cluster and client) and the shutdown are timed apart. Worker processes import
  expokit on their first item in both runs, so that is in the work time. Serial has no
  start-up: its work time is its wall time (the same run).

Each run must finish every item ``ok`` with outputs byte-identical (SHA-256 in the manifest) to
the first run's (serial when it runs), and no file may be left out of the brackets; otherwise
the script fails with exit code 1. Timings on a shared machine are noisy: every run's time, the
load average and the CPU that other processes used meanwhile (/proc/stat minus this process
tree) are printed; run it on an idle machine for numbers to quote.
Without Dask distributed (the ``batch`` extra) only the serial run happens.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

#: Shutter times of every bracket (3 stops apart), seconds.
TIMES = (Fraction(1, 64), Fraction(1, 8), Fraction(1, 1))
#: Folders of the synthetic tree (relative to its root); bracket i goes to FOLDERS[i % 5].
FOLDERS = ("", "trip/day1", "trip/day2", "studio", "family/2025/summer")
#: CSV / result columns.
COLUMNS = ("runner", "workers", "threads_per_item", "brackets", "runs", "seconds", "seconds_all",
           "brackets_per_s", "ratio_vs_serial", "item_median_s", "startup_s", "work_s",
           "work_brackets_per_s", "work_ratio_vs_serial", "shutdown_s", "cpu_count", "size",
           "method", "dask")


def parse_size(text: str) -> tuple[int, int]:
    """``"1024x768"`` -> ``(1024, 768)`` (width, height)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--size {text!r}: expected WIDTHxHEIGHT such as "
                                         "1024x768") from None
    if w < 16 or h < 16:
        raise argparse.ArgumentTypeError(f"--size {text!r}: use at least 16x16")
    return w, h


def parse_workers(text: str) -> list[int]:
    """``"0,1,2"`` -> ``[0, 1, 2]``: 0 is serial, N a LocalCluster of N workers."""
    try:
        out = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--workers {text!r}: expected numbers such as "
                                         "0,1,2") from None
    if not out or min(out) < 0 or len(set(out)) != len(out):
        raise argparse.ArgumentTypeError(f"--workers {text!r}: give distinct numbers >= 0 "
                                         "(0: serial)")
    return out


# --- the synthetic tree (not timed) -------------------------------------------------------
def _save_jpeg(path: Path, img: np.ndarray, exposure: Fraction, when: datetime) -> None:
    from PIL import Image
    from PIL.TiffImagePlugin import IFDRational

    exif = Image.Exif()
    ifd = exif.get_ifd(0x8769)  # Exif IFD
    ifd[33434] = IFDRational(exposure.numerator, exposure.denominator)  # ExposureTime
    ifd[36867] = when.strftime("%Y:%m:%d %H:%M:%S")  # DateTimeOriginal
    Image.fromarray(img).save(path, quality=95, exif=exif.tobytes())


def write_tree(root: Path, brackets: int, size: tuple[int, int]) -> list[list[Path]]:
    """Write ``brackets`` 3-shot JPEG brackets of distinct scenes under ``root``.

    Bracket ``i`` is ``FOLDERS[i % 5]/IMG_<i>_<shot>.jpg``: scene seed ``i`` at one of five
    brightness levels, shots 1 s apart, brackets 60 s apart, so ``expokit info`` groups each
    folder's files into its brackets.

    Returns:
        The files of each bracket, in shot order.
    """
    from expokit.simulate import photograph, render_scene

    w, h = size
    t0 = datetime(2026, 5, 1, 9, 0, 0)
    out = []
    for i in range(brackets):
        folder = root / FOLDERS[i % len(FOLDERS)]
        folder.mkdir(parents=True, exist_ok=True)
        scene = render_scene(h, w, seed=i) * np.float32(2.0 ** ((i % 5 - 2) / 2))
        shots = photograph(scene, [float(t) for t in TIMES])
        files = []
        for k, (img, t) in enumerate(zip(shots, TIMES, strict=True)):
            files.append(folder / f"IMG_{i:04d}_{k}.jpg")
            _save_jpeg(files[-1], img, t, t0 + timedelta(seconds=60 * i + k))
        out.append(files)
    return out


# --- the runs -----------------------------------------------------------------------------
def outputs(dst: Path, expected: int) -> dict[str, str]:
    """``{item key: output SHA-256}`` from ``dst``'s manifest; every item must be ok.

    Raises:
        RuntimeError: if a file was left out of the brackets, the manifest does not hold
            ``expected`` 3-shot items, or one is not ok.
    """
    from expokit.batch import read_manifest

    manifest = read_manifest(dst)
    if manifest.get("skipped"):
        left = [f"{s['path']} ({s['reason']})" for s in manifest["skipped"]]
        raise RuntimeError(f"{dst}: {len(left)} file(s) in no bracket: " + "; ".join(left[:5]))
    items = manifest["items"]
    bad = [f"{it['key']}: {it['status']} ({it.get('error')})" for it in items
           if it.get("status") != "ok" or not it.get("output_sha256")]
    if bad:
        raise RuntimeError(f"{len(bad)} of {len(items)} item(s) in {dst} failed: "
                           + "; ".join(bad[:5]))
    if len(items) != expected or any(len(it["inputs"]) != len(TIMES) for it in items):
        raise RuntimeError(f"{dst}: the manifest has {len(items)} items, expected {expected} of "
                           f"{len(TIMES)} shots (the brackets were not grouped as written)")
    return {it["key"]: it["output_sha256"] for it in items}


def check_same(label: str, got: dict[str, str], reference: dict[str, str], ref_label: str
               ) -> None:
    """Fail unless ``got`` has the same items with the same output hashes as ``reference``.

    Raises:
        RuntimeError: naming the items that differ or are missing.
    """
    if got == reference:
        return
    missing = sorted(set(reference) - set(got))
    extra = sorted(set(got) - set(reference))
    differ = sorted(k for k in set(got) & set(reference) if got[k] != reference[k])
    parts = [f"{name}: {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''} ({len(keys)})"
             for name, keys in (("missing", missing), ("extra", extra),
                                ("different bytes", differ)) if keys]
    raise RuntimeError(f"{label}'s outputs are not those of {ref_label}: " + "; ".join(parts))


def _timed_run(src: Path, dst: Path, config: Any, **where: Any) -> tuple[float, Any]:
    from expokit.batch import run_batch

    t0 = time.perf_counter()
    summary = run_batch(src, dst, config, **where)
    return time.perf_counter() - t0, summary


def run_serial(src: Path, out: Path, config: Any) -> dict[str, Any]:
    """One serial run (``workers=0``) into ``out``: its wall time is also its work time."""
    from expokit._checks import resolve_threads

    threads = resolve_threads(None)  # what run_task leaves the methods when run here
    seconds, summary = _timed_run(src, out, config, workers=0)
    return {"threads_per_item": threads, "seconds": seconds, "startup_s": 0.0,
            "work_s": seconds, "shutdown_s": 0.0, "dst": [out], "summary": summary}


def run_dask(src: Path, out: Path, config: Any, n: int) -> dict[str, Any]:
    """Wall time of ``workers=n`` into ``out/wall``, then start-up, work and shutdown times of
    a run into ``out/started`` on a cluster that the same code starts beforehand."""
    from distributed import default_client

    from expokit.batch.run import open_runner

    seconds, summary = _timed_run(src, out / "wall", config, workers=n)
    t0 = time.perf_counter()
    with open_runner(n, None) as (_run, _description, threads):
        startup = time.perf_counter() - t0
        work, _ = _timed_run(src, out / "started", config, client=default_client(),
                             threads=threads)
        t1 = time.perf_counter()
    shutdown = time.perf_counter() - t1
    return {"threads_per_item": threads, "seconds": seconds, "startup_s": startup,
            "work_s": work, "shutdown_s": shutdown, "dst": [out / "wall", out / "started"],
            "summary": summary}


def runner_name(n: int) -> str:
    return "serial" if n == 0 else f"{n} worker{'s' if n > 1 else ''}"


def dask_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    from expokit.batch import dask_available

    if not dask_available():
        return None
    try:
        return f"dask {version('dask')}, distributed {version('distributed')}"
    except PackageNotFoundError:
        import distributed

        return f"distributed {distributed.__version__}"


def worker_environ() -> str:
    """The environment Dask's nanny sets before it spawns each worker process (its
    ``distributed.nanny.pre-spawn-environ`` config): a malloc trim threshold there changes
    the per-item time."""
    import dask
    import distributed  # noqa: F401 - loads the distributed config

    env = dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {}
    return ", ".join(f"{k}={v}" for k, v in env.items() if v is not None) or "nothing"


def benchmark(src: Path, out: Path, brackets: int, workers: list[int], method: str, *,
              repeat: int = 1) -> list[dict[str, Any]]:
    """Run each runner ``repeat`` times (runners interleaved, each run into a fresh folder
    under ``out``, removed once checked); return one result row per runner: the best wall
    and work times, the median start-up and shutdown.

    Raises:
        RuntimeError: a run with a failed item, or outputs that differ from the first run's.
    """
    from expokit.batch import BatchConfig

    config = BatchConfig(op="fuse", method=method)
    runs: dict[int, list[dict[str, Any]]] = {n: [] for n in workers}
    reference: tuple[str, dict[str, str]] | None = None
    for r in range(repeat):
        for n in workers:
            dst = out / f"{runner_name(n).replace(' ', '-')}-{r + 1}"
            res = run_serial(src, dst, config) if n == 0 else run_dask(src, dst, config, n)
            line = f"{runner_name(n)}, run {r + 1}/{repeat}: wall {res['seconds']:.2f} s"
            if n:
                line += (f"; start {res['startup_s']:.2f} + work {res['work_s']:.2f} + stop "
                         f"{res['shutdown_s']:.2f} s")
            print(line, flush=True)
            for folder in res["dst"]:
                label = f"{runner_name(n)} run {r + 1} ({folder.name})"
                got = outputs(folder, brackets)
                if reference is None:
                    reference = (label, got)
                else:
                    check_same(label, got, reference[1], reference[0])
                shutil.rmtree(folder, ignore_errors=True)
            runs[n].append(res)
    results = []
    for n in workers:
        rs = runs[n]
        results.append({
            "runner": runner_name(n), "workers": n, "brackets": brackets, "runs": len(rs),
            "threads_per_item": rs[0]["threads_per_item"],
            "seconds": min(x["seconds"] for x in rs),
            "seconds_all": ";".join(f"{x['seconds']:.3f}" for x in rs),
            "work_s": min(x["work_s"] for x in rs),
            "startup_s": statistics.median(x["startup_s"] for x in rs),
            "shutdown_s": statistics.median(x["shutdown_s"] for x in rs),
            "item_median_s": statistics.median(row["seconds"] for x in rs
                                               for row in x["summary"].rows
                                               if row["seconds"] is not None)})
    serial = next((r for r in results if r["workers"] == 0), None)
    for r in results:
        r["brackets_per_s"] = brackets / r["seconds"]
        r["work_brackets_per_s"] = brackets / r["work_s"]
        r["ratio_vs_serial"] = None if serial is None else serial["seconds"] / r["seconds"]
        r["work_ratio_vs_serial"] = None if serial is None else serial["work_s"] / r["work_s"]
    return results


# --- report -------------------------------------------------------------------------------
def _num(v: Any, fmt: str) -> str:
    return "n/a" if v is None else format(v, fmt)


def table(results: list[dict[str, Any]]) -> str:
    """The printed table: wall (start-up included) and work (start-up excluded) columns."""
    head = (f"{'runner':<10} {'thr/item':>8} {'item s':>6} | {'wall s':>7} {'brk/s':>6} "
            f"{'x serial':>8} | "
            f"{'start s':>7} {'work s':>7} {'brk/s':>6} {'x serial':>8} | {'stop s':>6}")
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r['runner']:<10} {r['threads_per_item']!s:>8} {r['item_median_s']:6.3f} | "
            f"{r['seconds']:7.2f} "
            f"{r['brackets_per_s']:6.2f} {_num(r['ratio_vs_serial'], '8.2f'):>8} | "
            f"{r['startup_s']:7.2f} {r['work_s']:7.2f} {r['work_brackets_per_s']:6.2f} "
            f"{_num(r['work_ratio_vs_serial'], '8.2f'):>8} | {r['shutdown_s']:6.2f}")
    return "\n".join(lines)


def write_csv(path: Path, results: list[dict[str, Any]], extra: dict[str, Any]) -> None:
    """The result rows as CSV (:data:`COLUMNS`), written atomically."""
    from expokit.io import atomic_path

    with atomic_path(path) as tmp, tmp.open("w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        wr.writeheader()
        for r in results:
            row = {**r, **extra}
            wr.writerow({k: (f"{v:.4f}" if isinstance(v, float) else ("" if v is None else v))
                         for k, v in row.items() if k in COLUMNS})


def _cpu_seconds() -> tuple[float, float] | None:
    """``(busy CPU seconds of the whole machine, CPU seconds of this process and its reaped
    children)``, or None where /proc/stat is missing."""
    import resource

    try:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    ticks = os.sysconf("SC_CLK_TCK")
    mine = sum(getattr(resource.getrusage(who), f) for who in (
        resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) for f in ("ru_utime", "ru_stime"))
    return (sum(fields[:8]) - idle) / ticks, mine


def others_line(before: tuple[float, float] | None, after: tuple[float, float] | None,
                seconds: float) -> str:
    """How busy the machine was with other processes while the runs were timed."""
    if before is None or after is None or seconds <= 0:
        return "CPU use of other processes: unknown (no /proc/stat)"
    others = max(0.0, (after[0] - before[0]) - (after[1] - before[1]))
    return (f"CPU use of other processes during the runs: {others / seconds:.2f} core(s) on "
            f"average over {seconds:.0f} s (0 = the machine was ours; this run used "
            f"{(after[1] - before[1]) / seconds:.2f})")


def _load() -> str:
    try:
        return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        return "load average unknown"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--brackets", type=int, default=40, help="brackets to write (default 40)")
    ap.add_argument("--size", type=parse_size, default=(1024, 768),
                    help="WIDTHxHEIGHT of each shot (default 1024x768: ~0.35 s per bracket "
                         "with Mertens on one core, most of it writing the PNG)")
    ap.add_argument("--workers", type=parse_workers, default=[0, 1, 2],
                    help="comma-separated runners: 0 serial, N a LocalCluster of N workers "
                         "(default 0,1,2)")
    ap.add_argument("--method", default="mertens", help="fusion method (default mertens)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs per runner, interleaved; the best is reported (default 3)")
    ap.add_argument("--csv", type=Path, default=None, help="also write the rows to this CSV")
    args = ap.parse_args(argv)
    if args.brackets < 1 or args.repeat < 1:
        ap.error("--brackets and --repeat must be at least 1")

    cpus = os.cpu_count() or 1
    dask = dask_version()
    workers = args.workers
    if dask is None:
        print("Dask distributed is not installed (pip install 'expokit[batch]'): serial only")
        workers = [0]
    w, h = args.size
    print(f"{args.brackets} brackets of 3 x {w}x{h} 8-bit JPEG, --op fuse --method "
          f"{args.method}; best of {args.repeat}; cpu_count {cpus}; {dask or 'no Dask'}; "
          f"{_load()}", flush=True)
    if dask is not None and any(workers):
        print(f"Dask worker processes start with {worker_environ()}")
    with tempfile.TemporaryDirectory(prefix="expokit-bench-batch-") as tmp:
        src, out = Path(tmp) / "photos", Path(tmp) / "out"
        t0 = time.perf_counter()
        write_tree(src, args.brackets, args.size)
        print(f"wrote the tree in {time.perf_counter() - t0:.1f} s (not timed): "
              f"{len(FOLDERS)} folders", flush=True)
        cpu0, t0 = _cpu_seconds(), time.perf_counter()
        try:
            results = benchmark(src, out, args.brackets, workers, args.method,
                                repeat=args.repeat)
        except RuntimeError as exc:
            sys.exit(f"FAILED: {exc}")
        busy = others_line(cpu0, _cpu_seconds(), time.perf_counter() - t0)
    print(f"all {args.brackets} items ok in every run; outputs byte-identical (SHA-256) to "
          f"the {results[0]['runner']} run's")
    print(table(results))
    print("item s: median seconds of one item in its process (the manifests' seconds, wall "
          "runs); wall: best run_batch call to return (cluster start and stop included); "
          "work: best run on a cluster started beforehand (start s, stop s: medians, timed "
          f"apart); x serial: serial seconds / these seconds. {_load()}")
    print(busy)
    if args.csv is not None:
        write_csv(args.csv, results, {"cpu_count": cpus, "size": f"{w}x{h}",
                                      "method": args.method, "dask": dask or ""})
        print(f"wrote {args.csv}")


if __name__ == "__main__":  # needed: Dask spawns its workers, which import this file again
    main()
