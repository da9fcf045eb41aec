"""Method tables: one way to pick a method by name and check the options given to it.

Every family keeps a ``{name: function}`` table (``FUSERS``, ``CALIBRATORS``, ``MERGERS``,
``ALIGNERS``, ``TONEMAPPERS``, the metrics' functions) and a dispatcher that calls
:func:`pick` and :func:`check_options`, so an unknown method or an option the method does not
take is an :class:`~expokit.errors.InputError` that lists the valid names, never silently
dropped. The CLI builds its ``--method`` choices and option help from the same tables.

>>> def fuse_demo(images, *, sigma=0.2, paths=None):
...     return images
>>> keyword_options(fuse_demo, exclude=("paths",))
['sigma']
>>> try:
...     check_options("demo", fuse_demo, {"tile": 256}, exclude=("paths",))
... except InputError as exc:
...     print(exc)
demo has no option 'tile'; its options are sigma
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from .errors import InputError

__all__ = ["check_options", "dispatch", "keyword_options", "parse_assignments", "parse_value",
           "pick"]

F = TypeVar("F", bound=Callable[..., Any])


def keyword_options(function: Callable[..., Any], *, exclude: Iterable[str] = ()
                    ) -> list[str] | None:
    """The keyword-only options of ``function`` in signature order.

    Args:
        function: a method from a family's table.
        exclude: names the dispatcher passes itself (``paths``, ``reference``...), left out.

    Returns:
        The option names, or ``None`` when ``function`` takes ``**kwargs`` (any option).

    >>> def f(x, *, a=1, b=2, **rest): ...
    >>> keyword_options(f) is None
    True
    """
    params = inspect.signature(function).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    skip = set(exclude)
    return [p.name for p in params
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in skip]


def check_options(label: str, function: Callable[..., Any], options: Iterable[str], *,
                  exclude: Iterable[str] = ()) -> None:
    """Refuse option names that ``function`` does not take.

    Args:
        label: how the message names the method, e.g. ``"drago"`` or ``"fusion method
            'deepfuse'"``.
        function: the method.
        options: the option names given (a mapping's keys will do).
        exclude: names the caller may not give because the dispatcher passes them itself.

    Raises:
        InputError: naming every unknown option and listing the valid ones.
    """
    valid = keyword_options(function, exclude=exclude)
    if valid is None:
        return
    unknown = [name for name in options if name not in valid]
    if unknown:
        names = ", ".join(repr(n) for n in unknown)
        raise InputError(f"{label} has no option{'s' if len(unknown) > 1 else ''} {names}; "
                         f"its options are {', '.join(valid) or 'none'}")


def pick(table: Mapping[str, F], method: object, *, what: str) -> F:
    """The function called ``method`` in ``table``.

    Args:
        table: a family's ``{name: function}`` table.
        method: the name asked for.
        what: the family in words for the message, e.g. ``"fusion method"``.

    Raises:
        InputError: for a name not in the table, listing the valid names.

    >>> pick({"a": len}, "a", what="demo method")(["x"])
    1
    >>> try:
    ...     pick({"a": len, "b": len}, "c", what="demo method")
    ... except InputError as exc:
    ...     print(exc)
    unknown demo method 'c': choose one of 'a', 'b'
    """
    fn = table.get(method) if isinstance(method, str) else None  # type: ignore[call-overload]
    if fn is None:
        raise InputError(f"unknown {what} {method!r}: choose one of "
                         + ", ".join(repr(k) for k in table))
    return fn


def parse_value(text: str) -> Any:
    """A command-line value as a TOML value; a bare word stays a string.

    >>> parse_value("10"), parse_value("1e-3"), parse_value("true"), parse_value("[1, 2]")
    (10, 0.001, True, [1, 2])
    >>> parse_value("linear")
    'linear'
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_assignments(items: Iterable[str] | None, *, flag: str, example: str
                      ) -> dict[str, Any]:
    """``["a=1", "b.c=x"]`` -> ``{"a": 1, "b.c": "x"}``, values parsed by :func:`parse_value`.

    Args:
        items: ``KEY=VALUE`` strings as a command line gives them (``None``: none).
        flag: the option they came from, for the message (``"--set"``, ``"-p"``).
        example: a valid item for the message, e.g. ``"loop.steps=200"``.

    Raises:
        InputError: for an item without ``=`` or without a name.

    >>> parse_assignments(["loop.steps=10", "data.name=abc"], flag="--set", example="a=1")
    {'loop.steps': 10, 'data.name': 'abc'}
    """
    result: dict[str, Any] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"{flag} {item!r} is not KEY=VALUE, e.g. {flag} {example}")
        result[key.strip()] = parse_value(text)
    return result


def dispatch(table: Mapping[str, Callable[..., Any]], method: object, what: str,
             args: tuple[Any, ...], options: Mapping[str, Any], *,
             fixed: Mapping[str, Any] | None = None) -> Any:
    """Call the method ``method`` of ``table`` after checking its name and options.

    Args:
        table: a family's ``{name: function}`` table.
        method: the name asked for.
        what: the family in words for the message, e.g. ``"fusion method"``.
        args: the positional arguments (the images...).
        options: the caller's keyword options, checked against the method's signature.
        fixed: keyword arguments the dispatcher passes itself (``paths``...); the caller's
            options may not repeat them.

    Returns:
        What the method returns.

    Raises:
        InputError: for an unknown method or an option the method does not take.

    >>> dispatch({"len": len}, "len", "demo method", (["a", "b"],), {})
    2
    """
    fn = pick(table, method, what=what)
    given = dict(fixed or {})
    check_options(str(method), fn, options, exclude=given)
    return fn(*args, **given, **options)
