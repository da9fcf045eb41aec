"""expokit's import layers (docs/architecture.md): no module imports from a layer above it.

Every module under src/expokit is parsed with ``ast``; every ``import`` / ``from ... import``
of an expokit module counts, wherever it stands (module level, inside a function, under
``TYPE_CHECKING``), since a lazy import is still a dependency. Doctest examples are text, not
imports, and do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: Lowest first. A module belongs to the longest prefix listed; it may import its own package
#: and anything in a lower layer, nothing in its own layer's other packages or above.
LAYERS: list[tuple[str, ...]] = [
    ("expokit.errors",),
    ("expokit",),  # the package root alone: __version__ and the error classes
    ("expokit._checks",),
    ("expokit._methods",),  # method tables: option checks and dispatch; imports only errors
    ("expokit.nn.runtime",),  # torch plumbing: imports only errors, torch lazily
    ("expokit.io",),
    ("expokit.color",),
    ("expokit.bracket",),
    ("expokit.align", "expokit.tonemap"),
    ("expokit.metrics",),
    ("expokit.nn",),
    ("expokit.models",),
    ("expokit.fusion", "expokit.correct", "expokit.hdr"),
    ("expokit.simulate", "expokit.datasets", "expokit.eeg"),  # eeg: recordings, errors only
    ("expokit.train",),
    ("expokit.batch",),  # one task per bracket; bench reads its manifest
    ("expokit.bench",),
    ("expokit.demo",),
    ("expokit.report",),  # the static HTML page of a batch folder (reads its manifest)
    ("expokit.cli",),
    ("expokit.__main__",),
]


def _rank() -> dict[str, tuple[int, str]]:
    return {prefix: (i, prefix) for i, group in enumerate(LAYERS) for prefix in group}


def layer_of(module: str) -> tuple[int, str]:
    """``(layer index, owning prefix)`` of a dotted module name (longest listed prefix)."""
    ranks = _rank()
    parts = module.split(".")
    for n in range(len(parts), 1 if len(parts) > 1 else 0, -1):  # the root only for itself
        key = ".".join(parts[:n])
        if key in ranks:
            return ranks[key]
    raise KeyError(module)


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """``(line, dotted name)`` of every expokit module ``path`` imports."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "expokit"]
        elif isinstance(node, ast.ImportFrom):
            for line, target in imported_modules_of(node, package):
                # `from pkg import sub` imports the submodule pkg.sub when there is one
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    out.append((line, sub if _is_module(sub) else target))
    return out


def private_imports(path: Path) -> list[str]:
    """Private modules or names (``_x``) that ``path`` takes from another package.

    ``expokit._checks`` is the shared bottom layer and may be imported by all.
    """
    name = module_name(path)
    own_package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    bad = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if not isinstance(node, ast.ImportFrom):
            continue
        for line, target in imported_modules_of(node, own_package):
            parts = target.split(".")
            owner = next((".".join(parts[:i]) for i, p in enumerate(parts)
                          if i > 0 and p.startswith("_")), None)
            names = [a.name for a in node.names if a.name.startswith("_")]
            if owner is None and names:  # private names are shared within their package
                is_package = SRC.joinpath(*parts, "__init__.py").is_file()
                owner = target if is_package else target.rpartition(".")[0]
            if owner is None or target == "expokit._checks" or owner == "expokit":
                continue
            if not (own_package == owner or own_package.startswith(owner + ".")):
                bad.append(f"{path.relative_to(SRC)}:{line}: {name} imports private "
                           f"{target} {names or ''}".rstrip())
    return bad


def imported_modules_of(node: ast.ImportFrom, package: str) -> list[tuple[int, str]]:
    """The module(s) one ``from ... import`` names, resolved against ``package``."""
    if node.level:
        base = package.split(".")
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    return [(node.lineno, target)] if target.split(".")[0] == "expokit" else []


def _is_module(dotted: str) -> bool:
    base = SRC.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def upward_imports(path: Path) -> list[str]:
    """Imports of ``path`` that break the layering, as readable lines."""
    name = module_name(path)
    own, own_prefix = layer_of(name)
    bad = []
    for line, target in imported_modules(path):
        layer, prefix = layer_of(target)
        same_package = prefix == own_prefix
        if layer > own or (layer == own and not same_package):
            bad.append(f"{path.relative_to(SRC)}:{line}: {name} (layer {own}, {own_prefix}) "
                       f"imports {target} (layer {layer}, {prefix})")
    return bad


MODULES = sorted((SRC / "expokit").rglob("*.py"))


def test_every_module_has_a_layer():
    for path in MODULES:
        layer_of(module_name(path))  # KeyError names a module missing from LAYERS


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC / "expokit")))
def test_no_upward_import(path):
    bad = upward_imports(path)
    assert not bad, "imports from a higher layer (see docs/architecture.md):\n" + "\n".join(bad)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC / "expokit")))
def test_no_private_import_across_packages(path):
    bad = private_imports(path)
    assert not bad, "use the package's public names:\n" + "\n".join(bad)


def test_the_check_catches_an_upward_import(tmp_path, monkeypatch):
    """The checks are not vacuous: an io module importing the CLI (inside a function), a metric
    importing a model and train, a model taking metrics' private module and name are reported."""
    fake = tmp_path / "src"
    (fake / "expokit" / "io").mkdir(parents=True)
    (fake / "expokit" / "metrics").mkdir(parents=True)
    for pkg in ("expokit", "expokit/io", "expokit/metrics", "expokit/cli", "expokit/models",
                "expokit/train"):
        (fake / pkg).mkdir(parents=True, exist_ok=True)
        (fake / pkg / "__init__.py").write_text("")
    (fake / "expokit" / "models" / "zoo.py").write_text("")
    (fake / "expokit" / "train" / "config.py").write_text("")
    io_mod = fake / "expokit" / "io" / "_read.py"
    io_mod.write_text("def f():\n    from expokit.cli import main\n")
    metric = fake / "expokit" / "metrics" / "fake.py"
    metric.write_text("from ..models import zoo\nfrom ..train.config import load_config\n"
                      "from .._checks import check_image\n")
    nn_mod = fake / "expokit" / "models" / "net.py"
    nn_mod.write_text("from ..metrics._checks import RGB2GRAY\nfrom ..metrics.fake import _x\n"
                      "from ._private import y\nfrom .._checks import check_image\n")
    monkeypatch.setitem(globals(), "SRC", fake)
    assert len(upward_imports(io_mod)) == 1
    bad = upward_imports(metric)
    assert [b.split(" imports ")[1].split(" ")[0] for b in bad] == [
        "expokit.models.zoo", "expokit.train.config"]
    assert len(private_imports(nn_mod)) == 2  # metrics' private module and private name
