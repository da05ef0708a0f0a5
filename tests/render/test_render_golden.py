"""Golden files for the three renderers. Regenerate with UPDATE_GOLDEN=1 and review the diff."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from render_plans import empty_plan, sample_plan

from seedctl.render import render

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

CASES = [
    ("sample.txt", sample_plan, "text", False),
    ("sample.color.txt", sample_plan, "text", True),
    ("sample.md", sample_plan, "markdown", False),
    ("sample.json", sample_plan, "json", False),
    ("empty.txt", empty_plan, "text", False),
    ("empty.md", empty_plan, "markdown", False),
    ("empty.json", empty_plan, "json", False),
]


@pytest.mark.parametrize(("name", "make", "fmt", "color"), CASES, ids=[c[0] for c in CASES])
def test_golden(name, make, fmt, color):
    output = render(make(), fmt, color=color)
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(output.encode("utf-8"))
    assert path.exists(), f"missing golden file {path}; run with UPDATE_GOLDEN=1"
    assert output == path.read_bytes().decode("utf-8"), (
        f"{name} differs from its golden file; if the change is intended, run UPDATE_GOLDEN=1 pytest "
        "tests/render and review the diff")


@pytest.mark.parametrize(("name", "make", "fmt", "color"), CASES, ids=[c[0] for c in CASES])
def test_rendering_is_repeatable(name, make, fmt, color):
    assert render(make(), fmt, color=color) == render(make(), fmt, color=color)
