"""PyTorch plumbing shared by every learned part of expokit: one place for each chore.

* :func:`require_torch`: the one "PyTorch is missing" guard (importable without torch).
* :func:`resolve_device`: a device argument (``"auto"``, ``"cpu"``, ``"cuda:0"``, a
  :class:`torch.device`) checked once, with one wording for a bad name or an absent GPU.
* :func:`torch_threads`: a context manager that sets torch's CPU thread count and restores it.
* :func:`load_state_strict`: strict weight loading with one diagnosis (missing, unexpected and
  mis-shaped keys, the first few of each, naming the file).
* :func:`tile_windows`: the tiles of tiled inference, each core with its context window.
* weights files without torch: :data:`WEIGHTS_DIR`, :func:`weights_path`,
  :func:`sidecar_path`, :func:`read_record`, :func:`file_sha256`, :func:`check_sha256` (used
  by :mod:`expokit.models.zoo` and by the LUT fusion, which reads its tables with NumPy).

This module sits low in expokit's layers (docs/architecture.md): it imports only
:mod:`expokit.errors`, and torch only inside its functions, so torch-free code (the metrics
table, the CLI) may import it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import InputError, MissingResourceError

if TYPE_CHECKING:
    import torch

__all__ = ["WEIGHTS_DIR", "Tile", "check_sha256", "file_sha256", "load_state_strict",
           "read_record", "require_torch", "resolve_device", "sidecar_path", "tile_windows",
           "torch_threads", "weights_path"]

WEIGHTS_DIR: Path = Path(__file__).resolve().parent.parent / "models" / "weights"
"""Folder of the weights shipped with the package (``<stem>.safetensors`` + ``<stem>.json``)."""

SUFFIX = ".safetensors"

#: How many offending keys of each kind a loading error names.
SHOWN_KEYS = 5


def require_torch(what: str, *, safetensors: bool = True) -> None:
    """Raise :class:`~expokit.errors.MissingResourceError` when PyTorch (and, unless
    ``safetensors=False``, safetensors) is not installed.

    Args:
        what: who needs them, for the message (e.g. ``"expokit correct"``, ``"DeepFuse"``).
        safetensors: also require the safetensors package (weights files).

    Raises:
        MissingResourceError: naming the absent package and the extra to install.

    >>> require_torch("this example")  # torch is installed where the doctests run
    """
    for module in ("torch", "safetensors") if safetensors else ("torch",):
        if importlib.util.find_spec(module) is None:
            raise MissingResourceError(
                f'{what} needs {module}, which is not installed: pip install "expokit[torch]"'
            )


def resolve_device(device: object, *, what: str = "device") -> torch.device:
    """A checked :class:`torch.device` for ``device``.

    Args:
        device: ``"auto"`` (the GPU when CUDA is available, else the CPU), a device name such
            as ``"cpu"`` or ``"cuda:0"``, or a :class:`torch.device`.
        what: the argument's name, for the message (e.g. ``"LoopConfig.device"``).

    Returns:
        The device.

    Raises:
        InputError: ``device`` is not a device, or names CUDA where this PyTorch build sees
            no GPU.

    >>> str(resolve_device("cpu"))
    'cpu'
    >>> resolve_device("gpu0")
    Traceback (most recent call last):
    ...
    expokit.errors.InputError: device 'gpu0' is not a torch device; use 'auto', 'cpu' or 'cuda:0'
    """
    require_torch(what, safetensors=False)
    import torch

    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)  # type: ignore[call-overload]
    except (RuntimeError, TypeError, ValueError):
        raise InputError(
            f"{what} {device!r} is not a torch device; use 'auto', 'cpu' or 'cuda:0'"
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(
            f"{what} is {device!r} but CUDA is not available (this PyTorch build sees no GPU); "
            "use 'cpu' or 'auto'"
        )
    return dev


@contextmanager
def torch_threads(threads: int | None, *, lower_only: bool = False) -> Iterator[None]:
    """Run the ``with`` block with torch's CPU thread count set to ``threads``, then restore it.

    Args:
        threads: the thread count; None leaves it as it is.
        lower_only: only ever lower the count (changing it costs time; code that runs its own
            Python threads wants fewer torch threads, never more).

    >>> import torch
    >>> before = torch.get_num_threads()
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    require_torch("torch_threads", safetensors=False)
    import torch

    old = torch.get_num_threads()
    change = threads is not None and (threads < old if lower_only else threads != old)
    if change:
        torch.set_num_threads(int(threads))  # type: ignore[arg-type]
    try:
        yield
    finally:
        if change:
            torch.set_num_threads(old)


def _first(keys: list[str]) -> str:
    shown = ", ".join(keys[:SHOWN_KEYS])
    more = f" and {len(keys) - SHOWN_KEYS} more" if len(keys) > SHOWN_KEYS else ""
    return shown + more


def load_state_strict(
    model: torch.nn.Module,
    state: Mapping[str, Any],
    *,
    source: str,
    hint: str,
    network: str | None = None,
) -> torch.nn.Module:
    """Load ``state`` into ``model``, refusing any missing, unexpected or mis-shaped key.

    BatchNorm's ``num_batches_tracked`` counters (unused at inference, absent from some files)
    may be missing; the model's own values are kept.

    Args:
        model: the network to fill.
        state: ``{parameter name: tensor}``.
        source: what the weights came from, for the message (e.g. ``"weights file w.safetensors"``).
        hint: how to fix a mismatch, appended to the message.
        network: the network's name in the message; default: the model's class name.

    Returns:
        ``model``.

    Raises:
        InputError: ``"<source> does not fit <network> (missing keys: ...; unexpected keys:
            ...; wrong shapes: ...): <hint>"``, the first few keys of each kind.

    >>> import torch
    >>> net = torch.nn.Linear(2, 1)
    >>> load_state_strict(net, {"weight": torch.zeros(1, 3)}, source="w.pth", hint="retrain")
    Traceback (most recent call last):
    ...
    expokit.errors.InputError: w.pth does not fit Linear (missing keys: bias; wrong shapes: \
weight (1, 3) (expected (1, 2))): retrain
    """
    expected = model.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith(".num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    shapes = [
        f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    problems = [
        f"{kind}: {_first(keys)}"
        for kind, keys in (("missing keys", missing), ("unexpected keys", unexpected),
                           ("wrong shapes", shapes))
        if keys
    ]
    if problems:
        name = network if network is not None else type(model).__name__
        raise InputError(f"{source} does not fit {name} ({'; '.join(problems)}): {hint}")
    full = dict(state)
    for k, v in expected.items():
        full.setdefault(k, v)  # only num_batches_tracked can be absent here
    model.load_state_dict(full, strict=True)
    return model


class Tile(NamedTuple):
    """One tile: the core ``[y0:y1, x0:x1]`` that is kept and its window ``[r0:r1, c0:c1]``
    (the core plus up to ``overlap`` pixels of context, none beyond the image)."""

    y0: int
    y1: int
    x0: int
    x1: int
    r0: int
    r1: int
    c0: int
    c1: int


def tile_windows(height: int, width: int, tile: int, overlap: int) -> list[Tile]:
    """The tiles of an image for tiled inference, row by row.

    A network whose output pixel depends on the input within ``radius`` pixels gives, on each
    window, the whole-image result for the core when ``overlap >= radius``.

    >>> [(t.y0, t.y1, t.r0, t.r1) for t in tile_windows(10, 4, 4, 2) if t.x0 == 0]
    [(0, 4, 0, 6), (4, 8, 2, 10), (8, 10, 6, 10)]
    """
    def spans(size: int) -> list[tuple[int, int]]:
        return [(s, min(s + tile, size)) for s in range(0, size, tile)]

    return [Tile(y0, y1, x0, x1, max(0, y0 - overlap), min(height, y1 + overlap),
                 max(0, x0 - overlap), min(width, x1 + overlap))
            for y0, y1 in spans(height) for x0, x1 in spans(width)]


# --- weights files (no torch needed) ----------------------------------------------------------
def weights_path(path: str | os.PathLike[str]) -> Path:
    """``x`` / ``x.safetensors`` / ``x.json`` -> ``x.safetensors``."""
    p = Path(path)
    if p.name.endswith(SUFFIX):
        return p
    if p.suffix == ".json":
        p = p.with_suffix("")
    return p.with_name(p.name + SUFFIX)


def sidecar_path(weights: Path) -> Path:
    """The ``.json`` record beside a ``.safetensors`` file."""
    return weights.with_name(weights.name[: -len(SUFFIX)] + ".json")


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB chunks.

    Args:
        path: the file.

    Returns:
        64 lowercase hex digits.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_sha256(weights: Path, sha256: str) -> None:
    """Raise :class:`~expokit.errors.InputError` when ``weights`` does not hash to ``sha256``."""
    actual = file_sha256(weights)
    if actual != sha256.lower():
        raise InputError(
            f"weights file {weights} has SHA-256 {actual[:16]}..., expected "
            f"{sha256[:16]}...: the file is corrupt or not the one its record describes; "
            "export it again (or reinstall expokit for shipped weights)"
        )


def read_record(path: Path) -> dict[str, Any]:
    """A weights record (the ``.json`` sidecar), which must hold an ``architecture`` object.

    Raises:
        InputError: invalid JSON, or no ``architecture`` object.
    """
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"weights record {path} is not valid JSON ({exc}); re-export") from None
    if not isinstance(record, dict) or not isinstance(record.get("architecture"), dict):
        raise InputError(
            f"weights record {path} has no 'architecture' object; write it with export_weights"
        )
    return record
