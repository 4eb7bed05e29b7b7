"""Imports flow one way (DESIGN.md section 3): a module never imports a higher layer."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "zettelmem"

# Lower number = lower layer. A module may import modules of a lower layer,
# or of its own layer inside the same subpackage.
LAYERS = {
    "errors": -1,
    "ids": 0,
    "models": 0,
    "timeutil": 0,
    "schemas": 0,
    "validation": 0,
    "__init__": 0,
    "config": 1,
    "embeddings": 1,
    "ranking": 1,
    "zettel": 1,
    "zettel_llm": 1.5,
    "guard_llm": 1.5,
    "poison": 1,
    "llm": 1,
    "contradiction": 0.9,
    "guard": 1,
    "importers": 1,
    "store": 2,
    "guarding": 2.5,
    "linking": 3,
    "graphrank": 3,
    "reflect": 3,
    "render": 3,
    "memory": 4,
    "vault": 4.4,
    "importing": 4.5,
    "evaluation": 5,
    "poisonbench": 5.1,
    "server": 6,
    "server_http": 6.1,
    "clikit": 6.2,
    "cli_graph": 6.5,
    "cli_vault": 6.5,
    "cli_guard": 6.5,
    "cli": 7,
    "__main__": 8,
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    return ".".join(rel.parts)


def _layer(name: str) -> tuple[int, str]:
    head = name.split(".")[0]
    assert head in LAYERS, f"module {name} has no layer in test_layers.LAYERS; add it"
    return LAYERS[head], head


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "zettelmem":
            found.update(f"zettelmem.{a.name}" for a in node.names if a.name != "__version__")
        elif (
            isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("zettelmem")
        ):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("zettelmem"))
    return {name.removeprefix("zettelmem").lstrip(".") for name in found if name != "zettelmem"}


def test_every_module_imports_only_lower_layers() -> None:
    violations = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        level, group = _layer(name)
        for target in _imports(path):
            target_level, target_group = _layer(target)
            if target_level > level or (target_level == level and target_group != group):
                violations.append(f"{name} (layer {level}) imports {target} (layer {target_level})")
    assert not violations, "\n".join(violations)


def test_schemas_import_nothing_from_the_package() -> None:
    assert _imports(PACKAGE / "schemas.py") == set()


def test_store_never_calls_the_embedder_or_the_core() -> None:
    for path in (PACKAGE / "store").glob("*.py"):
        for target in _imports(path):
            assert target.split(".")[0] not in {"embeddings", "llm", "memory", "cli", "server"}, (
                f"{path.name} imports {target}"
            )
