"""Atomic file writing and output-path checks.

Every file expokit writes goes to a temporary file in the target folder first and is renamed
over the target (``os.replace``) only once it is complete, so a crash or an error never leaves a
half-written output and never destroys an existing file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..errors import InputError

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: Read once at import: ``os.umask`` can only be read by setting it.
_UMASK = _current_umask()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): compare the resolved paths
        return a.resolve() == b.resolve()


def check_not_input(path: PathLike, inputs: Sequence[PathLike] = ()) -> Path:
    """Refuse an output path that is also one of the input files.

    Args:
        path: the output path.
        inputs: paths of the files the output was computed from.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        InputError: if ``path`` resolves to the same file as one of ``inputs`` (hard links and
            symbolic links included).
    """
    out = Path(path)
    for i, inp in enumerate(inputs, start=1):
        if _same_file(out, Path(inp)):
            raise InputError(
                f"output {out} is also input {i} ({Path(inp).name}); choose another output "
                "path: inputs are never overwritten"
            )
    return out


def _prepare_parent(out: Path) -> None:
    if out.is_dir():
        raise InputError(f"output {out} is a folder; give a file name inside it")
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(
            f"cannot create folder {parent} for output {out.name}: a file has that name"
        ) from None
    except OSError as exc:
        raise InputError(
            f"cannot create folder {parent} for output {out.name} ({exc.strerror}); "
            "check the path and permissions"
        ) from None


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Give a temporary path to write to; rename it to ``path`` when the block succeeds.

    The temporary file (``.<name>.<random>.tmp``) lives in the target folder, so the final
    ``os.replace`` is atomic. The target's parent folders are created. When the ``with`` block
    raises, the temporary file is removed and ``path`` is left as it was. The file is flushed
    to disk before the rename and gets the usual permissions (``0o666`` minus the umask).

    Args:
        path: the final file path.

    Yields:
        The temporary path; the block must write the complete file there.

    Raises:
        InputError: if ``path`` is a folder or its parent folder cannot be created.

    Example::

        with atomic_path("results/scores.csv") as tmp:
            tmp.write_text(table)
    """
    out = Path(path)
    _prepare_parent(out)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    except OSError as exc:
        raise InputError(
            f"cannot write to folder {out.parent} ({exc.strerror}); check its permissions"
        ) from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    logger.debug("wrote %s", out)


def copy_file(src: PathLike, dst: PathLike) -> Path:
    """Copy a file byte for byte, atomically (temporary file in the target folder, renamed).

    Raises:
        InputError: if the copy fails (naming both files and the reason).
    """
    import shutil

    source, target = Path(src), Path(dst)
    try:
        with atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)
    except OSError as exc:
        raise InputError(f"cannot copy {source.name} to {target} ({exc.strerror or exc}); check "
                         "free space and permissions") from None
    return target
