"""Plan renderers: text for terminals, markdown for pull-request comments, JSON for machines.

All three read the same safe view of a plan (`_common.safe_view`): secrets masked, output stable
byte for byte. `render(plan, fmt, color=...)` is the one entry point the CLI needs.
"""

from __future__ import annotations

from seedctl.errors import SeedctlError
from seedctl.plan import Plan
from seedctl.render.jsonout import render_json
from seedctl.render.markdown import GITHUB_COMMENT_LIMIT, render_markdown
from seedctl.render.text import render_text

__all__ = ["FORMATS", "render", "render_text", "render_markdown", "render_json", "GITHUB_COMMENT_LIMIT"]

FORMATS = ("text", "markdown", "json")


def render(plan: Plan, fmt: str, *, color: bool = False) -> str:
    """The plan in `fmt` (text|markdown|json). `color` only affects text (pass `Env.color`)."""
    if fmt == "text":
        return render_text(plan, color=color)
    if fmt == "markdown":
        return render_markdown(plan)
    if fmt == "json":
        return render_json(plan)
    raise SeedctlError(f"unknown plan format {fmt!r}: use one of {', '.join(FORMATS)}")
