"""Classical exposure fusion (no exposure times, no camera response needed)."""

from __future__ import annotations

from .mertens import fuse_mertens, mertens_weights

__all__ = ["FUSERS", "fuse_mertens", "mertens_weights"]

#: Classical fusion methods by name (the CLI's ``--method`` choices).
FUSERS = {"mertens": fuse_mertens}
