"""Error types raised by expokit.

Every public entry point checks its input and raises one of these with a message that says
what is wrong, where (argument or file), what was expected and how to fix it. The CLI turns
them into a one-line message and a non-zero exit code.
"""

from __future__ import annotations


class ExpokitError(Exception):
    """Base class of all errors expokit raises on purpose."""


class InputError(ExpokitError, ValueError):
    """The caller gave data that expokit cannot work with (wrong size, range, file, ...)."""


class MissingResourceError(ExpokitError, RuntimeError):
    """An optional dependency or a user-supplied resource (weights, backbone) is absent."""
