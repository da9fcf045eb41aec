"""Shared benchmark plumbing: one synthetic bracket on disk, each contender in a fresh process.

Each measurement runs in its own Python process so that peak memory (VmHWM, minus the
resident size once the inputs are loaded) belongs to that contender alone, and both contenders
get the same thread count. Timings are the best of ``repeat`` runs (wall clock); the median
and every run's time come back too. A bench file may define ``setup_<name>(inputs)`` (not
timed; its result is what ``run_<name>`` gets) and ``warmup_<name>(state)`` (one untimed call
before the memory baseline, e.g. a model's first-call set-up).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

# Runs inside the child: load inputs, note RSS, run the contender `repeat` times.
_CHILD = r"""
import gc, json, os, statistics, sys, time, importlib.util
threads = int(os.environ["BENCH_THREADS"])
import cv2
cv2.setNumThreads(threads)
import numpy as np
spec = importlib.util.spec_from_file_location("bench_mod", os.environ["BENCH_FILE"])
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
setup = getattr(mod, "setup_" + os.environ["BENCH_NAME"], None)
fn = getattr(mod, "run_" + os.environ["BENCH_NAME"])
inputs = np.load(os.environ["BENCH_INPUT"], allow_pickle=False)
inputs = {k: inputs[k] for k in inputs.files}
state = setup(inputs) if setup else inputs
warmup = getattr(mod, "warmup_" + os.environ["BENCH_NAME"], None)
if warmup:
    warmup(state)
gc.collect()
def rss_kb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
base = rss_kb()
times = []
for _ in range(int(os.environ["BENCH_REPEAT"])):
    t0 = time.perf_counter(); out = fn(state); times.append(time.perf_counter() - t0)
    del out; gc.collect()
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork+exec, so a child started by a
# parent holding gigabytes would report the parent's size.
with open("/proc/self/status") as f:
    peak = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
print(json.dumps({"seconds": min(times), "median": statistics.median(times), "times": times,
                  "peak_mb": (peak - base) / 1024.0}))
"""


def data_root() -> Path:
    """The one configurable path to real data: $EXPOKIT_DATA or ../shared/data."""
    return Path(os.environ.get("EXPOKIT_DATA", REPO.parent / "shared" / "data"))


def save_inputs(arrays: dict[str, np.ndarray]) -> Path:
    """Write the inputs once to an .npz in a temporary folder, for the children to load."""
    path = Path(tempfile.mkdtemp(prefix="expokit-bench-")) / "inputs.npz"
    np.savez(path, **arrays)
    return path


def measure(bench_file: str, name: str, inputs: Path, *, threads: int, repeat: int = 3) -> dict:
    """Run ``run_<name>(inputs)`` from ``bench_file`` in a fresh process.

    Returns:
        ``{"seconds": best wall time, "median": median wall time, "times": every run's,
        "peak_mb": peak RSS above the loaded inputs}``.
    """
    env = dict(os.environ, BENCH_THREADS=str(threads), BENCH_FILE=str(bench_file),
               BENCH_NAME=name, BENCH_INPUT=str(inputs), BENCH_REPEAT=str(repeat),
               OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               EXPOKIT_THREADS=str(threads))
    proc = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark {name} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def ratio_line(label: str, ours: dict, peer: dict, peer_name: str) -> str:
    """One printed line: both timings, speed-up and memory ratio."""
    return (f"{label:<28} expokit {ours['seconds']:7.3f} s {ours['peak_mb']:8.0f} MB | "
            f"{peer_name} {peer['seconds']:7.3f} s {peer['peak_mb']:8.0f} MB | "
            f"speed-up x{peer['seconds'] / ours['seconds']:.2f}, "
            f"memory {ours['peak_mb'] / max(peer['peak_mb'], 1e-9):.2f} of {peer_name}")
