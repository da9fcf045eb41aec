"""The weights zoo: export trained weights to safetensors, load them strictly, offline.

Weights are kept apart from resumable training state (``checkpoint.pt``): a deployable file
``<stem>.safetensors`` holds only the model's tensors, and a sidecar ``<stem>.json`` records
what made them::

    {"name", "file", "sha256", "architecture", "config", "data", "scores",
     "torch", "expokit", "created"}

``architecture`` is the model constructor's keyword arguments, so ``cls(**architecture)``
rebuilds the network before loading. Weights shipped with expokit live in :data:`WEIGHTS_DIR`
(package data); nothing is ever downloaded. Loading is strict: the file's SHA-256 must match its
sidecar, and its keys and shapes must match the model exactly, or an :class:`InputError` says
which keys differ and what to do.

safetensors is used rather than ``torch.save`` pickles because loading it cannot run code.

Example:
    >>> import tempfile
    >>> from torch import nn
    >>> class Tiny(nn.Module, Pretrained):
    ...     def __init__(self, width: int = 2):
    ...         super().__init__()
    ...         self.lin = nn.Linear(width, 1)
    >>> folder = tempfile.mkdtemp()
    >>> sha = export_weights(Tiny(3), f"{folder}/tiny", name="tiny", architecture={"width": 3})
    >>> Tiny.from_pretrained(path=f"{folder}/tiny.safetensors").lin.in_features
    3
    >>> import shutil; shutil.rmtree(folder)
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any, ClassVar, TypeVar

import torch
from torch import nn

from .. import __version__
from ..errors import InputError, MissingResourceError
from ..io import atomic_path
from ..nn.runtime import (
    SUFFIX,
    WEIGHTS_DIR,
    check_sha256,
    file_sha256,
    load_state_strict,
    read_record,
    resolve_device,
    sidecar_path,
    weights_path,
)

__all__ = [
    "WEIGHTS_DIR",
    "Pretrained",
    "export_weights",
    "file_sha256",
    "list_pretrained",
    "load_weights",
]

logger = logging.getLogger(__name__)

P = TypeVar("P", bound="Pretrained")


def _plain_config(config: Any) -> Any:
    """A dataclass config or mapping as plain JSON data (tuples as lists, paths as str)."""
    if config is None:
        return None
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        config = dataclasses.asdict(config)
    elif not isinstance(config, Mapping):
        raise InputError(
            f"config must be a dataclass config or a mapping, got {type(config).__name__}"
        )

    def path_str(value: object) -> str:
        if isinstance(value, PurePath):
            return str(value)
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    try:
        return json.loads(json.dumps(config, allow_nan=False, default=path_str))
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"config cannot be written to the JSON sidecar ({exc}); use plain numbers, strings, "
            "lists and dicts"
        ) from None


def _json_ready(value: Any, what: str) -> Any:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"{what} cannot be written to the JSON sidecar ({exc}); use plain numbers, strings, "
            "lists and dicts"
        ) from None
    return value


def export_weights(
    model: nn.Module,
    path: str | os.PathLike[str],
    *,
    name: str,
    architecture: Mapping[str, Any],
    config: Any = None,
    data: str | Mapping[str, Any] = "",
    scores: Mapping[str, float] | None = None,
) -> str:
    """Write a model's weights to ``<path>.safetensors`` and a JSON sidecar ``<path>.json``.

    Both files are written atomically (the weights first). The model is not changed: its
    tensors are copied to the CPU.

    Args:
        model: the trained network.
        path: output path without suffix (``runs/a/deepfuse``); a ``.safetensors`` suffix is
            accepted too.
        name: the weights' name (``"deepfuse"``), stored in the sidecar and the file metadata.
        architecture: the keyword arguments that rebuild the model, ``type(model)(**arch)``.
        config: the run config that trained it (a dataclass or mapping), stored as a dict.
        data: what data trained it: a sentence or a mapping (``{"summary": ..., ...}``).
        scores: validation/benchmark scores, ``{metric: value}``.

    Returns:
        The SHA-256 hex digest of the ``.safetensors`` file (also in the sidecar).

    Raises:
        InputError: if the model has non-tensor state, or ``architecture``/``config``/
            ``data``/``scores`` cannot be stored as JSON, or the path cannot be written.
    """
    if not isinstance(model, nn.Module):
        raise InputError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(name, str) or not name:
        raise InputError(f"name must be a non-empty string, got {name!r}")
    if not isinstance(architecture, Mapping):
        raise InputError(
            f"architecture must be a mapping of constructor keyword arguments, got "
            f"{type(architecture).__name__}"
        )
    arch = _json_ready(dict(architecture), "architecture")
    plain_config = _json_ready(_plain_config(config), "config")
    data_value = _json_ready(data if isinstance(data, str) else dict(data), "data")
    score_values: dict[str, float | None] = {}
    for key, value in (scores or {}).items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InputError(f"score {key!r} = {value!r} is not a number") from None
        score_values[str(key)] = number if math.isfinite(number) else None  # JSON has no NaN

    tensors: dict[str, torch.Tensor] = {}
    for key, value in model.state_dict().items():
        if not isinstance(value, torch.Tensor):
            raise InputError(
                f"model state {key!r} is a {type(value).__name__}, not a tensor; safetensors "
                "stores tensors only"
            )
        tensors[key] = value.detach().to("cpu", copy=True).contiguous()

    from safetensors.torch import save_file

    weights = weights_path(path)
    sidecar = sidecar_path(weights)
    # One metadata key holding sorted JSON: safetensors writes several keys in a random order,
    # so the same tensors would get a different SHA-256 at every export.
    metadata = {"expokit": json.dumps({"name": name, "architecture": arch,
                                       "expokit": __version__, "torch": torch.__version__},
                                      sort_keys=True)}
    with atomic_path(weights) as tmp:
        save_file(tensors, tmp, metadata=metadata)
        sha = file_sha256(tmp)
    record = {
        "name": name,
        "file": weights.name,
        "sha256": sha,
        "architecture": arch,
        "config": plain_config,
        "data": data_value,
        "scores": score_values,
        "torch": torch.__version__,
        "expokit": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
    }
    with atomic_path(sidecar) as tmp:
        tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    logger.info("exported %s (sha256 %s)", weights, sha)
    return sha


def load_weights(
    model: nn.Module, path: str | os.PathLike[str], *, sha256: str | None = None
) -> nn.Module:
    """Load a ``.safetensors`` file into ``model`` strictly (keys and shapes must match).

    The model's parameters are overwritten in place (that is the point of loading); the
    model is returned for chaining.

    Args:
        model: the network to fill; built with the matching architecture.
        path: the ``.safetensors`` file (the suffix may be left out).
        sha256: the expected SHA-256 hex digest; None skips the check.

    Returns:
        ``model``.

    Raises:
        MissingResourceError: if the file does not exist.
        InputError: if the file is not a safetensors file, its SHA-256 differs from
            ``sha256``, or it has missing keys, unexpected keys or tensors of the wrong shape
            (the message names the file and the first few offending keys).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights = weights_path(path)
    if not weights.is_file():
        raise MissingResourceError(
            f"weights file {weights} does not exist; check the path or export the weights "
            "with expokit.models.zoo.export_weights"
        )
    if sha256 is not None:
        check_sha256(weights, sha256)
    try:
        state = load_file(weights, device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise InputError(
            f"weights file {weights} is not a readable safetensors file ({exc}); give a file "
            "written by export_weights (not a torch.save checkpoint)"
        ) from None
    return load_state_strict(
        model, state, source=f"weights file {weights}",
        hint="build the model with the architecture in the file's sidecar .json "
        "(from_pretrained does that) or export matching weights",
    )


class Pretrained:
    """Mixin giving an ``nn.Module`` model ``from_pretrained`` over shipped or exported weights.

    Attributes:
        PRETRAINED: shipped weight names -> file stems in :data:`WEIGHTS_DIR`, e.g.
            ``{"deepfuse": "deepfuse"}``; the first is the default.
    """

    PRETRAINED: ClassVar[dict[str, str]] = {}

    @classmethod
    def from_pretrained(
        cls: type[P],
        name: str | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        device: str | torch.device = "cpu",
    ) -> P:
        """Build the model from its sidecar's architecture and load its weights strictly.

        Args:
            name: a shipped weights name (a key of ``PRETRAINED``; default: the first).
            path: a user's own exported ``.safetensors`` (with its ``.json`` sidecar beside it)
                instead of shipped weights.
            device: where to put the model.

        Returns:
            The model in ``eval()`` mode on ``device``.

        Raises:
            InputError: for an unknown name, both name and path, a sidecar whose architecture
                the constructor rejects, or a weights file that fails :func:`load_weights`.
            MissingResourceError: if the shipped weights are absent (a package built without
                them) or ``path`` / its sidecar does not exist.
        """
        if path is not None and name is not None:
            raise InputError("give either name (shipped weights) or path (your own), not both")
        if path is not None:
            weights = weights_path(path)
            sidecar = sidecar_path(weights)
            if not weights.is_file():
                raise MissingResourceError(
                    f"weights file {weights} does not exist; check path= or export weights with "
                    "expokit.models.zoo.export_weights"
                )
            if not sidecar.is_file():
                raise MissingResourceError(
                    f"weights record {sidecar} is absent: from_pretrained needs the .json "
                    "sidecar that export_weights writes beside the .safetensors file"
                )
        else:
            if not cls.PRETRAINED:
                raise InputError(
                    f"{cls.__name__} ships no pretrained weights; pass path= to your own export"
                )
            if name is None:
                name = next(iter(cls.PRETRAINED))
            if name not in cls.PRETRAINED:
                raise InputError(
                    f"unknown weights name {name!r} for {cls.__name__}; shipped: "
                    f"{', '.join(cls.PRETRAINED)} (or pass path= to your own export)"
                )
            weights = WEIGHTS_DIR / (cls.PRETRAINED[name] + SUFFIX)
            sidecar = sidecar_path(weights)
            if not (weights.is_file() and sidecar.is_file()):
                absent = weights if not weights.is_file() else sidecar
                raise MissingResourceError(
                    f"{absent} is absent: expokit was installed without its model weights; "
                    "reinstall from a wheel or source tree that includes "
                    "expokit/models/weights, or pass path= to weights you exported"
                )
        record = read_record(sidecar)
        try:
            model = cls(**record["architecture"])
        except TypeError as exc:
            raise InputError(
                f"weights record {sidecar} has architecture {record['architecture']} that "
                f"{cls.__name__} does not accept ({exc}); these weights belong to another model"
            ) from None
        if not isinstance(model, nn.Module):
            raise InputError(f"{cls.__name__} is not a torch.nn.Module; Pretrained is a mixin")
        sha = record.get("sha256")
        load_weights(model, weights, sha256=sha if isinstance(sha, str) else None)
        return model.to(resolve_device(device)).eval()

    @classmethod
    def resolve(cls: type[P], model: object, *, device: str | torch.device = "cpu",
                label: str | None = None) -> P:
        """What an inference function's ``model`` argument names, ready to run.

        Args:
            model: an instance of this class (moved to ``device``), the path of a
                ``.safetensors`` file (a :class:`os.PathLike`, or a string ending in
                ``.safetensors`` or holding a path separator), or a shipped weights name.
            device: where to put the model.
            label: how messages name the model (default: the class name).

        Returns:
            The model in ``eval()`` mode on ``device``.

        Raises:
            InputError: an unknown name (the message lists the shipped ones), another type,
                or whatever :meth:`from_pretrained` raises.
        """
        what = label or cls.__name__
        if isinstance(model, cls):
            return model.to(resolve_device(device)).eval()  # type: ignore[attr-defined]
        if isinstance(model, os.PathLike) or (isinstance(model, str) and (
                model.endswith(SUFFIX) or "/" in model or "\\" in model)):
            return cls.from_pretrained(path=Path(model), device=device)
        if isinstance(model, str):
            if model not in cls.PRETRAINED:
                raise InputError(
                    f"{model!r} is neither a shipped {what} weights name "
                    f"({', '.join(cls.PRETRAINED)}; see `expokit models`) nor a .safetensors "
                    "file path")
            return cls.from_pretrained(model, device=device)
        raise InputError(f"give a weights name, a .safetensors path or a {cls.__name__}, got "
                         f"{type(model).__name__}")


def list_pretrained() -> list[dict[str, Any]]:
    """The records of the weights shipped in :data:`WEIGHTS_DIR`, one per sidecar ``.json``.

    Returns:
        Sidecar dicts sorted by file name, each with ``present`` added: whether its
        ``.safetensors`` file is there.

    Raises:
        InputError: if a sidecar is not valid JSON.
    """
    rows = []
    if WEIGHTS_DIR.is_dir():
        for sidecar in sorted(WEIGHTS_DIR.glob("*.json")):
            record = read_record(sidecar)
            file = record.get("file") or sidecar.with_suffix(SUFFIX).name
            record["present"] = (WEIGHTS_DIR / str(file)).is_file()
            rows.append(record)
    return rows
