"""What every command shares: the one typer ``app``, error handling, reading brackets, and
the options of a method chosen from a library table.

Commands live in one module per family (``fuse``, ``hdr``, ``align``...) and register on
:data:`app`; they parse, call the library and print.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import track

from .._checks import Negative as NegativePolicy
from .._methods import check_options, keyword_options, parse_assignments
from ..errors import InputError, MissingResourceError

app = typer.Typer(
    name="expokit",
    help="Multi-exposure imaging: exposure fusion, HDR merge, tone mapping, alignment.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err = Console(stderr=True, soft_wrap=True)  # messages stay one line each (paths, hashes)
out = Console()

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        out.print(f"expokit {__version__}", highlight=False)
        raise typer.Exit()


class _WarningLines(logging.Handler):
    """The library's logged warnings as one ``warning: ...`` line each on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        err.print(f"[yellow]warning:[/] {escape(record.getMessage())}", highlight=False,
                  soft_wrap=True)


def _show_warnings() -> None:
    lib = logging.getLogger("expokit")
    if not any(isinstance(h, _WarningLines) for h in lib.handlers):
        handler = _WarningLines(logging.WARNING)
        lib.addHandler(handler)


@app.callback()
def _root(version: Annotated[bool, typer.Option(
        "--version", help="Print the version and exit.", callback=_version,
        is_eager=True)] = False) -> None:
    """Multi-exposure imaging: exposure fusion, HDR merge, tone mapping, alignment."""
    _show_warnings()


EXIT_INTERNAL, EXIT_INPUT, EXIT_MISSING, EXIT_INTERRUPT = 1, 2, 3, 130


def _fail(message: str, code: int) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def handle_errors(fn: F) -> F:
    """Turn expokit's errors into one stderr line and a meaningful exit code."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except InputError as exc:
            raise _fail(str(exc), EXIT_INPUT) from None
        except MissingResourceError as exc:
            raise _fail(str(exc), EXIT_MISSING) from None
        except KeyboardInterrupt:
            raise _fail("interrupted", EXIT_INTERRUPT) from None
        except MemoryError:
            raise _fail("out of memory: try fewer or smaller images", EXIT_INTERNAL) from None
        except Exception as exc:  # noqa: BLE001 - last line of defence for a CLI
            if os.environ.get("EXPOKIT_DEBUG"):
                raise
            raise _fail(f"internal error ({type(exc).__name__}: {exc}); rerun with "
                        "EXPOKIT_DEBUG=1 for a traceback and report it", EXIT_INTERNAL) from None

    return wrapper  # type: ignore[return-value]


# --- methods from the library's tables -----------------------------------------------------
def method_choices(table: Mapping[str, object], *, extra: tuple[str, ...] = ()) -> str:
    """``"mertens or deepfuse"``: a table's names for help text and messages."""
    names = [*table, *extra]
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


def method_help(table: Mapping[str, Callable[..., Any]], *, exclude: tuple[str, ...] = ()
                ) -> str:
    """Each method's keyword options, for the help of ``-p NAME=VALUE``."""
    return "; ".join(f"{name}: " + ", ".join(keyword_options(fn, exclude=exclude) or ["any"])
                     for name, fn in table.items())


def check_method(flag: str, method: str, table: Mapping[str, object], *,
                 extra: tuple[str, ...] = ()) -> None:
    """Refuse a ``--method`` (or ``--calibrate``) name that is not in the library's table."""
    if method not in table and method not in extra:
        raise InputError(f"{flag} {method!r} is not known: use "
                         + method_choices(table, extra=extra))


def method_options(ctx: typer.Context, method: str, function: Callable[..., Any] | None,
                   flags: Mapping[str, str], items: list[str] | None = None, *,
                   exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """The options for ``function``: the flags given on the command line, and ``-p NAME=VALUE``.

    A flag left at its default is not passed (the function's own default applies), so a flag
    another method takes is refused only when it is given.

    Args:
        ctx: the command's context (says which flags were given).
        method: the method's name, for the message.
        function: the method (``None``: a choice that takes no options, such as ``linear``).
        flags: ``{command parameter: the function's keyword}``.
        items: ``-p`` values, ``NAME=VALUE`` (value parsed as TOML, a bare word a string).
        exclude: keywords the command passes itself (not allowed with ``-p``).

    Raises:
        InputError: for a given flag or ``-p`` name the method does not take, naming both.
    """
    valid = [] if function is None else keyword_options(function, exclude=exclude)
    chosen: dict[str, Any] = {}
    for param, keyword in flags.items():
        source = ctx.get_parameter_source(param)  # typer may vendor click: compare names
        if source is None or source.name in ("DEFAULT", "DEFAULT_MAP"):
            continue
        if valid is not None and keyword not in valid:
            raise InputError(f"--{param.replace('_', '-')} is not an option of {method}: its "
                             f"options are {', '.join(valid) or 'none'}")
        chosen[keyword] = ctx.params[param]
    example = "NAME=VALUE"
    if valid:  # the method's first option at its default value
        example = f"{valid[0]}={inspect.signature(function).parameters[valid[0]].default}"
    given = {k.replace("-", "_"): v for k, v in
             parse_assignments(items, flag="-p", example=example).items()}
    if function is not None:
        check_options(method, function, given, exclude=exclude)
    elif given:
        raise InputError(f"{method} takes no options; leave out -p {next(iter(given))}")
    chosen.update(given)
    return chosen


def check_output(output: Path, inputs: list[Path], *, overwrite: bool) -> None:
    """Refuse, before any work, an unknown output format, an output that is an input, or
    (unless ``overwrite``) an output that exists."""
    from ..io import check_new_output

    if not overwrite and output.exists() and output not in inputs:
        # the library's check says overwrite=True; a CLI user needs the flag's name
        check_new_output(output, inputs=inputs, overwrite=True)  # format, not an input
        raise InputError(f"{output} exists: pass --overwrite to replace it, or choose another "
                         "name with -o")
    check_new_output(output, inputs=inputs, overwrite=overwrite)


Overwrite = Annotated[bool, typer.Option(help="Replace output files that exist.")]


def negative_policy(value: str) -> NegativePolicy:
    """``--negative`` as the library's policy name (see docs/conventions.md)."""
    if value not in ("clip", "error"):
        raise InputError(f"--negative {value!r}: choose clip (set negative values to 0, with a "
                         "warning) or error (refuse the file)")
    return value  # type: ignore[return-value]


@contextlib.contextmanager
def progress(items: Iterable[T], description: str, *, disable: bool = False
             ) -> Iterator[Iterator[T]]:
    """A transient progress bar over ``items`` on stderr, closed here even when the loop raises.

    ``rich.progress.track`` is a generator that holds its live display open; left suspended by
    an exception, it is closed later by the garbage collector, which can run in rich's own
    refresh thread and then waits for itself (a hang, seen with the CLI run in-process).
    """
    bar = track(items, description=description, console=err, transient=True, disable=disable)
    try:
        yield bar
    finally:
        bar.close()


def read_frames(paths: list[Path], negative: str = "clip") -> list[np.ndarray]:
    """Read the frames of a bracket, refusing one exposure given twice (identical pixels)."""
    from .._checks import check_distinct_frames
    from ..io import read_image

    policy = negative_policy(negative)
    if len(paths) > 1:
        with progress(paths, "reading") as bar:
            frames = [read_image(p, negative=policy) for p in bar]
    else:
        frames = [read_image(p, negative=policy) for p in paths]
    check_distinct_frames(frames, paths=paths)
    return frames


def expand(paths: list[Path]) -> list[Path]:
    """A single folder argument means every image file in it."""
    from ..bracket import list_images

    if len(paths) == 1 and paths[0].is_dir():
        files = list_images(paths[0])
        if not files:
            subs = sum(1 for p in paths[0].iterdir() if p.is_dir())
            raise InputError(f"{paths[0]} holds no image files" + (
                f" (it holds {subs} folder(s): give one of them)" if subs else ""))
        return files
    for p in paths:
        if not p.exists():
            raise InputError(f"{p} does not exist: check the path (or quote names with spaces)")
        if p.is_dir():
            raise InputError(f"{p} is a folder: give either one folder or image files")
    return paths


def bracket_paths(paths: list[Path]) -> list[Path]:
    """The frames of one bracket: a folder's bracket (saying what was left out), or the files.

    A folder may hold other files (Debevec's ``memorial.hdr`` beside its PNGs): only frames of
    one size and kind are taken. Files named one by one are taken as given, but never twice.
    """
    from .._checks import check_distinct_paths
    from ..bracket import bracket_frames

    files = expand(paths)
    if len(paths) == 1 and paths[0].is_dir():
        found = bracket_frames(files)
        for f, why in found.skipped:
            err.print(f"  skipped {f.name}: {why}", highlight=False, markup=False)
        return found.groups[0]
    check_distinct_paths(files)
    return files


def parse_mask_color(text: str | None, frames: list[np.ndarray]) -> list[np.ndarray] | None:
    """``"0,0,255"`` -> one invalid-pixel mask per frame (None passes through)."""
    if text is None:
        return None
    from ..hdr import invalid_mask, parse_marker

    marker = parse_marker(text)
    return [invalid_mask(f, marker=marker) for f in frames]


def need_torch(what: str) -> None:
    """Fail with the extra to install when PyTorch (and safetensors) are absent."""
    from ..nn.runtime import require_torch

    require_torch(what)


def first_exif(path: Path) -> bytes | None:
    from ..io import read_exif

    return read_exif(path).exif_bytes


# --- commands ------------------------------------------------------------------------------
Images = Annotated[list[Path], typer.Argument(help="Bracket frames (or one folder of them).",
                                              show_default=False)]
Output = Annotated[Path, typer.Option("--output", "-o", help="Output file; format from suffix.")]
Negative = Annotated[str, typer.Option(
    help="Negative values in float files (EXR, float TIFF): clip (set to 0, with a warning "
    "that counts them) or error (refuse the file).")]


def maybe_align(frames: list[np.ndarray], paths: list[Path], method: str) -> list[np.ndarray]:
    if method == "none":
        return frames
    from ..align import align

    with err.status(f"aligning ({method})"):
        res = align(frames, method=method, paths=paths)  # type: ignore[arg-type]
    for p, r in zip(paths, res.residuals, strict=True):
        err.print(f"  aligned {p.name}: residual {r:.3g}", highlight=False)
    common = res.common_area()
    h, w = frames[0].shape[:2]
    if common[0].shape[:2] != (h, w):
        err.print(f"  cropped to the area every frame covers: {common[0].shape[1]}x"
                  f"{common[0].shape[0]} (from {w}x{h})", highlight=False)
    return common


