"""Training recipes (expokit.train.recipe): the table, the runner, old configs still load."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from expokit.errors import InputError, MissingResourceError  # noqa: E402
from expokit.train import recipe as rc  # noqa: E402
from expokit.train.config import config_to_dict  # noqa: E402
from expokit.train.loop import LoopConfig  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "src" / "expokit" / "models" / "weights"


def test_table_lists_the_models_and_reading_it_needs_no_torch():
    assert sorted(rc.RECIPES) == ["ahdr", "deepfuse", "hcmef", "lut", "uec"]
    for name, entry in rc.RECIPES.items():
        assert entry.load().name == name and entry.summary and name in entry.example
    code = ("import sys, expokit.train as t; names = sorted(t.RECIPES); "
            "print(names, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['ahdr', 'deepfuse', 'hcmef', 'lut', 'uec'] False"


def test_unknown_recipe_and_missing_config_are_clear_errors(tmp_path):
    names = "ahdr, deepfuse, hcmef, lut, uec"
    with pytest.raises(InputError, match=f"no training recipe called 'deepfuze'.*{names}"):
        rc.get_recipe("deepfuze")
    with pytest.raises(InputError, match="does not exist.*configs/uec.toml"):
        rc.run_recipe("uec", tmp_path / "none.toml", tmp_path / "run")
    with pytest.raises(MissingResourceError, match="train first"):
        rc.export_run("deepfuse", tmp_path / "empty", tmp_path / "w")


def test_model_config_takes_the_models_defaults():
    # independent reference: the paper's DeepFuse has 88,961 parameters (Prabhakar et al. 2017)
    from expokit.models.deepfuse import DeepFuse
    from expokit.train.deepfuse import ModelConfig

    recipe = rc.get_recipe("deepfuse")
    model = recipe.build_model(recipe.config_cls())
    assert sum(p.numel() for p in model.parameters()) == 88961
    assert isinstance(model, DeepFuse) and ModelConfig().k2 == 7
    with pytest.raises(InputError, match="did you mean 'c1'"):
        rc.load_run_config("deepfuse", {"model": {"c11": 8}})


@pytest.mark.parametrize(("name", "files"), [
    ("deepfuse", ["configs/deepfuse_3k.toml", "configs/deepfuse.toml"]),
    ("uec", ["configs/uec.toml"]),
    ("lut", ["configs/lut.toml"]),
    ("hcmef", ["configs/hcmef.toml"]),
])
def test_shipped_configs_and_weight_records_load(name, files):
    cls = rc.get_recipe(name).config_cls
    shipped = [rc.load_run_config(name, ROOT / f) for f in files]
    records = sorted(WEIGHTS.glob(f"{name}*.json"))
    assert records
    for path in records:
        cfg = rc.load_run_config(name, json.loads(path.read_text(encoding="utf-8"))["config"])
        assert isinstance(cfg, cls)
    # the shipped TOML files are the defaults; the records differ only where a run said so
    assert shipped[0] == cls()


def test_deepfuse_stage_two_differs_from_stage_one_only_where_its_comment_says():
    # configs/deepfuse.toml continues configs/deepfuse_3k.toml (the paper's network from
    # scratch, the defaults): from its weights, with the learned merge, N = 2..6, the
    # hdr_cc0_more radiance maps, more simulated brackets, more steps at a lower rate
    one = rc.load_run_config("deepfuse", ROOT / "configs" / "deepfuse_3k.toml")
    two = rc.load_run_config("deepfuse", ROOT / "configs" / "deepfuse.toml")
    assert (one.init, two.init) == ("", "deepfuse_3k")
    assert replace(two.model, merge="mean") == one.model and two.model.merge == "softmax"
    assert replace(two.data, n_inputs=one.data.n_inputs, sim_sources=one.data.sim_sources,
                   sim_pool=one.data.sim_pool) == one.data
    assert two.data.n_inputs == (2, 3, 4, 5, 6)
    assert two.data.sim_sources == (*one.data.sim_sources, "hdr_cc0_more/*.exr")
    assert replace(two.loop, steps=one.loop.steps, lr=one.loop.lr,
                   val_every=one.loop.val_every) == one.loop


def test_ahdr_configs_differ_only_in_transfer():
    # configs/ahdr_skt.toml says it is the fair comparison of configs/ahdr.toml: same model,
    # data, steps and seed; its transfer section is the documented defaults, switched on
    from expokit.train.ahdr import TransferConfig

    alone = rc.load_run_config("ahdr", ROOT / "configs" / "ahdr.toml")
    skt = rc.load_run_config("ahdr", ROOT / "configs" / "ahdr_skt.toml")
    assert alone.transfer == TransferConfig()
    assert skt.transfer == TransferConfig(enabled=True)
    assert (skt.model, skt.data, skt.loop) == (alone.model, alone.data, alone.loop)
    assert alone.data == rc.get_recipe("ahdr").config_cls().data
    # the model size the configs' comment states: 91,331 parameters (counted by hand in
    # tests/test_ahdr.py)
    model = rc.get_recipe("ahdr").build_model(alone)
    assert sum(p.numel() for p in model.parameters()) == 91331
    assert model.spgrm is None and rc.get_recipe("ahdr").build_model(skt).spgrm is not None


# --- a toy recipe: the runner knows no model by name and resumes bit-exactly -----------------
@dataclass(frozen=True)
class ToyData:
    scale: float = 2.0


@dataclass(frozen=True)
class ToyConfig:
    data: ToyData = field(default_factory=ToyData)
    loop: LoopConfig = field(default_factory=lambda: LoopConfig(
        steps=6, batch_size=5, lr=0.05, warmup_steps=1, val_every=3, ckpt_every=2, log_every=1,
        device="cpu", threads=1))


_STOP: dict[str, int | None] = {"at": None}  # a step at which the toy data "crash" once


def _toy_recipe() -> rc.Recipe:
    def batch_fn_for(cfg, data):
        def batch_fn(step, rng):
            if step == _STOP["at"]:
                _STOP["at"] = None
                raise KeyboardInterrupt  # Ctrl-C: the loop saves step 3 and re-raises
            x = rng.standard_normal((cfg.loop.batch_size, 3)).astype(np.float32)
            return torch.from_numpy(x), torch.from_numpy(data["w"] @ x.T * cfg.data.scale)

        return batch_fn

    def loss(cfg, model, batch):
        x, y = batch
        return ((model(x)[:, 0] - y) ** 2).mean()

    def export(run, dest):
        dest.with_suffix(".txt").write_text(f"{run.step} {run.config.data.scale}")
        return "toy"

    return rc.Recipe(
        name="toy", config_cls=ToyConfig,
        build_model=lambda cfg: torch.nn.Linear(3, 1),
        prepare_data=lambda cfg: {"w": np.array([1.0, -2.0, 0.5], np.float32)},
        data_record=lambda cfg, data: {"summary": "toy"},
        make_batch_fn=batch_fn_for, loss=loss,
        validate=lambda cfg, model, data: {"w0": float(model.weight[0, 0])},
        export=export)


def test_run_recipe_resumes_bit_exactly_and_exports(tmp_path, monkeypatch):
    monkeypatch.setitem(rc.RECIPES, "toy", rc.RecipeEntry("a toy", "toy", _toy_recipe))
    whole = rc.run_recipe("toy", None, tmp_path / "whole", progress=False)
    assert whole.train.step == 6 and whole.sha256 is None
    _STOP["at"] = 3
    with pytest.raises(KeyboardInterrupt):
        rc.run_recipe("toy", config_to_dict(ToyConfig()), tmp_path / "part", progress=False)
    assert torch.load(tmp_path / "part" / "checkpoint.pt", weights_only=True)["step"] == 3
    done = rc.run_recipe("toy", ToyConfig(), tmp_path / "part", progress=False,
                         export=tmp_path / "w.safetensors")
    a = torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "part" / "checkpoint.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)  # resumed == uninterrupted, to the bit
    assert done.train.val == whole.train.val
    assert done.sha256 == "toy" and (tmp_path / "w.txt").read_text() == "6 2.0"
    assert json.loads((tmp_path / "part" / "data.json").read_text()) == {"summary": "toy"}
    with pytest.raises(InputError, match="different run_config.*data.scale"):
        rc.run_recipe("toy", ToyConfig(), tmp_path / "part", overrides={"data.scale": 3.0},
                      progress=False)
