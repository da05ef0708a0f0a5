"""Gather what plan and apply repeat at the bottom (seedctl.render.ending): every error and warning
with the spec line it concerns, and the next steps after an apply.

A node's address names a part of the spec (drive["WD-1"] is the drives entry with that serial), so
the line is found in the spec's YAML marks; within a drive's entry the message says which field it
is about (a wrong serial is the `serial:` line, a BitLocker problem the `bitlocker:` line).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from seedctl.plan import ERROR as ERROR_ACTION
from seedctl.plan import Plan
from seedctl.render.ending import ERROR, WARNING, Problem, fix_for

_ADDRESS = re.compile(r'^(?P<kind>\w+)\["(?P<name>.*)"\]$')

# words in a drive's message → the field of its spec entry the message is about
_DRIVE_FIELDS = (
    (re.compile(r"\bserial\b|wrong drive", re.I), "serial"),
    (re.compile(r"bitlocker|recovery password|\bkey\b", re.I), "bitlocker"),
    (re.compile(r"\bcapacity\b|holds [\d,]+ bytes|too small|does not fit|free space", re.I), "capacity"),
    (re.compile(r"not attached|mount|not a folder|read-only", re.I), "mount_point"),
)


class SpecLocator:
    """`where(address, message)` → "seed.yaml:31" for the spec `display` names, read from `path`.

    Reads the file once; an unreadable or changed file gives no lines, never an error (the ending
    is a convenience on top of messages that already name their node)."""

    def __init__(self, path: Path, display: str) -> None:
        self.display = display
        try:
            from seedctl.spec.yamlread import read_yaml

            self.doc: Any = read_yaml(Path(path).read_bytes(), display)
        except Exception:  # noqa: BLE001 - no lines is the fallback for any reading problem
            self.doc = None

    def _data(self) -> dict[str, Any]:
        data = self.doc.data if self.doc is not None else None
        return data if isinstance(data, dict) else {}

    def path_for(self, address: str, message: str = "") -> tuple[Any, ...] | None:
        match = _ADDRESS.match(address)
        if not match:
            return None
        kind, name = match.group("kind"), match.group("name")
        data = self._data()
        if kind == "drive":
            drives = data.get("drives") if isinstance(data.get("drives"), list) else []
            for i, drive in enumerate(drives):
                if isinstance(drive, dict) and str(drive.get("serial", "")).upper() == name.upper():
                    field = next((f for pattern, f in _DRIVE_FIELDS if pattern.search(message) and f in drive),
                                 "serial")
                    return ("drives", i, field)
            return ("drives",)
        if kind == "provider":
            providers = data.get("providers") if isinstance(data.get("providers"), list) else []
            for i, provider in enumerate(providers):
                if isinstance(provider, str) and provider.lower() == name.lower():
                    return ("providers", i)
            return ("import_job", "api")
        block = {"resource_group": ("azure", "resource_group"), "vault": ("vault",),
                 "storage_account": ("storage_account",), "container": ("container",),
                 "staging": ("staging", "path"), "import_job": ("import_job",),
                 "shipment": ("shipment",)}.get(kind)
        if block and len(block) == 1 and isinstance(data.get(block[0]), dict):
            # "name … is already taken", "tracking_number …": the field the message names, if it is there
            named = [f for f in data[block[0]] if isinstance(f, str) and re.search(rf"\b{re.escape(f)}\b", message)]
            if named:
                return (*block, named[0])
        return block

    def where(self, address: str, message: str = "") -> str:
        path = self.path_for(address, message)
        if path is None or self.doc is None:
            return ""
        mark = self.doc.mark_for(path)
        return f"{self.display}:{mark.line}" if mark else ""


def plan_problems(plan: Plan, *, observations: dict[str, Any] | None = None,
                  spec_warnings: tuple[str, ...] | list[str] = (), locator: SpecLocator | None = None) -> list[Problem]:
    """Every error of the plan and every warning of its inputs, in plan order, with spec lines."""
    def where(address: str, text: str) -> str:
        return locator.where(address, text) if locator else ""

    problems: list[Problem] = []
    for change in plan.changes:
        if change.action == ERROR_ACTION:
            for text in change.errors:
                problems.append(Problem(ERROR, text, change.address, where(change.address, text), fix_for(text)))
    # spec warnings name their own place: "seed.yaml:12:3: shipment.drive_count: ..."
    problems.extend(Problem(WARNING, text) for text in spec_warnings)
    for address, observed in sorted((observations or {}).items()):
        if not isinstance(observed, dict):
            continue
        for text in observed.get("warnings") or ():
            problems.append(Problem(WARNING, str(text), address, where(address, str(text))))
        skipped = observed.get("skipped_count")
        if isinstance(skipped, int) and skipped > 0:
            problems.append(Problem(
                WARNING, f"{skipped:,} staging entr{'y' if skipped == 1 else 'ies'} will not be seeded (listed "
                         "under the staging node above; staging.strict: true makes this an error)",
                address, where(address, "")))
    return problems


def failed_problems(failed: list[Any], locator: SpecLocator | None) -> list[Problem]:
    """Apply's failed nodes as problems (`NodeResult`s with address and error)."""
    return [Problem(ERROR, r.error or "failed", r.address, locator.where(r.address, r.error or "") if locator else "",
                    fix_for(r.error or "")) for r in failed]
