"""End to end on the sandbox, real SDKs: apply → shipment → datacenter → status → verify →
(repair → apply → verify) → destroy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from seedctl.lifecycle import LifecycleExit


def ship_and_import(ws: Any, spec: str = "seed.yaml", tracking: str = "1Z999AA10123456784",
                    job: str | None = None) -> None:
    path = ws.dir / spec
    data = yaml.safe_load(path.read_text())
    data["shipment"] = {"carrier_name": "FedEx", "tracking_number": tracking}
    ws.write_spec(data, path)
    r = ws.run("apply", "-f", spec, "--auto-approve")
    assert r.rc == 0, r.out + r.err
    ws.advance("Completed", job=job)


def container(ws: Any) -> Any:
    from azure.storage.blob import BlobServiceClient

    from seedctl.planner import make_context
    from seedctl.spec import load_spec

    env, _, _ = ws.env()
    spec = load_spec(ws.spec_path)
    service: BlobServiceClient = make_context(spec, env).clients.blob_service(spec.storage_account.name,
                                                                              spec.storage_resource_group)
    return service.get_container_client(spec.container.name)


def drive_file(ws: Any, rel: str) -> Path:
    found = list((ws.dir / "demo-work" / "drives").glob(f"d*/seed/{rel}"))
    assert len(found) == 1, found
    return found[0]


def test_import_verify_and_clean_up(workspace: Any) -> None:
    ws = workspace
    assert ws.run("apply", "--auto-approve").rc == 0
    # verify needs the manifests after the drives have gone: apply kept a copy of each
    assert sorted(p.name for p in (ws.dir / ".seedctl" / "manifests").iterdir()) == sorted(
        f"{s}.xml" for s in ws.drives)
    r = ws.run("destroy", "--auto-approve")
    created = {"importexport": "Creating", "databox": "AwaitingShipmentDetails"}[ws.api]
    assert r.rc == 1 and f"still active ({created})" in r.err
    r = ws.run("verify")
    assert r.rc == 1 and "verify runs once the job is completed" in r.err

    ship_and_import(ws)
    r = ws.run("status")
    assert r.rc == 0, r.out + r.err
    assert "state:    Completed (seedctl phase: completed)" in r.out and "run `seedctl verify`" in r.out
    assert "FedEx 1Z999AA10123456784" in r.out
    r = ws.run("destroy", "--auto-approve")
    assert r.rc == 1 and "not verified" in r.err

    # the manifest copies, not the drives, are what verify reads once the drives are away
    for drive in (ws.dir / "demo-work" / "drives").iterdir():
        (drive / "DriveManifest.xml").unlink()
    # a local copy that is not what the job was given is not trusted: the service's backup is used
    stale = ws.dir / ".seedctl" / "manifests" / f"{ws.drives[0]}.xml"
    stale.write_bytes(stale.read_bytes().replace(b"big.bin", b"big.bim"))
    r = ws.run("verify", "--json")
    report = json.loads(r.out)
    assert r.rc == 0, r.out + r.err
    assert report["ok"] and report["summary"]["files"] == 4 and report["summary"]["ok"] == 4
    assert report["manifest_sources"] == {ws.drives[0]: "service backup", ws.drives[1]: "local copy"}
    # every file decided by what the service lists now (its block ids), and by the service's CRC-64
    # where the copy log has one (Data Box, verbose) and the manifest recorded one; never by the
    # blob's Content-MD5, which the service does not set from a manifest (issue 24 item 7)
    manifests = b"".join(p.read_bytes() for p in (ws.dir / ".seedctl" / "manifests").iterdir())
    crc = ws.api == "databox" and b"seedctl:crc64=" in manifests
    want = ["service-crc64", "block-ids"] if crc else ["block-ids"]  # in the ladder's order (verify.py)
    assert [f["evidence"] for f in report["files"]] == [want] * 4
    assert report["summary"]["evidence"] == {word: 4 for word in want}
    assert any(k.startswith("seedctlverified_") for k in container(ws).get_container_properties().metadata)
    assert "imported and verified (4 files" in ws.run("status").out
    r = ws.run("verify", "--deep", "--all")
    assert r.rc == 0 and r.out.count("downloaded ") == 4 and "4 by download and hash" in r.out, r.out + r.err

    # a stranger's blob keeps the container; destroy removes exactly the imported ones
    container(ws).upload_blob("not-ours.txt", b"keep me")
    r = ws.run("destroy")  # no terminal, no --auto-approve: refuse rather than guess
    assert r.rc == 1 and "--auto-approve" in r.err
    # staging files go only on a verification made now with evidence the service gives (issue 23), never
    # on the blob's Content-MD5 (settable metadata): these block blobs' committed block ids, listed now
    r = ws.run("destroy", "--auto-approve", "--staging")
    assert r.rc == 0, r.out + r.err
    assert "delete 4 imported blob(s)" in r.out and "holds 1 other blob(s)" in r.out
    assert [b.name for b in container(ws).list_blobs()] == ["not-ours.txt"]
    assert not any(p.is_file() for p in ws.staging().rglob("*"))
    r = ws.run("destroy", "--auto-approve", "--staging")
    assert r.rc == 0 and "Nothing to destroy" in r.out
    # after the clean-up, status says so, and verify does not take the deleted blobs for a failure
    r = ws.run("status")
    assert r.rc == 0 and "deleted by `seedctl destroy`" in r.out, r.out
    r = ws.run("verify")
    assert r.rc == 1 and "nothing left to verify" in r.err
    assert "deleted by `seedctl destroy`" in ws.run("status").out  # the record was not withdrawn

    # once the stranger's blob is gone the container (seedctl made it) goes too, on a later run
    container(ws).delete_blob("not-ours.txt")
    r = ws.run("destroy", "--auto-approve")
    assert r.rc == 0 and "delete container offline-seed" in r.out, r.out + r.err
    assert not container(ws).exists()
    assert "Nothing to destroy" in ws.run("destroy", "--auto-approve").out


def test_damaged_file_is_caught_and_repaired(workspace: Any) -> None:
    ws = workspace
    assert ws.run("apply", "--auto-approve").rc == 0
    ws.add_shipment()
    assert ws.run("apply", "--auto-approve").rc == 0
    # damaged on its way (after the last apply, which would otherwise rewrite it from staging)
    damaged = drive_file(ws, "big.bin")
    data = bytearray(damaged.read_bytes())
    data[5 * 1024 * 1024] ^= 0xFF  # one byte in the second block, same size: only MD5s can tell
    damaged.write_bytes(bytes(data))
    ws.advance("Completed")

    r = ws.run("status")
    assert r.rc == LifecycleExit.ATTENTION and "CompletedWithErrors" in r.out, r.out
    r = ws.run("verify")
    assert r.rc == 1, r.out + r.err
    assert "offline-seed/big.bin" in r.out and "missing" in r.out, r.out
    # the service's reason from its copy log (the block that failed its check)
    assert "service: " in r.out and "offset 4194304" in r.out, r.out
    assert "3 ok, 1 missing" in r.out
    r = ws.run("destroy", "--auto-approve")
    assert r.rc == 1 and "not verified" in r.err

    r = ws.run("repair", "--out", "repair.yaml")
    assert r.rc == 0, r.out + r.err
    repair_path = ws.dir / "repair.yaml"
    spec = yaml.safe_load(repair_path.read_text())
    assert spec["import_job"]["name"] == "sandbox-demo-job-r1" and "shipment" not in spec
    assert spec["staging"]["include"] == ["big.bin"]
    assert spec["drives"][0]["serial"] == "REPLACE-WITH-SERIAL-1"
    assert ws.run("validate", "-f", "repair.yaml").rc == 0
    assert "exists" in ws.run("repair", "--out", "repair.yaml").err  # never overwritten silently

    # the operator fills in a new drive and sends it
    serial = f"SBX-{ws.tag.upper()}-R1"
    ws.make_drive(serial, "demo-work/drives/r1")
    spec["drives"] = [{"serial": serial, "mount_point": "./demo-work/drives/r1", "capacity": "512MB",
                       "bitlocker": {"key": {"file": f"./demo-work/keys/{serial}.key"}}}]
    ws.write_spec(spec, repair_path)
    r = ws.run("apply", "-f", "repair.yaml", "--auto-approve")
    assert r.rc == 0, r.out + r.err
    assert list((ws.dir / "demo-work" / "drives" / "r1" / "seed").rglob("*.*")) == [
        ws.dir / "demo-work" / "drives" / "r1" / "seed" / "big.bin"]
    ship_and_import(ws, "repair.yaml", "1Z999AA10123456785", job="sandbox-demo-job-r1")

    r = ws.run("verify", "-f", "repair.yaml")
    assert r.rc == 0 and "1 files" in r.out, r.out + r.err
    r = ws.run("verify")  # the first job's files are now all there; its logs are history
    assert r.rc == 0, r.out + r.err
    r = ws.run("verify", "--all")
    assert "now present and intact" in r.out
    assert "Nothing to repair" in ws.run("repair", "--out", "again.yaml").out
    assert not (ws.dir / "again.yaml").exists()

    # someone overwrites a blob after the import (same length): the block list gives it away (it is
    # no longer the manifest's, whatever the copy log said at import), the earlier verification is
    # withdrawn, clean-up refuses, and a download finds the damage
    container(ws).upload_blob("sub/c.txt", b"ANOTHER C\n", overwrite=True)
    r = ws.run("verify")
    assert r.rc == 1 and "offline-seed/sub/c.txt" in r.out and "unverified" in r.out, r.out
    assert "other block ids" in r.out
    r = ws.run("verify", "--deep")
    assert r.rc == 1 and "offline-seed/sub/c.txt" in r.out and "damaged" in r.out, r.out
    r = ws.run("destroy", "--auto-approve")
    assert r.rc == 1 and "not verified" in r.err
