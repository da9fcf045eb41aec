"""``expokit train``: train a learned model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

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


def _add_train_command(name: str, entry: Any) -> None:
    """``expokit train NAME``: :func:`expokit.train.recipe.run_recipe` of one RECIPES entry."""

    @train_app.command(name, help=f"{entry.summary}\n\nExample: {entry.example}")
    @handle_errors
    def command(config: ConfigOpt = None, out_dir: RunDir = Path(f"runs/{name}"),
                resume: ResumeOpt = True, overrides: SetOpt = None,
                export: ExportOpt = None) -> None:
        need_torch(f"expokit train {name}")
        from ..train.config import parse_overrides
        from ..train.recipe import run_recipe

        run = run_recipe(name, config, out_dir, resume=resume,
                         overrides=parse_overrides(overrides), export=export)
        scores = ", ".join(f"{k} {v:.4f}" for k, v in run.train.val.items())
        err.print(f"trained {name} to step {run.train.step} in {run.train.seconds:.0f} s"
                  + (f"; validation: {scores}" if scores else "") + f"; run folder {out_dir}",
                  markup=False)
        if run.sha256 is not None:
            err.print(f"exported {export} (sha256 {run.sha256})", markup=False)


def _add_train_commands() -> None:
    """One command per entry of :data:`expokit.train.RECIPES` (reading it imports no torch)."""
    from ..train.recipe import RECIPES

    for name, entry in RECIPES.items():
        _add_train_command(name, entry)


_add_train_commands()
