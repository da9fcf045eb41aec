"""The evaluation harness: layouts, resumable scoring, tables and MOS correlation."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import need, run_cli

from expokit import InputError
from expokit.bench import (
    compare,
    evaluate,
    load_dataset,
    markdown_table,
    mos_correlations,
    summarize,
)
from expokit.bench.datasets import EvalItem
from expokit.bench.evaluate import Row, plot_means, read_rows
from expokit.io import read_image
from expokit.metrics import mef_ssim
from expokit.metrics.features import qabf
from expokit.simulate import photograph, render_scene


@pytest.fixture()
def folders(tmp_path) -> Path:
    """Generic layout: two brackets, each with a 'fused/' folder of two methods."""
    for b in range(2):
        folder = tmp_path / f"scene{b}"
        (folder / "fused").mkdir(parents=True)
        frames = photograph(render_scene(48, 64, seed=b), (1 / 32, 1 / 4, 2.0))
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
    proc = run_cli("eval", folders, "-o", out, "-m", "mef_ssim", "--fuse", "mertens")
    assert proc.returncode == 0, proc.stderr
    for name in ("results.csv", "results.json", "table.md", "bars.png"):
        assert (out / name).is_file(), name
    assert "expokit-mertens" in (out / "table.md").read_text()
    values = [r.value for r in read_rows(out / "results.csv")]
    assert len(values) == 2 * 3 and all(0 < v <= 1 and not math.isnan(v) for v in values)
    assert np.isfinite(values).all()


# --- means compared over the same images; missing and failed images named ---------------------
@pytest.fixture()
def uneven(folders) -> Path:
    """The generic layout with method 'dark' lacking its scene1 result."""
    (folders / "scene1" / "fused" / "dark.png").unlink()
    return folders


def direct_mef_ssim(root: Path, scene: str, method: str) -> float:
    """The plain metric function on one fused image (the independent reference)."""
    sources = [read_image(p) for p in sorted((root / scene).glob("exp*.png"))]
    return mef_ssim(read_image(root / scene / "fused" / f"{method}.png"), sources)


def test_ranking_uses_only_images_every_method_has():
    """A (scored on 2 images) was ranked against B (scored on 1) over different images."""
    rows = [Row("img1", "A", "en", 0.9), Row("img2", "A", "en", 0.5), Row("img1", "B", "en", 0.8)]
    # over img1 alone (the only image both have), A = 0.9 beats B = 0.8; the all-image
    # means (A 0.7, B 0.8) would rank B first
    summary = summarize(rows)
    assert summary == {"A": {"en": pytest.approx(0.9)}, "B": {"en": pytest.approx(0.8)}}
    c = compare(rows, ["en"])["en"]
    assert c.images == ("img1",) and c.total == 2 and c.best == "A"
    assert c.missing == {"A": {}, "B": {"img2": "no score"}}
    assert c.mean_all == {"A": pytest.approx(0.7), "B": pytest.approx(0.8)}
    assert summarize(rows, common=False) == {"A": {"en": pytest.approx(0.7)},
                                             "B": {"en": pytest.approx(0.8)}}
    table = markdown_table(summary, ["en"], comparison={"en": c})
    assert "| A | **0.9000** |" in table and "| B | 0.8000 |" in table
    assert "| images (n) | 1 of 2 |" in table
    assert "B" in table.split("|---|")[1] and "img2" in table


def test_no_common_image_is_said_not_ranked():
    rows = [Row("img1", "A", "en", 0.9), Row("img2", "B", "en", 0.8)]
    c = compare(rows, ["en"])["en"]
    assert c.images == () and c.best is None
    table = markdown_table(summarize(rows), ["en"], comparison={"en": c})
    assert "**" not in table and "not ranked" in table


def test_evaluate_means_over_common_images(uneven, tmp_path):
    _, items = load_dataset(uneven)
    rows = evaluate(items, ["mef_ssim"], tmp_path / "r.csv")
    c = compare(rows, ["mef_ssim"], items=items)["mef_ssim"]
    assert c.images == ("scene0",) and c.total == 2
    assert c.missing == {"dark": {"scene1": "no fused image"}, "middle": {}}
    for method in ("dark", "middle"):
        assert c.mean[method] == pytest.approx(direct_mef_ssim(uneven, "scene0", method),
                                               rel=1e-9)
    both = [direct_mef_ssim(uneven, s, "middle") for s in ("scene0", "scene1")]
    assert c.mean_all["middle"] == pytest.approx(np.mean(both), rel=1e-9)


def test_cli_eval_names_missing_images(uneven, tmp_path):
    import json

    out = tmp_path / "res"
    proc = run_cli("eval", uneven, "-o", out, "-m", "mef_ssim")
    assert proc.returncode == 0, proc.stderr
    warning = [ln for ln in proc.stderr.splitlines() if "dark" in ln and "scene1" in ln]
    assert warning and "warning" in warning[0], proc.stderr
    res = json.loads((out / "results.json").read_text())
    assert res["n"] == {"mef_ssim": 1} and res["images"] == {"mef_ssim": ["scene0"]}
    assert res["missing"]["dark"]["mef_ssim"] == {"scene1": "no fused image"}
    assert res["mean"]["middle"]["mef_ssim"] == pytest.approx(
        direct_mef_ssim(uneven, "scene0", "middle"), rel=1e-9)
    assert res["mean_all_images"]["middle"]["mef_ssim"] == pytest.approx(np.mean(
        [direct_mef_ssim(uneven, s, "middle") for s in ("scene0", "scene1")]), rel=1e-9)
    table = (out / "table.md").read_text()
    assert "1 of 2" in table and "scene1" in table


def test_failed_scores_are_named_and_retried(folders, tmp_path):
    """A fused image of the wrong size fails loudly: reason in the CSV, warning, no mean."""
    good = read_image(folders / "scene1" / "fused" / "dark.png")
    cv2.imwrite(str(folders / "scene1" / "fused" / "dark.png"), good[:40, :56, ::-1])
    out = tmp_path / "res"
    proc = run_cli("eval", folders, "-o", out, "-m", "mef_ssim")
    assert proc.returncode == 0, proc.stderr
    assert any("warning" in ln and "dark" in ln and "scene1" in ln
               for ln in proc.stderr.splitlines()), proc.stderr
    rows = read_rows(out / "results.csv")
    bad = [r for r in rows if r.image == "scene1" and r.method == "dark"]
    assert len(bad) == 1 and math.isnan(bad[0].value) and bad[0].note.startswith("failed:")
    assert "size" in bad[0].note or "x" in bad[0].note
    # fixed input: the rerun recomputes the failed row (finished rows are kept)
    cv2.imwrite(str(folders / "scene1" / "fused" / "dark.png"), good[..., ::-1])
    proc = run_cli("eval", folders, "-o", out, "-m", "mef_ssim")
    assert proc.returncode == 0, proc.stderr
    assert all(math.isfinite(r.value) for r in read_rows(out / "results.csv"))


def test_metric_that_scores_nothing_exits_nonzero(folders, tmp_path):
    for scene in ("scene0", "scene1"):
        for method in ("dark", "middle"):
            p = folders / scene / "fused" / f"{method}.png"
            cv2.imwrite(str(p), cv2.imread(str(p))[:40, :56])
    proc = run_cli("eval", folders, "-o", tmp_path / "res", "-m", "mef_ssim")
    assert proc.returncode == 2, proc.stderr
    assert "mef_ssim" in proc.stderr and "no image" in proc.stderr
    assert (tmp_path / "res" / "results.csv").is_file()  # what was done is kept


# --- two-source metrics on 3-shot brackets -------------------------------------------------
def test_evaluate_two_source_metric_on_three_shots(folders, tmp_path):
    _, items = load_dataset(folders)
    rows = evaluate(items, ["qabf"], tmp_path / "r.csv")
    assert len(rows) == 4
    for r in rows:
        shots = [read_image(folders / r.image / f"exp{i}.png") for i in range(3)]
        fused = read_image(folders / r.image / "fused" / f"{r.method}.png")
        # exp0 (1/32 s) is the darkest shot, exp2 (2 s) the brightest
        assert r.value == pytest.approx(qabf(fused, [shots[0], shots[2]]), rel=1e-9)
        assert "exp0.png" in r.note and "exp2.png" in r.note


def test_cli_eval_two_source_metric_gives_numbers(folders, tmp_path):
    import json

    out = tmp_path / "res"
    proc = run_cli("eval", folders, "-o", out, "-m", "qabf,mef_ssim")
    assert proc.returncode == 0, proc.stderr
    assert all(math.isfinite(r.value) for r in read_rows(out / "results.csv"))
    res = json.loads((out / "results.json").read_text())
    assert res["n"]["qabf"] == 2
    assert res["source_pairs"]["scene0"] == ["exp0.png", "exp2.png"]
    assert "darkest" in (out / "table.md").read_text()


# --- bars.png: one panel per metric, zoomed to the data ---------------------------------------
def test_bar_panels_zoom_to_the_data():
    means = {"A": (0.951, 7.21), "B": (0.962, 7.25), "C": (0.958, 7.30)}
    rows = []
    for k, (q, e) in means.items():
        for i, d in enumerate((-0.002, 0.0, 0.002)):  # per-image spread: SEM 0.00115
            rows += [Row(f"img{i}", k, "mef_ssim", q + d), Row(f"img{i}", k, "en", e + d)]
    metrics = ["mef_ssim", "en"]
    fig = plot_means(compare(rows, metrics), metrics)
    assert len(fig.axes) == 2
    sem = 0.002 * math.sqrt(2 / 3) / math.sqrt(3)
    for ax, j in zip(fig.axes, range(2), strict=True):
        lo = min(v[j] for v in means.values()) - sem
        hi = max(v[j] for v in means.values()) + sem
        y0, y1 = ax.get_ylim()
        assert y0 <= lo and y1 >= hi
        assert y1 - y0 < 5 * (hi - lo), (y0, y1, lo, hi)
    assert fig.axes[0].get_ylim()[0] > 0.9  # not forced to start at 0


def test_resume_from_a_csv_without_notes_retries_its_failures(folders, tmp_path):
    """A CSV of the earlier 4-column format resumes; its NaN (failed) rows are computed."""
    _, items = load_dataset(folders)
    csv_path = tmp_path / "old.csv"
    csv_path.write_text("image,method,metric,value\n"
                        "scene0,dark,mef_ssim,0.25\n"  # finished: kept as it is
                        "scene0,dark,qabf,nan\n")  # failed before: computed now
    rows = evaluate(items, ["mef_ssim", "qabf"], csv_path)
    by = {(r.image, r.method, r.metric): r for r in rows}
    assert by[("scene0", "dark", "mef_ssim")].value == 0.25
    assert math.isfinite(by[("scene0", "dark", "qabf")].value)
    assert len(rows) == 2 * 2 * 2 and read_rows(csv_path) == rows
