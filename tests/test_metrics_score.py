"""``score`` and the METRICS table: dispatch by kind, files and arrays, and clear errors."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from expokit import InputError
from expokit.io import write_image
from expokit.metrics import (
    METRICS,
    MetricInfo,
    cc_sources,
    get_metric,
    ms_ssim,
    psnr,
    psnr_mu,
    score,
    ssim,
    ssim_l,
)

RNG = np.random.default_rng(7)
MINE = ("mse", "psnr", "ssim", "ms_ssim", "cc", "cc_sources", "lpips",
        "psnr_mu", "ssim_mu", "psnr_l", "ssim_l", "pu21_psnr", "pu21_ssim")


def images(h: int = 40, w: int = 48) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    ref = RNG.random((h, w, 3))
    fused = np.clip(ref + 0.05 * RNG.standard_normal(ref.shape), 0, 1)
    sources = [np.clip(ref * 0.5, 0, 1), np.clip(ref * 1.5, 0, 1)]
    return fused, ref, sources


def test_table_facts() -> None:
    for name in MINE:
        assert name in METRICS
    for key, info in METRICS.items():
        assert isinstance(info, MetricInfo)
        assert info.name == key
        assert info.kind in ("full_reference", "fusion", "hdr", "blind")
        assert callable(info.function)
        lo, hi = info.range
        assert lo is None or hi is None or lo < hi
        assert info.description and info.reference
    info = METRICS["psnr"]
    assert info.higher_is_better and info.needs_reference and not info.needs_sources
    assert METRICS["cc_sources"].needs_sources and not METRICS["cc_sources"].needs_reference
    assert not METRICS["mse"].higher_is_better and not METRICS["lpips"].higher_is_better
    assert METRICS["psnr_mu"].kind == "hdr"
    with pytest.raises(AttributeError):
        info.name = "x"  # type: ignore[misc]  # frozen


@pytest.mark.parametrize("name", MINE)
def test_my_metrics_follow_the_signature_rules(name: str) -> None:
    """Image first, options keyword-only, Google docstring with References and an example."""
    fn = METRICS[name].function
    params = list(inspect.signature(fn).parameters.values())
    positional = [p for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert len(positional) == 2
    assert all(p.kind is p.KEYWORD_ONLY for p in params[2:])
    doc = inspect.getdoc(fn) or ""
    for section in ("Args:", "Returns:", "Raises:", "References:", ">>>"):
        assert section in doc, f"{name}: docstring lacks {section}"


def test_unknown_metric_suggests() -> None:
    with pytest.raises(InputError, match=r"unknown metric 'pnsr' \(did you mean 'psnr'\?\); "
                                         r"valid names: .*ssim"):
        get_metric("pnsr")
    with pytest.raises(InputError, match="unknown metric 'SSIM_MU'.*did you mean 'ssim_mu'"):
        score(np.zeros((4, 4)), reference=np.zeros((4, 4)), metrics=["SSIM_MU"])


def test_score_arrays_dispatch() -> None:
    fused, ref, srcs = images()
    out = score(fused, reference=ref, sources=srcs, metrics=["psnr", "ssim", "cc_sources"],
                data_range=1.0)
    assert list(out) == ["psnr", "ssim", "cc_sources"]
    assert out["psnr"] == psnr(fused, ref, data_range=1.0)
    assert out["ssim"] == ssim(fused, ref, data_range=1.0)
    assert out["cc_sources"] == cc_sources(fused, srcs)
    assert all(type(v) is float for v in out.values())


def test_score_hdr_gets_no_data_range() -> None:
    fused, ref, _ = images()
    out = score(fused, reference=ref, metrics=["psnr_mu", "ssim_l"], data_range=1.0,
                options={"ssim_l": {"channels": "luma"}})
    assert out == {"psnr_mu": psnr_mu(fused, ref), "ssim_l": ssim_l(fused, ref, channels="luma")}


def test_score_files_uint8_and_uint16(tmp_path) -> None:  # noqa: ANN001
    fused, ref, srcs = images(176, 176)
    for bits, dtype, top in ((8, np.uint8, 255), (16, np.uint16, 65535)):
        f8 = np.round(fused * top).astype(dtype)
        r8 = np.round(ref * top).astype(dtype)
        fp = write_image(tmp_path / f"fused{bits}.png", f8)
        rp = write_image(tmp_path / f"ref{bits}.png", r8)
        sp = [write_image(tmp_path / f"src{bits}_{i}.png", np.round(s * top).astype(dtype))
              for i, s in enumerate(srcs)]
        # no data_range: integer files default to their full code range
        out = score(fp, reference=str(rp), sources=sp, metrics=["psnr", "ms_ssim", "cc_sources"])
        assert out["psnr"] == pytest.approx(psnr(f8, r8, data_range=top), abs=1e-12)
        assert out["ms_ssim"] == pytest.approx(ms_ssim(f8 / top, r8 / top, data_range=1.0),
                                               abs=1e-12)
        assert -1 <= out["cc_sources"] <= 1
    # a path and an array may be mixed
    assert score(fp, reference=r8, metrics=["mse"])["mse"] >= 0


def test_score_missing_inputs() -> None:
    fused, ref, srcs = images()
    with pytest.raises(InputError, match="cc_sources are fusion metrics and need the source"):
        score(fused, reference=ref, metrics=["psnr", "cc_sources"], data_range=1.0)
    with pytest.raises(InputError, match="psnr, ssim_mu compare with a reference image"):
        score(fused, sources=srcs, metrics=["psnr", "ssim_mu"], data_range=1.0)
    with pytest.raises(InputError, match="need the source"):
        score(fused, sources=[], metrics=["cc_sources"], data_range=1.0)
    with pytest.raises(InputError, match="metrics is empty"):
        score(fused, reference=ref, metrics=[])


def test_score_float_needs_data_range() -> None:
    fused, ref, _ = images()
    with pytest.raises(InputError, match="data_range is required for float images"):
        score(fused, reference=ref, metrics=["psnr"])


def test_score_options_checked() -> None:
    fused, ref, _ = images()
    # One message for every family (expokit._methods.check_options): signature order.
    with pytest.raises(InputError, match="ssim has no option 'chanels'; its options are "
                                         "data_range, channels"):
        score(fused, reference=ref, metrics=["ssim"], data_range=1.0,
              options={"ssim": {"chanels": "luma"}})
    with pytest.raises(InputError, match="options given for psnr, which is not in metrics"):
        score(fused, reference=ref, metrics=["ssim"], data_range=1.0, options={"psnr": {}})


def test_score_bad_fused() -> None:
    with pytest.raises(InputError, match="fused is a list"):
        score([1, 2], reference=np.zeros((4, 4)), metrics=["mse"])  # type: ignore[arg-type]
    with pytest.raises(InputError, match="nope.png"):
        score("nope.png", reference=np.zeros((4, 4)), metrics=["mse"])


def test_table_is_the_union_of_the_modules_own_entries() -> None:
    # each metric module declares its metrics beside the functions; METRICS merges them
    from expokit.metrics import (
        blind,
        features,
        fullref,
        hdr,
        information,
        learned,
        mef,
        perceptual,
        structural,
    )

    merged: dict[str, MetricInfo] = {}
    for module in (fullref, hdr, mef, information, features, structural, perceptual, blind,
                   learned):
        for key, entry in module.INFO.items():
            assert key not in merged and entry.name == key
            assert entry.function is getattr(module, key)
            merged[key] = entry
    assert merged == METRICS


# --- two-source metrics with brackets of more than two shots ---------------------------------
TWO_SOURCE = ("qabf", "qp", "qc", "qw", "qw_weighted", "qy", "qcb", "qcv")


def three_shots() -> tuple[np.ndarray, list[np.ndarray]]:
    """A synthetic 3-shot bracket (uint8, shortest exposure first) and a fused image of it."""
    from expokit.simulate import photograph, render_scene

    frames = photograph(render_scene(64, 80, seed=3), (1 / 32, 1 / 4, 2.0))
    fused = np.round(np.mean(np.stack(frames).astype(np.float64), axis=0)).astype(np.uint8)
    return fused, list(frames)


def test_table_says_which_metrics_take_two_sources() -> None:
    assert {n for n, i in METRICS.items() if i.n_sources == 2} == set(TWO_SOURCE)
    assert all(METRICS[n].n_sources is None for n in ("mef_ssim", "nmi", "en", "cc_sources"))


def test_extreme_pair_by_mean_luminance() -> None:
    from expokit.metrics import extreme_pair

    _, (dark, mid, bright) = three_shots()
    assert extreme_pair([mid, bright, dark]) == (2, 1)
    assert extreme_pair([dark, bright]) == (0, 1)
    flat = np.full((8, 8, 3), 0.5)
    assert extreme_pair([flat, flat, flat]) == (0, 2)  # ties: first and last, never one shot
    with pytest.raises(InputError, match="at least two"):
        extreme_pair([flat])


def test_two_source_metrics_take_the_darkest_and_brightest_of_three() -> None:
    """Qabf & co. on 3 shots equal the plain function on the (darkest, brightest) pair."""
    fused, (dark, mid, bright) = three_shots()
    got = score(fused, sources=[mid, bright, dark], metrics=["qabf", "qcv", "mef_ssim"])
    for name in ("qabf", "qcv"):
        direct = METRICS[name].function(fused, [dark, bright])
        assert got[name] == pytest.approx(direct, rel=1e-9), name
    assert 0 < got["qabf"] < 1
    # metrics defined for any number of shots still get all three
    assert got["mef_ssim"] == pytest.approx(
        METRICS["mef_ssim"].function(fused, [dark, mid, bright]), rel=1e-9)


def test_cli_score_three_sources_gives_qabf(tmp_path) -> None:  # noqa: ANN001
    import json

    from conftest import run_cli

    from expokit.metrics.features import qabf

    fused, frames = three_shots()
    paths = [write_image(tmp_path / f"shot{i}.png", f) for i, f in enumerate(frames)]
    fp = write_image(tmp_path / "fused.png", fused)
    proc = run_cli("score", fp, *[a for p in paths for a in ("-s", p)], "-m", "qabf,mef_ssim",
                   "--json")
    assert proc.returncode == 0, proc.stderr
    values = json.loads(proc.stdout)
    assert values["qabf"] == pytest.approx(qabf(fused, [frames[0], frames[2]]), rel=1e-9)
    # the shots used are named (on stderr, so --json output stays machine-readable)
    assert "shot0.png" in proc.stderr and "shot2.png" in proc.stderr
