"""expokit: multi-exposure imaging toolkit.

Classical pipeline (OpenCV's stage vocabulary): align -> calibrate -> merge -> tonemap, with
exposure fusion as a separate path. See ``docs/conventions.md`` for the data contract.
"""

from __future__ import annotations

from .errors import ExpokitError, InputError, MissingResourceError

__version__ = "0.2.0"

__all__ = ["ExpokitError", "InputError", "MissingResourceError", "__version__"]
