"""Tone-mapping operators: linear radiance in, display-referred float32 in [0, 1] out.

Every operator is a plain function, radiance first, options keyword-only; :func:`tonemap`
picks one by name (the CLI's ``--method``) and refuses options the operator does not have.

>>> import numpy as np
>>> from expokit.simulate import render_scene
>>> ldr = tonemap(render_scene(48, 64), method="drago", bias=0.8)
>>> ldr.shape, ldr.dtype
((48, 64, 3), dtype('float32'))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from .._methods import dispatch, keyword_options, pick
from ..errors import InputError  # noqa: F401 - the doctests use it
from ._common import Encoding
from .drago import tonemap_drago
from .mantiuk import tonemap_mantiuk
from .reinhard import tonemap_reinhard, tonemap_reinhard_local

__all__ = [
    "TONEMAPPERS",
    "Encoding",
    "ToneMapper",
    "options_of",
    "tonemap",
    "tonemap_drago",
    "tonemap_mantiuk",
    "tonemap_reinhard",
    "tonemap_reinhard_local",
]

#: Names accepted by :func:`tonemap` (and the CLI's ``--method``).
ToneMapper = Literal["reinhard", "reinhard_local", "drago", "mantiuk"]

#: Tone-mapping operators by name.
TONEMAPPERS: dict[str, Callable[..., np.ndarray]] = {
    "reinhard": tonemap_reinhard,
    "reinhard_local": tonemap_reinhard_local,
    "drago": tonemap_drago,
    "mantiuk": tonemap_mantiuk,
}


def options_of(method: str) -> list[str]:
    """The keyword options of the operator called ``method``.

    >>> options_of("drago")
    ['bias', 'ld_max', 'saturation', 'encoding']
    """
    return keyword_options(pick(TONEMAPPERS, method, what="tone-mapping method")) or []


def tonemap(radiance: np.ndarray, method: ToneMapper = "reinhard", **options: Any) -> np.ndarray:
    """Tone-map linear radiance with the operator called ``method``.

    Args:
        radiance: linear radiance ``>= 0``, float ``(H, W, 3)``, ``(H, W, 1)`` or ``(H, W)``.
        method: one of ``TONEMAPPERS``: ``"reinhard"`` (default), ``"reinhard_local"``,
            ``"drago"``, ``"mantiuk"``.
        **options: keyword options of that operator (see its docstring), e.g. ``key=0.18``.

    Returns:
        Display-referred float32 in [0, 1], the shape of the input (``(H, W)`` gives
        ``(H, W, 1)``).

    Raises:
        InputError: for an unknown method, an option the operator does not have (the message
            lists the valid ones), or bad radiance or option values.

    >>> try:
    ...     tonemap(np.ones((4, 4, 3), np.float32), method="reinhard", kee=0.2)
    ... except InputError as exc:
    ...     print(exc)
    reinhard has no option 'kee'; its options are key, white, saturation, encoding
    """
    return dispatch(TONEMAPPERS, method, "tone-mapping method", (radiance,), options)
