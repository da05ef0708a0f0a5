"""Plan and Change objects, their JSON form, and the fingerprints that make saved plans safe.

A plan is deterministic: the same spec and the same world give the same plan, byte for byte, in
every renderer (no timestamps, stable ordering), so a re-plan after an apply can be compared.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

PLAN_FORMAT_VERSION = 1

CREATE, UPDATE, REPLACE, DELETE, NOOP, DEFERRED, ERROR = (
    "create", "update", "replace", "delete", "no-op", "deferred", "error")
ACTIONS = (CREATE, UPDATE, REPLACE, DELETE, NOOP, DEFERRED, ERROR)

SENSITIVE = "(sensitive)"
KNOWN_AFTER_APPLY = "(known after apply)"
UNOBSERVED = "unobserved"


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def fingerprint(value: Any) -> str:
    """A short digest of an observation (or of a spec) for stale-plan detection."""
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()[:24]


@dataclass
class AttributeChange:
    """One attribute's before → after. Sensitive values are never stored, only marked."""

    name: str
    before: Any = None
    after: Any = None
    sensitive: bool = False
    known_after_apply: bool = False
    drift: bool = False  # changed outside seedctl since seedctl last applied it
    forces_replacement: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.sensitive:
            data["before"] = SENSITIVE if self.before is not None else None
            data["after"] = SENSITIVE if self.after is not None else None
        if self.known_after_apply:
            data["after"] = KNOWN_AFTER_APPLY
        return data


@dataclass
class Change:
    address: str
    kind: str
    name: str
    action: str
    attributes: list[AttributeChange] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    deferred_reason: str | None = None  # why the node could not be observed where plan ran
    summary: dict[str, Any] = field(default_factory=dict)
    depends_on: list[str] = field(default_factory=list)
    observed_fingerprint: str = UNOBSERVED

    @property
    def drifted(self) -> list[AttributeChange]:
        return [a for a in self.attributes if a.drift]

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "attributes": [a.to_dict() for a in self.attributes],
            "errors": list(self.errors),
            "notes": list(self.notes),
            "deferred_reason": self.deferred_reason,
            "summary": dict(self.summary),
            "depends_on": list(self.depends_on),
            "observed_fingerprint": self.observed_fingerprint,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        attrs = [AttributeChange(**a) for a in data.get("attributes", [])]
        return cls(address=data["address"], kind=data["kind"], name=data["name"], action=data["action"],
                   attributes=attrs, errors=list(data.get("errors", [])), notes=list(data.get("notes", [])),
                   deferred_reason=data.get("deferred_reason"), summary=dict(data.get("summary", {})),
                   depends_on=list(data.get("depends_on", [])),
                   observed_fingerprint=data.get("observed_fingerprint", UNOBSERVED))


@dataclass
class Plan:
    spec_name: str
    spec_path: str | None
    spec_fingerprint: str
    cloud: str
    local_state: str  # "observed" or "skipped"
    changes: list[Change]
    seedctl_version: str = ""
    format_version: int = PLAN_FORMAT_VERSION
    # the spec file the plan was made from: its absolute path and the SHA-256 of its bytes, so that
    # a plan applied from another folder, or against another file, can say which spec it was for
    spec_source: str | None = None
    spec_digest: str | None = None

    def counts(self) -> dict[str, int]:
        c = {"add": 0, "change": 0, "destroy": 0, "error": 0, "deferred": 0, "drift": 0}
        for ch in self.changes:
            if ch.action == CREATE:
                c["add"] += 1
            elif ch.action == UPDATE:
                c["change"] += 1
            elif ch.action == REPLACE:
                c["add"] += 1
                c["destroy"] += 1
            elif ch.action == DELETE:
                c["destroy"] += 1
            elif ch.action == ERROR:
                c["error"] += 1
            elif ch.action == DEFERRED:
                c["deferred"] += 1
            if ch.drifted:
                c["drift"] += 1
            if ch.action in (CREATE, UPDATE) and ch.summary.get("files_deleted"):
                c["destroy"] += 1  # deleting written data from a drive is a destroy, shown as one
        return c

    @property
    def has_errors(self) -> bool:
        return any(c.action == ERROR for c in self.changes)

    @property
    def has_changes(self) -> bool:
        return any(c.action in (CREATE, UPDATE, REPLACE, DELETE, DEFERRED) for c in self.changes)

    def change(self, address: str) -> Change:
        for ch in self.changes:
            if ch.address == address:
                return ch
        raise KeyError(address)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "seedctl_version": self.seedctl_version,
            "spec": {"name": self.spec_name, "path": self.spec_path, "fingerprint": self.spec_fingerprint,
                     **({"source": self.spec_source, "digest": self.spec_digest} if self.spec_source else {})},
            "cloud": self.cloud,
            "local_state": self.local_state,
            "summary": self.counts(),
            "changes": [c.to_dict() for c in self.changes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        spec = data["spec"]
        return cls(spec_name=spec["name"], spec_path=spec.get("path"), spec_fingerprint=spec["fingerprint"],
                   cloud=data["cloud"], local_state=data["local_state"],
                   changes=[Change.from_dict(c) for c in data["changes"]],
                   seedctl_version=data.get("seedctl_version", ""),
                   format_version=data.get("format_version", PLAN_FORMAT_VERSION),
                   spec_source=spec.get("source"), spec_digest=spec.get("digest"))
