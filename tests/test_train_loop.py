"""Training loop: loss decreases, exact resume, Ctrl-C checkpoint, CSV log, config checks."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
from torch import nn

from expokit.errors import InputError
from expokit.train.config import load_config
from expokit.train.loop import LoopConfig, lr_factor, train

torch.set_num_threads(1)

# y = x @ W_TRUE + 0.5: a linear regression the model can fit exactly.
W_TRUE = np.array([[1.5], [-2.0], [0.25], [3.0]], dtype=np.float32)


def batch_fn(step: int, rng: np.random.Generator):
    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = x @ W_TRUE + 0.5
    return torch.from_numpy(x), torch.from_numpy(y)


def mse(model: nn.Module, batch) -> torch.Tensor:
    x, y = batch
    return torch.mean((model(x) - y) ** 2)


class Net(nn.Module):
    """Linear layer + dropout, so the torch RNG state matters for exact resumption."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 8)
        self.drop = nn.Dropout(0.1)
        self.out = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.drop(self.lin(x)))


def make_net(seed: int = 1) -> Net:
    torch.manual_seed(seed)
    return Net()


@dataclass(frozen=True)
class RunConfig:
    name: str = "tiny"
    loop: LoopConfig = field(default_factory=LoopConfig)


def val_fn(model: nn.Module) -> dict[str, float]:
    rng = np.random.default_rng(123)
    x = torch.from_numpy(rng.standard_normal((64, 4)).astype(np.float32))
    y = x @ torch.from_numpy(W_TRUE) + 0.5
    assert not model.training and not torch.is_grad_enabled()
    return {"mse": float(torch.mean((model(x) - y) ** 2))}


def read_log(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_loss_decreases_and_log(tmp_path):
    cfg = LoopConfig(steps=200, lr=0.02, val_every=100, ckpt_every=50, log_every=20)
    res = train(
        Net(),
        loss_fn=mse,
        batch_fn=batch_fn,
        config=cfg,
        out_dir=tmp_path,
        validate_fn=val_fn,
        progress=False,
    )
    assert res.step == 200
    rows = read_log(res.log_path)
    assert [int(r["step"]) for r in rows] == list(range(20, 201, 20))
    assert list(rows[0])[:4] == ["step", "loss", "lr", "seconds"]
    first, last = float(rows[0]["loss"]), float(rows[-1]["loss"])
    # The target variance is 1.5^2 + 2^2 + 0.25^2 + 3^2 = 15.3: an untrained net is far off.
    assert first > 3.0 and last < 0.1 * first
    assert rows[4]["val_mse"] != "" and rows[9]["val_mse"] != "" and rows[0]["val_mse"] == ""
    assert res.val["mse"] == pytest.approx(float(rows[-1]["val_mse"]), rel=1e-6)
    # The lr column follows the cosine schedule: step 20 used lr * 0.5 (1 + cos(pi 19 / 200)).
    assert float(rows[0]["lr"]) == pytest.approx(0.02 * 0.5 * (1 + math.cos(math.pi * 19 / 200)))
    assert res.checkpoint.is_file() and (tmp_path / "config.toml").is_file()
    ckpt = torch.load(res.checkpoint, weights_only=True)
    assert ckpt["step"] == 200


def test_resume_equals_uninterrupted(tmp_path):
    cfg = LoopConfig(steps=40, lr=0.01, warmup_steps=5, ckpt_every=7, log_every=5, grad_clip=1.0)
    run = RunConfig(loop=cfg)
    full = make_net()
    train(full, loss_fn=mse, batch_fn=batch_fn, config=cfg, out_dir=tmp_path / "a",
          run_config=run, progress=False)  # fmt: skip

    def stopping_batch_fn(step, rng):
        if step == 22:
            raise KeyboardInterrupt
        return batch_fn(step, rng)

    with pytest.raises(KeyboardInterrupt):
        train(make_net(), loss_fn=mse, batch_fn=stopping_batch_fn, config=cfg,
              out_dir=tmp_path / "b", run_config=run, progress=False)  # fmt: skip
    ckpt = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 22  # Ctrl-C at step 22 saved the 22 completed steps

    # Scramble global RNG state: the checkpoint must restore it.
    torch.manual_seed(999)
    np.random.seed(999)
    resumed = make_net(seed=5)  # a different init: the checkpoint replaces it
    res = train(resumed, loss_fn=mse, batch_fn=batch_fn, config=cfg, out_dir=tmp_path / "b",
                run_config=run, progress=False)  # fmt: skip
    assert res.step == 40
    resumed_state = resumed.state_dict()
    for name, a in full.state_dict().items():
        assert torch.equal(a, resumed_state[name]), name
    # Sanity: the 22-step checkpoint really is a different state from the 40-step one.
    assert not torch.equal(ckpt["model"]["out.weight"], resumed_state["out.weight"])
    rows_a = read_log(tmp_path / "a" / "log.csv")
    rows_b = read_log(tmp_path / "b" / "log.csv")
    assert [r["step"] for r in rows_b] == [r["step"] for r in rows_a]  # no duplicated steps
    assert [r["loss"] for r in rows_b] == [r["loss"] for r in rows_a]


def test_resume_refuses_other_run_config(tmp_path):
    cfg = LoopConfig(steps=5, log_every=5)
    train(make_net(), loss_fn=mse, batch_fn=batch_fn, config=cfg, out_dir=tmp_path,
          run_config=RunConfig(loop=cfg), progress=False)  # fmt: skip
    with pytest.raises(InputError, match=r"different run_config \(differs in name\).*new out_dir"):
        train(make_net(), loss_fn=mse, batch_fn=batch_fn, config=cfg, out_dir=tmp_path,
              run_config=RunConfig(name="other", loop=cfg), progress=False)  # fmt: skip
    with pytest.raises(InputError, match=r"different loop settings \(lr: 0.001 -> 0.5\)"):
        train(make_net(), loss_fn=mse, batch_fn=batch_fn, config=LoopConfig(steps=5, lr=0.5),
              out_dir=tmp_path, run_config=RunConfig(loop=cfg), progress=False)  # fmt: skip
    # resume=False starts over and overwrites.
    res = train(
        make_net(),
        loss_fn=mse,
        batch_fn=batch_fn,
        config=cfg,
        out_dir=tmp_path,
        run_config=RunConfig(name="other", loop=cfg),
        resume=False,
        progress=False,
    )
    assert res.step == 5
    assert load_config(RunConfig, tmp_path / "config.toml") == RunConfig(name="other", loop=cfg)
    assert [r["step"] for r in read_log(res.log_path)] == ["5"]


def test_resume_names_the_keys_that_do_not_fit(tmp_path):
    cfg = LoopConfig(steps=3, log_every=3)
    train(make_net(), loss_fn=mse, batch_fn=batch_fn, config=cfg, out_dir=tmp_path,
          progress=False)  # fmt: skip
    other = make_net()
    other.lin = nn.Linear(4, 6)  # a narrower hidden layer than the checkpoint's 8
    other.out = nn.Linear(6, 1)
    with pytest.raises(InputError, match=r"checkpoint .* does not fit Net \(wrong shapes: "
                       r"lin\.weight \(8, 4\) \(expected \(6, 4\)\).*new out_dir"):
        train(other, loss_fn=mse, batch_fn=batch_fn, config=LoopConfig(steps=6, log_every=3),
              out_dir=tmp_path, progress=False)  # fmt: skip


def test_nothing_left_to_do(tmp_path):
    cfg = LoopConfig(steps=3, log_every=1)
    train(make_net(), loss_fn=mse, batch_fn=batch_fn, config=cfg, out_dir=tmp_path, progress=False)
    net = make_net(seed=7)
    res = train(net, loss_fn=mse, batch_fn=batch_fn, config=cfg, out_dir=tmp_path, progress=False)
    assert res.step == 3
    assert len(read_log(res.log_path)) == 3


def test_data_order_depends_only_on_seed_and_step(tmp_path):
    seen = []

    def recording(step, rng):
        seen.append((step, rng.integers(1 << 30)))
        return batch_fn(step, rng)

    train(make_net(), loss_fn=mse, batch_fn=recording, config=LoopConfig(steps=3, seed=4),
          out_dir=tmp_path, progress=False)  # fmt: skip
    expected = [(s, np.random.default_rng([4, s]).integers(1 << 30)) for s in range(3)]
    assert seen == expected


def test_bad_inputs(tmp_path):
    with pytest.raises(InputError, match="steps must be >= 1"):
        LoopConfig(steps=0)
    with pytest.raises(InputError, match="CUDA is not available"):
        if torch.cuda.is_available():
            pytest.skip("CUDA present")
        train(make_net(), loss_fn=mse, batch_fn=batch_fn, config=LoopConfig(device="cuda"),
              out_dir=tmp_path, progress=False)  # fmt: skip
    with pytest.raises(InputError, match="scalar tensor"):
        train(make_net(), loss_fn=lambda m, b: m(b[0]), batch_fn=batch_fn,
              config=LoopConfig(steps=2), out_dir=tmp_path / "s", progress=False)  # fmt: skip
    with pytest.raises(InputError, match="loss is nan at step 0"):
        train(make_net(), loss_fn=lambda m, b: mse(m, b) * float("nan"), batch_fn=batch_fn,
              config=LoopConfig(steps=2), out_dir=tmp_path / "n", progress=False)  # fmt: skip
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="cannot be read.*resume=False"):
        train(make_net(), loss_fn=mse, batch_fn=batch_fn, config=LoopConfig(steps=2),
              out_dir=tmp_path / "junk", progress=False)  # fmt: skip


def test_lr_schedule_values():
    cfg = LoopConfig(steps=10, warmup_steps=3, lr=1.0)
    assert [lr_factor(s, cfg) for s in range(3)] == [0.25, 0.5, 0.75]
    assert lr_factor(3, cfg) == 1.0
    assert lr_factor(3 + 7 / 2, cfg) == pytest.approx(0.5)  # half-way through the cosine
    const = LoopConfig(steps=10, scheduler="constant")
    assert lr_factor(9, const) == 1.0


def test_loop_config_from_toml(tmp_path):
    p = tmp_path / "run.toml"
    p.write_text('name = "x"\n[loop]\nsteps = 10\nlr = 1\ngrad_clip = 0.5\n')
    run = load_config(RunConfig, p)
    assert run.loop == LoopConfig(steps=10, lr=1.0, grad_clip=0.5)
    with pytest.raises(InputError, match="choose one of 'cosine', 'constant'"):
        load_config(RunConfig, {"loop": {"scheduler": "linear"}})


def test_threads_restored_and_progress_bar(tmp_path, capsys):
    before = torch.get_num_threads()
    cfg = LoopConfig(steps=2, threads=2, log_every=1)
    train(make_net(), loss_fn=mse, batch_fn=batch_fn, config=cfg, out_dir=tmp_path, progress=True)
    assert torch.get_num_threads() == before
    assert "2/2" in capsys.readouterr().err  # tqdm writes to stderr


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_auto_and_resume(tmp_path):  # pragma: no cover - CPU CI
    cfg = LoopConfig(steps=10, ckpt_every=5, log_every=5)
    full = make_net()
    train(full, loss_fn=mse, batch_fn=batch_fn, config=cfg, out_dir=tmp_path / "a", progress=False)
    assert next(full.parameters()).device.type == "cuda"

    def stop(step, rng):
        if step == 5:
            raise KeyboardInterrupt
        return batch_fn(step, rng)

    with pytest.raises(KeyboardInterrupt):
        train(make_net(), loss_fn=mse, batch_fn=stop, config=cfg, out_dir=tmp_path / "b",
              progress=False)  # fmt: skip
    resumed = make_net()
    train(resumed, loss_fn=mse, batch_fn=batch_fn, config=cfg, out_dir=tmp_path / "b",
          progress=False)  # fmt: skip
    for (k, a), b in zip(full.state_dict().items(), resumed.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=k)


def test_run_config_may_change_resumable_loop_settings():
    """A run config that embeds its LoopConfig (as the model trainers' do) may raise ``steps``
    on resumption like the loop config itself; other changes still count."""
    from expokit.train.config import config_to_dict
    from expokit.train.loop import LoopConfig, _without_resumable

    a = {"loop": config_to_dict(LoopConfig(steps=10)), "data": {"patch": 64}}
    b = {"loop": config_to_dict(LoopConfig(steps=20, val_every=5)), "data": {"patch": 64}}
    c = {"loop": config_to_dict(LoopConfig(steps=10, lr=0.5)), "data": {"patch": 64}}
    assert _without_resumable(a) == _without_resumable(b)
    assert _without_resumable(a) != _without_resumable(c)
    assert _without_resumable({"data": {"steps": 1}}) != _without_resumable({"data": {"steps": 2}})
