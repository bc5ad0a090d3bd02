"""The one-way dependency rule of ARCHITECTURE.md ("Layers"): core <- governance <- inventory <- orders <- warehouse
<- cutover <- reporting <- the roof (the ``web`` app of the browser pages and the project package
``distribution_erp``: settings, URLs, Celery, the demo). ``core`` (errors, db helpers, validation, API plumbing)
imports no app; no app imports the roof. A lower app never imports a higher one, not even inside a function;
when it must tell a higher app something it sends a signal of its own (``<app>/signals.py``) or offers an
extension point that the higher app fills in its ``AppConfig.ready()`` (inventory's integrity checks and
in-transit expression, orders' on-wave check, ``core.actions.register``).

This reads the source (no import), so it also sees imports that only run later."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["core", "governance", "inventory", "orders", "warehouse", "cutover", "reporting"]
ROOF = {"web", "distribution_erp"}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def upward_imports(app: str) -> list[str]:
    higher = set(LAYERS[LAYERS.index(app) + 1 :]) | ROOF
    problems = []
    for path in sorted((ROOT / app).rglob("*.py")):
        for line, module in _imports(path):
            top = module.split(".")[0]
            if top in higher:
                problems.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return problems


@pytest.mark.parametrize("app", LAYERS)
def test_a_lower_app_never_imports_a_higher_one(app):
    assert upward_imports(app) == []


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    """The rule can fail: a module of inventory importing orders inside a function is found."""
    (tmp_path / "inventory").mkdir()
    (tmp_path / "inventory" / "sneaky.py").write_text("def f():\n    from orders.services import x\n    return x\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert upward_imports("inventory") == ["inventory/sneaky.py:2 imports orders.services"]


def test_the_check_sees_core_importing_an_app_or_an_app_importing_the_roof(tmp_path, monkeypatch):
    """core may not import governance; reporting (the top app) may not import the pages or the project package."""
    for app in ("core", "reporting"):
        (tmp_path / app).mkdir()
    (tmp_path / "core" / "helper.py").write_text("from governance.models import Site\n")
    (tmp_path / "reporting" / "views.py").write_text("import web.lists\nfrom distribution_erp import demo\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert upward_imports("core") == ["core/helper.py:1 imports governance.models"]
    assert upward_imports("reporting") == [
        "reporting/views.py:1 imports web.lists",
        "reporting/views.py:2 imports distribution_erp",
    ]
