"""The page itself: one HTML file with its CSS, JavaScript, SVG chart and images inline."""

from __future__ import annotations

import html
import math
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..batch import read_manifest
from ..bench.evaluate import best_of
from ..errors import InputError
from ._images import Shown, show
from ._inputs import Bracket, EvalResults, group_brackets, read_eval

#: Default long side of the thumbnails and of the view images (slider, zoom), in pixels.
THUMB_SIDE = 200
VIEW_SIDE = 1024
#: JPEG quality of the embedded images.
QUALITY = 85


def esc(value: object) -> str:
    """Text for HTML content or a quoted attribute."""
    return html.escape(str(value), quote=True)


def fmt(value: float) -> str:
    return "–" if not math.isfinite(value) else f"{value:.4g}"


# --- style and behaviour (inline: the page loads nothing) -----------------------------------
_CSS = """
:root{--fg:#1d232a;--muted:#5c6670;--line:#d5dae0;--bg:#f6f7f9;--card:#fff;--accent:#2f6fb2;
--best:#e8f4e6;--bad:#b3261e}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
background:var(--bg)}
header,section{max-width:1180px;margin:0 auto;padding:12px 20px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;margin-bottom:16px}
h1{font-size:22px;margin:12px 0 4px}h2{font-size:18px;margin:6px 0 10px;word-break:break-all}
h3{font-size:14px;margin:14px 0 6px;color:var(--muted);text-transform:uppercase;
letter-spacing:.04em}
.meta{color:var(--muted);margin:0;word-break:break-all}
.counts{display:flex;flex-wrap:wrap;gap:8px;list-style:none;padding:0;margin:0 0 10px}
.counts li{background:var(--bg);border:1px solid var(--line);border-radius:14px;padding:2px 10px}
.counts .failed{color:var(--bad)}
table{border-collapse:collapse;margin:6px 0 10px}
th,td{border:1px solid var(--line);padding:3px 8px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.best{background:var(--best);font-weight:700}
th small{font-weight:400;color:var(--muted)}
.charts{display:flex;flex-wrap:wrap;gap:14px}
.charts svg{background:var(--card);border:1px solid var(--line);border-radius:6px}
svg text{font:12px system-ui,sans-serif;fill:var(--fg)}svg .bar{fill:#9db8d6}
svg .bar.best{fill:var(--accent)}svg .bar.fail{fill:var(--bad)}svg .title{font-weight:700}
.thumbs{display:flex;flex-wrap:wrap;gap:10px}
figure{margin:0;max-width:220px}
figure img{display:block;max-width:100%;height:auto;cursor:zoom-in;border:1px solid var(--line)}
figcaption{font-size:12px;color:var(--muted);overflow-wrap:anywhere}
.missing{width:160px;height:100px;display:flex;align-items:center;justify-content:center;
text-align:center;padding:6px;border:1px dashed var(--bad);color:var(--bad);font-size:12px}
ul.failures li{color:var(--bad)}ul.failures code{white-space:pre-wrap;color:var(--fg)}
.cmp-controls{display:flex;flex-wrap:wrap;align-items:center;gap:10px;margin:6px 0}
.cmp-controls select{max-width:320px}.cmp-range{flex:1;min-width:160px}
.cmp-stage{position:relative;width:100%;max-width:VIEWpx;aspect-ratio:3/2;background:#111;
cursor:ew-resize;touch-action:none;user-select:none;overflow:hidden}
.cmp-stage img{position:absolute;inset:0;width:100%;height:100%;object-fit:contain;
pointer-events:none}
.cmp-over{position:absolute;inset:0;clip-path:inset(0 0 0 50%)}
.cmp-bar{position:absolute;top:0;bottom:0;left:50%;width:2px;margin-left:-1px;background:#fff;
box-shadow:0 0 3px #000;pointer-events:none}
.cmp-tag{position:absolute;top:6px;padding:1px 6px;background:rgba(0,0,0,.6);color:#fff;
font-size:12px;pointer-events:none}.cmp-tag.l{left:6px}.cmp-tag.r{right:6px}
.zoom{position:fixed;inset:0;z-index:10;background:rgba(0,0,0,.9);overflow:auto;display:flex;
cursor:zoom-out}
.zoom img{margin:auto;max-width:none;display:block}
.zoom-cap{position:fixed;left:0;right:0;bottom:0;margin:0;padding:4px 10px;color:#fff;
background:rgba(0,0,0,.6)}
[hidden]{display:none!important}
details summary{cursor:pointer}
"""

_JS = """
(function () {
  "use strict";
  var zoom = document.getElementById("zoom");
  var zimg = zoom.querySelector("img"), zcap = zoom.querySelector(".zoom-cap");
  function openZoom(src, label) {
    zimg.src = src; zcap.textContent = label || ""; zoom.hidden = false;
  }
  function closeZoom() { zoom.hidden = true; zimg.removeAttribute("src"); }
  zoom.addEventListener("click", closeZoom);
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && !zoom.hidden) { closeZoom(); }
  });
  document.querySelectorAll("img[data-view]").forEach(function (im) {
    im.addEventListener("click", function () { openZoom(im.dataset.view, im.dataset.label); });
  });
  document.querySelectorAll(".cmp").forEach(function (cmp) {
    var sec = cmp.closest("section");
    var range = cmp.querySelector(".cmp-range"), stage = cmp.querySelector(".cmp-stage");
    var over = cmp.querySelector(".cmp-over"), bar = cmp.querySelector(".cmp-bar");
    var selL = cmp.querySelector(".cmp-sel-left"), selR = cmp.querySelector(".cmp-sel-right");
    var imgL = cmp.querySelector(".cmp-left"), imgR = cmp.querySelector(".cmp-right");
    var tagL = cmp.querySelector(".cmp-tag.l"), tagR = cmp.querySelector(".cmp-tag.r");
    function show(img, tag, sel) {
      var src = sec.querySelector('img[data-id="' + sel.value + '"]');
      if (!src) { return; }
      img.src = src.dataset.view; img.dataset.label = src.dataset.label;
      tag.textContent = src.dataset.label;
      if (img === imgL) {  // the left image's shape, at its own size (small ones at 480 px)
        stage.style.aspectRatio = src.dataset.w + " / " + src.dataset.h;
        stage.style.maxWidth = Math.max(+src.dataset.w, 480) + "px";
      }
    }
    function split(v) {
      v = Math.max(0, Math.min(100, v));
      range.value = v;
      over.style.clipPath = "inset(0 0 0 " + v + "%)";
      bar.style.left = v + "%";
    }
    function at(e) {
      var r = stage.getBoundingClientRect();
      return (e.clientX - r.left) / r.width * 100;
    }
    selL.addEventListener("change", function () { show(imgL, tagL, selL); });
    selR.addEventListener("change", function () { show(imgR, tagR, selR); });
    range.addEventListener("input", function () { split(+range.value); });
    var down = null, moved = false;
    stage.addEventListener("pointerdown", function (e) {
      down = e.clientX; moved = false; stage.setPointerCapture(e.pointerId);
    });
    stage.addEventListener("pointermove", function (e) {
      if (down === null) { return; }
      if (Math.abs(e.clientX - down) > 3) { moved = true; }
      if (moved) { split(at(e)); }
    });
    stage.addEventListener("pointerup", function (e) {
      if (down !== null && !moved) {
        var img = at(e) < +range.value ? imgL : imgR;
        openZoom(img.src, img.dataset.label);
      }
      down = null;
    });
    stage.addEventListener("pointercancel", function () { down = null; });
    show(imgL, tagL, selL); show(imgR, tagR, selR); split(+range.value);
  });
})();
"""

# Only inline style, inline script and data: images: the browser itself refuses anything else.
_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'")


def _arrow(higher_is_better: bool | None, up: str, down: str) -> str:
    return "" if higher_is_better is None else up if higher_is_better else down


# --- the summary chart ----------------------------------------------------------------------
def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], *,
              best: str | None = None, failed: Sequence[float] | None = None,
              width: int = 380) -> str:
    """An inline SVG of horizontal bars, one per label (``best`` drawn in the accent colour;
    ``failed``, when given, stacked after each bar in red). NaN values get no bar."""
    row, top, label_w, value_w = 22, 26, 130, 60
    height = top + row * len(labels) + 8
    plot_w = width - label_w - value_w - 10
    totals = [v + (failed[i] if failed else 0.0) for i, v in enumerate(values)]
    finite = [t for t in totals if math.isfinite(t)] + [0.0]
    lo, hi = min(finite + [0.0]), max(finite)
    span = (hi - lo) or 1.0

    def x(v: float) -> float:
        return label_w + (v - lo) / span * plot_w

    parts = [f'<svg class="chart" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title)}">',
             f'<text class="title" x="8" y="17">{esc(title)}</text>']
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        y = top + i * row
        short = label if len(label) <= 18 else label[:17] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">'
                     f'<title>{esc(label)}</title>{esc(short)}</text>')
        text = fmt(v)
        if math.isfinite(v):
            x0, x1 = sorted((x(0.0), x(v)))
            cls = "bar best" if label == best else "bar"
            parts.append(f'<rect class="{cls}" x="{x0:.1f}" y="{y + 3}" '
                         f'width="{max(x1 - x0, 1):.1f}" height="{row - 6}">'
                         f'<title>{esc(label)}: {text}</title></rect>')
            end = x1
            if failed and failed[i] > 0:
                f0, f1 = x(v), x(v + failed[i])
                parts.append(f'<rect class="bar fail" x="{f0:.1f}" y="{y + 3}" '
                             f'width="{f1 - f0:.1f}" height="{row - 6}"><title>{esc(label)}: '
                             f'{fmt(failed[i])} failed</title></rect>')
                end, text = f1, f"{text} + {fmt(failed[i])}"
        else:
            end = x(0.0)
        parts.append(f'<text x="{end + 4:.1f}" y="{y + 15}">{esc(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _charts(items: list[dict[str, Any]], ev: EvalResults | None) -> str:
    methods = sorted(ev.mean) if ev else []
    if ev and methods:
        charts = []
        for m in ev.metrics:
            way = _arrow(ev.higher_is_better[m], " (↑ better)", " (↓ better)")
            charts.append(bar_chart(f"{m}{way}", methods, [ev.mean[k][m] for k in methods],
                                    best=ev.best[m]))
        return '<div class="charts">' + "".join(charts) + "</div>"
    names = sorted({str(it["method"]) for it in items})
    if not names:
        return ""
    ok = [sum(1 for it in items if it["method"] == k and it["status"] == "ok") for k in names]
    bad = [sum(1 for it in items if it["method"] == k and it["status"] != "ok") for k in names]
    secs = []
    for k in names:
        s = [float(it["seconds"]) for it in items if it["method"] == k and it["status"] == "ok"
             and isinstance(it.get("seconds"), int | float)]
        secs.append(sum(s) / len(s) if s else math.nan)
    return ('<div class="charts">'
            + bar_chart("mean seconds per item", names, secs)
            + bar_chart("items: ok + failed", names, [float(v) for v in ok],
                        failed=[float(v) for v in bad])
            + "</div>")


# --- tables ---------------------------------------------------------------------------------
def metric_table(rows: dict[str, dict[str, float]], metrics: Sequence[str],
                 best: dict[str, str | None], direction: dict[str, bool | None], *,
                 n: dict[str, int] | None = None, css: str = "metrics") -> str:
    """Methods as rows, metrics as columns; the best cell of each column has class ``best``."""
    head = ["<th>method</th>"]
    for m in metrics:
        way = _arrow(direction.get(m), " ↑", " ↓")
        sub = f"<br><small>n = {n[m]}</small>" if n and m in n else ""
        head.append(f"<th>{esc(m)}{way}{sub}</th>")
    body = []
    for k in sorted(rows):
        cells = [f"<th>{esc(k)}</th>"]
        for m in metrics:
            v = rows[k].get(m, math.nan)
            is_best = best.get(m) == k
            cls = "num best" if is_best else "num"
            mark = f'<span title="best {esc(m)}">{fmt(v)}</span>' if is_best else fmt(v)
            cells.append(f'<td class="{cls}" data-method="{esc(k)}" data-metric="{esc(m)}">'
                         f"{mark}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table class="{css}"><thead><tr>{"".join(head)}</tr></thead><tbody>'
            + "".join(body) + "</tbody></table>")


def _method_table(items: list[dict[str, Any]]) -> str:
    keys = sorted({(str(it["op"]), str(it["method"])) for it in items})
    rows = []
    for op, method in keys:
        mine = [it for it in items if it["op"] == op and it["method"] == method]
        ok = [it for it in mine if it["status"] == "ok"]
        secs = [float(it["seconds"]) for it in ok if isinstance(it.get("seconds"), int | float)]
        mean = fmt(sum(secs) / len(secs)) if secs else "–"
        rows.append(f"<tr><td>{esc(op)}</td><td>{esc(method)}</td><td class='num'>{len(ok)}</td>"
                    f"<td class='num'>{len(mine) - len(ok)}</td><td class='num'>{mean}</td></tr>")
    return ('<table class="methods"><thead><tr><th>op</th><th>method</th><th>ok</th>'
            "<th>failed</th><th>mean s</th></tr></thead><tbody>" + "".join(rows)
            + "</tbody></table>")


# --- sections -------------------------------------------------------------------------------
def _head(dst: Path, manifest: dict[str, Any], view_side: int) -> str:
    from .. import __version__

    title = f"expokit report: {dst.resolve().name}"
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>"
            + _CSS.replace("max-width:VIEWpx", f"max-width:{view_side}px")
            + "</style></head><body>\n"
            f"<header><h1>{esc(title)}</h1><p class='meta'>output folder {esc(dst.resolve())}"
            f" · sources {esc(manifest.get('src', '?'))} · updated "
            f"{esc(manifest.get('updated', '?'))} · expokit {esc(__version__)}</p></header>\n")


def _summary(manifest: dict[str, Any], brackets: list[Bracket], shown: int,
             ev: EvalResults | None) -> str:
    items = manifest["items"]
    skipped = manifest.get("skipped") or []
    status = Counter("ok" if it["status"] == "ok" else "failed" for it in items)
    ops = sorted({str(it["op"]) for it in items})
    methods = sorted({str(it["method"]) for it in items})
    out = ['<section id="summary"><h2>Summary</h2><ul class="counts">',
           f"<li>{len(brackets)} bracket(s)"
           + (f", first {shown} shown" if shown < len(brackets) else "") + "</li>",
           f'<li class="ok">{status["ok"]} ok</li>',
           f'<li class="failed">{status["failed"]} failed</li>',
           f"<li>{len(skipped)} skipped file(s)</li>",
           f"<li>ops: {esc(', '.join(ops) or '–')}</li>",
           f"<li>methods: {esc(', '.join(methods) or '–')}</li></ul>"]
    if items:
        out.append(_method_table(items))
    if ev is not None:
        out.append(f"<h3>Metrics</h3><p class='meta'>means per method from "
                   f"{esc(ev.folder / 'results.json')}; the best of each column is marked"
                   "</p>")
        out.append(metric_table(ev.mean, ev.metrics, ev.best, ev.higher_is_better, n=ev.n,
                                css="metrics eval"))
    out.append(_charts(items, ev))
    if skipped:
        out.append(f"<details><summary>{len(skipped)} skipped file(s)</summary>"
                   '<ul class="skipped">')
        for s in skipped:
            path = s.get("path", "?") if isinstance(s, dict) else s
            why = s.get("reason", "") if isinstance(s, dict) else ""
            out.append(f"<li><code>{esc(path)}</code>: {esc(why)}</li>")
        out.append("</ul></details>")
    if brackets:
        out.append("<h3>Brackets</h3><ol class='index'>")
        for i, b in enumerate(brackets[:shown]):
            bad = f' <span class="failed">({len(b.failed)} failed)</span>' if b.failed else ""
            out.append(f'<li><a href="#b-{i}">{esc(b.name)}</a>{bad}</li>')
        out.append("</ol>")
    out.append("</section>\n")
    return "".join(out)


def _figure(shown: Shown | str, *, ident: str, label: str, caption: str) -> str:
    if isinstance(shown, str):  # why it cannot be shown
        return (f'<figure><div class="missing">{esc(shown)}</div>'
                f"<figcaption>{esc(caption)}</figcaption></figure>")
    tw, th = shown.thumb_size
    vw, vh = shown.view_size
    extra = f" · {shown.note}" if shown.note else ""
    return (f'<figure><img src="{shown.thumb}" data-view="{shown.view}" data-id="{ident}" '
            f'data-label="{esc(label)}" data-w="{vw}" data-h="{vh}" width="{tw}" height="{th}" '
            f'alt="{esc(label)}" title="{esc(label)}: click to zoom">'
            f"<figcaption>{esc(caption)}<br>{shown.width}×{shown.height}{esc(extra)}"
            "</figcaption></figure>")


def _load(path: Path | None, *, radiance: bool, thumb_side: int, view_side: int,
          quality: int) -> Shown | str:
    if path is None:
        return "no output file listed"
    if not path.is_file():
        return f"missing: {path.name}"
    try:
        return show(path, radiance=radiance, thumb_side=thumb_side, view_side=view_side,
                    quality=quality)
    except InputError as exc:
        return f"unreadable: {exc}"


def _bracket_section(i: int, b: Bracket, dst: Path, src: Path, ev: EvalResults | None, *,
                     thumb_side: int, view_side: int, quality: int) -> str:
    out = [f'<section class="bracket" id="b-{i}" data-bracket="{esc(b.name)}">'
           f"<h2>{esc(b.name)}</h2>"]
    choices: list[tuple[str, str]] = []  # (data-id, label) of what the slider can show
    out.append(f"<h3>Inputs ({len(b.inputs)})</h3><div class='thumbs inputs'>")
    for j, rel in enumerate(b.inputs):
        shown = _load(src / rel, radiance=False, thumb_side=thumb_side, view_side=view_side,
                      quality=quality)
        name = rel.rsplit("/", 1)[-1]
        label = f"input: {name}"
        out.append(_figure(shown, ident=f"b{i}-i{j}", label=label, caption=name))
        if not isinstance(shown, str):
            choices.append((f"b{i}-i{j}", label))
    out.append("</div>")
    n_inputs = len(choices)
    out.append(f"<h3>Results ({len(b.results)})</h3><div class='thumbs results'>")
    for j, item in enumerate(b.results):
        out_rel = item.get("output")
        shown = _load(None if out_rel is None else dst / str(out_rel),
                      radiance=item["op"] == "merge", thumb_side=thumb_side,
                      view_side=view_side, quality=quality)
        label = f"{item['method']} ({item['op']})"
        secs = item.get("seconds")
        caption = label + (f" · {secs:.2f} s" if isinstance(secs, int | float) else "")
        out.append(_figure(shown, ident=f"b{i}-r{j}", label=label, caption=caption))
        if not isinstance(shown, str):
            choices.append((f"b{i}-r{j}", label))
    if not b.results:
        out.append("<p>no result</p>")
    out.append("</div>")
    if b.failed:
        out.append(f"<h3>Failed ({len(b.failed)})</h3><ul class='failures'>")
        for item in b.failed:
            out.append(f"<li><b>{esc(item['method'])}</b> ({esc(item['op'])}): "
                       f"<code>{esc(item.get('error') or 'no error recorded')}</code></li>")
        out.append("</ul>")
    if ev is not None and b.name in ev.per_bracket:
        rows = ev.per_bracket[b.name]
        best = {m: best_of({k: v.get(m, math.nan) for k, v in rows.items()},
                           ev.higher_is_better[m]) for m in ev.metrics}
        out.append("<h3>Metrics for this bracket</h3>")
        out.append(metric_table(rows, ev.metrics, best, ev.higher_is_better,
                                css="metrics bracket-metrics"))
    if len(choices) >= 2:
        left = choices[n_inputs // 2][0] if n_inputs else choices[0][0]
        right = choices[n_inputs][0] if len(choices) > n_inputs else choices[-1][0]
        if right == left:
            right = choices[-1][0] if choices[-1][0] != left else choices[0][0]

        def options(selected: str) -> str:
            return "".join(f'<option value="{c}"{" selected" if c == selected else ""}>'
                           f"{esc(label)}</option>" for c, label in choices)

        out.append("<h3>Compare</h3><div class='cmp'><div class='cmp-controls'>"
                   f"<label>left <select class='cmp-sel-left'>{options(left)}</select></label>"
                   "<input type='range' class='cmp-range' min='0' max='100' step='0.5' "
                   "value='50' aria-label='split position'>"
                   f"<label>right <select class='cmp-sel-right'>{options(right)}</select>"
                   "</label></div><div class='cmp-stage' title='drag to move the split; click "
                   "to zoom'><img class='cmp-left' alt='left image'><div class='cmp-over'>"
                   "<img class='cmp-right' alt='right image'></div><div class='cmp-bar'></div>"
                   "<span class='cmp-tag l'></span><span class='cmp-tag r'></span></div></div>")
    out.append("</section>\n")
    return "".join(out)


def _check_side(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 16 <= value <= 8192:
        raise InputError(f"{name} must be a whole number of pixels from 16 to 8192, got "
                         f"{value!r}")


def iter_report(dst: str | os.PathLike[str], *, eval_dir: str | os.PathLike[str] | None = None,
                thumb_side: int = THUMB_SIDE, view_side: int = VIEW_SIDE,
                limit: int | None = None, quality: int = QUALITY,
                on_bracket: Callable[[int, int], None] | None = None) -> Iterator[str]:
    """The page of :func:`build_report` in pieces: the head and summary, then one piece per
    bracket (its images read, encoded and dropped before the next bracket is read).

    Arguments and errors as :func:`build_report`; the checks run before the first piece.
    ``on_bracket(done, total)`` is called after each bracket's piece (a progress bar).
    """
    dst = Path(dst)
    _check_side("thumb_side", thumb_side)
    _check_side("view_side", view_side)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                              or limit < 1):
        raise InputError(f"limit must be a whole number >= 1 (or None for all), got {limit!r}")
    if not 1 <= quality <= 100:
        raise InputError(f"quality must be 1..100, got {quality!r}")
    manifest = read_manifest(dst)
    if eval_dir is None:
        found = dst / "eval"
        ev = read_eval(found) if (found / "results.json").is_file() else None
    else:
        ev = read_eval(Path(eval_dir))
    brackets = group_brackets(manifest["items"])
    shown = len(brackets) if limit is None else min(limit, len(brackets))
    src = Path(str(manifest.get("src", "")))
    return _pieces(dst, src, manifest, brackets, shown, ev, thumb_side=thumb_side,
                   view_side=view_side, quality=quality, on_bracket=on_bracket)


def _pieces(dst: Path, src: Path, manifest: dict[str, Any], brackets: list[Bracket], shown: int,
            ev: EvalResults | None, *, thumb_side: int, view_side: int, quality: int,
            on_bracket: Callable[[int, int], None] | None = None) -> Iterator[str]:
    yield _head(dst, manifest, view_side)
    yield _summary(manifest, brackets, shown, ev)
    if not src.is_dir():
        yield (f"<section><p class='failed'>The sources folder {esc(src)} is not there: the "
               "inputs are shown as missing.</p></section>\n")
    for i, b in enumerate(brackets[:shown]):
        yield _bracket_section(i, b, dst, src, ev, thumb_side=thumb_side, view_side=view_side,
                               quality=quality)
        if on_bracket is not None:
            on_bracket(i + 1, shown)
    yield ('<div id="zoom" class="zoom" hidden title="click or Escape to close"><img alt="zoomed '
           'image"><p class="zoom-cap"></p></div>\n<noscript><p>The comparison slider and the '
           f"zoom need JavaScript.</p></noscript><script>{_JS}</script></body></html>\n")


def build_report(dst: str | os.PathLike[str], *, eval_dir: str | os.PathLike[str] | None = None,
                 thumb_side: int = THUMB_SIDE, view_side: int = VIEW_SIDE,
                 limit: int | None = None, quality: int = QUALITY) -> str:
    """One self-contained HTML page showing an ``expokit batch`` output folder.

    Per bracket: its inputs as thumbnails, its results, its failures with their errors, its
    metrics (from ``results.csv``), and a before/after slider between any two of its images;
    at the top the counts, the skipped files, the ``expokit eval`` means with the best per
    metric marked, and a summary chart (inline SVG). Every image is an embedded base64 JPEG
    (display-referred 8-bit sRGB; radiance tone-mapped with Reinhard's global operator); the
    page loads nothing (a Content-Security-Policy forbids it) and opens from ``file://``.

    Size: the page grows by each bracket's thumbnails and view images, base64-encoded
    (measured: 0.34 MB for a bracket of 3 shots and 2 results of a synthetic 1500 x 1000 scene
    at the defaults, 0.16 MB with ``view_side=512``; detailed photos compress less), so 100
    brackets make a page of some 35-100 MB; use ``limit`` or a smaller ``view_side`` for big
    folders. Memory holds one bracket's images at a time (:func:`write_report_html` also
    writes the page one bracket at a time; this function returns the whole text).

    Args:
        dst: the folder ``expokit batch`` wrote (holds ``manifest.json``).
        eval_dir: the folder ``expokit eval`` wrote (``results.json``, ``results.csv``);
            default ``dst/eval`` when it holds a results.json, else no metrics.
        thumb_side: long side of the thumbnails, pixels.
        view_side: long side of the images in the slider and the zoom, pixels.
        limit: show only the first ``limit`` brackets (sorted by name); None: all.
        quality: JPEG quality of the embedded images, 1..100.

    Returns:
        The HTML text.

    Raises:
        InputError: when ``dst`` is missing, holds no manifest or not an expokit batch
            manifest, ``eval_dir`` holds no results.json, or an option is out of range. An
            image file that is missing or unreadable is shown as such in the page instead.
    """
    return "".join(iter_report(dst, eval_dir=eval_dir, thumb_side=thumb_side,
                               view_side=view_side, limit=limit, quality=quality))


def write_report_html(dst: str | os.PathLike[str], output: str | os.PathLike[str], *,
                      eval_dir: str | os.PathLike[str] | None = None,
                      thumb_side: int = THUMB_SIDE, view_side: int = VIEW_SIDE,
                      limit: int | None = None, quality: int = QUALITY,
                      overwrite: bool = False,
                      on_bracket: Callable[[int, int], None] | None = None) -> Path:
    """Write :func:`build_report`'s page to ``output`` (atomically), one bracket at a time.

    Args:
        dst, eval_dir, thumb_side, view_side, limit, quality: as :func:`build_report`.
        output: the ``.html`` file to write.
        overwrite: replace ``output`` when it exists.
        on_bracket: called with ``(brackets done, brackets)`` as the page is written.

    Returns:
        ``output`` as a Path.

    Raises:
        InputError: as :func:`build_report`; when ``output`` is not ``.html``, is a folder, or
            exists and ``overwrite`` is False.
    """
    from ..io import atomic_path

    out = Path(output)
    if out.suffix.lower() != ".html":
        raise InputError(f"output {out.name}: the report is an HTML page; give a name ending "
                         "in .html")
    if out.is_dir():
        raise InputError(f"output {out} is a folder; give a file name inside it")
    if out.exists() and not overwrite:
        raise InputError(f"{out} exists: pass overwrite=True to replace it, or choose another "
                         "path")
    pieces = iter_report(dst, eval_dir=eval_dir, thumb_side=thumb_side, view_side=view_side,
                         limit=limit, quality=quality, on_bracket=on_bracket)
    with atomic_path(out) as tmp, tmp.open("w", encoding="utf-8") as f:
        for piece in pieces:
            f.write(piece)
    return out
