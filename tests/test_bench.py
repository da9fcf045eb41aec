"""The evaluation harness: layouts, resumable scoring, tables and MOS correlation."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import need
from expokit import InputError
from expokit.bench import evaluate, load_dataset, markdown_table, mos_correlations, summarize
from expokit.bench.datasets import EvalItem
from expokit.bench.evaluate import Row, read_rows
from expokit.synthetic import render_scene, simulate_bracket


@pytest.fixture()
def folders(tmp_path) -> Path:
    """Generic layout: two brackets, each with a 'fused/' folder of two methods."""
    for b in range(2):
        folder = tmp_path / f"scene{b}"
        (folder / "fused").mkdir(parents=True)
        frames = simulate_bracket(render_scene(48, 64, seed=b), (1 / 32, 1 / 4, 2.0))
        for i, f in enumerate(frames):
            cv2.imwrite(str(folder / f"exp{i}.png"), f[..., ::-1])
        cv2.imwrite(str(folder / "fused" / "middle.png"), frames[1][..., ::-1])
        cv2.imwrite(str(folder / "fused" / "dark.png"), frames[0][..., ::-1])
    return tmp_path


def test_generic_layout(folders):
    kind, items = load_dataset(folders)
    assert kind == "folders"
    assert [it.name for it in items] == ["scene0", "scene1"]
    assert all(len(it.sources) == 3 and set(it.fused) == {"middle", "dark"} for it in items)


def test_evaluate_scores_and_resumes(folders, tmp_path, monkeypatch):
    _, items = load_dataset(folders)
    csv_path = tmp_path / "out" / "results.csv"
    rows = evaluate(items, ["mef_ssim", "mef_ms_ssim"], csv_path)
    assert len(rows) == 2 * 2 * 2
    assert read_rows(csv_path) == rows
    # The middle exposure is a better fusion result than the darkest one.
    s = summarize(rows)
    assert s["middle"]["mef_ssim"] > s["dark"]["mef_ssim"]
    # A rerun computes nothing: every row is already in the CSV.
    import expokit.metrics as metrics

    def fail(*args, **kwargs):
        raise AssertionError("recomputed a finished row")

    monkeypatch.setattr(metrics, "score", fail)
    assert evaluate(items, ["mef_ssim", "mef_ms_ssim"], csv_path) == rows


def test_reference_metrics_are_refused(folders, tmp_path):
    _, items = load_dataset(folders)
    with pytest.raises(InputError, match="reference"):
        evaluate(items, ["psnr"], tmp_path / "r.csv")
    with pytest.raises(InputError, match="unknown metric"):
        evaluate(items, ["mef_sim"], tmp_path / "r.csv")


def test_markdown_table_bolds_the_best_in_each_direction():
    summary = {"a": {"mef_ssim": 0.9, "mse": 4.0}, "b": {"mef_ssim": 0.8, "mse": 2.0}}
    table = markdown_table(summary, ["mef_ssim", "mse"])
    assert "| a | **0.9000** | 4.0000 |" in table
    assert "| b | 0.8000 | **2.0000** |" in table


def test_mos_correlation_by_hand():
    items = [EvalItem("x", (), {}, {"m1": 1.0, "m2": 2.0, "m3": 3.0})]
    rows = [Row("x", m, "q", v) for m, v in (("m1", 10.0), ("m2", 30.0), ("m3", 20.0))]
    corr = mos_correlations(rows, items)["q"]
    assert corr["spearman"] == pytest.approx(0.5)
    assert corr["pearson"] == pytest.approx(0.5)
    assert corr["n"] == 3


def test_ma2015_layout(shared_data):
    from scipy import io as sio

    root = need(shared_data, "ma2015")
    kind, items = load_dataset(root)
    assert kind == "ma2015" and len(items) == 17
    assert sum(len(it.fused) for it in items) == 136
    assert all(len(it.sources) >= 3 and all(p.is_file() for p in it.fused.values())
               for it in items)
    mos = sio.loadmat(str(root / "MOS.mat"))["MOS"]
    assert items[0].mos["Gu12"] == pytest.approx(float(mos[0, 0]))
    assert items[16].mos["lsaverage"] == pytest.approx(float(mos[16, 7]))


def test_mefb_layout(shared_data):
    root = need(shared_data, "mefb")
    kind, items = load_dataset(root)
    assert kind == "mefb" and len(items) == 16
    assert {len(it.fused) for it in items} == {21}
    assert all(len(it.sources) >= 2 for it in items)


def test_cli_eval_writes_everything(folders, tmp_path):
    out = tmp_path / "results"
    proc = subprocess.run([sys.executable, "-m", "expokit", "eval", str(folders), "-o", str(out),
                           "-m", "mef_ssim", "--fuse", "mertens"], capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    for name in ("results.csv", "results.json", "table.md", "bars.png"):
        assert (out / name).is_file(), name
    assert "expokit-mertens" in (out / "table.md").read_text()
    values = [r.value for r in read_rows(out / "results.csv")]
    assert len(values) == 2 * 3 and all(0 < v <= 1 and not math.isnan(v) for v in values)
    assert np.isfinite(values).all()
