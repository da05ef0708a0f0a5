"""Randomized interleaving (issue 12 acceptance): staging edits (add / modify / delete), drive edits
(delete or truncate a written file) and SIGKILLs are interleaved with applies, with and without a
shipment block, on the sandbox for both job back ends. After every apply, for any job marked
shipped, the shipment invariant must hold: each drive holds exactly the manifest the job lists, its
files match that manifest, and (when it was shipped) the manifests covered staging. Once shipped,
the drives are never rewritten again. Each run ends by converging and shipping.

The sequence is seeded (the seed is in the test id), so a failure replays exactly.
"""

from __future__ import annotations

import os
import random

import pytest

from seedctl.drives import manifest_hash, read_manifest, verify_drive

from worlds import kill_when, make_world

STEPS = 10


def job_state(world, api):
    """(shipped?, {drive id: manifest hash}) of the job in Azure; (False, {}) when there is none."""
    clients = world.clients()
    try:
        if api == "importexport":
            if clients.resource.providers.get("Microsoft.ImportExport").registration_state != "Registered":
                return False, {}
            job = clients.importexport.jobs.get(world.job_name, world.resource_group)
            listed = {d["driveId"]: (d.get("manifestHash") or "").upper()
                      for d in job["properties"].get("driveList") or []}
            return job["properties"]["state"] != "Creating", listed
        if clients.resource.providers.get("Microsoft.DataBox").registration_state != "Registered":
            return False, {}
        job = clients.databox.jobs.get(world.resource_group, world.job_name, expand="details")
    except Exception as exc:  # noqa: BLE001 - only "not found" means no job
        if "NotFound" in type(exc).__name__ or "not found" in str(exc).lower() or "404" in str(exc):
            return False, {}
        raise
    disks = job.properties.details.import_disk_details_collection or {}
    return job.properties.status not in ("AwaitingShipmentDetails", "DeviceOrdered"), {
        k: (v.manifest_hash or "").upper() for k, v in disks.items()}


def snapshot(world):
    """The staging tree: {rel: (bytes, mtime_ns)}."""
    root = world.staging()
    return {p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def restore(world, snap):
    root = world.staging()
    for p in list(root.rglob("*")):
        if p.is_file() and p.relative_to(root).as_posix() not in snap:
            p.unlink()
    for rel, (data, mtime) in snap.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != data or path.stat().st_mtime_ns != mtime:
            path.write_bytes(data)
            os.utime(path, ns=(mtime, mtime))


def assert_invariant(world, listed, staging=None):
    """Every drive holds exactly the manifest the job lists and verifies against it; with
    `staging`, the manifests cover it (every staged file on a drive with its content)."""
    assert sorted(listed) == sorted(world.serials)
    carried = {}
    for serial in world.serials:
        mount = world.drive_path(serial)
        assert listed[serial] == manifest_hash(mount / "DriveManifest.xml").upper(), serial
        report = verify_drive(mount)
        assert report.ok, report.summary()
        for blob in read_manifest(mount / "DriveManifest.xml").blobs:
            local = mount / blob.file_path.lstrip("\\").replace("\\", "/")
            carried[blob.blob_path.split("/", 1)[1]] = local.read_bytes()
    if staging is not None:
        assert {rel: data for rel, (data, _) in staging.items()} == carried


def edit_staging(world, rng, n, page=False):
    root = world.staging()
    files = sorted(p for p in root.rglob("*") if p.is_file())
    kind = rng.choice(["add", "add", "modify", "delete"] if files else ["add"])
    if kind == "add":
        path = root / f"late/{n:03d}-{rng.randrange(1000)}.bin"
        path.parent.mkdir(exist_ok=True)
        size = rng.choice([0, 100, 70_000, 1_300_000])
        path.write_bytes(rng.randbytes(size // 512 * 512 if page else size))  # page blobs: 512-byte multiples
    elif kind == "modify":
        path = rng.choice(files)
        path.write_bytes(rng.randbytes(rng.choice([512, 90_112] if page else [10, 90_000])))
    elif len(files) > 1:
        rng.choice(files).unlink()
    return f"staging {kind}"


def edit_drive(world, rng):
    serial = rng.choice(world.serials)
    files = sorted(p for p in (world.drive_path(serial) / "seed").rglob("*") if p.is_file() and p.stat().st_size)
    if not files:
        return "drive edit (nothing to edit)"
    victim = rng.choice(files)
    if rng.random() < 0.5:
        victim.unlink()
        return f"drive {serial}: deleted {victim.name}"
    with open(victim, "r+b") as fh:
        fh.truncate(victim.stat().st_size // 2)
    return f"drive {serial}: truncated {victim.name}"


def apply(world, rng, log):
    if rng.random() < 0.3:
        n = rng.randrange(1, 40)
        seen = []
        killed = kill_when(world, lambda e: (seen.append(e), len(seen) >= n)[1])
        log.append(f"apply killed at event {n}: {killed}")
        return
    flags = ["--allow-drive-deletions"] if rng.random() < 0.5 else []
    result = world.cli("apply", "--auto-approve", *flags)
    log.append(f"apply {' '.join(flags)} -> {result.code}")


@pytest.mark.reliability
@pytest.mark.slow
@pytest.mark.parametrize("api,seed,blob_type", [("importexport", 1, "block"), ("importexport", 2, "block"),
                                                ("importexport", 3, "block"), ("databox", 4, "block"),
                                                ("databox", 5, "block"), ("importexport", 6, "page"),
                                                ("databox", 7, "page")])
def test_random_interleaving_never_ships_a_drive_the_job_does_not_describe(tmp_path, sandbox, api, seed, blob_type):
    rng = random.Random(seed)
    world = make_world(tmp_path, sandbox, api=api, blob_type=blob_type)
    page = blob_type == "page"
    log: list[str] = []
    shipped_listing = None
    job_snapshot = None  # staging as the drives held it when the job was created (Data Box: frozen)
    for n in range(STEPS):
        # independent edits, so that several land before one apply (a late file and a new shipment
        # block in the same apply is the classic way to ship a drive the job does not describe)
        if rng.random() < 0.45:
            log.append(edit_staging(world, rng, n, page))
        if rng.random() < 0.2 and shipped_listing is None:
            log.append(edit_drive(world, rng))
        if rng.random() < 0.2 and "shipment" not in world.spec_data:
            world.edit_spec(lambda d: d.__setitem__("shipment", {"carrier_name": "FedEx", "tracking_number": "T1"}))
            log.append("shipment block added")
        staging_before = snapshot(world)
        apply(world, rng, log)
        shipped, listed = job_state(world, api)
        if listed and job_snapshot is None:
            job_snapshot = snapshot(world)
        if shipped:
            context = "\n".join(log)
            if shipped_listing is None:
                try:
                    assert_invariant(world, listed, staging_before)
                except AssertionError as exc:
                    raise AssertionError(f"{exc}\nsteps:\n{context}") from None
                shipped_listing = listed
            # once shipped, the drives are frozen: the job and the drives still agree
            assert listed == shipped_listing, context
            assert_invariant(world, listed)
    # converge and ship: stop editing (Data Box: put staging back as its disks hold it)
    if not job_state(world, api)[0]:
        if api == "databox" and job_snapshot is not None:
            restore(world, job_snapshot)
        if "shipment" not in world.spec_data:
            world.edit_spec(lambda d: d.__setitem__("shipment", {"carrier_name": "FedEx", "tracking_number": "T1"}))
        final = snapshot(world)
        results = [world.cli("apply", "--auto-approve", "--allow-drive-deletions") for _ in range(2)]
        shipped, listed = job_state(world, api)
        assert shipped, "\n".join(log) + "\n" + results[-1].out[-3000:] + results[-1].err
        assert_invariant(world, listed, final)
