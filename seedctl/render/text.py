"""The terminal plan: Terraform-like, only what changes, byte-for-byte stable.

Colour is plain ANSI SGR codes, added only when the caller asks (`Env.color`: a TTY and no
NO_COLOR); without colour the output contains no escape sequence at all.
"""

from __future__ import annotations

from typing import Any

from seedctl.plan import ERROR, NOOP, Plan
from seedctl.render._common import (
    SYMBOLS,
    attribute_line,
    clean,
    drifted,
    extras_line,
    format_value,
    has_changes,
    headline,
    plural,
    safe_view,
    shown_changes,
    summary_text,
    totals_line,
    view_counts,
)

__all__ = ["render_text", "node_body_lines"]

RESET = "\x1b[0m"
BOLD = "\x1b[1m"
RED = "\x1b[31m"
GREEN = "\x1b[32m"
YELLOW = "\x1b[33m"
CYAN = "\x1b[36m"
DIM = "\x1b[2m"

_SYMBOL_COLOURS = {"+": GREEN, "~": YELLOW, "-": RED, "?": CYAN, "!": RED}

NO_CHANGES = "No changes. The world matches the spec."
INDENT = "  "
BODY_INDENT = "      "


class _Paint:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, *codes: str) -> str:
        if not self.color or not codes or not text:
            return text
        return "".join(codes) + text + RESET

    def symbol(self, symbol: str) -> str:
        if symbol == "-/+":
            return self("-", RED) + self("/") + self("+", GREEN)
        return self(symbol, _SYMBOL_COLOURS.get(symbol, ""))


def _lines(text: str) -> list[str]:
    return [clean(line) for line in str(text).splitlines()] or [""]


def node_body_lines(change: dict[str, Any], paint: _Paint | None = None) -> list[str]:
    """The indented-less body of one node: errors, attributes, drive summary, notes.

    Each line starts with a symbol column so the markdown renderer can reuse it in a diff block.
    """
    paint = paint or _Paint(False)
    out: list[str] = []
    for message in change["errors"]:
        first, *rest = _lines(message)
        out.append(paint.symbol("!") + " " + paint(first, RED))
        out.extend("  " + paint(line, RED) for line in rest)
    for attr in change["attributes"]:
        symbol, text, comment = attribute_line(change["action"], attr)
        block = record_lines(change["action"], attr)
        line = paint.symbol(symbol) + " " + (block[0] if block else text)
        if comment:
            line += "  " + paint("# " + comment, YELLOW if attr["drift"] else DIM)
        out.append(line)
        out.extend(block[1:])
    summary = summary_text(change["summary"])
    if summary:
        out.append("# " + summary)
    for note in change["notes"]:
        first, *rest = _lines(note)
        out.append(paint("# " + first, DIM))
        out.extend(paint("#   " + line, DIM) for line in rest)
    return out


RECORD_KEYS = 3  # an address with this many fields or more is shown one field a line
ADDRESS_ORDER = ["recipient", "street1", "street2", "city", "state_or_province", "postal_code",
                 "country_or_region", "phone", "email"]


def record_lines(action: str, attr: dict[str, Any]) -> list[str]:
    """A postal address (return_address, shipping_address) one field a line under its name, as people
    read an address, instead of one JSON line: ["return_address:", "    city: \"Redmond\"", ...]. Empty when
    the value is not such a record (then the one-line form is used)."""
    before, after = attr["before"], attr["after"]
    if attr["sensitive"] or attr["known_after_apply"]:
        return []
    name = clean(attr["name"])

    def record(value: Any) -> bool:
        return isinstance(value, dict) and len(value) >= RECORD_KEYS

    if not str(attr["name"]).endswith("address"):  # addresses only: other values stay one compact line
        return []

    def fields(value: dict[str, Any]) -> list[str]:  # an address in label order; anything else sorted
        return sorted(value, key=lambda k: (ADDRESS_ORDER.index(k) if k in ADDRESS_ORDER else len(ADDRESS_ORDER), k))

    if record(after) and (before is None or action == "create"):
        return [f"{name}:"] + [f"    {clean(str(k))}: {format_value(after[k])}" for k in fields(after)]
    if record(before) and after is None:
        return [f"{name}:"] + [f"    {clean(str(k))}: {format_value(before[k])}" for k in fields(before)]
    if record(before) and record(after):
        changed = [k for k in fields({**before, **after}) if before.get(k) != after.get(k)]
        return [f"{name}:"] + [f"    {clean(str(k))}: {format_value(before.get(k))} → {format_value(after.get(k))}"
                               for k in changed]
    return []


def render_text(plan: Plan, *, color: bool) -> str:
    view = safe_view(plan)
    paint = _Paint(color)
    counts = view_counts(view)
    out: list[str] = []

    spec = view["spec"]
    head = f'seedctl plan for spec "{clean(spec["name"])}"'
    if spec.get("path"):
        head += f" ({clean(spec['path'])})"
    head += f" on cloud {clean(view['cloud'])}"
    out.append(paint(head, BOLD))
    if view["local_state"] != "observed":
        out.append(f"Local state: {clean(view['local_state'])} (drives and staging are not read here; "
                   "they are refreshed at apply).")

    shown = shown_changes(view)
    if shown:
        out.append("")
        out.append("seedctl will perform the following actions:" if has_changes(view) or counts["error"]
                   else "Objects changed outside seedctl:" if counts["drift"] else "Read from the inputs:")
        for change in shown:
            symbol = SYMBOLS[change["action"]] if change["action"] != NOOP else "#"
            out.append("")
            title = headline(change)
            if change["action"] == ERROR:
                title = paint(title, RED, BOLD)
            out.append(INDENT + (paint.symbol(symbol) if symbol != "#" else paint(symbol, YELLOW)) + " " + title)
            out.extend(BODY_INDENT + line for line in node_body_lines(change, paint))

    if counts["unchanged"]:
        out.append("")
        out.append(plural(counts["unchanged"], "node") + " unchanged (not shown).")
        if view["local_state"] == "observed":
            # an input that is not here (a staging folder) is "no change", but never silently so
            for change in view["changes"]:
                if change["action"] == NOOP and change.get("deferred_reason") and not drifted(change):
                    out.append(f"Not observed here: {clean(change['address'])}: {clean(change['deferred_reason'])}.")
    out.append("")
    if not has_changes(view) and not counts["error"]:
        out.append(paint(NO_CHANGES, GREEN, BOLD))
        extras = extras_line(counts)
        if extras:
            out.append(extras)
    else:
        out.append(paint(totals_line(counts), BOLD))
        extras = extras_line(counts)
        if extras:
            out.append(paint(extras, RED) if counts["error"] else extras)
    return "\n".join(out) + "\n"

