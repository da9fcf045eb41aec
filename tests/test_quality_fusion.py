"""The pure helpers of benchmarks/quality_fusion.py, against hand-made scores (no data)."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "quality_fusion.py"
_spec = importlib.util.spec_from_file_location("quality_fusion", _PATH)
assert _spec is not None and _spec.loader is not None
qf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(qf)


def test_row_names_of_our_methods():
    assert qf.our_methods(["deepfuse", "deepfuse_3k"], "lut") == [
        "expokit-mertens", "expokit-lut", "expokit-deepfuse", "expokit-deepfuse[deepfuse_3k]"]
    assert qf.our_methods(["runs/x/my.safetensors"], "/tmp/t.safetensors") == [
        "expokit-mertens", "expokit-lut[t.safetensors]", "expokit-deepfuse[my.safetensors]"]


def _results() -> dict:
    # two sequences; the learned method wins one (a tie counts as a win: >=) and loses one
    rows = {"s1": {"expokit-mertens": 0.90, "expokit-lut": 0.90},
            "s2": {"expokit-mertens": 0.96, "expokit-lut": 0.92}}
    return {s: {"n": 3, "seconds": {}, "scores": {"pair": {m: {"mef_ssim": v}
                                                           for m, v in r.items()}}}
            for s, r in rows.items()}


def test_verdict_means_gap_and_wins():
    line = qf.verdict(_results(), ["s1", "s2"], "pair", "expokit-lut")
    # means 0.91 vs 0.93: gap -0.02, 1 of 2 at or above
    assert "0.9100 vs expokit Mertens 0.9300" in line
    assert "gap -0.0200" in line and "on 1 of 2 sequences" in line and line.endswith("NO")


def test_csv_round_trip(tmp_path):
    path = tmp_path / "scores.csv"
    with path.open("w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["protocol", "sequence", "method", "exposures", "mef_ssim", "EN"])
        wr.writerow(["all", "s1", "expokit-lut", 9, "0.950000", "7.100000"])
        wr.writerow(["pair", "s1", "expokit-lut", 9, "0.970000", "6.900000"])
    results, names = qf._read_csv(path)
    assert names == ["mef_ssim", "EN"]
    assert results["s1"]["n"] == 9
    assert results["s1"]["scores"]["pair"]["expokit-lut"] == {"mef_ssim": 0.97, "EN": 6.9}
    assert results["s1"]["scores"]["all"]["expokit-lut"]["mef_ssim"] == 0.95
