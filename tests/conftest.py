"""Shared fixtures: the real-data folder (EXPOKIT_DATA, default ../shared/data)."""

from __future__ import annotations

import os
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
