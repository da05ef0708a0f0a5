"""The pull-request renderer: summary first, errors prominent, details folded, fits one comment."""

from __future__ import annotations

import re

from render_plans import huge_plan, sample_plan

from seedctl.plan import CREATE, ERROR, AttributeChange, Change, Plan
from seedctl.render import GITHUB_COMMENT_LIMIT, render_markdown


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def balanced(md: str) -> None:
    visible = outside_fences(md)
    assert visible.count("<details") == visible.count("</details>")
    assert visible.count("<summary>") == visible.count("</summary>")


def outside_fences(md: str) -> str:
    """The markdown with fenced code removed: fence content is shown literally, never interpreted."""
    out, fence = [], None
    for line in md.splitlines():
        opening = re.match(r"^(`{3,})", line)
        if fence is None and opening:
            fence = opening.group(1)
        elif fence is not None and line == fence:
            fence = None
        elif fence is None:
            out.append(line)
    assert fence is None, "unclosed fence"
    return "\n".join(out)


def test_summary_comes_first_and_errors_before_details():
    md = render_markdown(sample_plan())
    first_lines = md.splitlines()[:8]
    assert first_lines[0] == "### seedctl plan for spec fs-seed"
    assert "**Plan: 3 to add, 2 to change, 2 to destroy.** 1 error, 2 deferred to apply, 2 changed outside seedctl." in first_lines
    assert "| 3 | 2 | 2 | 2 | 1 | 2 | 2 |" in first_lines
    assert md.index("[!CAUTION]") < md.index("<details")
    assert "<details open>" in md  # the error node is unfolded
    assert "truncated" not in md and "not shown: this plan is longer" not in md
    balanced(md)


def test_huge_plan_is_truncated_to_one_comment():
    md = render_markdown(huge_plan(5000, errors=300))
    assert size(md) <= GITHUB_COMMENT_LIMIT
    assert md.startswith("### seedctl plan for spec huge\n\n**Plan: 5,000 to add, 0 to change, 0 to destroy.** 300 errors.")
    assert "more errors not shown" in md
    assert re.search(r"[0-9,]+ more nodes not shown: this plan is longer than one comment", md)
    assert md.count("<details") > 10  # errors did not crowd out every detail
    assert md.rstrip().endswith("</sub>")
    balanced(md)


def test_truncation_respects_a_custom_limit():
    for limit in (5_000, 12_345, 30_000):
        md = render_markdown(huge_plan(500), limit=limit)
        assert size(md) <= limit
        balanced(md)


def test_one_enormous_node_is_clipped_not_dropped():
    big = Change('drive["big"]', "drive", "big", CREATE,
                 attributes=[AttributeChange(f"file_{i}", None, "x" * 100) for i in range(5000)])
    plan = Plan(spec_name="s", spec_path=None, spec_fingerprint="f" * 24, cloud="sandbox",
                local_state="observed", changes=[big, Change('c["after"]', "container", "after", CREATE)])
    md = render_markdown(plan)
    assert size(md) <= GITHUB_COMMENT_LIMIT
    assert 'drive["big"]' in md and 'c["after"]' in md
    assert re.search(r"# … [0-9,]+ more lines not shown", md)
    balanced(md)


def test_multibyte_content_still_fits():
    plan = huge_plan(0)
    plan.changes = [Change(f'drive["d{i}"]', "drive", f"d{i}", CREATE,
                           attributes=[AttributeChange("label", None, "ドライブ" * 40)]) for i in range(2000)]
    md = render_markdown(plan)
    assert size(md) <= GITHUB_COMMENT_LIMIT
    balanced(md)


def test_markup_in_values_cannot_escape():
    evil = "</details><script>alert(1)</script>``` @here **bold**"
    change = Change('x["a</summary>"]', "x", "a", ERROR, errors=[evil],
                    attributes=[AttributeChange("v", None, "```\n</details>")], notes=[evil])
    plan = Plan(spec_name="<b>s</b>", spec_path=None, spec_fingerprint="f" * 24, cloud="sandbox",
                local_state="observed", changes=[change])
    md = render_markdown(plan)
    visible = outside_fences(md)
    assert "<script>" not in visible
    assert "<b>" not in visible
    assert visible.count("</details>") == 1 and visible.count("</summary>") == 1
    assert "&lt;script&gt;" in visible
    # the node's fence is longer than any backtick run inside it
    assert "````diff" in md
    balanced(md)
