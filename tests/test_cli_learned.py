"""CLI plumbing of the learned-model commands that needs no trained model."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from expokit.cli import parse_overrides
from expokit.errors import InputError


def test_overrides_are_toml_values():
    got = parse_overrides(["loop.steps=10", "loop.lr=1e-3", "data.name=abc", "loop.flip=true",
                           "data.evs=[-1, 1]"])
    assert got == {"loop.steps": 10, "loop.lr": 1e-3, "data.name": "abc", "loop.flip": True,
                   "data.evs": [-1, 1]}


def test_override_without_equals_is_refused():
    with pytest.raises(InputError, match="KEY=VALUE"):
        parse_overrides(["loop.steps"])


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "expokit", *args], capture_output=True,
                          text=True, timeout=300, check=False)


def test_score_learned_metric_without_checkpoint_exits_3(tmp_path):
    img = tmp_path / "x.png"
    cv2.imwrite(str(img), np.full((40, 40, 3), 128, np.uint8))
    proc = run("score", str(img), "-m", "musiq")
    assert proc.returncode == 3, proc.stderr
    assert "--checkpoint musiq=PATH" in proc.stderr and "Traceback" not in proc.stderr


def test_score_checkpoint_option_names_learned_metrics(tmp_path):
    proc = run("score", "x.png", "-m", "musiq", "--checkpoint", "psnr=a.pth")
    assert proc.returncode == 2
    assert "musiq, dbcnn" in proc.stderr
