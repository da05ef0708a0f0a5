"""Apply acts on results but never does more than the reviewed plan showed (issue 12)."""

from __future__ import annotations

import json
import os

from seedctl.apply import grown
from seedctl.drives import manifest_hash
from seedctl.plan import AttributeChange, Change

from worlds import make_world


def change(action, *names):
    return Change("import_job[\"j\"]", "import_job", "j", action, attributes=[AttributeChange(n) for n in names])


def test_a_fresh_diff_may_shrink_but_not_grow():
    assert grown(change("no-op"), change("no-op")) is None
    assert grown(change("update", "drives[0].manifest_hash"), change("no-op")) is None
    assert grown(change("update", "drives[0].manifest_hash", "tags"), change("update", "tags")) is None
    assert grown(change("create", "location"), change("update", "drives[1].manifest_hash")) is None
    assert grown(change("deferred"), change("update", "files_written")) is None  # reviewed as "at apply"
    assert "drives[0].manifest_hash" in grown(change("no-op"), change("update", "drives[0].manifest_hash"))
    assert "tags" in grown(change("update", "return_address"), change("update", "return_address", "tags"))
    assert "create instead of the planned update" in grown(change("update", "tags"), change("create", "tags"))


def test_a_change_the_plan_did_not_show_stops_the_shipment(tmp_path, sandbox):
    """A saved plan may not grow. A drive repair rewrites a file from staging; staging was changed silently (same size and
    mtime), so the repaired drive gets a new manifest. The plan showed the job unchanged, so apply
    refuses to update it, and the shipment after it is not recorded."""
    world = make_world(tmp_path, sandbox)
    assert world.cli("apply", "--auto-approve").code == 0
    serial = world.serials[0]
    listed_before = {d["driveId"]: d["manifestHash"] for d in
                     world.clients().importexport.jobs.get(world.job_name, world.resource_group)["properties"]["driveList"]}
    source = world.staging() / "backup" / "full-0002.vhd"
    st = source.stat()
    source.write_bytes(b"\x02" * st.st_size)
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns))
    (world.drive_path(serial) / "seed" / "backup" / "full-0002.vhd").unlink()
    world.edit_spec(lambda d: d.__setitem__("shipment", {"carrier_name": "FedEx", "tracking_number": "T9"}))
    plan = {c["address"]: c for c in json.loads(world.cli("plan", "--json").out)["changes"]}
    assert plan[f'drive["{serial}"]']["action"] == "update"
    assert plan[f'import_job["{world.job_name}"]']["action"] == "no-op"
    assert world.cli("plan", "--out", "reviewed.json").code == 0
    result = world.cli("apply", "reviewed.json")  # the saved, reviewed plan
    assert result.code == 1, result.out + result.err
    text = result.out + result.err
    assert "the reviewed plan did not show" in text and "seedctl plan" in text, text
    job = world.clients().importexport.jobs.get(world.job_name, world.resource_group)
    assert job["properties"]["state"] == "Creating"  # not shipped
    assert {d["driveId"]: d["manifestHash"] for d in job["properties"]["driveList"]} == listed_before
    # a new plan shows the job's update; applying it ships a job that lists what is on the drives
    again = {c["address"]: c for c in json.loads(world.cli("plan", "--json").out)["changes"]}
    assert again[f'import_job["{world.job_name}"]']["action"] == "update"
    assert world.cli("apply", "--auto-approve").code == 0
    job = world.clients().importexport.jobs.get(world.job_name, world.resource_group)
    assert job["properties"]["state"] == "Shipping"
    for d in job["properties"]["driveList"]:
        assert d["manifestHash"].upper() == manifest_hash(world.drive_path(d["driveId"]) / "DriveManifest.xml").upper()
