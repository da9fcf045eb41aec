"""``expokit eeg``: EEG recordings for HC-MEF's teacher (the optional extra ``eeg``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import app, handle_errors, out

eeg_app = typer.Typer(help="EEG recordings (EDF, BDF, FIF) for HC-MEF's teacher; needs "
                      'pip install "expokit[eeg]".', no_args_is_help=True)
app.add_typer(eeg_app, name="eeg")


@eeg_app.command("info")
@handle_errors
def info(
    path: Annotated[Path, typer.Argument(help="An .edf, .bdf or .fif recording.")],
) -> None:
    """Print a recording's channels, sampling rate, duration and events with counts.

    Example: expokit eeg info sub01.edf
    """
    from ..eeg import eeg_info

    i = eeg_info(path)
    names = i["channels"]
    shown = ", ".join(names[:8]) + (f", ... ({len(names) - 8} more)" if len(names) > 8 else "")
    say = {"highlight": False, "markup": False, "soft_wrap": True}
    out.print(f"file: {path}", **say)
    out.print(f"channels: {len(names)} ({len(i['eeg_channels'])} EEG): {shown}", **say)
    out.print(f"rate: {i['sfreq']:g} Hz", **say)
    out.print(f"duration: {i['duration']:.3f} s", **say)
    events = i["events"]
    if events:
        out.print(f"events: {sum(events.values())} of {len(events)} kind(s)", **say)
        for name, count in sorted(events.items()):
            out.print(f"  {name}: {count}", **say)
    else:
        out.print("events: none (no annotations, no stim channel)", **say)
