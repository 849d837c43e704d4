"""The apps import downwards only (DESIGN.md, "Layout"): `core` imports no app, no two
apps import each other, and nothing imports `demo`.

Every import counts, at module level or inside a function, and so does
`if TYPE_CHECKING:`: a cycle in types is a cycle in design.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "tocsin"

# From the bottom. An app may import only apps listed before it.
LAYERS = [
    "core",
    "accounts",
    "notify",
    "catalog",
    "incidents",
    "alerts",
    "oncall",
    "escalation",
    "comms",
    "learning",
    "reports",
    "engine",
    "demo",
]
# The apps: the packages directly under src/tocsin. Anything else there (the wiring
# modules settings, urls, api, cli, and `tocsin.__version__`) is not an app.
APPS = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}


def _app_of(path: Path) -> str | None:
    rel = path.relative_to(SRC)
    if len(rel.parts) == 1:
        return None  # a top-level wiring module
    return rel.parts[0]


def _imported_apps(path: Path) -> set[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[tuple[str, int]] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "tocsin":
                names = [f"tocsin.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            if len(parts) >= 2 and parts[0] == "tocsin" and parts[1] in APPS:
                found.add((parts[1], node.lineno))
    return found


def _edges() -> list[tuple[str, str, str]]:
    """(importing app, imported app, "file:line") for every import across apps."""
    edges = []
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue  # generated: they name other apps' models by string anyway
        app = _app_of(path)
        if app is None:
            continue
        for target, line in _imported_apps(path):
            if target != app:
                edges.append((app, target, f"{path.relative_to(SRC)}:{line}"))
    return edges


def test_every_app_has_a_layer() -> None:
    assert APPS - set(LAYERS) == set(), "add the new app to LAYERS (and to DESIGN.md)"


def test_core_imports_no_app() -> None:
    wrong = [where for app, target, where in _edges() if app == "core"]
    assert wrong == [], "core must import no app:\n" + "\n".join(wrong)


def test_apps_import_downwards_only() -> None:
    rank = {name: i for i, name in enumerate(LAYERS)}
    wrong = [
        f"{where}: {app} imports {target}"
        for app, target, where in _edges()
        if target in rank and app in rank and rank[target] > rank[app]
    ]
    assert wrong == [], "imports that go up a layer:\n" + "\n".join(wrong)


def test_no_two_apps_import_each_other() -> None:
    pairs = {(app, target) for app, target, _ in _edges()}
    cycles = sorted({tuple(sorted(p)) for p in pairs if (p[1], p[0]) in pairs})
    assert cycles == [], f"apps importing each other: {cycles}"


def test_nothing_imports_the_demo() -> None:
    wrong = [where for app, target, where in _edges() if target == "demo" and app != "demo"]
    assert wrong == [], "the demo sits on top:\n" + "\n".join(wrong)
