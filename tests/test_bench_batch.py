"""benchmarks/bench_batch.py: its synthetic tree, its checks and a tiny serial run (no Dask)."""

from __future__ import annotations

import argparse
import csv
import importlib.util
from pathlib import Path

import pytest

from expokit.batch import plan_items

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_batch.py"
_spec = importlib.util.spec_from_file_location("bench_batch", _PATH)
assert _spec is not None and _spec.loader is not None
bb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bb)


def test_tree_is_grouped_as_written(tmp_path):
    written = bb.write_tree(tmp_path, 7, (48, 32))
    items, skipped = plan_items(tmp_path, "fuse", "mertens")
    assert skipped == []
    found = sorted(tuple(it.inputs) for it in items)
    assert found == sorted(tuple(p.relative_to(tmp_path).as_posix() for p in files)
                           for files in written)
    # 7 brackets over the 5 folders: the first two folders hold two each
    assert {str(Path(files[0]).parent.relative_to(tmp_path)) for files in written} == {
        ".", "trip/day1", "trip/day2", "studio", "family/2025/summer"}


def test_serial_runs_write_their_row(tmp_path, capsys):
    out = tmp_path / "rows.csv"
    bb.main(["--brackets", "4", "--size", "48x32", "--workers", "0", "--repeat", "2",
             "--csv", str(out)])
    printed = capsys.readouterr().out
    assert "all 4 items ok" in printed and "serial, run 2/2" in printed
    with out.open(newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["runner"] == "serial" and row["brackets"] == "4" and row["size"] == "48x32"
    assert row["runs"] == "2"
    both = [float(v) for v in row["seconds_all"].split(";")]
    seconds = float(row["seconds"])
    assert len(both) == 2 and seconds == pytest.approx(min(both), abs=1e-3) and seconds > 0
    # seconds is written to 1 ms: allow for that rounding in the rate computed from it
    assert float(row["brackets_per_s"]) == pytest.approx(4 / seconds,
                                                          rel=1e-3 + 0.0006 / seconds)
    assert float(row["ratio_vs_serial"]) == 1.0 and float(row["startup_s"]) == 0.0


def test_a_failed_bracket_fails_the_benchmark(tmp_path):
    written = bb.write_tree(tmp_path / "src", 4, (48, 32))
    data = written[2][-1].read_bytes()
    written[2][-1].write_bytes(data[: len(data) // 2])  # header kept, pixels cut off
    with pytest.raises(RuntimeError, match="1 of 4 item"):
        bb.benchmark(tmp_path / "src", tmp_path / "out", 4, [0], "mertens")


def test_a_file_left_out_fails_the_benchmark(tmp_path):
    written = bb.write_tree(tmp_path / "src", 4, (48, 32))
    written[1][0].write_bytes(b"not a JPEG")  # unreadable: its bracket keeps two shots
    with pytest.raises(RuntimeError, match="1 file.* in no bracket: trip/day1/IMG_0001_0"):
        bb.benchmark(tmp_path / "src", tmp_path / "out", 4, [0], "mertens")


def test_differing_outputs_are_named():
    ref = {"a.png": "11", "b.png": "22", "c.png": "33"}
    bb.check_same("x", dict(ref), ref, "serial")
    with pytest.raises(RuntimeError, match=r"missing: c.png \(1\); different bytes: b.png"):
        bb.check_same("2 workers", {"a.png": "11", "b.png": "99"}, ref, "serial")


@pytest.mark.parametrize("text", ["0,x", "-1", "1,1", ""])
def test_bad_workers_option(text):
    with pytest.raises(argparse.ArgumentTypeError, match="--workers"):
        bb.parse_workers(text)


def test_cpu_of_other_processes_by_hand():
    # the machine was busy 30 CPU-s in 10 s, of which this run used 15: others 1.5 cores
    line = bb.others_line((100.0, 10.0), (130.0, 25.0), 10.0)
    assert "1.50 core(s) on average over 10 s" in line and "this run used 1.50" in line
    assert "unknown" in bb.others_line(None, (1.0, 1.0), 10.0)


def test_without_dask_only_serial_runs(tmp_path, capsys, monkeypatch):
    import expokit.batch

    monkeypatch.setattr(expokit.batch, "dask_available", lambda: False)
    out = tmp_path / "rows.csv"
    bb.main(["--brackets", "2", "--size", "48x32", "--workers", "0,2", "--repeat", "1",
             "--csv", str(out)])
    assert "Dask distributed is not installed" in capsys.readouterr().out
    with out.open(newline="") as fh:
        assert [r["runner"] for r in csv.DictReader(fh)] == ["serial"]
