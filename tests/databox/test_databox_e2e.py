"""seedctl end to end with `import_job.api: databox` against the sandbox (real SDK clients):
plan → apply → shipment → datacenter → converged, switching back ends, disk edits after shipping,
and SIGKILL during the Data Box steps."""

from __future__ import annotations

import json

import pytest

from seedctl.drives import manifest_hash, read_manifest

from worlds import kill_after, kill_when, make_world


def databox_jobs(world):
    clients = world.clients()
    if not clients.resource.resource_groups.check_existence(world.resource_group):
        return []
    if clients.resource.providers.get("Microsoft.DataBox").registration_state != "Registered":
        return []
    return [clients.databox.jobs.get(world.resource_group, j.name, expand="details")
            for j in clients.databox.jobs.list_by_resource_group(world.resource_group)]


def classic_jobs(world):
    clients = world.clients()
    if clients.resource.providers.get("Microsoft.ImportExport").registration_state != "Registered":
        return []
    return list(clients.importexport.jobs.list_by_resource_group(world.resource_group))


def assert_converged(world):
    """Exactly one Data Box job and no classic one; its disks are the spec's drives, each with
    the manifest hash of the manifest on the drive; every staged file is on a drive."""
    jobs = databox_jobs(world)
    assert [j.name for j in jobs] == [world.job_name]
    assert classic_jobs(world) == []
    job = jobs[0]
    assert job.sku.name == "DataBoxCustomerDisk"
    disks = job.properties.details.import_disk_details_collection
    assert sorted(disks) == sorted(world.serials)
    on_drives = {}
    for serial in world.serials:
        mount = world.drive_path(serial)
        assert disks[serial].manifest_hash.upper() == manifest_hash(mount / "DriveManifest.xml").upper()
        for blob in read_manifest(mount / "DriveManifest.xml").blobs:
            local = mount / blob.file_path.lstrip("\\").replace("\\", "/")
            on_drives[blob.blob_path.split("/", 1)[1]] = local.read_bytes()
    staged = {p.relative_to(world.staging()).as_posix(): p.read_bytes()
              for p in world.staging().rglob("*") if p.is_file()}
    assert on_drives == staged
    return job


def test_plan_apply_ship_and_complete_a_data_box_job(tmp_path, sandbox):
    world = make_world(tmp_path, sandbox, api="databox")
    keys = [world.key(s) for s in world.serials]
    plan = world.cli("plan", "--detailed-exitcode")
    assert plan.code == 2, plan.out + plan.err
    assert 'provider["Microsoft.DataBox"]' in plan.out and '+ api: "databox"' in plan.out
    assert "Microsoft.ImportExport" not in plan.out
    outputs = [plan.out, plan.err]

    applied = world.cli("-v", "apply", "--auto-approve")
    outputs += [applied.out, applied.err]
    assert applied.code == 0, applied.out[-3000:] + applied.err
    assert "ship the drives to:" in applied.out and "Santa Clara" in applied.out
    job = assert_converged(world)
    assert job.properties.status == "AwaitingShipmentDetails"
    assert job.tags["seedctl-spec"] == world.spec_data["name"] and "seedctl-created" in job.tags
    d = job.properties.details
    assert d.contact_details.email_list == ["admin@example.com"]
    assert d.return_to_customer_package_details.carrier_account_number is None  # x-ms-secret
    # the service stores the street in upper case (JobsGetCopyStuck.json: "164 TOWNSEND ST")
    assert d.shipping_address.street_address1 == "1 TEST WAY" and d.shipping_address.country == "US"
    # the job carries the real keys (the datacenter unlocks the drives with them) ...
    creds = list(world.clients().databox.jobs.list_credentials(world.resource_group, world.job_name))
    assert sorted(s.bit_locker_key for s in creds[0].job_secrets.disk_secrets) == sorted(keys)
    again = world.cli("plan", "--detailed-exitcode", "--json")
    outputs += [again.out, again.err]
    assert again.code == 0, again.out

    # the package leaves: a shipment block marks the devices shipped
    world.edit_spec(lambda s: s.__setitem__("shipment", {"carrier_name": "UPS", "tracking_number": "1Z999"}))
    shipped = world.cli("apply", "--auto-approve", "--json")
    outputs += [shipped.out, shipped.err]
    assert shipped.code == 0, shipped.out[-3000:] + shipped.err
    job = assert_converged(world)
    assert job.properties.status == "ShippedToAzureDC"
    assert job.properties.details.deliver_to_dc_package_details.tracking_id == "1Z999"
    # the service spells UPS its own way (JobsGetCopyStuck.json: "Ups"); the plan still sees no change
    assert job.properties.details.deliver_to_dc_package_details.carrier_name == "Ups"
    assert world.cli("plan", "--detailed-exitcode").code == 0

    # the datacenter receives, copies and completes
    done = sandbox.control.advance_job(world.resource_group, world.job_name, "Completed",
                                       subscription=world.subscription_id)
    assert done["properties"]["status"] == "Completed"
    assert {p["copyStatus"] for p in done["properties"]["details"]["copyProgress"]} == {"Completed"}
    final = world.cli("plan", "--detailed-exitcode")
    outputs += [final.out, final.err]
    assert final.code == 0, final.out + final.err
    # ... and no output ever shows one
    for text in outputs:
        for key in keys:
            assert key not in text


def test_status_and_verify_read_a_completed_data_box_job(tmp_path, sandbox):
    pytest.importorskip("seedctl.lifecycle.status")
    world = make_world(tmp_path, sandbox, api="databox", shipment=True)
    assert world.cli("apply", "--auto-approve").code == 0
    sandbox.control.advance_job(world.resource_group, world.job_name, "Completed",
                                subscription=world.subscription_id)
    status = world.cli("status", "--json")
    report = json.loads(status.out)
    assert report["job"]["api"] == "databox" and report["job"]["state"] == "Completed"
    assert report["job"]["phase"] == "completed"
    assert {d["copy_status"] for d in report["job"]["drives"]} == {"Completed"}
    assert report["job"]["delivery_package"]["tracking_number"] == world.spec_data["shipment"]["tracking_number"]
    verify = world.cli("verify")
    assert verify.code == 0, verify.out + verify.err
    assert "every file arrived intact" in verify.out


def _switch_api(data, api):
    job = data["import_job"]
    job["api"] = api
    if api == "databox":
        job.pop("log_level", None)  # a classic-only field
    return data


@pytest.mark.parametrize("first,then", [("importexport", "databox"), ("databox", "importexport")])
def test_switching_back_ends_while_a_job_exists_is_a_plan_error(tmp_path, sandbox, first, then):
    world = make_world(tmp_path, sandbox, api=first)
    applied = world.cli("apply", "--auto-approve")
    assert applied.code == 0, applied.out[-2000:] + applied.err
    world.edit_spec(lambda d: _switch_api(d, then))
    plan = world.cli("plan")
    assert plan.code == 1, plan.out + plan.err
    text = " ".join((plan.out + plan.err).split())  # the renderer wraps long lines
    assert f"already exists through the {first} (" in text and f"api: {then}" in text
    assert "second job" in text
    # and apply refuses the same way, creating nothing
    assert world.cli("apply", "--auto-approve").code == 1
    assert len(databox_jobs(world)) + len(classic_jobs(world)) == 1


def test_editing_the_disks_after_shipping_is_a_plan_error(tmp_path, sandbox):
    world = make_world(tmp_path, sandbox, api="databox", shipment=True)
    assert world.cli("apply", "--auto-approve").code == 0
    assert databox_jobs(world)[0].properties.status == "ShippedToAzureDC"
    dropped = world.serials[1]
    world.edit_spec(lambda d: d.__setitem__("drives", [x for x in d["drives"] if x["serial"] != dropped]))
    plan = world.cli("plan")
    assert plan.code == 1, plan.out + plan.err
    text = " ".join((plan.out + plan.err).split())
    assert "cannot change in state ShippedToAzureDC" in text and dropped in text


# -- crash test (as tests/engine/test_apply_sandbox.py, with the Data Box back end) ----------------

KILL_POINTS = {
    "during-job-creation": lambda e: e["event"] == "node_start" and e["address"].startswith("import_job"),
    "between-drive-completion-and-job": lambda e: e["event"] == "node_done" and e["address"].startswith("drive"),
    "during-mark-shipped": lambda e: e["event"] == "node_start" and e["address"].startswith("shipment"),
}


@pytest.mark.parametrize("point", sorted(KILL_POINTS))
def test_sigkill_then_apply_converges_with_the_data_box_back_end(point, tmp_path, sandbox):
    rng = __import__("random").Random(5)
    files = {f"data/big-{i}.bin": rng.randbytes(6 * 1024 * 1024 + i) for i in range(2)}
    files.update({f"data/small/{i:03d}.dat": rng.randbytes(rng.randint(0, 50_000)) for i in range(20)})
    world = make_world(tmp_path, sandbox, api="databox", files=files, shipment=True)
    control, sub = sandbox.control, world.subscription_id
    # the Data Box calls take a moment, so a kill lands while they are in flight; the sandbox
    # finishes a request whose client has died, as Azure would
    control.inject_fault("slow", method="PUT", path_regex=rf"{sub}.*/Microsoft\.DataBox/jobs/", delay=1.0)
    control.inject_fault("slow", method="POST", path_regex=rf"{sub}.*/markDevicesShipped", delay=1.0)
    try:
        assert kill_when(world, KILL_POINTS[point]), f"apply finished before reaching {point}"
        kill_after(world, 0.4)  # a second, arbitrary kill shortly into the resumed run
        final = world.cli("apply", "--auto-approve")
    finally:
        control.clear_faults()
    assert final.code == 0, final.out[-3000:] + final.err
    job = assert_converged(world)
    assert job.properties.status == "ShippedToAzureDC"
    assert job.properties.details.deliver_to_dc_package_details.tracking_id == \
        world.spec_data["shipment"]["tracking_number"]
    assert world.cli("plan", "--detailed-exitcode").code == 0
