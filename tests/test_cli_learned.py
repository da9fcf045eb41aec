"""CLI plumbing of the learned-model commands that needs no trained model."""

from __future__ import annotations

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
