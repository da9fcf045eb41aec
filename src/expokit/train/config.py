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
import inspect
import os
import sys
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

import dacite
import tomli_w

from .._methods import parse_assignments, parse_value
from ..errors import InputError, MissingResourceError
from ..io import atomic_path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - python 3.10
    import tomli as tomllib

__all__ = ["config_class_from", "config_to_dict", "dump_config", "load_config", "parse_overrides"]

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
    return parse_value(value)


def parse_overrides(items: Sequence[str] | None) -> dict[str, Any]:
    """``--set`` options as the ``**overrides`` of :func:`load_config`.

    Args:
        items: ``KEY=VALUE`` strings, the key dotted (``loop.steps=200``); ``None``: none.

    Returns:
        ``{dotted key: value}``, each value parsed as TOML (``10``, ``1e-3``, ``true``,
        ``[1, 2]``); a bare word is a string.

    Raises:
        InputError: for an item that is not ``KEY=VALUE``.

    >>> parse_overrides(["loop.steps=10", "loop.lr=1e-3", "data.name=abc"])
    {'loop.steps': 10, 'loop.lr': 0.001, 'data.name': 'abc'}
    """
    return parse_assignments(items, flag="--set", example="loop.steps=200")


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


def _inner_dataclasses(tp: Any) -> list[type]:
    """The dataclass types a field of type ``tp`` may hold a table of (itself, in a union,
    as the items of a tuple)."""
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return [tp]
    return [c for a in typing.get_args(tp) if a is not Ellipsis for c in _inner_dataclasses(a)]


def _check_keys(cls: type, data: Any, section: str, origin: str, local: dict[str, Any]) -> None:
    """Unknown keys (with the closest valid one) and missing required keys of every table,
    before dacite builds the classes; ``local`` collects the config classes met (for dacite's
    forward references of classes defined in a function)."""
    if not isinstance(data, Mapping):
        return  # dacite reports the wrong type
    local[cls.__name__] = cls
    hints = _field_types(cls)
    fields = [f for f in dataclasses.fields(cls) if f.init]
    names = [f.name for f in fields]
    for key in data:
        if not isinstance(key, str) or key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise InputError(
                f"unknown key '{key}' in {_where(section, origin)}; "
                f"{hint}Valid keys in {f'[{section}]' if section else 'the top level'}: "
                f"{', '.join(names)}"
            )
    for f in fields:
        tp = hints[f.name]
        dotted = f"{section}.{f.name}" if section else f.name
        if typing.get_origin(tp) in (list, set, frozenset) or tp in (list, set, frozenset):
            raise InputError(
                f"config field '{dotted}' is declared as {_type_name(tp)}; frozen configs use "
                "tuple[...] for sequences (a programming error in the config class)"
            )
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise InputError(
                    f"required key '{dotted}' is missing from {origin}; add it "
                    f"({_type_name(tp)})"
                )
            continue
        value = data[f.name]
        for inner in _inner_dataclasses(tp):
            items = value if typing.get_origin(tp) is tuple and isinstance(value, list) else [value]
            for i, item in enumerate(items):
                where = f"{dotted}[{i}]" if items is value else dotted
                if isinstance(item, Mapping):
                    _check_keys(inner, item, where, origin, local)


def _as_float(value: Any) -> Any:
    """TOML writes ``1`` for a float field as an integer: accept it (but not a bool)."""
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


class _NotInt:
    """A bool given for an int field (Python counts bools as ints; a config does not)."""

    def __init__(self, value: Any) -> None:
        self.value = value


def _as_int(value: Any) -> Any:
    return _NotInt(value) if isinstance(value, bool) else value


def _as_path(value: Any) -> Any:
    return Path(value) if isinstance(value, str) else value


def _fits(value: Any, tp: Any) -> bool:
    if tp is float:
        value = _as_float(value)
    if tp is int and isinstance(value, bool):
        return False
    return dacite.types.is_instance(value, tp)


def _pinpoint(tp: Any, value: Any, key: str) -> tuple[Any, Any, str]:
    """The innermost ``(type, value, key)`` of a wrong value: an array item or a table entry."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    options = [a for a in args if a is not type(None)] if _is_union(tp) else []
    if len(options) == 1 and value is not None:  # ``X | None`` given something else than X
        return _pinpoint(options[0], value, key)
    if origin is tuple and isinstance(value, (list, tuple)) and not isinstance(value, str):
        items = [args[0]] * len(value) if len(args) == 2 and args[1] is Ellipsis else list(args)
        if len(items) == len(value):
            for i, (t, v) in enumerate(zip(items, value, strict=True)):
                if not _fits(v, t):
                    return _pinpoint(t, v, f"{key}[{i}]")
    if origin in (dict, Mapping, typing.get_origin(Mapping[str, int])) and isinstance(
        value, Mapping
    ):
        for k, v in value.items():
            if len(args) == 2 and not _fits(v, args[1]):
                return _pinpoint(args[1], v, f"{key}.{k}")
    return tp, value, key


def _hint(tp: Any, value: Any, key: str) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is int and isinstance(value, float) and value.is_integer():
        return f"write it without a decimal point: {int(value)}"
    if tp is bool:
        return "write true or false"
    if tp is str or (isinstance(tp, type) and issubclass(tp, Path)):
        return 'write it in quotes: "..."'
    if origin is Literal:
        return f"choose one of {', '.join(repr(a) for a in args)}"
    if origin is tuple:
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            return "write it as an array [a, b, ...]"
        if args and args[-1] is not Ellipsis and len(value) != len(args):
            return f"give exactly {len(args)} values"
    if (dataclasses.is_dataclass(tp) or origin in (dict, Mapping)) and not isinstance(
        value, Mapping
    ):
        return f"write it as a table [{key}]"
    return "fix the value in the config"


def _build(cls: type, data: Mapping[str, Any], origin: str) -> Any:
    """``cls`` from ``data`` by dacite (strict: no unknown keys, every type checked)."""
    local: dict[str, Any] = {}
    _check_keys(cls, data, "", origin, local)
    config = dacite.Config(strict=True, cast=[tuple], forward_references=local,
                           type_hooks={float: _as_float, int: _as_int, Path: _as_path})
    try:
        return dacite.from_dict(cls, data, config=config)
    except dacite.WrongTypeError as exc:
        # the value as given (dacite has cast arrays, and a string, to tuples by then)
        value: Any = data
        for part in (exc.field_path or "").split("."):
            if not (isinstance(value, Mapping) and part in value):
                value = exc.value.value if isinstance(exc.value, _NotInt) else exc.value
                break
            value = value[part]
        tp, value, key = _pinpoint(exc.field_type, value, exc.field_path or "")
        raise InputError(f"key '{key}' in {origin}: expected {_type_name(tp)}, got "
                         f"{_describe(value)}; {_hint(tp, value, key)}") from None
    except dacite.DaciteError as exc:  # a type dacite cannot build: a bug in the config class
        raise InputError(f"config class {cls.__qualname__} cannot be loaded from {origin} "
                         f"({exc})") from None


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
    return _build(cls, _under_field_defaults(cls, data), origin)


def _under_field_defaults(cls: type, data: Mapping[str, Any]) -> Mapping[str, Any]:
    """``data`` with each partial table completed from its field's own default value.

    A field ``loop: LoopConfig = field(default_factory=lambda: LoopConfig(lr=2e-3, ...))``
    given as ``[loop] steps = 10`` keeps the field's lr 2e-3: the missing keys come from that
    default instance, not from ``LoopConfig``'s class defaults (which would silently change a
    recipe's learning rate when one key is overridden).
    """
    out = dict(data)
    for f in dataclasses.fields(cls):
        given = out.get(f.name)
        if not isinstance(given, Mapping):
            continue
        if f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        elif f.default is not dataclasses.MISSING:
            default = f.default
        else:
            continue
        if not (dataclasses.is_dataclass(default) and not isinstance(default, type)):
            continue
        base = {k: v for k, v in _plain(default).items() if v is not None}
        merged = {**base, **given}
        out[f.name] = _under_field_defaults(type(default), merged)
    return out


def config_class_from(func: Callable[..., Any], name: str, *, module: str) -> type:
    """A frozen dataclass with one field per keyword-only parameter of ``func``, same defaults.

    A model's config section is made from its constructor this way, so the defaults live in
    one place (the model) and a TOML section of the model's arguments is checked like any other.

    Args:
        func: a callable whose keyword-only parameters all have a type hint and a default
            (e.g. ``DeepFuse.__init__``).
        name: the class name.
        module: the module the class is reported in (``__name__`` of the caller).

    Returns:
        The dataclass type.

    Example:
        >>> def make(*, width: int = 16, gain: float = 0.5) -> None: ...
        >>> Cfg = config_class_from(make, "Cfg", module=__name__)
        >>> Cfg()
        Cfg(width=16, gain=0.5)
        >>> load_config(Cfg, {"widht": 3})
        Traceback (most recent call last):
        ...
        expokit.errors.InputError: unknown key 'widht' in the top level of the given mapping; \
did you mean 'width'? Valid keys in the top level: width, gain
    """
    hints = typing.get_type_hints(func)
    fields = []
    for p in inspect.signature(func).parameters.values():
        if p.kind is not inspect.Parameter.KEYWORD_ONLY:
            continue
        if p.default is inspect.Parameter.empty or p.name not in hints:
            raise InputError(f"{func.__qualname__}: parameter {p.name!r} needs a type hint and a "
                             "default to become a config field")
        fields.append((p.name, hints[p.name], dataclasses.field(default=p.default)))
    cls = dataclasses.make_dataclass(name, fields, frozen=True)
    cls.__module__ = module  # make_dataclass's own ``module`` argument needs Python 3.12
    return cls


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


def _without_nones(value: Any, key: str) -> Any:
    """``value`` with None-valued table keys left out (TOML has no null); a None in an array
    cannot be left out, so it is refused."""
    if isinstance(value, dict):
        return {k: _without_nones(v, f"{key}.{k}" if key else k)
                for k, v in value.items() if v is not None}
    if isinstance(value, list):
        if any(v is None for v in value):
            raise InputError(f"config key '{key}' holds None inside an array; TOML cannot store it")
        return [_without_nones(v, key) for v in value]
    return value


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
    data = _without_nones(config_to_dict(cfg), "")
    try:
        return tomli_w.dumps(data)
    except TypeError as exc:
        raise InputError(f"the config holds a value TOML cannot store ({exc})") from None


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
