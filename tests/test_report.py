"""``expokit report``: the static HTML page of a batch folder (issue 14, part 2).

The batch folder is written here by hand, as docs of the manifest say `expokit batch` writes it,
with eval results whose best per metric is known by construction. The page is checked as text
(self-contained, every bracket, decodable images of the expected size, the best marked, errors
escaped), through the CLI (exit codes), and in a real headless browser (Debian's chromium
through Playwright; skipped with the reason where either is missing).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import run_cli

from expokit.errors import InputError
from expokit.io import write_image
from expokit.report import build_report, write_report_html

H, W = 90, 240  # inputs and results; thumbnails at 200 px: 75 x 200 (90 * 200 / 240 = 75)
ERROR = 'IMG_7.jpg: truncated JPEG <script>alert("x")</script> & more'
SKIP_REASON = "EXR radiance file, not an exposure <sic>"


def _frame(level: float, seed: int) -> np.ndarray:
    """A smooth colour ramp scaled by ``level``, uint8."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, W, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 1, H, dtype=np.float32)[:, None, None]
    base = 0.2 + 0.6 * (0.5 * x + 0.5 * y) * rng.uniform(0.6, 1.0, 3).astype(np.float32)
    return (np.clip(base * level, 0, 1) * 255 + 0.5).astype(np.uint8)


def _item(bracket: str, op: str, method: str, inputs: list[str], output: str | None, *,
          error: str | None = None, seconds: float = 0.5) -> dict:
    return {"key": output or f"{bracket}_{method}", "bracket": bracket, "op": op,
            "method": method, "params": {"method": method},
            "inputs": [{"path": p, "size": 1, "mtime_ns": 1, "sha256": "00"} for p in inputs],
            "output": output, "output_sha256": None if output is None else "00",
            "status": "failed" if error else "ok", "error": error, "seconds": seconds,
            "worker": "local", "finished": "2026-12-05T11:00:00+00:00"}


@pytest.fixture(scope="module")
def dst(tmp_path_factory) -> Path:
    """SRC with brackets trip/day1/IMG_1 (3 shots) and trip/day2/IMG_4 (2 shots); DST with
    fuse results, one merge (.exr), one failed item, one result whose file is gone, one
    skipped file, and an eval folder."""
    root = tmp_path_factory.mktemp("report")
    src, out = root / "SRC", root / "DST"
    day1 = [f"trip/day1/IMG_{i}.png" for i in (1, 2, 3)]
    day2 = [f"trip/day2/IMG_{i}.png" for i in (4, 5)]
    for i, rel in enumerate(day1 + day2):
        write_image(src / rel, _frame((0.4, 1.0, 1.6, 0.5, 1.5)[i], i))
    write_image(out / "trip/day1/IMG_1_mertens.png", _frame(1.0, 10))
    radiance = np.repeat(np.linspace(0.01, 50.0, W, dtype=np.float32)[None, :, None], H, 0)
    write_image(out / "trip/day1/IMG_1_debevec.exr", np.repeat(radiance, 3, axis=2))
    write_image(out / "trip/day2/IMG_4_mertens.png", _frame(1.0, 11))
    items = [
        _item("trip/day1/IMG_1", "fuse", "mertens", day1, "trip/day1/IMG_1_mertens.png"),
        _item("trip/day1/IMG_1", "merge", "debevec", day1, "trip/day1/IMG_1_debevec.exr"),
        _item("trip/day1/IMG_1", "fuse", "deepfuse", day1, None, error=ERROR),
        _item("trip/day2/IMG_4", "fuse", "mertens", day2, "trip/day2/IMG_4_mertens.png"),
        _item("trip/day2/IMG_4", "fuse", "deepfuse", day2, "trip/day2/IMG_4_deepfuse.png"),
    ]
    manifest = {"format": "expokit-batch-manifest", "version": 1, "src": str(src),
                "updated": "2026-12-05T11:00:00+00:00", "items": items,
                "skipped": [{"path": "trip/notes/scan.exr", "reason": SKIP_REASON}]}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    # Eval means chosen so that the best differs per metric: mef_ssim (higher is better) is
    # best for deepfuse (0.95), niqe (lower is better) for mertens (3.2, the smallest).
    ev = out / "eval"
    ev.mkdir()
    results = {"metrics": ["mef_ssim", "niqe"], "n": {"mef_ssim": 2, "niqe": 2},
               "mean": {"mertens": {"mef_ssim": 0.91, "niqe": 3.2},
                        "deepfuse": {"mef_ssim": 0.95, "niqe": 4.5},
                        "debevec": {"mef_ssim": 0.80, "niqe": None}}}
    (ev / "results.json").write_text(json.dumps(results), encoding="utf-8")
    # Bracket IMG_1: mef_ssim best mertens (0.93 > 0.85); niqe best debevec (3.1 < 3.9).
    (ev / "results.csv").write_text(
        "image,method,metric,value,note\n"
        "trip/day1/IMG_1,mertens,mef_ssim,0.93,\n"
        "trip/day1/IMG_1,debevec,mef_ssim,0.85,\n"
        "trip/day1/IMG_1,mertens,niqe,3.9,\n"
        "trip/day1/IMG_1,debevec,niqe,3.1,\n", encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def page(dst) -> str:
    return build_report(dst)


def _sections(page: str) -> dict[str, str]:
    parts = re.split(r'(?=<section class="bracket")', page)
    out = {}
    for p in parts[1:]:
        name = re.search(r'data-bracket="([^"]*)"', p).group(1)
        out[name] = p.split("</section>")[0]
    return out


def _decode(uri: str) -> np.ndarray:
    assert uri.startswith("data:image/jpeg;base64,")
    buf = np.frombuffer(base64.b64decode(uri.split(",", 1)[1]), np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    assert img is not None
    return img


def _best_cells(html_table: str) -> set[tuple[str, str]]:
    return set(re.findall(r'<td class="num best" data-method="([^"]+)" data-metric="([^"]+)"',
                          html_table))


def test_page_is_self_contained(page):
    # Nothing outside the page: no URL outside data: URIs, no script or stylesheet file.
    without_data = re.sub(r"data:image/jpeg;base64,[A-Za-z0-9+/=]+", "", page)
    assert "http://" not in without_data and "https://" not in without_data
    assert 'src="//' not in without_data and "src='//" not in without_data
    assert "<script src" not in page and "<link" not in page
    for attr in re.findall(r'\b(?:src|href)="([^"]*)"', page):
        assert attr.startswith(("data:", "#")), attr
    assert "default-src 'none'" in page  # and the browser is told to load nothing else


def test_every_bracket_has_its_inputs_results_and_slider(page):
    sections = _sections(page)
    assert sorted(sections) == ["trip/day1/IMG_1", "trip/day2/IMG_4"]
    day1, day2 = sections["trip/day1/IMG_1"], sections["trip/day2/IMG_4"]
    assert day1.count('data-id="b0-i') == 3 and day2.count('data-id="b1-i') == 2
    assert day1.count('data-id="b0-r') == 2  # mertens and the merge; the failure has none
    assert "mertens (fuse)" in day1 and "debevec (merge)" in day1
    assert "tone-mapped" in day1  # the radiance is shown tone-mapped
    # the result listed in the manifest but gone from disk is shown as missing
    assert "missing: IMG_4_deepfuse.png" in day2
    for sec in (day1, day2):
        assert "cmp-range" in sec and "cmp-sel-left" in sec and "cmp-sel-right" in sec


def test_images_decode_at_the_requested_sides(dst):
    page = build_report(dst, view_side=120)
    thumbs = re.findall(r'<img src="(data:[^"]+)" data-view="(data:[^"]+)"', page)
    assert len(thumbs) == 5 + 3  # 5 inputs, 3 results on disk
    for thumb, view in thumbs:
        assert _decode(view).shape == (45, 120, 3)  # 90 x 240 at long side 120
        # thumb_side (200) larger than view_side: the thumbnail is the view image's size
        assert _decode(thumb).shape == (45, 120, 3)
    page = build_report(dst, limit=1)
    thumb, view = re.findall(r'<img src="(data:[^"]+)" data-view="(data:[^"]+)"', page)[0]
    assert _decode(thumb).shape[:2] == (75, 200)
    assert _decode(view).shape[:2] == (H, W)  # never enlarged


def test_radiance_is_tone_mapped_not_clipped(page):
    """The merge result ramps 0.01..50: clipped to [0, 1] it would be white over 98 % of its
    width; tone-mapped, its left half stays below white and brightness rises left to right."""
    day1 = _sections(page)["trip/day1/IMG_1"]
    uri = re.search(r'<img src="[^"]+" data-view="(data:[^"]+)" data-id="b0-r0"', day1)
    assert uri is not None and 'data-label="debevec (merge)"' in day1.split('data-id="b0-r0"')[1]
    grey = cv2.cvtColor(_decode(uri.group(1)), cv2.COLOR_BGR2GRAY).astype(float)
    cols = grey.mean(axis=0)
    assert cols[W // 4] < 230 and cols[0] < cols[W // 2] < cols[-1]


def test_limit_keeps_the_first_brackets(dst):
    page = build_report(dst, limit=1)
    assert list(_sections(page)) == ["trip/day1/IMG_1"]
    assert "2 bracket(s), first 1 shown" in page


def test_best_per_metric_is_marked(page):
    summary = page.split('<section class="bracket"')[0]
    table = re.search(r'<table class="metrics eval">.*?</table>', summary, re.S).group(0)
    # results.json has no "best": the direction comes from expokit.metrics
    assert _best_cells(table) == {("deepfuse", "mef_ssim"), ("mertens", "niqe")}
    day1 = _sections(page)["trip/day1/IMG_1"]
    per = re.search(r'<table class="metrics bracket-metrics">.*?</table>', day1, re.S).group(0)
    assert _best_cells(per) == {("mertens", "mef_ssim"), ("debevec", "niqe")}
    assert "bracket-metrics" not in _sections(page)["trip/day2/IMG_4"]  # no rows for it
    # the summary chart: one SVG per metric, the best bar marked
    assert summary.count('<svg class="chart"') == 2
    assert summary.count('class="bar best"') == 2


def test_results_json_best_is_used_when_given(dst, tmp_path):
    """eval's own ``best`` (over the images every method scored) wins over the means' order."""
    ev = tmp_path / "ev"
    ev.mkdir()
    data = json.loads((dst / "eval" / "results.json").read_text())
    data["best"] = {"mef_ssim": "mertens", "niqe": None}
    (ev / "results.json").write_text(json.dumps(data))
    page = build_report(dst, eval_dir=ev, limit=1)
    table = re.search(r'<table class="metrics eval">.*?</table>', page, re.S).group(0)
    assert _best_cells(table) == {("mertens", "mef_ssim"), ("mertens", "niqe")}


def test_no_eval_gives_a_chart_of_seconds_and_counts(dst, tmp_path):
    bare = tmp_path / "DST"
    shutil.copytree(dst, bare)
    shutil.rmtree(bare / "eval")
    page = build_report(bare)
    assert 'class="metrics' not in page
    assert "mean seconds per item" in page and "items: ok + failed" in page
    assert page.count('class="bar fail"') == 1  # deepfuse: one failed item


def test_failed_item_and_skipped_file_are_shown_escaped(page):
    day1 = _sections(page)["trip/day1/IMG_1"]
    assert "<script>alert" not in page
    assert "truncated JPEG &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more" in day1
    assert "deepfuse" in day1.split("class='failures'")[1]
    assert "trip/notes/scan.exr" in page and "not an exposure &lt;sic&gt;" in page
    assert '<li class="failed">1 failed</li>' in page


def test_bad_folders_are_input_errors(dst, tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        build_report(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no manifest.json"):
        build_report(tmp_path / "empty")
    other = tmp_path / "other"
    other.mkdir()
    (other / "manifest.json").write_text('{"format": "something-else", "items": []}')
    with pytest.raises(InputError, match="not an expokit batch manifest"):
        build_report(other)
    (other / "manifest.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        build_report(other)
    with pytest.raises(InputError, match="holds no results.json"):
        build_report(dst, eval_dir=tmp_path / "empty")
    with pytest.raises(InputError, match="limit"):
        build_report(dst, limit=0)


def test_write_report_html_is_atomic_and_refuses_to_overwrite(dst, tmp_path):
    out = tmp_path / "r.html"
    assert write_report_html(dst, out, limit=1) == out
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    with pytest.raises(InputError, match="exists"):
        write_report_html(dst, out)
    with pytest.raises(InputError, match=".html"):
        write_report_html(dst, tmp_path / "r.png")
    with pytest.raises(InputError, match="holds no manifest"):  # nothing left behind
        write_report_html(tmp_path, tmp_path / "x.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


def test_cli_writes_the_page_and_refuses_to_overwrite(dst, tmp_path):
    out = tmp_path / "report.html"
    proc = run_cli("report", dst, "-o", out, "--limit", "1", "--view-side", "64")
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stderr and out.stat().st_size > 0
    again = run_cli("report", dst, "-o", out)
    assert again.returncode == 2 and "--overwrite" in again.stderr
    assert "Traceback" not in again.stderr
    proc = run_cli("report", dst, "-o", out, "--overwrite", "--limit", "1")
    assert proc.returncode == 0, proc.stderr


def test_cli_writes_into_dst_by_default(dst, tmp_path):
    copy = tmp_path / "DST"
    shutil.copytree(dst, copy)
    proc = run_cli("report", copy, "--limit", "1")
    assert proc.returncode == 0, proc.stderr
    assert (copy / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(("args", "words"), [
    (("{missing}",), "does not exist"),
    (("{tmp}", "-o", "{tmp}/r.html"), "manifest.json"),
    (("{dst}", "-o", "{tmp}/r.png"), ".html"),
    (("{dst}", "-o", "{tmp}/r.html", "--eval", "{tmp}"), "results.json"),
])
def test_cli_bad_input_exits_2(dst, tmp_path, args, words):
    fill = {"missing": tmp_path / "nope", "tmp": tmp_path, "dst": dst}
    proc = run_cli("report", *(a.format(**fill) for a in args))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error:") and words in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_help_has_an_example():
    proc = run_cli("report", "--help")
    assert proc.returncode == 0 and "Example: expokit report" in proc.stdout


# --- in a real browser ----------------------------------------------------------------------
def _chromium() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed (pip install 'expokit[test]')")
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(exe).is_file():
        pytest.skip("no chromium executable (Debian: apt install chromium); the test never "
                    "downloads a browser")
    return exe


def test_page_works_in_a_headless_browser(dst, tmp_path):
    exe = _chromium()
    from playwright.sync_api import sync_playwright

    # view images of 160 px, below the files' 240: the zoom shows them at that size
    html_file = write_report_html(dst, tmp_path / "report.html", view_side=160)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(html_file.resolve().as_uri())
            page.wait_for_load_state("load")
            cmp = page.locator(".cmp").first
            stage, bar = cmp.locator(".cmp-stage"), cmp.locator(".cmp-bar")
            cmp.scroll_into_view_if_needed()
            # the slider's images are loaded (set by the script from the thumbnails' data)
            assert cmp.locator(".cmp-left").evaluate("i => i.complete && i.naturalWidth") > 0
            assert cmp.locator(".cmp-right").evaluate("i => i.naturalWidth") > 0
            box = stage.bounding_box()

            def split_at() -> float:
                b = bar.bounding_box()
                return (b["x"] + b["width"] / 2 - box["x"]) / box["width"] * 100

            assert split_at() == pytest.approx(50, abs=1.5)
            for v in (20, 80):
                cmp.locator(".cmp-range").fill(str(v))
                assert split_at() == pytest.approx(v, abs=1.5)
                clip = cmp.locator(".cmp-over").evaluate("e => getComputedStyle(e).clipPath")
                assert f"{v}%" in clip
            # dragging on the image moves the split too
            y = box["y"] + box["height"] / 2
            page.mouse.move(box["x"] + 0.8 * box["width"], y)
            page.mouse.down()
            page.mouse.move(box["x"] + 0.5 * box["width"], y, steps=5)
            page.mouse.move(box["x"] + 0.3 * box["width"], y, steps=5)
            page.mouse.up()
            assert split_at() == pytest.approx(30, abs=2)
            assert page.locator("#zoom").is_hidden()  # a drag does not zoom
            # choosing another left image shows it
            sel = cmp.locator(".cmp-sel-left")
            sel.select_option(index=0)
            first = page.locator('img[data-id="b0-i0"]').get_attribute("data-view")
            assert cmp.locator(".cmp-left").get_attribute("src") == first
            # click a thumbnail: the zoom opens at the view image's size; Escape closes it
            thumb = page.locator('img[data-id="b0-r0"]')
            thumb.click()
            zoom = page.locator("#zoom")
            assert zoom.is_visible()
            assert page.locator("#zoom img").evaluate("i => i.naturalWidth") == 160
            page.keyboard.press("Escape")
            assert zoom.is_hidden()
            stage.click()  # a click (no drag) on the slider zooms too; a click closes
            assert zoom.is_visible()
            zoom.click()
            assert zoom.is_hidden()
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert not errors, errors
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape[1] == 1100 and img.shape[0] > 900  # the full page, taller than the window
