"""Shared fixtures: the real-data folder (EXPOKIT_DATA, default ../shared/data)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    """The one configurable path to real data: $EXPOKIT_DATA or ../shared/data."""
    return Path(os.environ.get("EXPOKIT_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    root = data_root()
    if not root.is_dir():
        pytest.skip(f"real data folder {root} is absent (set EXPOKIT_DATA to use it)")
    return root


def need(root: Path, rel: str) -> Path:
    """Path of a data-set folder or file under ``root``, skipping the test when absent."""
    p = root / rel
    if not p.exists():
        pytest.skip(f"{p} is absent (set EXPOKIT_DATA to a folder that has {rel})")
    return p


@dataclass
class CliResult:
    """What ``expokit ARGS`` returned: exit code and what it printed on each stream."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: object, cwd: Path | None = None) -> CliResult:
    """Run ``expokit ARGS`` in this process (typer's runner): the CLI tests would otherwise start
    a Python (and import torch) per call. ``tests/test_cli.py`` keeps one real subprocess test
    of the installed entry point."""
    from typer.testing import CliRunner

    from expokit.cli import app

    try:
        runner = CliRunner(mix_stderr=False)  # click < 8.2 mixes the streams by default
    except TypeError:
        runner = CliRunner()  # click >= 8.2 always keeps stderr apart
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = runner.invoke(app, [str(a) for a in args])
    finally:
        os.chdir(old)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        stderr += "".join(traceback.format_exception(result.exception))
    return CliResult(result.exit_code, result.stdout, stderr)
