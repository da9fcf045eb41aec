"""HC-MEF: the models (expokit.models.hcmef), fusion (expokit.fusion.hcmef) and training
(expokit.train.hcmef).

References: a head that puts all fusion weight on one shot must return that shot exactly; tiled
fusion must equal whole-image inference of the same network; gradients must reach exactly the
networks each variant's step is meant to update (stop-gradient, alternation); the recipe runs on
a synthetic data root of small .exr radiance maps and on a tiny SICE folder written here, so
it needs no real data. Simulated EEG needs MNE (the extra ``eeg``): those tests skip without it.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from expokit.errors import InputError  # noqa: E402
from expokit.fusion import fuse, fuse_hcmef  # noqa: E402
from expokit.io import write_image  # noqa: E402
from expokit.models.hcmef import (  # noqa: E402
    MIT,
    CogBlock,
    EEGEncoder,
    HCMEFStudent,
    HCMEFTeacher,
)
from expokit.train import recipe as rc  # noqa: E402
from expokit.train.ahdr import TEST_SCENES, VAL_SCENES  # noqa: E402
from expokit.train.hcmef import (  # noqa: E402
    HCMEFModel,
    distill_loss,
    hcmef_loss,
    load_train_config,
    prepare_data,
)

torch.set_num_threads(1)

SMALL = {"width": 4, "dim": 8, "tokens": 2, "heads": 2}


def _pair(h: int = 37, w: int = 50, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    scene = rng.random((h, w, 3), dtype=np.float32)
    return (scene * 0.25).astype(np.float32), np.clip(scene * 3.0, 0.0, 1.0).astype(np.float32)


# --- the networks ------------------------------------------------------------------------------
def test_head_weight_one_returns_the_under_shot_exactly():
    torch.manual_seed(0)
    net = MIT(width=4, dim=8)
    with torch.no_grad():
        net.head.weight.zero_()
        net.head.bias.copy_(torch.tensor([80.0, 0.0, 0.0, 0.0]))  # w = sigmoid(80) = 1
    u, o = torch.rand(1, 3, 13, 22), torch.rand(1, 3, 13, 22)
    tokens = torch.randn(1, 4, 8)
    out, feats = net(u, o, tokens, tokens[:, :2])
    assert out.shape == u.shape and torch.equal(out, u)
    assert len(feats) == 5 and feats[2].shape[-2:] == (4, 6)  # 13x22 padded to 16x24, / 4


@pytest.mark.parametrize("mixing", ["attention", "concat"])
def test_tokens_steer_the_block(mixing):
    torch.manual_seed(0)
    block = CogBlock(6, 8, heads=2, mixing=mixing)
    x = torch.randn(2, 6, 5, 7)
    a = block(x, torch.randn(2, 3, 8))
    b = block(x, torch.randn(2, 3, 8))
    assert a.shape == x.shape and not torch.allclose(a, b)


def test_attention_ignores_token_order_but_concat_and_attention_both_see_content():
    torch.manual_seed(0)
    block = CogBlock(6, 8, heads=2)
    x, t = torch.randn(1, 6, 4, 4), torch.randn(1, 5, 8)
    # attention over a set of keys: permuting the tokens changes nothing
    assert torch.allclose(block(x, t), block(x, t[:, [4, 2, 0, 1, 3]]), atol=1e-6)


def test_bad_sizes_are_clear_errors():
    with pytest.raises(InputError, match="multiple of heads"):
        CogBlock(4, 6, heads=4)
    with pytest.raises(InputError, match="mixing"):
        CogBlock(4, 8, mixing="sum")
    enc = EEGEncoder(channels=8, width=8, heads=2)
    with pytest.raises(InputError, match="8 channels"):
        enc(torch.randn(2, 7, 100))
    assert enc(torch.randn(2, 8, 100)).shape == (2, 8)
    with pytest.raises(InputError, match="too long"):
        enc(torch.randn(1, 8, 4 * 256 + 8))


def test_teacher_tokens_come_from_eeg():
    torch.manual_seed(0)
    teacher = HCMEFTeacher(channels=8, eeg_width=8, eeg_layers=1, **SMALL).eval()
    u, o = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    e = torch.randn(3, 1, 8, 60)
    with torch.no_grad():
        a = teacher(u, o, *e)
        b = teacher(u, o, *torch.randn(3, 1, 8, 60))
    assert a.shape == u.shape and not torch.equal(a, b)


# --- fusion ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def student() -> HCMEFStudent:
    torch.manual_seed(1)
    net = HCMEFStudent(**SMALL, prior_size=16).eval()
    with torch.no_grad():  # a visible residual, so that tiling errors would show
        net.net.head.weight.mul_(20.0)
    return net


def test_tiled_fusion_equals_whole_image_inference(student):
    u, o = _pair()
    with torch.no_grad():
        ut, ot = (torch.from_numpy(a).permute(2, 0, 1)[None] for a in (u, o))
        whole = student(ut, ot)[0].permute(1, 2, 0).numpy()
    for tile, overlap in ((16, 32), (20, 16), (4096, 0)):
        tiled = fuse_hcmef([u, o], model=student, tile=tile, overlap=overlap)
        assert tiled.shape == u.shape and tiled.dtype == np.float32
        np.testing.assert_allclose(tiled, whole, atol=1e-5)
    # too little context shows at the seams
    seams = fuse_hcmef([u, o], model=student, tile=16, overlap=0)
    assert np.abs(seams - whole).max() > 1e-3


def test_more_than_two_shots_fuse_the_darkest_and_brightest(student):
    u, o = _pair()
    mid = np.sqrt(u * o).astype(np.float32)
    two = fuse([u, o], method="hcmef", model=student)
    assert np.array_equal(fuse([mid, o, u], method="hcmef", model=student), two)
    u8, o8 = (np.round(a * 255).astype(np.uint8) for a in (u, o))
    np.testing.assert_allclose(fuse_hcmef([u8, o8], model=student),
                               fuse_hcmef([u8 / np.float32(255), o8 / np.float32(255)],
                                          model=student), atol=1e-5)


def test_fusion_errors(student):
    u, o = _pair()
    with pytest.raises(InputError, match="RGB"):
        fuse_hcmef([u[..., :1], o[..., :1]], model=student)
    with pytest.raises(InputError, match="teacher"):
        fuse_hcmef([u, o], model="hcmef_teacher")
    with pytest.raises(InputError, match="neither a shipped HC-MEF student weights name"):
        fuse_hcmef([u, o], model="nope")
    with pytest.raises(InputError, match="or a HCMEFStudent, got int"):
        fuse_hcmef([u, o], model=3)
    with pytest.raises(InputError, match="tile"):
        fuse_hcmef([u, o], model=student, tile=8)
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        fuse_hcmef([u, o * 2.0], model=student)
    with pytest.raises(InputError, match="no option"):
        fuse([u, o], method="hcmef", sigma=0.2)


# --- losses: which network each step trains ---------------------------------------------------
def _batch(b: int = 2, p: int = 16, channels: int = 64, times: int = 40) -> dict:
    g = torch.Generator().manual_seed(0)
    batch = {k: torch.rand(b, 3, p, p, generator=g) for k in ("under", "over", "ref")}
    batch["prior"] = torch.rand(b, 6, 64, 64, generator=g)
    for k in ("eeg_under", "eeg_over", "eeg_normal"):
        batch[k] = torch.randn(b, channels, times, generator=g)
    return batch


def _cfg(variant: str, **extra):
    over = {"distill.variant": variant, "model.width": 4, "model.dim": 8, "model.tokens": 2,
            "model.eeg_width": 8, **extra}
    return load_train_config(None, over)


def _grads(module: torch.nn.Module | None) -> list:
    return [] if module is None else [p.grad for p in module.parameters()]


def _step(cfg, model, batch) -> HCMEFModel:
    model.zero_grad(set_to_none=True)
    hcmef_loss(cfg, model, batch).backward()
    return model


def test_distill_loss_is_zero_for_identical_outputs():
    torch.manual_seed(0)
    out = (torch.rand(1, 3, 4, 4), [torch.randn(1, 4, 4, 4)], (torch.randn(1, 2, 8),))
    assert float(distill_loss(_cfg("joint"), out, out)) == 0.0
    other = (out[0] + 0.1, out[1], out[2])
    assert float(distill_loss(_cfg("joint"), other, out)) == pytest.approx(0.1, rel=1e-5)


def test_joint_distillation_never_pulls_the_teacher_towards_the_student():
    torch.manual_seed(0)
    batch = _batch()
    grads = []
    for beta in (0.0, 5.0):
        cfg = _cfg("joint", **{"distill.beta": beta})
        torch.manual_seed(0)
        model = _step(cfg, HCMEFModel(cfg), batch)
        grads.append((_grads(model.teacher), _grads(model.student)))
    for a, b in zip(grads[0][0], grads[1][0], strict=True):  # teacher: beta changes nothing
        assert torch.equal(a, b)
    assert any(not torch.equal(a, b) for a, b in zip(grads[0][1], grads[1][1], strict=True))


@pytest.mark.parametrize("unrolled", [False, True])
def test_bilevel_alternates_teacher_and_student_steps(unrolled):
    cfg = _cfg("bilevel", **{"distill.unrolled": unrolled})
    torch.manual_seed(0)
    model = HCMEFModel(cfg)
    batch = _batch()
    _step(cfg, model, {**batch, "phase": torch.tensor(1)})  # upper level: the student
    assert all(g is None for g in _grads(model.teacher))
    assert all(g is not None for g in _grads(model.student.net))
    _step(cfg, model, {**batch, "phase": torch.tensor(0)})  # lower level: the teacher
    assert all(g is None for g in _grads(model.student))
    teacher_grads = [g for g in _grads(model.teacher) if g is not None]
    assert teacher_grads and all(torch.isfinite(g).all() for g in teacher_grads)


def test_unrolled_hypergradient_reaches_the_teacher_through_the_students_step():
    """The unrolled term adds gradient to the teacher's token path (the feature and token parts
    of D have second derivatives; L1's is zero almost everywhere), unlike gamma = 0, and it is
    not the absorbability term's gradient."""
    batch = {**_batch(), "phase": torch.tensor(0)}
    grads = {}
    for key, unrolled, gamma in (("plain", False, 0.0), ("unrolled", True, 1.0),
                                 ("absorb", False, 1.0)):
        cfg = _cfg("bilevel", **{"distill.unrolled": unrolled, "distill.gamma": gamma,
                                 "distill.inner_lr": 1.0})
        torch.manual_seed(0)
        model = _step(cfg, HCMEFModel(cfg), batch)
        grads[key] = model.teacher.adapter.mlp[0].weight.grad.clone()
    scale = float(grads["plain"].abs().max())
    assert float((grads["unrolled"] - grads["plain"]).abs().max()) > 1e-2 * scale
    assert not torch.allclose(grads["unrolled"], grads["absorb"])


def test_config_errors():
    with pytest.raises(InputError, match="distill.teacher"):
        _cfg("twostage")
    with pytest.raises(InputError, match="bilevel variant only"):
        _cfg("joint", **{"distill.unrolled": True})
    with pytest.raises(InputError, match="variant"):
        _cfg("oracle")
    with pytest.raises(InputError, match="held out"):
        _cfg("joint", **{"eeg.subjects": 9})
    with pytest.raises(InputError, match="below"):
        _cfg("joint", **{"data.under_ev": [-1.0, 3.0]})


# --- the recipe on a synthetic data root -------------------------------------------------------
TRAIN_FILES = ("hdr_cc0_more/alpha.exr", "hdr_cc0/gamma.exr")
HELD_OUT_FILES = tuple(f"hdr_cc0_more/{s}.exr" for s in (*VAL_SCENES, TEST_SCENES[0]))


def _radiance_map(seed: int, h: int = 48, w: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.exp2(6.0 * xx / w - 3.0)[..., None] * rng.uniform(0.3, 1.0, 3).astype(np.float32)
    return (base * (1.0 + 0.3 * np.sin(yy / 3.0 + seed))[..., None]).astype(np.float32)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hdr_root")
    for k, rel in enumerate(TRAIN_FILES + HELD_OUT_FILES):
        write_image(root / rel, _radiance_map(k))
    return root


def _overrides(root: Path, **extra) -> dict:
    return {
        "data.data_root": str(root), "data.max_side": 64, "data.crops_per_scene": 2,
        "data.size": 32, "data.patch": 16, "data.val_size": 32,
        "model.width": 4, "model.dim": 8, "model.tokens": 2, "model.eeg_width": 8,
        "model.prior_size": 16, "eeg.subjects": 2,
        "loop.steps": 2, "loop.batch_size": 2, "loop.warmup_steps": 1, "loop.val_every": 2,
        "loop.ckpt_every": 1, "loop.log_every": 1, "loop.threads": 1,
        **extra,
    }


def test_image_only_recipe_trains_exports_and_fuses(data_root, tmp_path):
    over = _overrides(data_root, **{"distill.variant": "imageonly"})
    cfg = load_train_config(None, over)
    data = prepare_data(cfg)
    assert data.train.under.shape == (4, 32, 32, 3) and data.train.eeg.size == 0
    assert sorted({n.split("#")[0] for n in data.train.names}) == ["alpha", "gamma"]
    assert sorted({n.split("#")[0] for n in data.val.names}) == sorted(VAL_SCENES)
    # the reference is expokit's Mantiuk operator on the crop: brighter than the under shot
    assert data.train.ref.mean() > data.train.under.mean() / 255.0
    dest = tmp_path / "w.safetensors"
    res = rc.run_recipe("hcmef", None, tmp_path / "run", overrides=over, progress=False,
                        export=dest)
    assert res.train.step == 2 and math.isfinite(res.train.val["psnr"])
    record = json.loads(dest.with_suffix(".json").read_text(encoding="utf-8"))
    assert record["name"] == "hcmef_imageonly" and "no EEG" in record["data"]["summary"]
    u, o = _pair(20, 24)
    fused = fuse_hcmef([u, o], model=dest)
    assert fused.shape == u.shape and 0.0 <= fused.min() and fused.max() <= 1.0


def test_batches_crop_whole_samples_flip_only_vertically_and_alternate(data_root):
    from expokit.models.hcmef import prior_inputs
    from expokit.train.hcmef import RECIPE

    cfg = load_train_config(None, _overrides(data_root, **{"distill.variant": "imageonly",
                                                           "loop.batch_size": 6}))
    data = prepare_data(cfg)
    batch_fn = RECIPE.make_batch_fn(cfg, data)
    b0, b1 = batch_fn(0, np.random.default_rng(3)), batch_fn(1, np.random.default_rng(3))
    assert int(b0["phase"]) == 0 and int(b1["phase"]) == 1 and "eeg_under" not in b0
    assert torch.equal(b0["under"], b1["under"])  # the batch depends on the rng alone
    assert b0["under"].shape == (6, 3, 16, 16) and b0["prior"].shape == (6, 6, 16, 16)
    whole = torch.from_numpy(data.train.under).permute(0, 3, 1, 2).float() / 255.0
    over = torch.from_numpy(data.train.over).permute(0, 3, 1, 2).float() / 255.0
    for i in range(6):  # each patch is a window of one sample, upright or flipped top-bottom
        hits = []
        for k in range(len(whole)):
            for flip in (False, True):
                u = whole[k].flip(1) if flip else whole[k]
                o = over[k].flip(1) if flip else over[k]
                for y in range(17):
                    for x in range(17):
                        if torch.equal(u[:, y:y + 16, x:x + 16], b0["under"][i]):
                            hits.append((k, flip, y, x, o))
        assert hits, i
        k, flip, y, x, o = hits[0]
        assert torch.equal(o[:, y:y + 16, x:x + 16], b0["over"][i])
        # the prior sees the whole sample in the same orientation
        u = whole[k].flip(1) if flip else whole[k]
        assert torch.allclose(b0["prior"][i], prior_inputs(u[None], o[None], 16)[0])


@pytest.fixture(scope="module")
def mne():
    return pytest.importorskip("mne", reason="simulated EEG needs the extra eeg (MNE-Python)")


def test_eeg_variants_train_with_simulated_subjects(mne, data_root, tmp_path):
    over = _overrides(data_root, **{"distill.variant": "teacher"})
    cfg = load_train_config(None, over)
    data = prepare_data(cfg)
    # two subjects x four samples x (under, over, normal) epochs of 64 channels, 1 s at 250 Hz
    assert data.train.eeg.shape == (2, 4, 3, 64, 250)
    assert data.val.eeg.shape[0] == 1 and data.val.subjects == ["sub-11 (simulated)"]
    teacher = tmp_path / "teacher.safetensors"
    res = rc.run_recipe("hcmef", None, tmp_path / "teacher", overrides=over, progress=False,
                        export=teacher)
    assert math.isfinite(res.train.val["psnr"])
    assert HCMEFTeacher.from_pretrained(path=teacher).architecture["width"] == 4
    record = json.loads(teacher.with_suffix(".json").read_text(encoding="utf-8"))
    assert "SYNTHETIC EEG of 2 simulated subjects" in record["data"]["summary"]
    two = _overrides(data_root, **{"distill.variant": "twostage",
                                   "distill.teacher": str(teacher)})
    res = rc.run_recipe("hcmef", None, tmp_path / "two", overrides=two, progress=False,
                        export=tmp_path / "two")
    assert math.isfinite(res.train.val["psnr"])
    state = torch.load(tmp_path / "two" / "checkpoint.pt", weights_only=True)["model"]
    frozen = HCMEFTeacher.from_pretrained(path=teacher).state_dict()
    for k, v in frozen.items():  # two-stage never updates its teacher
        assert torch.equal(state[f"teacher.{k}"], v), k


def _write_sice(root: Path, scenes: int = 3, size: int = 24) -> None:
    rng = np.random.default_rng(5)
    (root / "Label").mkdir(parents=True)
    for s in range(1, scenes + 1):
        scene = rng.random((size, size, 3))
        for k, gain in enumerate((0.2, 0.7, 2.5), start=1):
            write_image(root / str(s) / f"{k}.png",
                        np.round(np.clip(scene * gain, 0, 1) * 255).astype(np.uint8))
        write_image(root / "Label" / f"{s}.png", np.round(scene * 200).astype(np.uint8))


def test_sice_scenes_with_real_format_recordings(mne, tmp_path):
    from expokit.datasets import load_sice_scenes, read_sice_scene
    from expokit.datasets import sice_extreme_pair as extreme_pair
    from expokit.eeg import simulate_session

    sice = tmp_path / "sice"
    _write_sice(sice)
    # recordings in the real-data layout: one manifest over two subjects, scenes named as SICE's
    images = []
    for scene in load_sice_scenes(sice):
        sample = read_sice_scene(scene)
        u, o = extreme_pair(sample)
        images += [(scene.name, "under", u), (scene.name, "over", o),
                   (scene.name, "normal", sample.label)]
    rows = []
    for subject in (1, 2):
        manifest = simulate_session(images, subject, tmp_path / "eeg", sfreq=250.0)
        with manifest.open(encoding="utf-8") as f:
            rows += list(csv.DictReader(f))
    combined = tmp_path / "eeg" / "all.csv"
    with combined.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    over = _overrides(tmp_path, **{"data.sice_root": str(sice), "data.sice_max_side": 24,
                                   "data.sice_val": 1, "data.size": 24,
                                   "eeg.manifest": str(combined), "distill.variant": "joint"})
    cfg = load_train_config(None, over)
    data = prepare_data(cfg)
    assert data.train.names == ["1", "2"] and data.val.names == ["3"]
    assert data.train.eeg.shape == (2, 2, 3, 64, 250)
    assert data.train.subjects == ["sub-01", "sub-02"]
    res = rc.run_recipe("hcmef", None, tmp_path / "run", overrides=over, progress=False)
    assert math.isfinite(res.train.val["psnr"]) and math.isfinite(res.train.val["teacher_psnr"])
    # a recording that misses a scene is named in the error
    with combined.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r for r in rows if r["scene"] != "2")
    with pytest.raises(InputError, match="scene '2'"):
        prepare_data(cfg)


# --- the command line ----------------------------------------------------------------------------
def test_cli_fuse_hcmef_with_a_weights_file(tmp_path, monkeypatch):
    """``expokit fuse --method hcmef --model FILE``: a student whose head puts all weight on the
    under shot writes that shot back; --model with another method is refused."""
    import cv2
    from conftest import run_cli

    from expokit.io import read_image
    from expokit.models.zoo import export_weights

    monkeypatch.setenv("EXPOKIT_THREADS", "1")
    torch.manual_seed(0)
    net = HCMEFStudent(**SMALL, prior_size=16)
    with torch.no_grad():
        net.net.head.weight.zero_()
        net.net.head.bias.copy_(torch.tensor([80.0, 0.0, 0.0, 0.0]))
    export_weights(net, tmp_path / "under", name="hcmef", architecture=net.architecture)
    u, o = _pair(30, 40)
    mid = np.sqrt(u * o)
    paths = []
    for name, img in (("mid", mid), ("over", o), ("under", u)):
        paths.append(tmp_path / f"{name}.png")
        cv2.imwrite(str(paths[-1]), np.round(img[..., ::-1] * 255).astype(np.uint8))
    out = tmp_path / "fused.png"
    proc = run_cli("fuse", *paths, "--method", "hcmef", "--model", tmp_path / "under.safetensors",
                   "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert "the darkest and the brightest of 3 exposures" in proc.stderr
    assert np.array_equal(read_image(out), read_image(paths[2]))
    proc = run_cli("fuse", *paths, "--model", "hcmef", "-o", tmp_path / "m.png")
    assert proc.returncode == 2 and "--model is not an option of mertens" in proc.stderr


# --- the shipped weights -----------------------------------------------------------------------
def test_shipped_weights_never_saw_the_benchmark_scenes_or_subjects():
    from expokit.models.zoo import WEIGHTS_DIR
    from expokit.train.hcmef import EXPORT_NAMES, TEST_SUBJECTS

    names = {*HCMEFStudent.PRETRAINED, *HCMEFTeacher.PRETRAINED}
    assert set(EXPORT_NAMES.values()) | {"hcmef_concat"} == names
    for name in sorted(names):
        record = json.loads((WEIGHTS_DIR / f"{name}.json").read_text(encoding="utf-8"))
        data = record["data"]
        assert set(data["test_scenes_held_out"]) == {f"hdr_cc0_more/{s}.exr"
                                                      for s in TEST_SCENES}, name
        assert not {Path(s).stem for s in data["sources"]} & {*TEST_SCENES, *VAL_SCENES}, name
        held = {f"sub-{s:02d} (simulated)" for s in TEST_SUBJECTS}
        assert not held & set(data["subjects"]), name
        assert record["config"]["distill"]["variant"] in data["summary"], name
    student = HCMEFStudent.from_pretrained()  # the default: bi-level
    assert student.architecture["mixing"] == "attention"
    assert HCMEFStudent.from_pretrained("hcmef_concat").architecture["mixing"] == "concat"
    u, o = _pair(40, 56)
    fused = fuse_hcmef([u, o])
    assert fused.shape == u.shape and np.isfinite(fused).all()
