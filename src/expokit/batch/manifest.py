"""The batch manifest: one row per item in ``DST/manifest.json``, and the per-item records the
workers write so that nothing finished is lost when the client dies.

A worker that finishes an item (well or not) writes its record atomically to
``DST/.expokit-batch/records/<hash of key>.json`` before returning it. The client merges the
returned records into the manifest, saves it atomically now and then and at the end, and then
removes the records it holds. A client killed mid-run therefore loses nothing: the next run
reads the manifest and the records left over. The format is in docs/batch.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import InputError

MANIFEST = "manifest.json"
FORMAT = "expokit-batch-manifest"
VERSION = 1
#: The hidden folder in DST: the lock file and the records not yet in the manifest.
STATE = ".expokit-batch"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def record_path(dst: Path, key: str) -> Path:
    digest = hashlib.sha1(key.encode()).hexdigest()[:20]
    return dst / STATE / "records" / f"{digest}.json"


def write_json(path: Path, data: Any) -> None:
    """``data`` as JSON to ``path``, atomically."""
    from ..io import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")


#: The keys every item row has (the report and ``eval``'s layout ``batch`` rely on them).
ITEM_KEYS = ("key", "bracket", "op", "method", "inputs", "output", "status")


def read_manifest(dst: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a batch output folder (``DST/manifest.json``), checked.

    Returns:
        The manifest: ``format``, ``version``, ``src``, ``updated``, ``items`` (one dict per
        item, with at least :data:`ITEM_KEYS`) and ``skipped``.

    Raises:
        InputError: when ``dst`` is missing or not a folder, holds no ``manifest.json``, or the
            file is not JSON, not an expokit batch manifest, of another version, or an item
            lacks a key.
    """
    folder = Path(dst)
    if not folder.exists():
        raise InputError(f"{folder} does not exist: give the output folder of `expokit batch` "
                         "(the DST it wrote)")
    if not folder.is_dir():
        raise InputError(f"{folder} is a file: give the output folder of `expokit batch` (the "
                         "DST holding manifest.json)")
    path = folder / MANIFEST
    if not path.is_file():
        raise InputError(f"{folder} holds no {MANIFEST}: it is not an `expokit batch` output "
                         "folder (run expokit batch SRC -o DST first)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path} is not valid JSON ({exc}): it is not an expokit batch manifest"
                         "; delete it to start over") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        got = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise InputError(f"{path} is not an expokit batch manifest (format {got!r}, expected "
                         f"{FORMAT!r}); choose another output folder")
    if data.get("version") != VERSION:
        raise InputError(f"{path} is version {data.get('version')!r} of the batch manifest; "
                         f"this expokit reads version {VERSION}: update expokit")
    items, skipped = data.get("items"), data.get("skipped", [])
    if not isinstance(items, list) or not isinstance(skipped, list):
        raise InputError(f"{path}: 'items' and 'skipped' must be lists; the file is damaged "
                         "(delete it and rerun expokit batch)")
    for i, item in enumerate(items):
        missing = [k for k in ITEM_KEYS if not isinstance(item, dict) or k not in item]
        if missing:
            raise InputError(f"{path}: item {i + 1} has no {', '.join(missing)}; the file is "
                             "damaged (delete it and rerun expokit batch)")
    return data


def load_state(dst: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The manifest of ``dst`` (a new one if absent) and its items by key, with the records
    that an interrupted run left over merged in (a record is newer than the manifest's row)."""
    if (dst / MANIFEST).exists():
        manifest = read_manifest(dst)
    else:
        manifest = {"format": FORMAT, "version": VERSION, "src": None, "updated": None,
                    "items": [], "skipped": []}
    rows = {r["key"]: r for r in manifest["items"]}
    for rec in leftover_records(dst):
        rows[rec["key"]] = rec
    return manifest, rows


def leftover_records(dst: Path) -> Iterator[dict[str, Any]]:
    folder = dst / STATE / "records"
    if not folder.is_dir():
        return
    for p in sorted(folder.glob("*.json")):
        try:
            rec = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a record is written atomically: an unreadable one is not ours
        if isinstance(rec, dict) and "key" in rec:
            yield rec


def save(dst: Path, manifest: dict[str, Any], rows: Mapping[str, dict[str, Any]], *,
         drop_records: bool = False) -> None:
    """Write the manifest with ``rows`` (sorted by key); then, if ``drop_records``, remove the
    records it now holds."""
    manifest = {**manifest, "updated": now(), "items": [rows[k] for k in sorted(rows)]}
    write_json(dst / MANIFEST, manifest)
    if drop_records:
        for key in rows:
            with contextlib.suppress(FileNotFoundError):
                record_path(dst, key).unlink()


def input_stats(src: Path, inputs: Iterable[str], *, hashes: Mapping[str, dict[str, Any]]
                | None = None) -> list[dict[str, Any]]:
    """Path, size, modification time and SHA-256 of each input file.

    ``hashes`` (``{path: earlier entry}``) spares re-reading a file whose size and modification
    time are unchanged, as ``make`` and ``rsync`` trust them.
    """
    from ..nn.runtime import file_sha256

    out = []
    for rel in inputs:
        st = (src / rel).stat()
        old = (hashes or {}).get(rel)
        if old and old.get("size") == st.st_size and old.get("mtime_ns") == st.st_mtime_ns:
            digest = old["sha256"]
        else:
            digest = file_sha256(src / rel)
        out.append({"path": rel, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                    "sha256": digest})
    return out


def why_redo(row: Mapping[str, Any] | None, inputs: tuple[str, ...], params: Mapping[str, Any],
             src: Path, dst: Path) -> str | None:
    """Why an item must be (re)done, or None when its row says it is done and still valid.

    Done means: it finished well, with the same parameters, from the same input files with
    the same contents (SHA-256, checked again only where size or time changed), and its output
    is still there with the size it was written with.
    """
    if row is None:
        return "new"
    if row.get("status") != "ok":
        return "failed before"
    if row.get("params") != params:
        return "parameters changed"
    old = row.get("inputs") or []
    if [i.get("path") for i in old] != list(inputs):
        return "inputs changed"
    out = dst / str(row.get("output"))
    if not out.is_file() or out.stat().st_size != row.get("output_size"):
        return "output missing or changed"
    try:
        now_stats = input_stats(src, inputs, hashes={i["path"]: i for i in old})
    except OSError:
        return "inputs changed"
    if [i["sha256"] for i in now_stats] != [i.get("sha256") for i in old]:
        return "inputs changed"
    return None


@contextlib.contextmanager
def lock(dst: Path) -> Iterator[None]:
    """Hold ``DST/.expokit-batch/lock`` for the run, so two batch runs never share one DST.

    An OS file lock (``flock``): it ends with the process, so a killed run leaves no stale lock.
    """
    path = dst / STATE / "lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = path.open("a+")
    try:
        try:
            import fcntl
        except ImportError:  # Windows: no lock, as before this existed
            yield
            return
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise InputError(f"{dst} is in use by another expokit batch run ({holder}); wait "
                             "for it to end or choose another -o folder") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {os.uname().nodename}, since {now()}")
        fh.flush()
        yield
    finally:
        fh.close()
