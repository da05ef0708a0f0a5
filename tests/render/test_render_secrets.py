"""A secret in a sensitive attribute never reaches any renderer's output, wherever else it leaks."""

from __future__ import annotations

import copy

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from render_plans import ACCOUNT_KEY, SECRET, huge_plan, sample_plan

from seedctl.plan import CREATE, UPDATE, AttributeChange, Change, Plan
from seedctl.render import render

OUTPUTS = [("text", False), ("text", True), ("markdown", False), ("json", False)]


def all_outputs(plan: Plan) -> list[str]:
    return [render(plan, fmt, color=color) for fmt, color in OUTPUTS]


@pytest.mark.parametrize(("fmt", "color"), OUTPUTS)
def test_sample_secrets_never_rendered(fmt, color):
    output = render(sample_plan(), fmt, color=color)
    assert SECRET not in output
    assert ACCOUNT_KEY not in output
    assert "old-key-000000000000" not in output
    # neither are recognisable pieces of them
    assert SECRET[:20] not in output
    assert "(sensitive)" in output


def test_huge_plan_markdown_has_no_secret():
    assert SECRET not in render(huge_plan(200), "markdown")


def leaky_plan(secret: str, *, in_dict: bool = False) -> Plan:
    """The secret sits in a sensitive attribute and, carelessly, in every free-text place too."""
    value = {"key": secret, "protector": "numerical-password"} if in_dict else secret
    return Plan(
        spec_name="leaky", spec_path="leaky.yaml", spec_fingerprint="f" * 24, cloud="sandbox",
        local_state="observed", seedctl_version="0.1.0",
        changes=[
            Change(address='drive["D1"]', kind="drive", name="D1", action=CREATE,
                   attributes=[AttributeChange("bitlocker_key", None, value, sensitive=True),
                               AttributeChange("label", None, f"label-{secret}")],
                   notes=[f"key is {secret}"], summary={"debug": secret, secret: 1}),
            Change(address='import_job["j"]', kind="import_job", name="j", action=UPDATE,
                   attributes=[AttributeChange("drive_key", secret, None, sensitive=True)],
                   errors=[f"rejected {secret}"], deferred_reason=f"because {secret}"),
        ])


@pytest.mark.parametrize("in_dict", [False, True])
def test_secret_scrubbed_from_free_text(in_dict):
    for output in all_outputs(leaky_plan(SECRET, in_dict=in_dict)):
        assert SECRET not in output


def test_plan_object_is_not_modified_by_rendering():
    plan = leaky_plan(SECRET)
    before = copy.deepcopy(plan)
    all_outputs(plan)
    assert plan == before


@settings(max_examples=60, deadline=None)
@given(secret=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FF, exclude_characters="\\\""),
                      min_size=8, max_size=60))
def test_any_secret_is_never_rendered(secret):
    baseline = all_outputs(leaky_plan("x" * 8))
    # a "secret" that is ordinary output text (e.g. "seedctl plan") cannot be told apart
    assume(not any(secret in out for out in baseline))
    assume("x" * 8 not in secret)
    for output in all_outputs(leaky_plan(secret)):
        assert secret not in output
