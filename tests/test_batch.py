"""``expokit batch``: items grouped as ``info`` groups them, the same pixels as the single
commands, a manifest that makes reruns skip what is done and redo what changed or failed, and
Dask distributed: a 2-worker LocalCluster that loses a worker mid-run, and a client that is
interrupted and run again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from batch_tree import bracket, make_tree
from conftest import run_cli

from expokit.batch import BatchConfig, plan_items, read_manifest, run_batch
from expokit.batch import manifest as mf
from expokit.errors import InputError
from expokit.io import read_image

REPO = Path(__file__).resolve().parents[1]
GOOD = 4  # good brackets in make_tree


@pytest.fixture()
def tree(tmp_path) -> tuple[Path, dict[str, list[str]]]:
    src = tmp_path / "src"
    return src, make_tree(src)


def rows_by_key(dst: Path) -> dict[str, dict]:
    return {r["key"]: r for r in read_manifest(dst)["items"]}


def test_items_are_the_brackets_info_finds(tree):
    src, groups = tree
    items, skipped = plan_items(src, "fuse", "mertens")
    assert sorted(it.inputs for it in items) == sorted(tuple(g) for g in groups.values())
    by_bracket = {it.bracket: it for it in items}
    assert by_bracket["trip/day1/IMG_10"].key == "trip/day1/IMG_10_mertens.png"
    assert by_bracket["top0"].key == "top0_mertens.png"
    assert dict(skipped) == {
        "trip/lonely.jpg": "single 8-bit 48x32 shot: a bracket needs two or more exposures "
                           "of one size and kind",
        "trip/day2/scene.exr": "EXR radiance file, not an exposure"}
    # the CLI's info lists the same two brackets in the folder that holds two
    res = run_cli("info", src / "trip" / "day1")
    assert "2 bracket(s): IMG_10.jpg..IMG_12.jpg (3); IMG_20.jpg..IMG_22.jpg (3)" in res.stdout
    # correct: one item per photo, radiance files left out
    photos, left = plan_items(src, "correct", "uec")
    assert len(photos) == sum(len(g) for g in groups.values()) + 1  # + the single shot
    assert photos[0].key.endswith("_corrected.png") or photos[0].key.endswith(".jpg")
    assert dict(left) == {"trip/day2/scene.exr": "radiance file: correct takes photos"}


def test_grouping_options_are_those_of_info(tmp_path):
    """Two shots 7 s apart (as MEFB's edited brackets): single shots by default, one bracket
    with --max-gap inf, for info and batch alike."""
    from datetime import datetime, timedelta

    from batch_tree import TIMES, save_shot

    from expokit.simulate import photograph, render_scene

    src = tmp_path / "src"
    t0 = datetime(2026, 5, 1, 12, 0, 0)
    frames = photograph(render_scene(32, 48, seed=1), [float(t) for t in TIMES[:2]])
    for i, (f, t) in enumerate(zip(frames, TIMES, strict=False)):
        save_shot(src / f"s{i}.jpg", f, t, t0 + timedelta(seconds=7 * i))
    assert plan_items(src, "fuse", "mertens")[0] == []
    (item,), skipped = plan_items(src, "fuse", "mertens", max_gap=float("inf"))
    assert item.inputs == ("s0.jpg", "s1.jpg") and skipped == []
    assert "1 bracket(s): s0.jpg..s1.jpg (2)" in run_cli("info", src, "--max-gap", "inf").stdout
    res = run_cli("batch", src, "-o", tmp_path / "out", "--max-gap", "inf", "--dry-run")
    assert res.stdout.strip() == "would run s0_mertens.png: new"


@pytest.mark.parametrize("workers", [0, 2])
def test_bad_bracket_fails_alone_and_is_reported(tree, tmp_path, workers):
    if workers:
        pytest.importorskip("distributed")
    src, groups = tree
    dst = tmp_path / "out"
    res = run_cli("batch", src, "-o", dst, "--workers", workers)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert "4 done, 1 failed, 0 up to date" in res.stderr
    assert "failed: broken/bad0_mertens.png: bad2.png: the PNG file is truncated" in res.stderr
    rows = rows_by_key(dst)
    assert len(rows) == GOOD + 1
    bad = rows["broken/bad0_mertens.png"]
    assert bad["status"] == "failed" and bad["output"] is None
    assert [i["path"] for i in bad["inputs"]] == groups["bad"]
    for key, row in rows.items():
        if key != "broken/bad0_mertens.png":
            assert row["status"] == "ok" and (dst / row["output"]).is_file()
            assert row["error"] is None
            assert len(row["inputs"]) == 3 and all(len(i["sha256"]) == 64 for i in row["inputs"])
    assert {s["path"] for s in read_manifest(dst)["skipped"]} == {"trip/lonely.jpg",
                                                                  "trip/day2/scene.exr"}
    assert not list((dst / mf.STATE / "records").glob("*.json"))  # all in the manifest now
    expected = "LocalCluster with 2 worker process(es)" if workers else "serial, in this process"
    assert f"ran on: {expected}" in res.stderr


@pytest.mark.parametrize(("argv", "single"), [
    (["--method", "mertens", "-p", "sigma=0.3"], ["fuse", "--sigma", "0.3"]),
    (["--method", "lut"], ["fuse", "--method", "lut"]),
    (["--op", "merge"], ["merge"]),
    (["--op", "merge", "--method", "robertson", "--calibrate", "linear", "--deghost"],
     ["merge", "--method", "robertson", "--calibrate", "linear", "--deghost"]),
])
def test_same_pixels_as_the_single_bracket_command(tree, tmp_path, argv, single):
    src, groups = tree
    dst = tmp_path / "out"
    assert run_cli("batch", src, "-o", dst, "--workers", "0", *argv).returncode == 2  # bad one
    rows = rows_by_key(dst)
    for name in ("trip/day1/IMG_10", "top0"):
        row = next(r for r in rows.values() if r["bracket"] == name)
        alone = tmp_path / ("alone" + Path(row["output"]).suffix)
        res = run_cli(*single, *[src / p for p in groups[name]], "-o", alone, "--overwrite")
        assert res.returncode == 0, res.stderr
        a, b = read_image(dst / row["output"]), read_image(alone)
        assert a.dtype == b.dtype and np.array_equal(a, b), name


def test_correct_gives_the_same_pixels_as_expokit_correct(tmp_path):
    pytest.importorskip("torch")
    src, dst = tmp_path / "src", tmp_path / "out"
    shots = bracket(src / "a", "jpg", 1, None)[:1] + bracket(src / "b", "png", 2, None,
                                                              ext=".png")[1:2]
    for p in src.rglob("*"):
        if p.is_file() and p not in shots:
            p.unlink()
    res = run_cli("batch", src, "-o", dst, "--op", "correct", "--ev", "0.5", "--workers", "0")
    assert res.returncode == 0, res.stderr
    rows = rows_by_key(dst)
    assert len(rows) == 2
    for rel in (p.relative_to(src).as_posix() for p in shots):
        row = next(r for r in rows.values() if r["inputs"][0]["path"] == rel)
        alone = tmp_path / ("alone" + Path(rel).suffix)
        assert run_cli("correct", src / rel, "-o", alone, "--ev", "0.5").returncode == 0
        assert np.array_equal(read_image(dst / row["output"]), read_image(alone))


def invert(path: Path) -> None:
    """New pixels in a JPEG shot, its EXIF (capture and exposure time) kept: same bracket."""
    from PIL import Image

    with Image.open(path) as im:
        exif = im.info["exif"]
    Image.fromarray(255 - read_image(path)).save(path, quality=95, exif=exif)


def test_rerun_skips_what_is_done_and_redoes_what_changed_or_failed(tree, tmp_path):
    src, groups = tree
    dst = tmp_path / "out"
    config = BatchConfig(op="fuse", method="mertens")
    first = run_batch(src, dst, config, workers=0)
    assert (first.done, len(first.failed), first.up_to_date) == (GOOD, 1, 0)
    rows = rows_by_key(dst)
    stamps = {k: (dst / r["output"]).stat().st_mtime_ns for k, r in rows.items() if r["output"]}

    # nothing changed: only the failed bracket runs again (and fails again)
    again = run_batch(src, dst, config, workers=0)
    assert (again.done, len(again.failed), again.up_to_date) == (0, 1, GOOD)
    # touched but unchanged files are hashed again and found the same
    os.utime(src / groups["top0"][0])
    assert run_batch(src, dst, config, workers=0).up_to_date == GOOD

    # new pixels in one input, the bad file repaired, one output deleted: those three rerun
    invert(src / groups["trip/day1/IMG_10"][1])
    bad_folder = src / "broken"
    for p in bad_folder.iterdir():
        p.unlink()
    bracket(bad_folder, "bad", 5, None, ext=".png", exif_times=False)
    (dst / "top0_mertens.png").unlink()
    third = run_batch(src, dst, config, workers=0)
    assert (third.done, len(third.failed), third.up_to_date) == (3, 0, GOOD - 2)
    redone = {k for k in rows if (dst / k).stat().st_mtime_ns != stamps.get(k)}
    assert redone == {"trip/day1/IMG_10_mertens.png", "broken/bad0_mertens.png",
                      "top0_mertens.png"}
    for key in ("trip/day1/IMG_20_mertens.png", "trip/day2/pano0_mertens.png"):
        assert (dst / key).stat().st_mtime_ns == stamps[key]  # not written again
    assert len(read_manifest(dst)["items"]) == GOOD + 1

    # a dry run says what would run and why, and writes nothing
    invert(src / groups["top0"][0])
    before = (dst / "manifest.json").read_bytes()
    res = run_cli("batch", src, "-o", dst, "--workers", "0", "--dry-run", "-p", "sigma=0.3")
    assert "would run top0_mertens.png: parameters changed" in res.stdout
    assert f"{GOOD + 1} item(s) would run ({GOOD + 1} parameters changed), 0 up to date" \
        in res.stderr
    res = run_cli("batch", src, "-o", dst, "--workers", "0", "--dry-run")
    assert res.stdout.strip() == "would run top0_mertens.png: inputs changed"
    assert (dst / "manifest.json").read_bytes() == before
    assert not (tmp_path / "new").exists()
    run_cli("batch", src, "-o", tmp_path / "new", "--workers", "0", "--dry-run")
    assert not (tmp_path / "new").exists()

    # other parameters: everything runs again
    fourth = run_batch(src, dst, BatchConfig(op="fuse", method="mertens",
                                             options={"sigma": 0.3}), workers=0)
    assert (fourth.done, fourth.up_to_date) == (GOOD + 1, 0)
    # another method writes beside the first: the manifest holds both
    run_batch(src, dst, BatchConfig(op="fuse", method="lut"), workers=0)
    assert len(read_manifest(dst)["items"]) == 2 * (GOOD + 1)


def test_bad_requests_are_refused_before_any_work(tree, tmp_path):
    src, _ = tree
    dst = tmp_path / "out"

    def refused(*args: object, words: str) -> None:
        res = run_cli("batch", src, "-o", dst, "--workers", "0", *args)
        assert res.returncode == 2 and words in res.stderr, res.stderr
        assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1
        assert "Traceback" not in res.stderr

    refused("--op", "stack", words="--op 'stack' is not known: use fuse, merge, correct")
    refused("--method", "debevec", words="--method 'debevec' is not a fuse method")
    refused("-p", "bogus=1", words="bogus")
    refused("--op", "merge", "--calibrate", "magic", words="--calibrate 'magic' is not known")
    refused("--mask-color", "0,0", words="--mask-color '0,0': expected R,G,B such as 0,0,255")
    refused("--mask-color", "a,b,c", words="--mask-color 'a,b,c': expected R,G,B")
    refused("--format", "gif", words="--format gif: not a format expokit writes")
    refused("--op", "merge", "--format", "png", words="HDR radiance needs exr, hdr or tif")
    refused("--weights", "lut", words="weights")  # mertens has no weights
    assert not dst.exists()
    res = run_cli("batch", src, "-o", src, "--workers", "0")
    assert res.returncode == 2 and "the output folder is the input folder" in res.stderr
    # a DST that holds another tree's results, or a file that is not a manifest
    run_batch(src, dst, BatchConfig(), workers=0)
    other = tmp_path / "other"
    bracket(other, "x", 9, None)
    with pytest.raises(InputError, match="holds the results of"):
        run_batch(other, dst, BatchConfig(), workers=0)
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "manifest.json").write_text('{"rows": []}')
    with pytest.raises(InputError, match="is not an expokit batch manifest"):
        read_manifest(tmp_path / "fake")


def test_two_runs_never_share_one_output_folder(tree, tmp_path):
    src, _ = tree
    dst = tmp_path / "out"
    dst.mkdir()
    with mf.lock(dst), pytest.raises(InputError, match="in use by another expokit batch run"):
        run_batch(src, dst, BatchConfig(), workers=0)


def test_without_dask_it_runs_here_and_says_so(tree, tmp_path, monkeypatch):
    from expokit.batch import run as batch_run

    monkeypatch.setattr(batch_run, "dask_available", lambda: False)
    src, _ = tree
    res = run_cli("batch", src, "-o", tmp_path / "out")
    assert "Dask distributed is not installed: running the items one after another" \
        in res.stderr
    assert "ran on: serial, in this process (Dask not installed)" in res.stderr
    assert "4 done, 1 failed" in res.stderr


# --- Dask distributed ----------------------------------------------------------------------
def test_a_killed_worker_s_task_is_run_again_elsewhere(tmp_path):
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    src = tmp_path / "src"
    # item 0 (folder a) is big: it is still running on its worker when a small one finishes
    bracket(src / "a", "big", 0, None, size=(1500, 2000))
    for i in range(1, 7):
        bracket(src / f"f{i % 3}", f"b{i}_", i, None, size=(120, 160))  # EXIF times split
    items, _ = plan_items(src, "fuse", "mertens")
    assert items[0].bracket == "a/big0"
    killed: dict[str, object] = {}

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        pids = client.run(os.getpid)

        def kill_the_big_one(row: dict) -> None:
            if killed or row["key"] == items[0].key:
                return
            for worker, keys in client.processing().items():
                if any(str(k).endswith("-0") for k in keys):
                    killed["worker"] = worker
                    os.kill(pids[worker], signal.SIGKILL)

        summary = run_batch(src, tmp_path / "out", BatchConfig(), client=client,
                            on_result=kill_the_big_one)
    assert killed, "the big bracket had finished before a small one"
    assert (summary.done, summary.failed) == (7, [])
    rows = rows_by_key(tmp_path / "out")
    assert len(rows) == 7 and all(r["status"] == "ok" for r in rows.values())
    assert rows[items[0].key]["worker"] != killed["worker"]  # finished on another worker
    serial = run_batch(src, tmp_path / "serial", BatchConfig(), workers=0)
    assert {r["key"]: r["output_sha256"] for r in serial.rows} == \
        {k: r["output_sha256"] for k, r in rows.items()}


def test_interrupted_client_loses_nothing_and_does_nothing_twice(tmp_path):
    pytest.importorskip("distributed")
    src, dst = tmp_path / "src", tmp_path / "out"
    n = 12
    for i in range(n):
        bracket(src / f"day{i % 2}", f"b{i}_", i, None, size=(500, 700))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "expokit", "batch", str(src), "-o", str(dst),
               "--workers", "2"]
    proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    records = dst / mf.STATE / "records"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(records.glob("*.json"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
    first = {r["key"]: r for r in read_manifest(dst)["items"]}
    first.update({r["key"]: r for r in mf.leftover_records(dst)})
    done_before = {k: r for k, r in first.items() if r["status"] == "ok"}
    assert 2 <= len(done_before) < n, "the run was not interrupted mid-way"
    stamps = {k: (dst / k).stat().st_mtime_ns for k in done_before}

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{n - len(done_before)} item(s) to run, {len(done_before)} up to date" \
        in rerun.stderr
    rows = read_manifest(dst)["items"]
    assert len(rows) == n and len({r["key"] for r in rows}) == n  # one row per item
    assert all(r["status"] == "ok" for r in rows)
    for r in rows:
        if r["key"] in done_before:  # not done twice
            assert r["finished"] == done_before[r["key"]]["finished"]
            assert (dst / r["key"]).stat().st_mtime_ns == stamps[r["key"]]
    leftovers = [p.name for p in dst.rglob(".*.tmp")]
    assert leftovers == [], leftovers
    assert json.loads((dst / "manifest.json").read_text())["src"] == str(src.resolve())


def _dies_on_b1(task: dict) -> dict:
    """run_task, except that the bracket b1 kills whichever worker runs it."""
    from expokit.batch import run_task

    if task["bracket"].endswith("b1_0"):
        os._exit(1)
    return run_task(task)


def test_a_bracket_that_keeps_killing_workers_fails_alone(tmp_path):
    pytest.importorskip("distributed")
    import dask
    from distributed import Client, LocalCluster

    from expokit.batch.run import _on_dask

    src, dst = tmp_path / "src", tmp_path / "out"
    for i in range(3):
        bracket(src, f"b{i}_", i, None)
    items, _ = plan_items(src, "fuse", "mertens")
    params = BatchConfig().params()
    tasks = [{"key": it.key, "bracket": it.bracket, "op": "fuse", "method": "mertens",
              "inputs": it.inputs, "src": str(src), "dst": str(dst), "params": params,
              "known": [], "threads": 1} for it in items]
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                         dashboard_address=None) as cluster, Client(cluster) as client:
        rows = {r["key"]: r for r in _on_dask(tasks, client, fn=_dies_on_b1)}
    assert rows["b1_0_mertens.png"]["status"] == "failed"
    assert "its worker died while running it" in rows["b1_0_mertens.png"]["error"]
    assert rows["b0_0_mertens.png"]["status"] == rows["b2_0_mertens.png"]["status"] == "ok"
    # the failure is on disk too, for a client that dies before saving the manifest
    assert any(r["key"] == "b1_0_mertens.png" for r in mf.leftover_records(dst))


def test_an_existing_cluster_by_address(tree, tmp_path):
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    src, _ = tree
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        summary = run_batch(src, tmp_path / "out", BatchConfig(),
                            scheduler=cluster.scheduler_address)
        assert summary.runner == f"Dask scheduler {cluster.scheduler_address} (1 workers now)"
        workers = set(cluster.scheduler_info["workers"])
    assert (summary.done, len(summary.failed)) == (GOOD, 1)
    assert {r["worker"] for r in summary.rows if r["status"] == "ok"} <= workers
    with pytest.raises(InputError, match="give --workers or --scheduler, not both"):
        run_batch(src, tmp_path / "out", BatchConfig(), workers=2, scheduler="tcp://x:1")


def test_batch_then_eval_then_report(tree, tmp_path):
    """The three commands chain: eval reads the batch folder (layout batch), the report shows
    every bracket with both methods' results and eval's table."""
    src, groups = tree
    dst = tmp_path / "out"
    for method in ("mertens", "lut"):
        run_cli("batch", src, "-o", dst, "--method", method, "--workers", "0")
    res = run_cli("eval", dst, "-o", dst / "eval", "-m", "mef_ssim")
    assert res.returncode == 0, res.stderr
    assert f"batch: {GOOD} brackets, {2 * GOOD} fused images, 1 metrics" in res.stderr
    scored = json.loads((dst / "eval" / "results.json").read_text())
    assert set(scored["mean"]) == {"mertens", "lut"} and scored["n"]["mef_ssim"] == GOOD
    page = tmp_path / "report.html"
    res = run_cli("report", dst, "-o", page)
    assert res.returncode == 0, res.stderr
    html = page.read_text()
    for name in groups:
        assert (name if name != "bad" else "broken/bad0") in html
    assert "mef_ssim" in html and "the PNG file is truncated" in html
