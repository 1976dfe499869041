"""The layering of lightgen, read from the source with :mod:`ast` (no import), so a circle cannot come back.

    lightgen.files, seeds, errors          neutral, low level: import no other lightgen module
    lightgen.data                          datasets and their preparation: never imports lightgen.metrics
    lightgen.metrics, models, callbacks    may read lightgen.data (roots, IDX files), never its preparation
    lightgen.preparers, evaluate, cli...   above both: the `data prepare` registry, the commands

Every import counts, at module level or inside a function, absolute or relative, and
``importlib.import_module("...")`` with a literal name (the lazy imports of the registries).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lightgen"
# modules above the data and metrics layers: neither layer may reach up into them
UPPER = ("lightgen.preparers", "lightgen.cli", "lightgen.commands", "lightgen.evaluate", "lightgen.lightning_cli")
FORBIDDEN = {
    "data": ("lightgen.metrics", *UPPER),
    "metrics": ("lightgen.data.prepare", *UPPER),
    "models": ("lightgen.data.prepare", *UPPER),
    "callbacks": ("lightgen.data.prepare", *UPPER),
}
IMPORT_FUNCTIONS = {"import_module", "__import__"}


def imported_names(source: str, package: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """(line, dotted module name) of every import in ``source``, a module of ``package``; ``from a import b``
    gives both ``a`` and ``a.b`` (b may be a submodule)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: level 1 is the module's own package
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            arg = node.args[0]
            if name in IMPORT_FUNCTIONS and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.append((node.lineno, arg.value))
    return found


def violations(layer: str) -> list[str]:
    bad: dict[tuple[str, int, str], str] = {}  # one entry per import statement and forbidden module
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent)
        package = ".".join(rel.with_suffix("").parts[:-1])
        for line, name in imported_names(path.read_text(encoding="utf-8"), package, str(path)):
            for prefix in FORBIDDEN[layer]:
                if name == prefix or name.startswith(prefix + "."):
                    bad.setdefault(
                        (str(rel), line, prefix), f"{rel}:{line} imports {name} ({layer} must not import {prefix})"
                    )
    return list(bad.values())


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_run_one_way(layer: str) -> None:
    assert violations(layer) == []


@pytest.mark.parametrize("module", ["files.py", "seeds.py"])
def test_neutral_file_utilities_import_no_lightgen_module(module: str) -> None:
    names = [n for _, n in imported_names((PACKAGE / module).read_text(encoding="utf-8"), "lightgen")]
    assert [n for n in names if n == "lightgen" or n.startswith("lightgen.")] == []


def test_preparer_registry_is_light_and_its_names_are_the_commands() -> None:
    """lightgen.preparers imports only the stdlib and lightgen.errors (the fast --help imports it), and the
    names `lightgen data prepare --help` lists are its keys."""
    from lightgen.commands import PREPARER_NAMES
    from lightgen.preparers import PREPARERS

    names = [n for _, n in imported_names((PACKAGE / "preparers.py").read_text(encoding="utf-8"), "lightgen")]
    assert {n for n in names if n.startswith("lightgen")} <= {"lightgen.errors", "lightgen.errors.LightgenError"}
    assert tuple(sorted(PREPARERS)) == PREPARER_NAMES
    layer_of = {n: target.split(".")[1] for n, target in PREPARERS.items()}
    assert layer_of == {
        "mnist": "data",
        "fashion-mnist": "data",
        "inception": "metrics",
        "mnist-classifier": "metrics",
        "fashion-mnist-classifier": "metrics",
        "sr-images": "data",
    }


@pytest.mark.parametrize(
    ("source", "package", "caught"),
    [
        ("from lightgen.data.prepare import file_digest", "lightgen.metrics", True),
        ("def f():\n    from lightgen.data import prepare", "lightgen.metrics", True),
        ("from ..data.prepare import file_digest", "lightgen.metrics", True),
        ("from ..data import prepare", "lightgen.metrics", True),
        ("import lightgen.data.prepare as p", "lightgen.metrics", True),
        ("importlib.import_module('lightgen.data.prepare')", "lightgen.metrics", True),
        ("from lightgen.data.base import resolve_root", "lightgen.metrics", False),
        ("from lightgen.data.mnist import load_idx", "lightgen.metrics", False),
        ("def f():\n    from lightgen.metrics.inception import prepare_inception", "lightgen.data", True),
        ("from lightgen import metrics", "lightgen.data", True),
        ("from ..metrics import classifier", "lightgen.data", True),
        ("from lightgen.files import file_digest", "lightgen.data", False),
    ],
)
def test_the_import_reader_catches_every_form(source: str, package: str, caught: bool) -> None:
    """The checker itself: each way of writing the forbidden import is seen."""
    layer = package.split(".")[1]
    names = [n for _, n in imported_names(source, package)]
    hit = any(n == p or n.startswith(p + ".") for n in names for p in FORBIDDEN[layer])
    assert hit == caught, names


@pytest.mark.parametrize(
    "module", ["lightgen.checkpoint", "lightgen.models", "lightgen.data", "lightgen.metrics.runner"]
)
def test_each_module_imports_first_in_a_fresh_interpreter(module: str) -> None:
    """No import circle: a model that needs lightgen.checkpoint (which imports lightgen.models) imports it lazily."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
