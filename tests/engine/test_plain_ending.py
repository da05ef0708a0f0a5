"""Issue 25: plan and apply end plainly — every error and warning again at the bottom with the spec
line and the fix, apply's "Next steps" (where, by when, what to paste, what to watch) — and a
saved plan applied elsewhere says which spec it was made for; drives not attached are planned from
their `capacity:`."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
import yaml

from worlds import make_world

pytestmark = pytest.mark.sandbox


@pytest.fixture
def world(tmp_path, sandbox):
    return make_world(tmp_path, sandbox)


def _line_of(world, text: str) -> int:
    return next(i for i, line in enumerate(world.spec_path.read_text().splitlines(), 1) if text in line)


def _ending(out: str) -> str:
    """What follows the plan's totals line."""
    return out[out.index("\nPlan: "):]


def test_a_wrong_serial_is_repeated_at_the_bottom_with_its_spec_line_and_the_fix(world):
    wrong = "WRONG-SERIAL-1"
    real = world.serials[0]
    world.edit_spec(lambda d: d["drives"][0].__setitem__("serial", wrong))
    result = world.cli("plan")
    assert result.code == 1
    ending = _ending(result.out)
    line = _line_of(world, f"serial: {wrong}")
    assert f"seed.yaml:{line}: drive[\"{wrong}\"]: wrong drive at " in ending
    assert f"fix: attach drive {wrong} at " in ending and f"set this drive's serial to {real}" in ending
    assert ending.index("error") < ending.index("wrong drive")  # the heading, then the item


def test_a_missing_key_file_is_reported_at_plan(world):
    (world.root / "keys" / f"{world.serials[1]}.key").unlink()
    result = world.cli("plan")
    ending = _ending(result.out)
    assert "warning" in ending
    assert re.search(r"seed\.yaml:\d+:\d+: drives\[1\]\.bitlocker\.key: secret file:\./keys/\S+ cannot be read",
                     ending), ending


def test_a_clean_plan_has_no_ending(world):
    result = world.cli("plan")
    assert result.code == 0
    assert "error" not in _ending(result.out).lower() and "warning" not in _ending(result.out).lower()


def test_apply_ends_with_next_steps_that_can_be_pasted(world):
    result = world.cli("apply", "--auto-approve")
    assert result.code == 0, result.err
    out = result.out
    steps = out[out.index("\nNext steps\n"):]
    # where: the datacenter address as on a label, not one JSON line
    job = world.clients().importexport.jobs.get(world.job_name, world.resource_group)
    created = datetime.fromisoformat(job["tags"]["seedctl-created"])  # the REST client answers JSON
    assert f"By {(created + timedelta(days=14)):%Y-%m-%d %H:%M} UTC" in steps
    assert "ship them to:\n       " in steps and "{" not in steps.split("add the carrier")[0]
    assert re.search(r"\n       [^\n]+, [A-Z]{2} \d{5}\n", steps), steps  # "City, ST 12345"
    assert "Phone: " in steps
    # the shipment: lines are YAML the reader pastes (with their own tracking number)
    snippet = "\n".join(line[7:] for line in steps.splitlines() if line.startswith("       ")
                        and (line.strip().startswith(("shipment:", "carrier_name", "tracking_number", "ship_date",
                                                      "drive_count"))))
    shipment = yaml.safe_load(snippet)["shipment"]
    assert shipment["drive_count"] == len(world.serials) and shipment["carrier_name"] == "FedEx"
    assert "seedctl status" in steps and "--watch" in steps
    world.edit_spec(lambda d: d.__setitem__("shipment", {**shipment, "tracking_number": "TRK-PASTED"}))
    shipped = world.cli("apply", "--auto-approve")
    assert shipped.code == 0, shipped.err
    assert "The drives are on their way" in shipped.out


def test_apply_failures_are_repeated_last_with_what_to_do(world, sandbox):
    jobs = r"/Microsoft\.ImportExport/jobs/"
    sandbox.control.inject_fault("500", method="PUT", path_regex=jobs, count=1000)
    try:
        result = world.cli("apply", "--auto-approve")
    finally:
        sandbox.control.clear_faults()
    assert result.code == 1
    tail = result.out[result.out.rindex("Apply incomplete"):]
    assert "error: fix it, then run apply again:" in tail.lower()
    assert f'seed.yaml:{_line_of(world, "import_job:")}: import_job["{world.job_name}"]' in tail


def test_a_saved_plan_applied_from_another_folder_names_its_spec(world, tmp_path):
    assert world.cli("plan", "--out", "plan.json").code == 0
    saved = json.loads((world.root / "plan.json").read_text())
    assert saved["spec"]["source"] == str(world.spec_path) and len(saved["spec"]["digest"]) == 64
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # another folder with another spec of the same file name: the plan says whose it is
    other = {**world.spec_data, "name": "someone-else"}
    (elsewhere / "seed.yaml").write_text(yaml.safe_dump(other, sort_keys=False))
    from worlds import run_cli

    result = run_cli(["apply", str(world.root / "plan.json")], cwd=elsewhere, environ=world.environ)
    assert result.code == 1
    assert f'this plan was made for spec "{world.spec_data["name"]}" at {world.spec_path}' in result.err
    assert "matches no node" not in result.err and "no such file" not in result.err
    # no spec there at all: the plan's own spec is used, and it says so
    (elsewhere / "seed.yaml").unlink()
    result = run_cli(["apply", str(world.root / "plan.json")], cwd=elsewhere, environ=world.environ)
    assert result.code == 0, result.err
    assert f"Using {world.spec_path}, the spec this plan was made for." in result.err


def test_a_spec_given_where_a_plan_goes_says_use_f(world):
    result = world.cli("apply", "seed.yaml")
    assert result.code == 1 and "is a seeding spec, not a saved plan: use `seedctl apply -f seed.yaml`" in result.err


def test_drives_not_attached_are_planned_from_their_capacity(world):
    import shutil

    for serial in world.serials:
        shutil.rmtree(world.drive_path(serial))
    result = world.cli("plan")
    assert result.code == 0, result.out
    for serial in world.serials:
        block = result.out[result.out.index(f'drive["{serial}"] will be refreshed at apply'):]
        block = block[:block.index("\n\n")]
        assert re.search(r"# [\d,]+ files?, [\d.]+ (B|KiB|MiB) of 256\.0 MiB, [\d.]+% full", block), block
        assert "planned from capacity:" in block
    # too much data for the drives' stated capacity: said now, before a drive is bought
    world.edit_spec(lambda d: [drive.__setitem__("capacity", 66 * 1024 * 1024) for drive in d["drives"]])
    result = world.cli("plan")
    assert result.code == 1
    assert "at least 64 MiB" in result.out and "seedctl estimate" in result.out


def test_an_instruction_only_datacenter_address_is_still_shown() -> None:
    """regionConfiguration may answer a datacenter with a communication instruction and no street
    address: status, the reporter and Next steps must print it rather than nothing."""
    from seedctl.render.ending import address_lines

    assert address_lines({"instruction": "Contact azure-dc@example.com for the shipping address"}) == [
        "Contact azure-dc@example.com for the shipping address"]
    lines = address_lines({"recipient_name": "Microsoft", "street_address1": "1 DC Way", "city": "Quincy",
                           "country_or_region": "US", "instruction": "Dock 3"})
    assert lines[0] == "Microsoft" and lines[-1] == "Dock 3"
