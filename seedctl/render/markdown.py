"""The plan as a pull-request comment: summary first, errors prominent, details folded.

The whole comment fits one GitHub comment (65,535 characters). Size is counted in UTF-8 bytes,
which is never less than GitHub's character count, so the limit holds whatever the content. When
the plan is too long, node details are cut at a node boundary (every `<details>` and code fence
stays closed) and a note says how many nodes were left out and how to see the full plan.
"""

from __future__ import annotations

import html
import re
from typing import Any

from seedctl.plan import ERROR, NOOP, Plan
from seedctl.render._common import (
    SYMBOLS,
    clean,
    extras_line,
    has_changes,
    headline,
    plural,
    safe_view,
    shown_changes,
    totals_line,
    view_counts,
)
from seedctl.render.text import NO_CHANGES, node_body_lines

__all__ = ["render_markdown", "GITHUB_COMMENT_LIMIT"]

GITHUB_COMMENT_LIMIT = 65_535
# one node's details may take at most this share of the comment before its body is clipped
_NODE_SHARE = 8
_MAX_FIELD = 200  # spec names, paths, cloud names in the heading are clipped to this
_MAX_MESSAGE = 1000  # one error message in the summary list (the node's details hold it whole)
_ERROR_SHARE = 2  # the error list takes at most half the comment

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _clip(text: str, limit: int = _MAX_FIELD) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def md_text(text: str) -> str:
    """Free text for inline markdown: no HTML, no markup, no line breaks."""
    text = " ".join(clean(line) for line in str(text).splitlines())
    text = html.escape(text, quote=False)
    return _MD_SPECIAL.sub(r"\\\1", text)


def _code(text: str) -> str:
    """Inline code inside HTML (`<summary>`), where markdown backticks are not reliable."""
    return "<code>" + html.escape(clean(text), quote=False) + "</code>"


def _fence(lines: list[str]) -> str:
    body = "\n".join(lines)
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}diff\n{body}\n{fence}"


def _node_block(change: dict[str, Any], max_size: int) -> str:
    symbol = SYMBOLS[change["action"]] if change["action"] != NOOP else "#"
    opened = " open" if change["action"] == ERROR else ""
    summary = f"<summary>{_code(symbol)} {_code(headline(change))}</summary>"
    lines = node_body_lines(change)
    if not lines:
        lines = ["# (no attribute changes)"]

    def build(body: list[str]) -> str:
        return f"<details{opened}>\n{summary}\n\n{_fence(body)}\n\n</details>\n"

    block = build(lines)
    if _size(block) <= max_size:
        return block
    kept: list[str] = []
    for i, line in enumerate(lines):
        note = f"# … {plural(len(lines) - i, 'more line')} not shown (the comment size limit)"
        if _size(build(kept + [line, note])) > max_size:
            return build(kept + [note])
        kept.append(line)
    return build(kept)  # pragma: no cover - the loop returns first


def _count_table(counts: dict[str, int]) -> str:
    cols = [("To add", "add"), ("To change", "change"), ("To destroy", "destroy"),
            ("Deferred to apply", "deferred"), ("Errors", "error"), ("Changed outside seedctl", "drift"),
            ("Unchanged", "unchanged")]
    head = "| " + " | ".join(name for name, _ in cols) + " |"
    rule = "|" + "|".join("---:" for _ in cols) + "|"
    row = "| " + " | ".join(f"{counts[key]:,}" for _, key in cols) + " |"
    return "\n".join((head, rule, row))


def render_markdown(plan: Plan, *, limit: int = GITHUB_COMMENT_LIMIT) -> str:
    view = safe_view(plan)
    counts = view_counts(view)
    spec = view["spec"]

    title = f"### seedctl plan for spec {md_text(_clip(spec['name']))}"
    where = f"Cloud: {md_text(_clip(view['cloud']))}"
    if spec.get("path"):
        where = f"Spec file: {md_text(_clip(spec['path']))} · " + where
    if view["local_state"] != "observed":
        where += (f" · Local state: {md_text(_clip(view['local_state']))} (drives and staging are refreshed "
                  "at apply)")
    if not has_changes(view) and not counts["error"]:
        verdict = f"**{NO_CHANGES}**"
    else:
        verdict = f"**{totals_line(counts)}**"
    extras = extras_line(counts)
    if extras:
        verdict += " " + extras

    head = "\n\n".join((title, verdict, _count_table(counts), where)) + "\n"
    footer = (f"\n<sub>seedctl {md_text(_clip(view['seedctl_version'] or 'unknown'))} · plan format "
              f"{view['format_version']} · spec fingerprint {md_text(_clip(view['spec']['fingerprint']))}</sub>\n")

    shown = shown_changes(view)
    errored = [c for c in view["changes"] if c["action"] == ERROR]
    reserve = 400  # room for the truncation notes

    out = [head]
    used = _size(head) + _size(footer)

    def fits(text: str) -> bool:
        return used + _size(text) + reserve <= limit

    if errored:
        messages = [(c["address"], m) for c in errored for m in (c["errors"] or ["(no message)"])]
        section = ["\n> [!CAUTION]\n", f"> **{plural(len(messages), 'error')} — fix "
                   f"{'it' if len(messages) == 1 else 'them'} before apply:**\n>\n"]
        omitted = 0
        budget = limit // _ERROR_SHARE  # errors first, but leave room for the details
        for address, message in messages:
            line = f"> - {_code(_clip(address))}: {md_text(_clip(message, _MAX_MESSAGE))}\n"
            candidate = "".join(section) + line
            if omitted or not fits(candidate) or _size(candidate) > budget:
                omitted += 1
                continue
            section.append(line)
        if omitted:
            section.append(f"> - … and {plural(omitted, 'more error')} not shown (the comment size limit)\n")
        text = "".join(section)
        out.append(text)
        used += _size(text)

    if shown:
        intro = "\n#### Changes\n\n"
        out.append(intro)
        used += _size(intro)
        max_node = max(1000, limit // _NODE_SHARE)
        for index, change in enumerate(shown):
            block = _node_block(change, max_node)
            if not fits(block):
                left = len(shown) - index
                note = (f"\n> [!NOTE]\n> {plural(left, 'more node')} not shown: this plan is longer than one "
                        f"comment ({limit:,} characters). Run `seedctl plan` or `seedctl show plan.json` for the "
                        "full plan.\n")
                out.append(note)
                used += _size(note)
                break
            out.append(block)
            used += _size(block)

    out.append(footer)
    return "".join(out)
