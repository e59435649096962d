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

    modules = sorted(DOMAIN.rglob("*.py"))
    assert len(modules) >= 5 and DOMAIN / "formats" / "openai.py" in modules
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
            if module.name != "urls.py" and "views" not in module.relative_to(app).parts:
                assert not name.startswith("recorder_ui.views"), f"{module} imports {name}"


def test_each_wire_format_is_read_only_through_the_loader() -> None:
    """domain/formats/ holds one module per wire family; the loader dispatches to them and nothing else reaches
    in, so a provider's format is added in one module and one line of the loader's table."""
    formats = sorted(p.stem for p in (DOMAIN / "formats").glob("*.py") if p.stem != "__init__")
    assert len(formats) >= 5
    app = DOMAIN.parent
    for module in app.rglob("*.py"):
        for name in _imports(module) | _relative_imports(module) | _from_domain_imports(module):
            if name.startswith("recorder_ui.domain.formats"):
                assert module == DOMAIN / "loader.py", f"{module.relative_to(app)} imports {name}"


def _from_domain_imports(path: Path) -> set[str]:
    """from recorder_ui.domain import formats: the package named as a module."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module == "recorder_ui.domain" and not node.level:
            names.update(f"recorder_ui.domain.{alias.name}" for alias in node.names)
    return names


def _relative_imports(path: Path) -> set[str]:
    """Relative imports (from .x import y, from .. import z) as absolute module names."""
    package = path.relative_to(DOMAIN.parents[1]).with_suffix("").parts[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = ".".join(package[: len(package) - node.level + 1])
            if node.module:
                names.add(f"{base}.{node.module}")
            else:
                names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


MAX_LINES = 450


def test_no_module_of_the_app_is_a_warehouse() -> None:
    app = DOMAIN.parent
    long = {
        str(module.relative_to(app)): lines
        for module in app.rglob("*.py")
        if "migrations" not in module.parts and (lines := len(module.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}, f"modules over {MAX_LINES} lines: {long}"
