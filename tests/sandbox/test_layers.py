"""The sandbox's modules import one way only: routing → datacenter → operations → state → store.
Every import is counted, also those inside functions and under TYPE_CHECKING, so that a cycle
cannot hide in a lazy import."""

from __future__ import annotations

import ast
from pathlib import Path

import seedctl.sandbox

PACKAGE = Path(seedctl.sandbox.__file__).parent
PREFIX = "seedctl.sandbox."

# Lower numbers are lower layers; a module may import only modules of a lower layer.
LAYERS = {
    "data_access": -1,
    "store": 0, "catalog": 0, "faults": 0, "azurite": 0, "certs": 0, "connection": 0,
    "copylog": 1, "state": 1,
    "arm": 2, "ops_locks": 2.5,
    "ops_resources": 3, "ops_operations": 3, "policies": 3,
    "ops_storage": 4,
    "ops_importexport": 5, "ops_databox": 5, "ops_databox_service": 5.5, "rewrites": -1,
    "drive_import": 6,
    "datacenter_databox": 7,
    "datacenter": 8,
    "app": 9, "control_api": 9, "control": 9, "simdrive": 10,
    "server": 10, "lifecycle": 10, "daemon": 11, "__init__": 12,
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "seedctl.sandbox":
                found.update(alias.name for alias in node.names)
            elif node.module.startswith(PREFIX):
                found.add(node.module[len(PREFIX):].split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(a.name[len(PREFIX):].split(".")[0] for a in node.names if a.name.startswith(PREFIX))
    return found


def test_every_module_has_a_layer():
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    assert modules - set(LAYERS) == set(), "give the new module a layer in LAYERS"


def test_imports_go_down_only():
    wrong = []
    for path in PACKAGE.glob("*.py"):
        me = path.stem
        for other in _imports(path):
            if other in LAYERS and LAYERS[other] >= LAYERS[me] and other != me:
                wrong.append(f"{me} (layer {LAYERS[me]}) imports {other} (layer {LAYERS[other]})")
    assert not wrong, "\n".join(sorted(wrong))


def test_operations_never_reach_up():
    """The operations know nothing of routing or the datacenter; the datacenter uses their public
    functions only (no name starting with an underscore)."""
    for path in PACKAGE.glob("ops_*.py"):
        assert not _imports(path) & {"app", "server", "datacenter", "datacenter_databox", "drive_import",
                                      "control_api"}, path.name
    for path in PACKAGE.glob("datacenter*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PREFIX + "ops_"):
                assert not [a.name for a in node.names if a.name.startswith("_")], path.name
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id.startswith("ops_"):
                assert not node.attr.startswith("_"), f"{path.name}: {node.value.id}.{node.attr}"
