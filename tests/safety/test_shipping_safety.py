"""Issue 12: a drive never leaves unless Azure's job holds exactly what is on it, and no input can
empty a drive or delete data that was not imported. Each case is reproduced on the sandbox (real
SDK clients, real drive folders, the simulated datacenter) for both job back ends where a job is
involved, and shows the guarded behaviour."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from seedctl.drives import manifest_hash, read_manifest, verify_drive

from worlds import make_world

APIS = ["importexport", "databox"]
BLOB_TYPES = ["block", "page"]  # the invariant holds for both (issue 22: the agent's seed is page blobs)
# a file of the default tree of each blob type (tests/worlds.py), and one more to add late
FIRST = {"block": "backup/full-0001.vhd", "page": "DS-0001/volume1.BaseBlob"}
SECOND = {"block": "backup/full-0002.vhd", "page": "DS-0001/volume1.AIBBlob"}
LATE = b"late data" * 1024  # 9,216 bytes: a multiple of 512, so a page blob too


def job_drives(world, api):
    """{drive id: manifest hash} as the job in Azure lists them, and the job's state."""
    clients = world.clients()
    if api == "importexport":
        job = clients.importexport.jobs.get(world.job_name, world.resource_group)
        return ({d["driveId"]: d["manifestHash"].upper() for d in job["properties"]["driveList"]},
                job["properties"]["state"])
    job = clients.databox.jobs.get(world.resource_group, world.job_name, expand="details")
    disks = job.properties.details.import_disk_details_collection
    return {k: v.manifest_hash.upper() for k, v in disks.items()}, job.properties.status


def on_drive(world, serial):
    return manifest_hash(world.drive_path(serial) / "DriveManifest.xml").upper()


def blobs_on(world, serial):
    m = read_manifest(world.drive_path(serial) / "DriveManifest.xml")
    return {b.blob_path.split("/", 1)[1] for b in m.blobs}


def ship(world, tracking="TRK-1"):
    world.edit_spec(lambda d: d.__setitem__("shipment", {"carrier_name": "FedEx", "tracking_number": tracking}))


def not_shipped(state):
    return state in ("Creating", "AwaitingShipmentDetails")


# -- 1. job and drive disagree --------------------------------------------------------------------

@pytest.mark.parametrize("blob_type", BLOB_TYPES)
def test_late_staging_file_updates_the_classic_job_before_shipping(tmp_path, sandbox, blob_type):
    world = make_world(tmp_path, sandbox, blob_type=blob_type)
    assert world.cli("apply", "--auto-approve").code == 0
    (world.staging() / "late" / "added.bin").parent.mkdir()
    (world.staging() / "late" / "added.bin").write_bytes(LATE)
    ship(world)
    plan = world.cli("plan", "--json")
    changes = {c["address"]: c for c in json.loads(plan.out)["changes"]}
    job = changes[f'import_job["{world.job_name}"]']
    # the plan shows the job's drive-list update in the same plan as the drive rewrite
    assert job["action"] == "update", job
    assert any(a["name"].endswith(".manifest_hash") and a["after"] == "(known after apply)"
               for a in job["attributes"]), job
    result = world.cli("apply", "--auto-approve")
    assert result.code == 0, result.out + result.err
    listed, state = job_drives(world, "importexport")
    assert state == "Shipping"
    for serial in world.serials:
        assert listed[serial] == on_drive(world, serial)
    assert any("late/added.bin" in blobs_on(world, s) for s in world.serials)
    done = sandbox.control.advance_job(world.resource_group, world.job_name, "Completed",
                                       subscription=world.subscription_id)
    assert {d["copyStatus"] for d in done["properties"]["driveList"]} == {"Completed"}, done
    assert world.cli("plan", "--detailed-exitcode").code == 0


@pytest.mark.parametrize("blob_type", BLOB_TYPES)
def test_late_staging_file_without_shipment_converges_in_one_apply(tmp_path, sandbox, blob_type):
    world = make_world(tmp_path, sandbox, blob_type=blob_type)
    assert world.cli("apply", "--auto-approve").code == 0
    (world.staging() / "zz-late.bin").write_bytes(b"z" * 5120)
    result = world.cli("apply", "--auto-approve")
    assert result.code == 0, result.out + result.err
    again = world.cli("plan", "--detailed-exitcode")
    assert again.code == 0, again.out
    listed, _ = job_drives(world, "importexport")
    assert all(listed[s] == on_drive(world, s) for s in world.serials)


def test_late_staging_file_is_a_plan_error_for_a_data_box_job(tmp_path, sandbox):
    world = make_world(tmp_path, sandbox, api="databox")
    assert world.cli("apply", "--auto-approve").code == 0
    before = {s: on_drive(world, s) for s in world.serials}
    (world.staging() / "zz-late.bin").write_bytes(b"z" * 5000)
    ship(world)
    result = world.cli("apply", "--auto-approve")
    assert result.code == 1, result.out + result.err
    assert "incremental backup" in result.out and "fixed" in result.out, result.out
    listed, state = job_drives(world, "databox")
    assert not_shipped(state)
    assert {s: on_drive(world, s) for s in world.serials} == before == listed


@pytest.mark.parametrize("blob_type", BLOB_TYPES)
@pytest.mark.parametrize("api", APIS)
def test_shipment_refused_when_the_job_lists_another_manifest(tmp_path, sandbox, api, blob_type):
    """The invariant itself, against fresh observations: a drive whose manifest changed behind
    seedctl's back (here: rewritten by hand after the job was created) is never marked shipped."""
    world = make_world(tmp_path, sandbox, api=api, blob_type=blob_type)
    assert world.cli("apply", "--auto-approve").code == 0
    manifest = world.drive_path(world.serials[0]) / "DriveManifest.xml"
    st = manifest.stat()
    data = manifest.read_bytes()
    at = data.index(b"<ClientData>") + len(b"<ClientData>")
    manifest.write_bytes(data[:at] + (b"0" if data[at:at + 1] != b"0" else b"1") + data[at + 1:])
    os.utime(manifest, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size and mtime: the plan cannot tell
    ship(world)
    result = world.cli("apply", "--auto-approve")
    assert result.code == 1, result.out + result.err
    assert world.serials[0] in result.out + result.err
    _, state = job_drives(world, api)
    assert not_shipped(state)


# -- 2. an empty staging folder --------------------------------------------------------------------

@pytest.mark.parametrize("blob_type", BLOB_TYPES)
@pytest.mark.parametrize("api", APIS)
def test_empty_staging_is_a_plan_error_and_the_drives_are_untouched(tmp_path, sandbox, api, blob_type):
    world = make_world(tmp_path, sandbox, api=api, blob_type=blob_type)
    assert world.cli("apply", "--auto-approve").code == 0
    before = {s: on_drive(world, s) for s in world.serials}
    shutil.rmtree(world.staging())
    world.staging().mkdir()  # an unmounted share looks like this
    ship(world)
    plan = world.cli("plan")
    assert plan.code == 1 and "staging" in plan.out and "empty" in plan.out, plan.out
    result = world.cli("apply", "--auto-approve", "--allow-drive-deletions")
    assert result.code == 1, result.out
    assert {s: on_drive(world, s) for s in world.serials} == before
    assert all(verify_drive(world.drive_path(s)).ok for s in world.serials)
    _, state = job_drives(world, api)
    assert not_shipped(state)


@pytest.mark.parametrize("blob_type", BLOB_TYPES)
def test_a_file_removed_from_staging_is_deleted_from_the_drive_only_when_asked(tmp_path, sandbox, blob_type):
    world = make_world(tmp_path, sandbox, blob_type=blob_type)
    assert world.cli("apply", "--auto-approve").code == 0
    gone = SECOND[blob_type]
    (world.staging() / gone).unlink()
    plan = world.cli("plan")
    assert plan.code == 1 and "--allow-drive-deletions" in plan.out, plan.out
    assert world.cli("apply", "--auto-approve").code == 1
    assert any(gone in blobs_on(world, s) for s in world.serials)
    result = world.cli("apply", "--auto-approve", "--allow-drive-deletions")
    assert result.code == 0, result.out + result.err
    assert "1 to destroy" in result.out and "- files_deleted: 1" in result.out, result.out
    assert not any(gone in blobs_on(world, s) for s in world.serials)
    listed, _ = job_drives(world, "importexport")
    assert all(listed[s] == on_drive(world, s) for s in world.serials)


# -- 3. a file deleted from a finished drive ---------------------------------------------------------

def _drive_file(world, serial, rel):
    return world.drive_path(serial) / "seed" / rel


@pytest.mark.parametrize("blob_type", BLOB_TYPES)
def test_file_deleted_from_a_finished_drive_is_a_planned_repair(tmp_path, sandbox, blob_type):
    world = make_world(tmp_path, sandbox, blob_type=blob_type)
    assert world.cli("apply", "--auto-approve").code == 0
    listed_before, _ = job_drives(world, "importexport")
    serial = next(s for s in world.serials if SECOND[blob_type] in blobs_on(world, s))
    victim = _drive_file(world, serial, SECOND[blob_type])
    original = victim.read_bytes()
    victim.unlink()
    plan = world.cli("plan", "--detailed-exitcode")
    assert plan.code == 2, plan.out
    assert "No changes" not in plan.out and "repair" in plan.out, plan.out
    ship(world)
    result = world.cli("apply", "--auto-approve")
    assert result.code == 0, result.out + result.err
    assert victim.read_bytes() == original
    assert verify_drive(world.drive_path(serial)).ok
    listed, state = job_drives(world, "importexport")
    assert listed == listed_before and state == "Shipping"
    done = sandbox.control.advance_job(world.resource_group, world.job_name, "Completed",
                                       subscription=world.subscription_id)
    assert {d["copyStatus"] for d in done["properties"]["driveList"]} == {"Completed"}, done


@pytest.mark.parametrize("blob_type", BLOB_TYPES)
@pytest.mark.parametrize("api", APIS)
def test_silently_changed_content_is_caught_by_verify_and_by_the_shipment(tmp_path, sandbox, api, blob_type):
    world = make_world(tmp_path, sandbox, api=api, blob_type=blob_type)
    assert world.cli("apply", "--auto-approve").code == 0
    serial = next(s for s in world.serials if FIRST[blob_type] in blobs_on(world, s))
    victim = _drive_file(world, serial, FIRST[blob_type])
    st = victim.stat()
    with open(victim, "r+b") as fh:  # same size, same mtime: only the hashes tell
        fh.seek(100)
        fh.write(b"\0CORRUPT\0")
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    ship(world)
    refused = world.cli("apply", "--auto-approve")
    assert refused.code == 1 and "--verify" in refused.out + refused.err, refused.out + refused.err
    _, state = job_drives(world, api)
    assert not_shipped(state)
    repaired = world.cli("apply", "--auto-approve", "--verify")
    assert repaired.code == 0, repaired.out + repaired.err
    assert verify_drive(world.drive_path(serial)).ok
    listed, state = job_drives(world, api)
    assert not not_shipped(state)
    assert all(listed[s] == on_drive(world, s) for s in world.serials)


# -- 9. no empty drive in a job ------------------------------------------------------------------------

@pytest.mark.parametrize("blob_type", BLOB_TYPES)
@pytest.mark.parametrize("api", APIS)
def test_every_drive_in_the_job_carries_data(tmp_path, sandbox, api, blob_type):
    world = make_world(tmp_path, sandbox, api=api, blob_type=blob_type)  # two drives; the data fits on one
    result = world.cli("apply", "--auto-approve")
    assert result.code == 0, result.out + result.err
    listed, _ = job_drives(world, api)
    assert sorted(listed) == sorted(world.serials)
    for serial in world.serials:
        assert blobs_on(world, serial), f"drive {serial} carries nothing"


def test_more_drives_than_files_names_the_drive_that_is_not_needed(tmp_path, sandbox):
    world = make_world(tmp_path, sandbox, files={"only.bin": b"x" * 1000})
    plan = world.cli("plan")
    assert plan.code == 1, plan.out
    assert world.serials[1] in plan.out and "not needed" in plan.out, plan.out


# -- 4. destroy --staging deletes only what is proven imported ------------------------------------------

@pytest.mark.parametrize("api", APIS)
def test_destroy_staging_keeps_a_file_rewritten_with_the_same_name_and_size(tmp_path, sandbox, api):
    world = make_world(tmp_path, sandbox, api=api, shipment=True)
    assert world.cli("apply", "--auto-approve").code == 0
    sandbox.control.advance_job(world.resource_group, world.job_name, "Completed", subscription=world.subscription_id)
    verified = world.cli("verify")
    assert verified.code == 0, verified.out + verified.err
    rewritten = world.staging() / "backup" / "full-0002.vhd"
    st = rewritten.stat()
    rewritten.write_bytes(b"\x01" * st.st_size)  # new data under the old name and size
    os.utime(rewritten, ns=(st.st_atime_ns, st.st_mtime_ns))  # even the mtime is the old one
    # --deep: a fresh verification that downloads each blob (Content-MD5 alone never proves an import)
    result = world.cli("destroy", "--auto-approve", "--staging", "--deep")
    assert result.code == 0, result.out + result.err
    assert "full-0002.vhd" in result.out and "differs from what was imported" in result.out, result.out
    assert rewritten.read_bytes() == b"\x01" * st.st_size
    left = sorted(p.relative_to(world.staging()).as_posix() for p in world.staging().rglob("*") if p.is_file())
    assert left == ["backup/full-0002.vhd"]
