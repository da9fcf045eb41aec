"""The ``expokit`` command line: a thin typer layer over the library.

Exit codes: 0 success, 1 internal error, 2 bad input or usage, 3 missing optional resource,
130 interrupted. Errors print one line on stderr, never a traceback (set EXPOKIT_DEBUG=1 to
see one).

One module per family registers its commands on the one :data:`app` (shared helpers in
:mod:`expokit.cli._common`); their order in :data:`FAMILIES` is the order of ``--help``.
"""

from __future__ import annotations

import sys
from importlib import import_module

from ._common import EXIT_INTERRUPT, app, err

#: The command modules, in the order ``expokit --help`` lists their commands.
FAMILIES = ("fuse", "hdr", "align", "info", "batch", "report", "demo", "metrics", "train",
            "correct", "models", "eeg")
for _family in FAMILIES:
    import_module(f"{__name__}.{_family}")

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("[bold red]error:[/] interrupted")
        sys.exit(EXIT_INTERRUPT)
