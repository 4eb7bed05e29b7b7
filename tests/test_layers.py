"""Imports flow one way (ARCHITECTURE.md): a package never imports a higher one."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "zettelmem"

# One named rank per package, lowest first. A module may import from a lower package
# or from its own package; the base modules are one package among themselves.
BASE = {
    "__init__", "errors", "ids", "timeutil", "models", "schemas", "validation", "text",
    "config", "render", "redaction", "grants", "workers",
}  # fmt: skip
RANKS = {
    "base": 0,
    "backends": 1,  # embedders and LLM clients
    "store": 2,  # the canonical record and the derived indexes
    "retrieval": 3,  # fusion and graph spreading
    "guard": 4,  # poisoning signals, verdicts, LLM audit
    "zettel": 5,  # construction, linking, evolution, reflect
    "memory": 6,  # the facade
    "transfer": 7,  # import and export, driving the facade
    "bench": 8,  # LoCoMo and poisoning benchmarks
    "server": 9,  # the MCP front door
    "cli": 10,  # the shell front door
    "__main__": 11,
}


def _package(module: str) -> str:
    head = module.split(".")[0]
    if head in BASE:
        return "base"
    assert head in RANKS, f"module {module} is in no package of test_layers.RANKS; add it"
    return head


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE).with_suffix("").parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "zettelmem":
            found.update(f"zettelmem.{a.name}" for a in node.names if a.name != "__version__")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("zettelmem."):
            found.add(str(node.module))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("zettelmem."))
    return {name.removeprefix("zettelmem.") for name in found}


def test_every_module_imports_only_its_own_or_lower_packages() -> None:
    violations = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        mine = _package(name)
        for target in _imports(path):
            theirs = _package(target)
            if RANKS[theirs] > RANKS[mine]:
                violations.append(f"{name} ({mine}) imports {target} ({theirs})")
    assert not violations, "\n".join(violations)


def test_every_package_has_a_rank_and_no_loose_modules() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    assert packages <= set(RANKS), f"packages without a rank: {packages - set(RANKS)}"
    assert modules <= BASE | {"__main__"}, f"top-level modules outside base: {modules - BASE}"


def test_schemas_import_nothing_from_the_package() -> None:
    assert _imports(PACKAGE / "schemas.py") == set()
    # ... so the score parts it documents are spelled twice; they must agree.
    from zettelmem import models, schemas

    assert schemas.SCORE_PARTS == models.SCORE_PARTS


def test_store_never_calls_the_embedder_an_llm_or_the_core() -> None:
    for path in (PACKAGE / "store").rglob("*.py"):
        for target in _imports(path):
            assert _package(target) in {"base", "store"}, f"{path.name} imports {target}"


def _touches_the_connection(path: Path) -> list[str]:
    """Lines outside store/ that use sqlite3, a record's connection or its transactions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            if "sqlite3" in names:
                found.append(f"{path.name}:{node.lineno} imports sqlite3")
        elif isinstance(node, ast.Attribute) and node.attr in ("db", "transaction", "snapshot"):
            found.append(f"{path.name}:{node.lineno} uses .{node.attr}")
    return found


def test_nothing_outside_store_touches_a_sqlite_connection() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.relative_to(PACKAGE).parts[0] != "store":
            found += _touches_the_connection(path)
    assert not found, "\n".join(found)
