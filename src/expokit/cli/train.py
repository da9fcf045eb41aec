"""``expokit train``: train a learned model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError
from ._common import app, err, handle_errors, need_torch

train_app = typer.Typer(help="Train a learned model (CPU by default, CUDA when present).",
                        no_args_is_help=True)
app.add_typer(train_app, name="train")

ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", "-c", help="TOML config (default: the shipped one's defaults).")]
RunDir = Annotated[Path, typer.Option("--out", "-o", help="Run folder: checkpoint, log.csv, "
                                      "config.toml.")]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", help="Override a config key, e.g. --set loop.steps=200 (repeatable).")]
ResumeOpt = Annotated[bool, typer.Option(help="Continue from the run folder's checkpoint.")]
ExportOpt = Annotated[Path | None, typer.Option(
    "--export", help="After training, export weights to this .safetensors file.")]


def _train(kind: str, config: Path | None, out_dir: Path, resume: bool, overrides: list[str] | None,
           export: Path | None) -> None:
    need_torch(f"expokit train {kind}")
    if config is not None and not config.is_file():
        raise InputError(f"config {config} does not exist: give a TOML file such as "
                         f"configs/{kind}.toml")
    if kind == "deepfuse":
        from ..train.deepfuse import export_deepfuse as export_fn
        from ..train.deepfuse import train_deepfuse as train_fn
    else:
        from ..train.uec import export_uec as export_fn
        from ..train.uec import train_uec as train_fn
    from ..train.config import parse_overrides

    result = train_fn(config, out_dir, resume=resume, overrides=parse_overrides(overrides))
    scores = ", ".join(f"{k} {v:.4f}" for k, v in result.val.items())
    err.print(f"trained {kind} to step {result.step} in {result.seconds:.0f} s"
              + (f"; validation: {scores}" if scores else "") + f"; run folder {out_dir}",
              markup=False)
    if export is not None:
        digest = export_fn(out_dir, export)
        err.print(f"exported {export} (sha256 {digest[:16]}...)", markup=False)


@train_app.command("deepfuse")
@handle_errors
def train_deepfuse_cmd(config: ConfigOpt = None, out_dir: RunDir = Path("runs/deepfuse"),
                       resume: ResumeOpt = True, overrides: SetOpt = None,
                       export: ExportOpt = None) -> None:
    """Train DeepFuse with the MEF-SSIM loss on MEFB pairs (minus Ma 2015) and simulated brackets.

    Example: expokit train deepfuse --config configs/deepfuse.toml --out runs/deepfuse
    """
    _train("deepfuse", config, out_dir, resume, overrides, export)


@train_app.command("uec")
@handle_errors
def train_uec_cmd(config: ConfigOpt = None, out_dir: RunDir = Path("runs/uec"),
                  resume: ResumeOpt = True, overrides: SetOpt = None,
                  export: ExportOpt = None) -> None:
    """Train UEC exposure correction on simulated multi-exposure sequences (no labels).

    Example: expokit train uec --config configs/uec.toml --out runs/uec
    """
    _train("uec", config, out_dir, resume, overrides, export)

