"""The package's layout shows the pipeline: one package per stage, and no stage imports
another (only the pipeline, the worker and the service, at the top, join them); the shared
modules every stage may use import no stage. Read from the source's import statements."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "services" / "newswire"
STAGES = {"feeds", "http", "extract", "dedup", "tag", "publish", "ops"}
SHARED = {
    "models",
    "errors",
    "settings",
    "metrics",
    "text",
    "urls",
    "dates",
    "sketch",
    "dedup_codec",
    "band_index",
}


def imported(path: Path) -> set[str]:
    """The newswire modules a file imports, as dotted names under newswire."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "newswire":
                names |= {alias.name for alias in node.names}
            elif node.module.startswith("newswire."):
                names.add(node.module.removeprefix("newswire."))
        elif isinstance(node, ast.Import):
            names |= {
                a.name.removeprefix("newswire.")
                for a in node.names
                if a.name.startswith("newswire.")
            }
    return names


def package_of(module: str) -> str:
    return module.split(".")[0]


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        found[".".join(p for p in parts if p != "__init__") or "__init__"] = path
    return found


def test_every_stage_is_a_package_with_a_docstring_saying_its_job_and_imports() -> None:
    for stage in STAGES:
        init = PACKAGE / stage / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and "May import:" in doc, stage


def test_no_stage_imports_another_stage() -> None:
    crossings = []
    for module, path in modules().items():
        stage = package_of(module)
        if stage not in STAGES:
            continue
        for target in imported(path):
            if package_of(target) in STAGES and package_of(target) != stage:
                crossings.append(f"{module} imports {target}")
    assert crossings == []


def test_shared_modules_import_no_stage() -> None:
    for module in SHARED:
        stages = {t for t in imported(PACKAGE / f"{module}.py") if package_of(t) in STAGES}
        assert stages == set(), module


def test_every_module_has_a_docstring() -> None:
    missing = [
        m
        for m, p in modules().items()
        if not ast.get_docstring(ast.parse(p.read_text(encoding="utf-8")))
    ]
    assert missing == []


def test_the_checker_sees_imports_of_every_form(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from newswire.http.client import HttpFetcher\n"
        "from newswire import metrics, feeds\n"
        "import newswire.dedup.layers\n"
        "def later():\n    from newswire.tag.tagger import Tagger\n"
    )
    assert imported(sample) == {"http.client", "metrics", "feeds", "dedup.layers", "tag.tagger"}
