"""`seedctl.drives` is five groups that import one way only (docs/architecture.md, "The drive
engine"): formats → tables → disk | placement → writing. Every import is counted, also those inside
functions and under TYPE_CHECKING, so that a wrong direction cannot hide in a lazy import. Code
outside the package imports only the facade, `seedctl.drives`."""

from __future__ import annotations

import ast
from pathlib import Path

import seedctl
import seedctl.drives

PACKAGE = Path(seedctl.drives.__file__).parent
SEEDCTL = Path(seedctl.__file__).parent
PREFIX = "seedctl.drives"

# Lower numbers are lower layers: a group may import its own modules and those of lower layers.
# disk and placement share a layer and so never import each other.
LAYERS = {"formats": 0, "tables": 1, "disk": 2, "placement": 2, "writing": 3}
# The only modules outside the package that the drive engine may use: it sits below resources/,
# lifecycle/ and sandbox/, and knows nothing of Azure, specs or commands.
ALLOWED_OUTSIDE = {"seedctl.errors", "seedctl.interrupt", "seedctl.crc64", "seedctl.fsretry", "seedctl.lock",
                   "seedctl.safefs"}


def _imported(path: Path) -> set[str]:
    """Every module or facade name `path` imports, as dotted names (`seedctl.drives.X` for a name X
    taken from the facade or a subpackage)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.update(f"{node.module}.{a.name}" if node.module == PREFIX else node.module for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level:
            found.add("<relative import>")
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {name for name in found if name.startswith("seedctl") or name == "<relative import>"}


def _group_of(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0]


def test_every_module_is_in_a_group() -> None:
    loose = [p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]
    assert not loose, f"put {loose} in one of the groups {sorted(LAYERS)}"
    groups = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert groups == set(LAYERS), "give the new group a layer in LAYERS and a line in docs/architecture.md"


def test_groups_import_down_only() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent == PACKAGE:
            continue
        me = _group_of(path)
        for name in _imported(path):
            where = f"{path.relative_to(PACKAGE)} imports {name}"
            if name == "<relative import>":
                wrong.append(f"{where}: write imports in full")
            elif name.startswith(PREFIX + "."):
                other = name.split(".")[2]
                if other not in LAYERS:
                    wrong.append(f"{where}: the facade (seedctl.drives.{other}) is for code outside the package")
                elif other != me and LAYERS[other] >= LAYERS[me]:
                    wrong.append(f"{where}: {me} (layer {LAYERS[me]}) may not import {other} (layer {LAYERS[other]})")
            elif name == PREFIX:
                wrong.append(f"{where}: import the module, not the facade")
            elif name not in ALLOWED_OUTSIDE:
                wrong.append(f"{where}: the drive engine uses only {sorted(ALLOWED_OUTSIDE)} outside itself")
    assert not wrong, "\n".join(wrong)


def test_callers_use_the_facade_only() -> None:
    """resources/, lifecycle/, sandbox/ and the rest import names from `seedctl.drives`, never a
    submodule, so the groups can change inside without touching them."""
    wrong = []
    for path in sorted(SEEDCTL.rglob("*.py")):
        if PACKAGE in path.parents:
            continue
        for name in _imported(path):
            if name.startswith(PREFIX + "."):
                attribute = name.split(".")[2]
                if attribute in LAYERS or attribute not in seedctl.drives.__all__:
                    wrong.append(f"{path.relative_to(SEEDCTL)} imports {name}")
    assert not wrong, "\n".join(wrong) + "\nadd the name to seedctl.drives._LAZY instead"


def test_the_checker_sees_a_wrong_import(tmp_path: Path) -> None:
    """The walk above must count an import inside a function, or the tests pass on anything."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from seedctl.drives.writing.prepare import prepare_drive\n"
                      "    from seedctl.drives import scan_staging\n", encoding="utf-8")
    assert _imported(module) == {"seedctl.drives.writing.prepare", "seedctl.drives.scan_staging"}
