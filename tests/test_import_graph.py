"""Imports point one way: marketdata ← analysis ← labeling (and alerts, beside labeling).

Reads the source of every module (tests excepted) and fails on an import, a template or a URL
name that goes against that direction: `analysis` never names `labeling` or `alerts`, and
`marketdata` names none of them. The Radar reaches labels only through
`analysis.radar_extensions`, which `labeling` plugs into at start-up. `labeling` imports
`analysis` at module level (no function-level import dodging a cycle), except where the app
registry requires it (`AppConfig.ready`).
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    # accounts (display preferences) is the lowest app: any app may read it.
    "accounts": ("marketdata", "analysis", "labeling", "alerts"),
    "marketdata": ("analysis", "labeling", "alerts"),
    "analysis": ("labeling", "alerts"),
}
# Where a string or template could reach a higher app: template paths and URL namespaces.
TEMPLATE_REFERENCE = re.compile(r"""['"/](?P<app>marketdata|analysis|labeling|alerts)[/:]""")


def modules(app: str) -> list[Path]:
    """The app's Python modules, without its tests and migrations."""
    return [
        path
        for path in sorted((ROOT / app).rglob("*.py"))
        if "tests" not in path.relative_to(ROOT).parts
        and "migrations" not in path.relative_to(ROOT).parts
    ]


def imported(path: Path) -> list[tuple[str, int]]:
    """(top-level package, line) of every import in the module, relative ones resolved."""
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            out += [(alias.name.split(".")[0], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join([*base, *([node.module] if node.module else [])])
            else:
                name = node.module or ""
            out.append((name.split(".")[0], node.lineno))
    return out


def strings(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        (node.value, node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


@pytest.mark.parametrize("app", list(FORBIDDEN))
def test_no_module_imports_a_higher_app(app):
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for path in modules(app)
        for target, line in imported(path)
        if target in FORBIDDEN[app]
    ]
    assert offending == []


@pytest.mark.parametrize("app", list(FORBIDDEN))
def test_no_module_or_template_names_a_higher_app(app):
    offending = [
        f"{path.relative_to(ROOT)}:{line} names {text!r}"
        for path in modules(app)
        for text, line in strings(path)
        if any(m["app"] in FORBIDDEN[app] for m in TEMPLATE_REFERENCE.finditer(f"'{text}"))
    ]
    for template in sorted((ROOT / "templates" / app).rglob("*.html")):
        for number, line in enumerate(template.read_text().splitlines(), 1):
            if any(m["app"] in FORBIDDEN[app] for m in TEMPLATE_REFERENCE.finditer(line)):
                offending.append(f"{template.relative_to(ROOT)}:{number} {line.strip()[:80]}")
    assert offending == []


def test_labeling_imports_analysis_at_module_level():
    nested = []
    for path in modules("labeling"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom | ast.Import) and function.name != "ready":
                    nested.append(f"{path.relative_to(ROOT)}:{node.lineno} in {function.name}()")
    assert nested == []


def test_the_checks_see_a_violation(tmp_path, monkeypatch):
    """The readers above do find what they look for (a check that cannot fail proves nothing)."""
    (tmp_path / "analysis").mkdir()
    bad = tmp_path / "analysis" / "bad.py"
    bad.write_text(
        "from labeling.selectors import charts\n"
        "from ..labeling import models\n"
        "TEMPLATE = 'labeling/partials/_x.html'\n"
    )
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert [target for target, _ in imported(bad)] == ["labeling", "labeling"]
    with pytest.raises(AssertionError):
        test_no_module_imports_a_higher_app("analysis")
    with pytest.raises(AssertionError):
        test_no_module_or_template_names_a_higher_app("analysis")


def test_no_test_module_imports_another_test_module_or_a_conftest():
    """Shared test code lives in factories and fixture plugins, never in a test module."""
    offending = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in {".venv", "var", "static"} or not (
            path.name.startswith("test_") or path.name == "conftest.py"
        ):
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                last = name.split(".")[-1]
                if last.startswith("test_") or last == "conftest":
                    offending.append(f"{rel}:{node.lineno} imports {name}")
    assert offending == []
