"""Issue 22's acceptance on the sandbox, both back ends: an agent-shaped staging tree arrives as page
blobs, byte-identical, with valid page-range manifests; `verify` passes; a second plan shows no
changes; a damaged range is caught, repaired as a page blob, and verified.

The checks do not use seedctl's readers: the manifests are read with ElementTree and the test's own
page rules (tests/pagedrive.py), the CRC-64 is the pure-Python reference, and the blobs are read with
plain azure-storage-blob calls (`get_blob_properties`, `download_blob`, `list_page_ranges`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pagedrive import (
    MIB,
    blob_intervals,
    check_page_rules,
    coalesce,
    manifest_intervals,
    read_manifest_xml,
)

from lifecycle.conftest import Workspace, new_workspace
from lifecycle.test_e2e import container, ship_and_import
from seedctl.agentdata import write_agent_file

from crc64_reference import crc64

DS1, DS2 = "3f2504e0-4f89-41d3-9a0c-0305e82c3301", "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def _agent_staging(root: Path) -> dict[str, bytes]:
    """Two data sources, each a *.BaseBlob and an *.AIBBlob. The first base blob has a 4 MiB-aligned
    zero run of 8 MiB (two whole 4 MiB ranges a manifest leaves out) and ends in a 512-byte page."""
    base = root / DS1 / "a1b2.BaseBlob"
    base.parent.mkdir(parents=True)
    with open(base, "wb") as fh:
        fh.write(hashlib.sha256(b"x").digest() * (4 * MIB // 32))   # 4 MiB of data
        fh.seek(8 * MIB, 1)                                            # 8 MiB of zeros (a hole)
        fh.write(hashlib.sha256(b"y").digest() * (2 * MIB // 32))   # 2 MiB of data
        fh.write(b"\x07" * 512)                                        # a last, partial range
    write_agent_file(root / DS1 / "a1b2.AIBBlob", 1 * MIB + 512, seed=1)
    write_agent_file(root / DS2 / "c3d4.BaseBlob", 6 * MIB, seed=2, run_bytes=2 * MIB)
    write_agent_file(root / DS2 / "c3d4.AIBBlob", 512 * 1024, seed=3)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(params=["importexport", "databox"])
def agent_ws(request: pytest.FixtureRequest, sandbox: Any, tmp_path: Path) -> tuple[Workspace, dict[str, bytes]]:
    ws = new_workspace(request.param, sandbox, tmp_path)  # staging.blob_type left to its default: page
    return ws, _agent_staging(ws.staging())


def _drive_manifests(ws: Workspace) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for path in (ws.dir / "demo-work" / "drives").glob("d*/DriveManifest.xml"):
        found.update(read_manifest_xml(path))
    return found


def test_agent_staging_arrives_as_page_blobs_and_verifies(agent_ws: tuple[Workspace, dict[str, bytes]]) -> None:
    ws, files = agent_ws
    r = ws.run("apply", "--auto-approve")
    assert r.rc == 0, r.out + r.err
    assert ws.run("plan", "--detailed-exitcode").rc == 0  # a second plan: nothing to do

    # the manifests, read independently: page blobs, by the format's page rules, the right ranges
    manifests = _drive_manifests(ws)
    container_name = ws.data["container"]["name"]
    assert sorted(manifests) == sorted(f"{container_name}/{rel}" for rel in files)
    for rel, data in files.items():
        entry = manifests[f"{container_name}/{rel}"]
        check_page_rules(entry)
        assert entry.length == len(data)
        assert entry.client_data == f"seedctl:crc64={crc64(data)}"
        for offset, length, md5 in entry.ranges:
            assert hashlib.md5(data[offset:offset + length]).hexdigest().upper() == md5
        listed = manifest_intervals(entry)
        unlisted = [(a, b) for a, b in zip([0] + [e for _, e in listed], [s for s, _ in listed] + [len(data)],
                                           strict=True) if a < b]
        assert all(data[a:b].count(0) == b - a for a, b in unlisted), f"{rel}: only zeros are left out"
    base = manifests[f"{container_name}/{DS1}/a1b2.BaseBlob"]
    assert not any(4 * MIB <= o < 12 * MIB for o, _, _ in base.ranges)  # the zero run is left out
    assert sum(base.ranges[-1][:2]) == len(files[f"{DS1}/a1b2.BaseBlob"])  # to the last, partial 4 MiB

    ship_and_import(ws)
    cc = container(ws)
    for rel, data in files.items():
        client = cc.get_blob_client(rel)
        props = client.get_blob_properties()
        assert props.blob_type == "PageBlob" and props.size == len(data), rel
        assert client.download_blob().readall() == data, f"{rel} is byte-identical"
        assert blob_intervals(client) == manifest_intervals(manifests[f"{container_name}/{rel}"])

    r = ws.run("verify", "--json")
    report = json.loads(r.out)
    assert r.rc == 0 and report["ok"], r.out + r.err
    want = ["service-crc64", "page-ranges"] if ws.api == "databox" else ["page-ranges"]
    assert {f["blob_path"]: f["evidence"] for f in report["files"]} == {f"{container_name}/{rel}": want
                                                                        for rel in files}
    assert {f["blob_type"] for f in report["files"]} == {"PageBlob"}
    r = ws.run("verify", "--deep", "--json")
    assert r.rc == 0, r.out + r.err
    assert all(f["evidence"][-1] == "download" for f in json.loads(r.out)["files"])
    assert ws.run("plan", "--detailed-exitcode").rc == 0  # and after the import, still nothing to do


def test_a_damaged_range_is_repaired_as_a_page_blob(agent_ws: tuple[Workspace, dict[str, bytes]]) -> None:
    ws, files = agent_ws
    assert ws.run("apply", "--auto-approve").rc == 0
    ws.add_shipment()
    assert ws.run("apply", "--auto-approve").rc == 0
    rel = f"{DS1}/a1b2.BaseBlob"
    (on_drive,) = list((ws.dir / "demo-work" / "drives").glob(f"d*/seed/{rel}"))
    with open(on_drive, "r+b") as fh:  # damaged on its way: one byte of the 2 MiB data run
        fh.seek(12 * MIB + 100)
        byte = fh.read(1)
        fh.seek(12 * MIB + 100)
        fh.write(bytes([byte[0] ^ 0xFF]))
    ws.advance("Completed")

    container_name = ws.data["container"]["name"]
    client = container(ws).get_blob_client(rel)
    entry = _drive_manifests(ws)[f"{container_name}/{rel}"]
    bad = next((o, o + n) for o, n, _ in entry.ranges if o <= 12 * MIB + 100 < o + n)
    # the damaged range was not written; the others were
    assert blob_intervals(client) == coalesce((o, o + n) for o, n, _ in entry.ranges if (o, o + n) != bad)
    r = ws.run("verify", "--json")
    files_out = {f["blob_path"]: f for f in json.loads(r.out)["files"]}
    assert r.rc == 1 and files_out[f"{container_name}/{rel}"]["status"] == "damaged", r.out
    assert "never written" in files_out[f"{container_name}/{rel}"]["detail"]

    r = ws.run("repair", "--out", "repair.yaml")
    assert r.rc == 0, r.out + r.err
    spec = yaml.safe_load((ws.dir / "repair.yaml").read_text())
    assert spec["staging"]["include"] == [rel] and spec["staging"].get("blob_type", "page") == "page"
    serial = f"SBX-{ws.tag.upper()}-R1"
    ws.make_drive(serial, "demo-work/drives/r1")
    spec["drives"] = [{"serial": serial, "mount_point": "./demo-work/drives/r1", "capacity": "512MB",
                       "bitlocker": {"key": {"file": f"./demo-work/keys/{serial}.key"}}}]
    ws.write_spec(spec, ws.dir / "repair.yaml")
    r = ws.run("apply", "-f", "repair.yaml", "--auto-approve")
    assert r.rc == 0, r.out + r.err
    (repair_manifest,) = (ws.dir / "demo-work" / "drives" / "r1").glob("DriveManifest.xml")
    assert read_manifest_xml(repair_manifest)[f"{container_name}/{rel}"].kind == "page"
    ship_and_import(ws, "repair.yaml", "1Z999AA10123456785", job=spec["import_job"]["name"])

    assert client.download_blob().readall() == files[rel]
    assert ws.run("verify", "-f", "repair.yaml").rc == 0
    # the first job's logs name the blob as failed: its ranges alone do not settle it, a download does
    r = ws.run("verify", "--json")
    again = {f["blob_path"]: f for f in json.loads(r.out)["files"]}[f"{container_name}/{rel}"]
    assert r.rc == 1 and again["status"] == "unverified" and "the service reported" in again["detail"], again
    r = ws.run("verify", "--deep")
    assert r.rc == 0, r.out + r.err
