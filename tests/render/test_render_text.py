"""The terminal renderer: symbols, no-op counting, colour rules, stability."""

from __future__ import annotations

import io

import pytest
from render_plans import empty_plan, sample_plan

from seedctl.env import Env
from seedctl.errors import SeedctlError
from seedctl.plan import CREATE, DEFERRED, ERROR, NOOP, AttributeChange, Change, Plan
from seedctl.render import FORMATS, render, render_text


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def plan_of(*changes: Change, local_state: str = "observed") -> Plan:
    return Plan(spec_name="s", spec_path=None, spec_fingerprint="f" * 24, cloud="sandbox",
                local_state=local_state, changes=list(changes), seedctl_version="0.1.0")


def test_symbols_and_summary():
    out = render_text(sample_plan(), color=False)
    for line in ('  + storage_account["stseed01"] will be created',
                 '  ~ storage_account["stlegacy"] will be updated in place',
                 '  -/+ container["seed-data"] must be replaced',
                 '  - container["obsolete"] will be destroyed',
                 '  ? drive["WD-UNATTACHED0001"] will be refreshed at apply: drive not attached to this computer',
                 '  ! import_job["fs-seed-2026-11"] cannot be planned',
                 '      ~ sku: "Standard_GRS" → "Standard_LRS"  # changed outside seedctl',
                 '      ~ storage_account: "stold" → "stseed01"  # forces replacement',
                 '      + id: (known after apply)',
                 '      + access_key: (sensitive)',
                 '      # 12,345 files, 1.5 TiB of 1.8 TiB, 82.5% full; to write: 12,345 files, 1.5 TiB',
                 "Plan: 3 to add, 2 to change, 2 to destroy.",
                 "1 error, 2 deferred to apply, 2 changed outside seedctl."):
        assert line + "\n" in out, line


def test_noop_nodes_are_only_counted():
    out = render_text(sample_plan(), color=False)
    assert 'provider["Microsoft.ImportExport"]' not in out
    assert "a no-op note that is not shown" not in out
    assert "2 nodes unchanged (not shown)." in out
    # a no-op with drift is worth showing
    assert 'shipment["fs-seed-2026-11"] has no changes, but was changed outside seedctl' in out


def test_no_changes():
    out = render_text(empty_plan(), color=False)
    assert out.endswith("3 nodes unchanged (not shown).\n\nNo changes. The world matches the spec.\n")
    assert "Plan:" not in out


def test_errors_only_is_not_no_changes():
    out = render_text(plan_of(Change('x["a"]', "x", "a", ERROR, errors=["boom"])), color=False)
    assert "No changes" not in out
    assert "Plan: 0 to add, 0 to change, 0 to destroy.\n1 error.\n" in out
    assert "      ! boom\n" in out


def test_deferred_only_is_a_change():
    out = render_text(plan_of(Change('drive["d"]', "drive", "d", DEFERRED, deferred_reason="not attached"),
                              local_state="skipped"), color=False)
    assert "No changes" not in out
    assert "1 deferred to apply." in out
    assert "Local state: skipped" in out


def test_summary_ignores_unknown_keys_and_odd_values():
    change = Change('drive["d"]', "drive", "d", CREATE,
                    summary={"files": 1, "bytes": 999, "capacity": 0, "fill_ratio": None, "weird": [1, 2]})
    out = render_text(plan_of(change), color=False)
    assert "      # 1 file, 999 B\n" in out
    assert "weird" not in out


def test_no_colour_means_no_escape_codes():
    assert "\x1b" not in render_text(sample_plan(), color=False)


def test_colour_codes():
    out = render_text(sample_plan(), color=True)
    assert "\x1b[32m+\x1b[0m storage_account" in out
    assert "\x1b[33m~\x1b[0m storage_account" in out
    assert "\x1b[31m-\x1b[0m container" in out
    assert "\x1b[31m-\x1b[0m/\x1b[32m+\x1b[0m container" in out
    assert "\x1b[31m" in out.split("! ", 1)[0] or "\x1b[31m!" in out
    # same text once the codes are removed
    import re
    assert re.sub(r"\x1b\[[0-9;]*m", "", out) == render_text(sample_plan(), color=False)


@pytest.mark.parametrize(("stream", "environ", "expected"), [
    (io.StringIO(), {}, False),
    (TTY(), {}, True),
    (TTY(), {"NO_COLOR": ""}, True),  # no-color.org: an empty NO_COLOR counts as unset
    (TTY(), {"NO_COLOR": "1"}, False),
    (TTY(), {"NO_COLOR": "0"}, False),  # any non-empty value, even "0"
])
def test_env_colour_drives_render(stream, environ, expected):
    env = Env(stdout=stream, environ=environ)
    assert env.color is expected
    out = render(sample_plan(), "text", color=env.color)
    assert ("\x1b[" in out) is expected


def test_no_colour_on_a_console_that_shows_escape_codes_raw():
    """A classic Windows console without VT mode prints `←[31m` literally (issue 26): Env.color asks
    `escape_codes` (seedctl.win32.console.escape_codes_work, tested over a recorded kernel32 in
    tests/windows/test_console.py), which turns VT on where it can and says whether it is on."""
    asked = []
    env = Env(stdout=TTY(), environ={}, escape_codes=lambda stream: asked.append(stream) or False)
    assert env.color is False and asked == [env.stdout]
    assert Env(stdout=TTY(), environ={}, escape_codes=lambda stream: True).color is True
    assert Env(stdout=io.StringIO(), environ={}, escape_codes=lambda stream: pytest.fail("asked")).color is False


@pytest.mark.parametrize("fmt", ["markdown", "json"])
def test_colour_never_reaches_markdown_or_json(fmt):
    assert "\x1b" not in render(sample_plan(), fmt, color=True)


def test_stable_regardless_of_insertion_order_and_sets():
    def make(order):
        tags = dict(order)
        return plan_of(Change('sa["a"]', "storage_account", "a", CREATE, attributes=[
            AttributeChange("tags", None, tags), AttributeChange("zones", None, {"3", "1", "2"}),
            AttributeChange("nested", None, {"b": {"y": 1, "x": 2}, "a": [3, 1]})],
            summary=dict(order)))
    a = make([("b", "2"), ("a", "1"), ("c", "3")])
    b = make([("c", "3"), ("a", "1"), ("b", "2")])
    for fmt in FORMATS:
        assert render(a, fmt) == render(b, fmt)
    out = render_text(a, color=False)
    assert '+ tags: {"a": "1", "b": "2", "c": "3"}' in out
    assert '+ zones: ["1", "2", "3"]' in out
    assert '+ nested: {"a": [3, 1], "b": {"x": 2, "y": 1}}' in out


def test_control_characters_are_escaped():
    change = Change('x["evil"]', "x", "evil", CREATE,
                    attributes=[AttributeChange("name", None, "a\x1b[2Jb\u202e")],
                    notes=["note\x1b]0;title\x07 here"])
    out = render_text(plan_of(change), color=False)
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert "\\u001b" in out


def test_unknown_format():
    with pytest.raises(SeedctlError, match="unknown plan format"):
        render(sample_plan(), "yaml")


def test_noop_plan_with_no_nodes():
    assert render_text(plan_of(), color=False) == (
        'seedctl plan for spec "s" on cloud sandbox\n\nNo changes. The world matches the spec.\n')


def test_replace_counts_add_and_destroy():
    out = render_text(plan_of(Change('c["a"]', "container", "a", "replace")), color=False)
    assert "Plan: 1 to add, 0 to change, 1 to destroy." in out


def test_noop_constant_not_shown():
    out = render_text(plan_of(Change('c["a"]', "container", "a", NOOP)), color=False)
    assert 'c["a"]' not in out
    assert "1 node unchanged (not shown)." in out


def test_no_color_flag_turns_colour_off_on_a_terminal():
    assert Env(stdout=TTY(), environ={}, no_color=True).color is False


def test_an_address_prints_one_field_a_line_in_label_order():
    address = {"email": "a@example.com", "city": "Redmond", "recipient": "Test Admin", "street1": "1 Test Way",
               "postal_code": "98052", "country_or_region": "US", "phone": "+1 425 555 0100"}
    created = render_text(plan_of(Change('import_job["j"]', "import_job", "j", CREATE, attributes=[
        AttributeChange("return_address", None, address)])), color=False)
    assert ('+ return_address:\n          recipient: "Test Admin"\n          street1: "1 Test Way"\n'
            '          city: "Redmond"\n          postal_code: "98052"\n          country_or_region: "US"\n'
            '          phone: "+1 425 555 0100"\n          email: "a@example.com"\n') in created
    moved = render_text(plan_of(Change('import_job["j"]', "import_job", "j", "update", attributes=[
        AttributeChange("return_address", address, {**address, "city": "Seattle"})])), color=False)
    assert '~ return_address:\n          city: "Redmond" → "Seattle"\n' in moved and "street1" not in moved
