"""Dependencies point one way: the domain is pure Python and never imports Django or the app."""

from __future__ import annotations

import ast
from pathlib import Path

DOMAIN = Path(__file__).resolve().parent.parent / "recorder_ui" / "domain"
ALLOWED_THIRD_PARTY = {"orjson"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_domain_modules_import_neither_django_nor_the_app() -> None:
    import sys

    modules = sorted(DOMAIN.glob("*.py"))
    assert len(modules) >= 5
    for module in modules:
        for name in _imports(module):
            top = name.split(".")[0]
            assert top != "django", f"{module.name} imports {name}"
            if top == "recorder_ui":
                assert name.startswith("recorder_ui.domain"), f"{module.name} imports {name}"
            elif top not in sys.stdlib_module_names:
                assert top in ALLOWED_THIRD_PARTY, f"{module.name} imports third-party {name}"


def test_nothing_imports_views_or_commands() -> None:
    app = DOMAIN.parent
    for module in app.rglob("*.py"):
        if module.name in {"urls.py"} or "tests" in module.parts:
            continue
        for name in _imports(module):
            assert not name.startswith("recorder_ui.management"), f"{module} imports {name}"
            if module.name != "urls.py":
                assert name != "recorder_ui.views", f"{module} imports {name}"
