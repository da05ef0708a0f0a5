"""What every renderer shares: the safe view of a plan, value formatting, and sizes.

Every renderer works from `safe_view(plan)`, never from the Plan's raw values:

* it is `plan.to_dict()`, so sensitive attributes are already masked as `(sensitive)`;
* free-form values (attribute before/after, a node's summary) are normalised so output never depends
  on dict insertion order, set iteration order or object reprs: dict keys sorted, sets sorted,
  tuples as lists, non-finite floats and other objects as strings;
* defence in depth: any raw value of a sensitive attribute that shows up elsewhere in the plan (a
  note, an error message, a summary, another attribute) is replaced by `(sensitive)` too.
"""

from __future__ import annotations

import json
import math
import unicodedata
from typing import Any

from seedctl.plan import (
    CREATE,
    DEFERRED,
    DELETE,
    ERROR,
    KNOWN_AFTER_APPLY,
    NOOP,
    REPLACE,
    SENSITIVE,
    UPDATE,
    Plan,
)
from seedctl.units import format_bytes, is_size_name

__all__ = [
    "safe_view", "view_counts", "shown_changes", "format_value", "attribute_line", "summary_text",
    "clean", "headline", "SYMBOLS", "MIN_SECRET_LENGTH",
]

# Sensitive values shorter than this are not hunted for in free text: a 3-character "secret" would
# turn every other word into "(sensitive)". Real secrets (BitLocker recovery keys, account keys,
# SAS tokens) are far longer.
MIN_SECRET_LENGTH = 8

SYMBOLS = {CREATE: "+", UPDATE: "~", REPLACE: "-/+", DELETE: "-", DEFERRED: "?", ERROR: "!", NOOP: " "}

_PHRASES = {
    CREATE: "will be created",
    UPDATE: "will be updated in place",
    REPLACE: "must be replaced",
    DELETE: "will be destroyed",
    DEFERRED: "will be refreshed at apply",
    ERROR: "cannot be planned",
    NOOP: "has no changes",
}


# -- the safe view ------------------------------------------------------------------------------

def normalize(value: Any) -> Any:
    """A JSON-ready copy of a free-form value whose rendering is independent of ordering accidents."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        items = {str(k): normalize(v) for k, v in value.items()}
        return {k: items[k] for k in sorted(items)}
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [normalize(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return str(value)


def _string_leaves(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (_string_leaves(k) + _string_leaves(v))]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [s for v in value for s in _string_leaves(v)]
    return []


def _secrets(plan: Plan) -> list[str]:
    found: set[str] = set()
    for change in plan.changes:
        for attr in change.attributes:
            if attr.sensitive:
                for raw in (attr.before, attr.after):
                    found.update(s for s in _string_leaves(raw) if len(s) >= MIN_SECRET_LENGTH)
    found.discard(SENSITIVE)
    found.discard(KNOWN_AFTER_APPLY)
    # longest first, so a secret containing another is replaced whole
    return sorted(found, key=lambda s: (-len(s), s))


def _scrub(value: Any, secrets: list[str]) -> Any:
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, SENSITIVE)
        return value
    if isinstance(value, dict):
        return {_scrub(k, secrets): _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    return value


def safe_view(plan: Plan) -> dict[str, Any]:
    """`plan.to_dict()`, normalised and scrubbed: the only thing renderers may read."""
    data = plan.to_dict()
    for change in data["changes"]:
        change["summary"] = normalize(change["summary"])
        for attr in change["attributes"]:
            attr["before"] = normalize(attr["before"])
            attr["after"] = normalize(attr["after"])
    data = normalize_structure(data)
    return _scrub(data, _secrets(plan))


def normalize_structure(data: dict[str, Any]) -> dict[str, Any]:
    """Make the structural parts JSON-clean too (strings where a caller passed odd types)."""
    return json.loads(json.dumps(data, default=str, allow_nan=False))


def view_counts(view: dict[str, Any]) -> dict[str, int]:
    counts = dict(view["summary"])
    counts["unchanged"] = sum(1 for c in view["changes"] if c["action"] == NOOP and not drifted(c)
                              and not _skipped(c))
    return counts


def drifted(change: dict[str, Any]) -> bool:
    return any(a["drift"] for a in change["attributes"])


def shown_changes(view: dict[str, Any]) -> list[dict[str, Any]]:
    """Nodes worth showing, in plan order: everything but no-ops (a no-op with drift, or a staging
    folder with skipped entries, is shown: data that will not be seeded must not go unseen)."""
    return [c for c in view["changes"] if c["action"] != NOOP or drifted(c) or _skipped(c)]


def _skipped(change: dict[str, Any]) -> int:
    count = change["summary"].get("skipped")
    return count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else 0


def has_changes(view: dict[str, Any]) -> bool:
    return any(c["action"] in (CREATE, UPDATE, REPLACE, DELETE, DEFERRED) for c in view["changes"])


# -- text pieces --------------------------------------------------------------------------------

def clean(text: str) -> str:
    """Free text made safe for one terminal line: control and bidi characters shown as escapes."""
    out = []
    for ch in str(text):
        if ch == "\t":
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def format_value(value: Any) -> str:
    """One value, compact and stable: strings quoted, dicts with sorted keys, null for None."""
    if isinstance(value, str):
        return clean(json.dumps(value, ensure_ascii=False))
    return clean(json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": ")))


def _shown(attr: dict[str, Any], side: str) -> str:
    value = attr[side]
    if side == "after" and attr["known_after_apply"]:
        return KNOWN_AFTER_APPLY
    if attr["sensitive"] and value is not None:
        return SENSITIVE
    if is_size_name(str(attr["name"])) and isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return format_bytes(value)  # people read sizes; JSON keeps the exact bytes
    return format_value(value)


def attribute_line(action: str, attr: dict[str, Any]) -> tuple[str, str, str]:
    """(symbol, text, comment) for one attribute of a node with the given action."""
    name = clean(attr["name"])
    before_missing = attr["before"] is None
    after_missing = attr["after"] is None and not attr["known_after_apply"]
    if action == CREATE or (before_missing and not after_missing and action != DELETE):
        symbol, text = "+", f"{name}: {_shown(attr, 'after')}"
    elif action == DELETE:
        symbol, text = "-", f"{name}: {_shown(attr, 'before')}"
    elif after_missing and not before_missing:
        symbol, text = "-", f"{name}: {_shown(attr, 'before')} → null"
    else:
        symbol, text = "~", f"{name}: {_shown(attr, 'before')} → {_shown(attr, 'after')}"
    comments = []
    if attr["drift"]:
        comments.append("changed outside seedctl")
    if attr["forces_replacement"]:
        comments.append("forces replacement")
    return symbol, text, "; ".join(comments)


def _count(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return f"{value:,}"


def _size(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return format_bytes(value)


def _ratio(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return f"{value * 100:.1f}%"


def summary_text(summary: dict[str, Any]) -> str | None:
    """What a drive will hold, from the known summary keys; other keys are ignored."""
    parts = []
    files, size = _count(summary.get("files")), _size(summary.get("bytes"))
    capacity = _size(summary.get("capacity")) if summary.get("capacity") else None  # 0: not known
    ratio = _ratio(summary.get("fill_ratio"))
    held = []
    if files is not None:
        held.append(f"{files} file" + ("" if summary["files"] == 1 else "s"))
    if size is not None:
        held.append(f"{size} of {capacity}" if capacity is not None else size)
    elif capacity is not None:
        held.append(f"capacity {capacity}")
    if ratio is not None:
        held.append(f"{ratio} full")
    if held:
        parts.append(", ".join(held))
    to_files, to_size = _count(summary.get("to_write_files")), _size(summary.get("to_write_bytes"))
    writes = []
    skipped = _count(summary.get("skipped"))
    if skipped is not None and summary["skipped"]:
        parts.append(f"{skipped} skipped (not seeded)")
    if to_files is not None:
        writes.append(f"{to_files} file" + ("" if summary["to_write_files"] == 1 else "s"))
    if to_size is not None:
        writes.append(to_size)
    if writes:
        parts.append("to write: " + ", ".join(writes))
    return "; ".join(parts) if parts else None


def headline(change: dict[str, Any]) -> str:
    """`<address> will be created` and friends (no symbol)."""
    address = clean(change["address"])
    if change["action"] == DEFERRED:
        reason = change.get("deferred_reason")
        return f"{address} will be refreshed at apply" + (f": {clean(reason)}" if reason else "")
    if change["action"] == NOOP and not drifted(change) and _skipped(change):
        count = _skipped(change)
        return f"{address} has no changes, but {count:,} entr{'y' if count == 1 else 'ies'} will not be seeded"
    if change["action"] == NOOP:
        return f"{address} has no changes, but was changed outside seedctl"
    return f"{address} {_PHRASES[change['action']]}"


def plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def totals_line(counts: dict[str, int]) -> str:
    return (f"Plan: {counts['add']:,} to add, {counts['change']:,} to change, "
            f"{counts['destroy']:,} to destroy.")


def extras_line(counts: dict[str, int]) -> str | None:
    parts = []
    if counts["error"]:
        parts.append(plural(counts["error"], "error"))
    if counts["deferred"]:
        parts.append(f"{counts['deferred']:,} deferred to apply")
    if counts["drift"]:
        parts.append(f"{counts['drift']:,} changed outside seedctl")
    return ", ".join(parts) + "." if parts else None
