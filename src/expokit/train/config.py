"""Frozen dataclass configs read from TOML, with unknown keys and wrong types rejected.

A training run is described by a tree of frozen dataclasses (model, data, loop settings).
:func:`load_config` builds one from a TOML file, a mapping or nothing (all defaults), plus
dotted overrides from the command line; every key is checked against the dataclass fields, so
a misspelled option fails loudly instead of being ignored (the ``**kwargs`` sink of many
training repos). :func:`dump_config` writes the resolved config back as TOML, and loading that
file gives an equal config, so the ``config.toml`` saved beside a checkpoint reproduces the run.

Supported field types: ``int``, ``float`` (an ``int`` is accepted), ``str``, ``bool``,
``pathlib.Path`` (from a string), ``None`` in unions (``float | None``), ``Literal[...]``,
``tuple[X, ...]`` and ``tuple[X, Y]`` (from TOML arrays), ``dict[str, X]`` (from a table)
and nested frozen dataclasses (from a ``[section]``).

Example:
    >>> from dataclasses import dataclass, field
    >>> @dataclass(frozen=True)
    ... class Loop:
    ...     steps: int = 100
    ...     lr: float = 1e-3
    >>> @dataclass(frozen=True)
    ... class Run:
    ...     name: str = "demo"
    ...     loop: Loop = field(default_factory=Loop)
    >>> load_config(Run, {"loop": {"steps": 5}}, **{"loop.lr": 2})
    Run(name='demo', loop=Loop(steps=5, lr=2.0))
    >>> load_config(Run, {"loop": {"stpes": 5}})
    Traceback (most recent call last):
    ...
    expokit.errors.InputError: unknown key 'stpes' in section [loop] of the given mapping; \
did you mean 'steps'? Valid keys in [loop]: steps, lr
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import sys
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

from ..errors import InputError, MissingResourceError
from ..io import atomic_path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - python 3.10
    import tomli as tomllib

__all__ = ["config_to_dict", "dump_config", "load_config"]

T = TypeVar("T")

_MISSING = object()


def _where(section: str, origin: str) -> str:
    name = f"section [{section}]" if section else "the top level"
    return f"{name} of {origin}"


def _type_name(tp: Any) -> str:
    if tp is type(None):
        return "none"
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "").replace("pathlib.", "")


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} ({text})"


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)


def _parse_cli_value(value: str) -> Any:
    """Parse a command-line override string as a TOML value (``10``, ``1e-3``, ``[1, 2]``)."""
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return value


def _accepts_str(tp: Any) -> bool:
    if tp in (str, Path, Any):
        return True
    if typing.get_origin(tp) is Literal:
        return any(isinstance(a, str) for a in typing.get_args(tp))
    if _is_union(tp):
        return any(_accepts_str(a) for a in typing.get_args(tp))
    return False


def _field_types(cls: type) -> dict[str, Any]:
    """Resolved field types; nested config classes defined locally resolve via their defaults."""
    try:
        return typing.get_type_hints(cls)
    except NameError:
        pass
    module = sys.modules.get(cls.__module__)
    globalns = dict(vars(module)) if module is not None else {}
    localns: dict[str, Any] = {cls.__name__: cls}
    for f in dataclasses.fields(cls):
        default: Any = f.default
        if f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        if dataclasses.is_dataclass(default) and not isinstance(default, type):
            localns[type(default).__name__] = type(default)
    try:
        return typing.get_type_hints(cls, globalns=globalns, localns=localns)
    except NameError as exc:
        raise InputError(
            f"cannot resolve the field types of config class {cls.__qualname__} ({exc}); "
            "define config classes at module level"
        ) from None


class _Converter:
    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, key: str, tp: Any, value: Any, hint: str = "") -> InputError:
        msg = f"key '{key}' in {self.origin}: expected {_type_name(tp)}, got {_describe(value)}"
        return InputError(msg + (f"; {hint}" if hint else "; fix the value in the config"))

    def convert(self, tp: Any, value: Any, key: str) -> Any:
        if tp is Any:
            return value
        if dataclasses.is_dataclass(tp) and isinstance(tp, type):
            if isinstance(value, tp):
                return value
            if not isinstance(value, Mapping):
                raise self.fail(key, tp, value, f"write it as a table [{key}]")
            return self.build(tp, value, key)
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if _is_union(tp):
            if value is None:
                if type(None) in args:
                    return None
                raise self.fail(key, tp, value)
            errors = []
            for arg in args:
                if arg is type(None):
                    continue
                try:
                    return self.convert(arg, value, key)
                except InputError as exc:
                    errors.append(exc)
            if len(errors) == 1:
                raise errors[0]
            raise self.fail(key, tp, value)
        if origin is Literal:
            for choice in args:
                if value == choice and type(value) is type(choice):
                    return choice
            choices = ", ".join(repr(a) for a in args)
            raise self.fail(key, tp, value, f"choose one of {choices}")
        if origin is tuple:
            if isinstance(value, str) or not isinstance(value, (list, tuple)):
                raise self.fail(key, tp, value, "write it as an array [a, b, ...]")
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(self.convert(args[0], v, f"{key}[{i}]") for i, v in enumerate(value))
            if args == ((),):  # tuple[()]
                args = ()
            if args and len(value) != len(args):
                raise self.fail(key, tp, value, f"give exactly {len(args)} values")
            if not args:
                return tuple(value)
            return tuple(
                self.convert(a, v, f"{key}[{i}]")
                for i, (a, v) in enumerate(zip(args, value, strict=True))
            )
        if origin in (dict, Mapping, typing.get_origin(Mapping[str, int])):
            if not isinstance(value, Mapping):
                raise self.fail(key, tp, value, f"write it as a table [{key}]")
            ktp, vtp = args if args else (str, Any)
            return {
                self.convert(ktp, k, key): self.convert(vtp, v, f"{key}.{k}")
                for k, v in value.items()
            }
        if origin in (list, set, frozenset) or tp in (list, set, frozenset):
            raise InputError(
                f"config field '{key}' is declared as {_type_name(tp)}; frozen configs use "
                "tuple[...] for sequences (a programming error in the config class)"
            )
        if tp is type(None):
            if value is None:
                return None
            raise self.fail(key, tp, value)
        if tp is bool:
            if isinstance(value, bool):
                return value
            raise self.fail(key, tp, value, "write true or false")
        if tp is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, float) and value.is_integer() and not isinstance(value, bool):
                raise self.fail(key, tp, value, f"write it without a decimal point: {int(value)}")
            raise self.fail(key, tp, value)
        if tp is float:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
            raise self.fail(key, tp, value)
        if tp is str:
            if isinstance(value, str):
                return value
            raise self.fail(key, tp, value, 'write it in quotes: "..."')
        if isinstance(tp, type) and issubclass(tp, Path):
            if isinstance(value, (str, Path)):
                return tp(value)
            raise self.fail(key, tp, value, 'write the path in quotes: "..."')
        if isinstance(tp, type):
            if isinstance(value, tp):
                return value
            raise self.fail(key, tp, value)
        raise InputError(f"config field '{key}' has an unsupported type {_type_name(tp)}")

    def build(self, cls: type, data: Mapping[str, Any], section: str) -> Any:
        hints = _field_types(cls)
        fields = [f for f in dataclasses.fields(cls) if f.init]
        names = [f.name for f in fields]
        for key in data:
            if not isinstance(key, str) or key not in names:
                close = difflib.get_close_matches(str(key), names, n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                raise InputError(
                    f"unknown key '{key}' in {_where(section, self.origin)}; "
                    f"{hint}Valid keys in {f'[{section}]' if section else 'the top level'}: "
                    f"{', '.join(names)}"
                )
        kwargs = {}
        for f in fields:
            dotted = f"{section}.{f.name}" if section else f.name
            if f.name in data:
                kwargs[f.name] = self.convert(hints[f.name], data[f.name], dotted)
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise InputError(
                    f"required key '{dotted}' is missing from {self.origin}; add it "
                    f"({_type_name(hints[f.name])})"
                )
        return cls(**kwargs)


def _with_overrides(
    cls: type, data: dict[str, Any], overrides: Mapping[str, Any]
) -> dict[str, Any]:
    out = _deep_copy(data)
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        node = out
        tp: Any = cls
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            field_type: Any = _MISSING
            if dataclasses.is_dataclass(tp) and isinstance(tp, type):
                field_type = _field_types(tp).get(part, _MISSING)
            if last:
                if isinstance(value, str) and field_type is not _MISSING:
                    if not _accepts_str(field_type):
                        value = _parse_cli_value(value)
                node[part] = value
            else:
                child = node.get(part)
                if child is None:
                    child = {}
                elif not isinstance(child, Mapping):
                    raise InputError(
                        f"override '{dotted}': '{'.'.join(parts[: i + 1])}' is not a section"
                    )
                node[part] = child = dict(child)
                node = child
                tp = field_type
    return out


def _deep_copy(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, Mapping) else v for k, v in data.items()}


def load_config(
    cls: type[T], source: str | Path | Mapping[str, Any] | None = None, **overrides: Any
) -> T:
    """Build a frozen dataclass config from TOML, a mapping or defaults, checking every key.

    Args:
        cls: the (frozen) dataclass to build; fields may be nested dataclasses, tuples,
            ``Literal``, ``int``/``float``/``str``/``bool``/``None`` unions and ``Path``.
        source: a TOML file path, an already-parsed mapping, or ``None`` for all defaults.
            Missing keys take the dataclass defaults.
        **overrides: dotted keys applied on top of ``source``, e.g.
            ``**{"loop.steps": 10}``. A string value for a non-string field is parsed as a
            TOML value (``"10"`` -> 10, ``"[1, 2]"`` -> (1, 2)), as command lines give strings.

    Returns:
        An instance of ``cls``.

    Raises:
        InputError: when the file is absent or not valid TOML, a key is unknown (the message
            names the key, its section and the file, lists the valid keys and suggests the
            closest one), a required key is missing, or a value has the wrong type (an int is
            accepted for a float, arrays become tuples).
    """
    if not (dataclasses.is_dataclass(cls) and isinstance(cls, type)):
        raise InputError(f"load_config needs a dataclass type as cls, got {cls!r}")
    if source is None:
        data: Mapping[str, Any] = {}
        origin = "the defaults"
    elif isinstance(source, Mapping):
        data = source
        origin = "the given mapping"
    elif isinstance(source, (str, Path)):
        path = Path(source)
        origin = str(path)
        if not path.is_file():
            raise InputError(f"config file {path} does not exist (or is a folder); check the path")
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"config file {path} is not valid TOML: {exc}") from None
        except UnicodeDecodeError:
            raise InputError(f"config file {path} is not UTF-8 text; save it as UTF-8") from None
    else:
        raise InputError(
            f"source must be a TOML path, a mapping or None, got {type(source).__name__}"
        )
    if overrides:
        data = _with_overrides(cls, dict(data), overrides)
        origin += " with overrides " + ", ".join(sorted(overrides))
    return _Converter(origin).build(cls, data, "")


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Convert a dataclass config into a plain nested dict (tuples as lists, Paths as str).

    Args:
        cfg: a dataclass instance (or a mapping, returned as a plain copy).

    Returns:
        A new dict of dicts, lists, str, int, float, bool and None, ready for JSON.

    Raises:
        InputError: if ``cfg`` is neither a dataclass instance nor a mapping.

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass(frozen=True)
        ... class C:
        ...     out: Path = Path("runs/a")
        ...     sizes: tuple[int, ...] = (1, 2)
        >>> config_to_dict(C())
        {'out': 'runs/a', 'sizes': [1, 2]}
    """
    if (dataclasses.is_dataclass(cfg) and not isinstance(cfg, type)) or isinstance(cfg, Mapping):
        return _plain(cfg)
    raise InputError(f"config_to_dict needs a dataclass instance or a mapping, got {cfg!r}")


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_str(key)


def _toml_str(text: str) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_value(value: Any, key: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v, key) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(
            f"{_toml_key(k)} = {_toml_value(v, key)}" for k, v in value.items() if v is not None
        )
        return "{" + items + "}"
    if value is None:
        raise InputError(f"config key '{key}' holds None inside an array; TOML cannot store it")
    raise InputError(f"config key '{key}' holds {_describe(value)}, which TOML cannot store")


def _check_nones(cfg: Any, section: str) -> None:
    """TOML has no null: a None is written by leaving the key out, so its default must be None."""
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        dotted = f"{section}.{f.name}" if section else f.name
        if value is None:
            default = f.default if f.default is not dataclasses.MISSING else _MISSING
            if f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            if default is not None:
                raise InputError(
                    f"config key '{dotted}' is None but its default is {default!r}; TOML has "
                    "no null, so this config cannot be saved: give the field a None default"
                )
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            _check_nones(value, dotted)


def _toml_table(data: dict[str, Any], prefix: str, lines: list[str]) -> None:
    tables = []
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, dict):
            tables.append((key, value))
            continue
        lines.append(f"{_toml_key(key)} = {_toml_value(value, prefix + key)}")
    for key, value in tables:
        name = f"{prefix}{_toml_key(key)}"
        lines.append("")
        lines.append(f"[{name}]")
        _toml_table(value, name + ".", lines)


def to_toml(cfg: Any) -> str:
    """Render a dataclass config (or plain mapping) as TOML text; None values are left out.

    Args:
        cfg: a dataclass instance or a mapping.

    Returns:
        TOML text that :func:`load_config` reads back into an equal config.

    Raises:
        InputError: if a None cannot be represented (its field default is not None) or a value
            has a type TOML cannot store.
    """
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        _check_nones(cfg, "")
    lines: list[str] = []
    _toml_table(config_to_dict(cfg), "", lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def dump_config(cfg: Any, path: str | Path) -> None:
    """Write a config as TOML, atomically; ``load_config(type(cfg), path) == cfg``.

    Args:
        cfg: a dataclass instance (or a mapping).
        path: the ``.toml`` file to write; parent folders are created.

    Raises:
        InputError: if the config holds something TOML cannot store (see :func:`to_toml`) or
            the path cannot be written.
    """
    text = to_toml(cfg)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def default_data_root() -> Path:
    """Where training data live when a config leaves ``data_root`` empty: ``$EXPOKIT_DATA``.

    Raises:
        MissingResourceError: ``$EXPOKIT_DATA`` is not set (the library knows no other place).
    """
    env = os.environ.get("EXPOKIT_DATA")
    if not env:
        raise MissingResourceError(
            "no data folder: the config's data.data_root is empty and $EXPOKIT_DATA is not set; "
            "set one of them (e.g. --set data.data_root=PATH) to the folder holding the data sets"
        )
    return Path(env)
