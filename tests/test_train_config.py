"""Frozen dataclass configs: TOML loading, unknown keys, types, overrides, round trip."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # python 3.10
    import tomli as tomllib

from expokit.errors import InputError, MissingResourceError
from expokit.train.config import config_to_dict, default_data_root, dump_config, load_config


@dataclass(frozen=True)
class Data:
    root: Path = Path("data")
    crop: int = 64
    exposures: tuple[float, ...] = (-2.0, 0.0, 2.0)
    size: tuple[int, int] = (32, 48)


@dataclass(frozen=True)
class Model:
    kind: Literal["small", "large"] = "small"
    width: int = 16
    dropout: float | None = None
    scale: float = 1.0


@dataclass(frozen=True)
class Run:
    name: str = "run"
    verbose: bool = False
    data: Data = field(default_factory=Data)
    model: Model = field(default_factory=Model)
    weights: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Needs:
    seed: int


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "cfg.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_and_partial_file(tmp_path):
    assert load_config(Run) == Run()
    p = write(tmp_path, "[data]\ncrop = 128\nexposures = [-1, 1]\n[model]\nscale = 2\n")
    cfg = load_config(Run, p)
    assert cfg.data == Data(crop=128, exposures=(-1.0, 1.0))
    assert cfg.model.scale == 2.0 and isinstance(cfg.model.scale, float)  # int accepted
    assert isinstance(cfg.data.exposures, tuple) and isinstance(cfg.data.root, Path)
    assert cfg.name == "run" and cfg.model == Model(scale=2.0)


def test_unknown_key_names_key_section_file_and_suggestion(tmp_path):
    p = write(tmp_path, "[model]\nwidht = 3\n")
    with pytest.raises(InputError) as err:
        load_config(Run, p)
    msg = str(err.value)
    assert "unknown key 'widht'" in msg and "[model]" in msg and str(p) in msg
    assert "did you mean 'width'?" in msg and "kind, width, dropout, scale" in msg
    with pytest.raises(
        InputError, match=r"unknown key 'nmae' in the top level of the given.*'name'"
    ):
        load_config(Run, {"nmae": "x"})
    with pytest.raises(InputError, match=r"unknown key 'zzz'.*Valid keys in \[data\]"):
        load_config(Run, {"data": {"zzz": 1}})


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        ({"data": {"crop": "64"}}, r"'data.crop'.*expected int, got str"),
        ({"data": {"crop": 64.0}}, r"'data.crop'.*without a decimal point: 64"),
        ({"data": {"crop": True}}, r"'data.crop'.*expected int, got bool"),
        ({"model": {"scale": "1"}}, r"'model.scale'.*expected float, got str"),
        ({"model": {"kind": "huge"}}, r"'model.kind'.*choose one of 'small', 'large'"),
        ({"verbose": 1}, r"'verbose'.*write true or false"),
        ({"data": {"size": [1, 2, 3]}}, r"'data.size'.*exactly 2 values"),
        ({"data": {"exposures": "0"}}, r"'data.exposures'.*array"),
        ({"data": {"exposures": [0, "a"]}}, r"'data.exposures\[1\]'.*expected float"),
        ({"data": 3}, r"'data'.*table \[data\]"),
        ({"weights": {"a": "x"}}, r"'weights.a'.*expected float"),
    ],
)
def test_wrong_types(data, pattern):
    with pytest.raises(InputError, match=pattern):
        load_config(Run, data)


def test_required_missing_and_bad_files(tmp_path):
    with pytest.raises(InputError, match="required key 'seed' is missing"):
        load_config(Needs, {})
    assert load_config(Needs, {"seed": 3}) == Needs(3)
    with pytest.raises(InputError, match="does not exist"):
        load_config(Run, tmp_path / "nope.toml")
    with pytest.raises(InputError, match="not valid TOML"):
        load_config(Run, write(tmp_path, "[model\nwidth = 3"))


def test_overrides():
    cfg = load_config(Run, {"model": {"width": 3}}, **{"data.crop": 10, "model.kind": "large"})
    assert cfg.model == Model(kind="large", width=3) and cfg.data.crop == 10
    # Command-line strings are parsed as TOML values for non-string fields.
    cfg = load_config(Run, None, **{"data.crop": "12", "data.exposures": "[1, 2.5]", "name": "7"})
    assert cfg.data.crop == 12 and cfg.data.exposures == (1.0, 2.5) and cfg.name == "7"
    assert load_config(Run, None, **{"model.dropout": "0.1"}).model.dropout == 0.1
    with pytest.raises(InputError, match="unknown key 'crp'.*did you mean 'crop'"):
        load_config(Run, None, **{"data.crp": 1})
    with pytest.raises(InputError, match="'name.x': 'name' is not a section"):
        load_config(Run, {"name": "a"}, **{"name.x": 1})


def test_nested_instances_accepted():
    model = Model(width=2)
    assert load_config(Run, {"model": model}).model is model


def test_inputs_not_modified():
    src = {"data": {"crop": 8}}
    load_config(Run, src, **{"data.crop": 9})
    assert src == {"data": {"crop": 8}}


def test_dump_round_trip(tmp_path):
    cfg = Run(
        name='tricky "name"\twith\\ escapes é',
        verbose=True,
        data=Data(root=Path("/tmp/x y"), crop=7, exposures=(0.1, 1e-7, 3.0), size=(1, 2)),
        model=Model(kind="large", dropout=0.25, scale=math.inf),
        weights={"mef ssim": 1.0, "l1": 0.5},
    )
    path = tmp_path / "sub" / "config.toml"
    dump_config(cfg, path)
    assert load_config(Run, path) == cfg
    # The file is plain TOML: the standard parser reads the same values.
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    assert raw["data"]["root"] == "/tmp/x y" and raw["model"]["scale"] == math.inf
    assert raw["weights"] == {"mef ssim": 1.0, "l1": 0.5}
    assert "dropout" not in tomllib.loads(path.read_text().replace("dropout = 0.25", ""))["model"]
    # None is written by omitting the key (its default is None).
    dump_config(Run(), path)
    assert load_config(Run, path) == Run()
    assert not list(path.parent.glob("*.tmp"))


def test_config_to_dict():
    d = config_to_dict(Run(data=Data(root=Path("a/b"))))
    assert d["data"] == {"root": "a/b", "crop": 64, "exposures": [-2.0, 0.0, 2.0], "size": [32, 48]}
    assert d["model"]["dropout"] is None
    with pytest.raises(InputError, match="dataclass instance or a mapping"):
        config_to_dict(3)


def test_none_with_non_none_default_cannot_be_dumped(tmp_path):
    @dataclass(frozen=True)
    class Odd:
        x: int | None = 5

    with pytest.raises(InputError, match="'x' is None but its default is 5"):
        dump_config(Odd(x=None), tmp_path / "o.toml")


@dataclass(frozen=True)
class Stage:
    name: str = "s"
    lr: float | None = None


@dataclass(frozen=True)
class Staged:
    stages: tuple[Stage, ...] = (Stage("a", 0.1), Stage("b"))
    maybe: Model | None = None


def test_tuple_of_tables_round_trip(tmp_path):
    cfg = Staged(stages=(Stage("x", 1e-4), Stage("y")), maybe=Model(width=3))
    dump_config(cfg, tmp_path / "s.toml")
    assert load_config(Staged, tmp_path / "s.toml") == cfg
    dump_config(Staged(), tmp_path / "d.toml")
    assert load_config(Staged, tmp_path / "d.toml") == Staged()


def test_data_root_comes_from_the_caller_or_the_environment(monkeypatch, tmp_path):
    """An installed library knows no repository: without $EXPOKIT_DATA (or a config's
    data_root) it asks for one instead of guessing a folder relative to its own files."""
    monkeypatch.setenv("EXPOKIT_DATA", str(tmp_path))
    assert default_data_root() == tmp_path
    monkeypatch.delenv("EXPOKIT_DATA")
    with pytest.raises(MissingResourceError, match=r"data\.data_root.*EXPOKIT_DATA"):
        default_data_root()


def test_a_partial_table_keeps_the_fields_own_defaults():
    # UEC's run config gives its loop lr 2e-3 in the field's default; overriding one other loop
    # key used to rebuild the table from LoopConfig's class defaults (lr 1e-3).
    from expokit.train.uec import UECTrainConfig

    default = UECTrainConfig().loop
    for cfg in (load_config(UECTrainConfig, {"loop": {"steps": 10}}),
                load_config(UECTrainConfig, None, **{"loop.steps": 10})):
        assert cfg.loop.steps == 10
        assert cfg.loop.lr == default.lr and cfg.loop.warmup_steps == default.warmup_steps
        assert cfg.loop.threads == default.threads
