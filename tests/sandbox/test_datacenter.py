"""The simulated datacenter: drives made with `seedctl sandbox drive`, filled with files and a
manifest written by seedctl.drives.formats.manifest, imported into Azurite by the job's state changes."""

from __future__ import annotations

import hashlib
import io
import re
import stat
from pathlib import Path

from seedctl.cli import main
from seedctl.drives.formats.manifest import (
    MANIFEST_FILE,
    MANIFEST_NAME,
    DriveManifest,
    ManifestBlob,
    make_block,
    write_manifest,
)
from seedctl.env import Env

BLOCK = 64 * 1024  # small blocks so a few hundred KB make several blocks


def make_drive(sandbox, tmp_path: Path, serial: str) -> tuple[Path, str]:
    """`seedctl sandbox drive` → (drive folder, BitLocker key read from --key-out)."""
    path, key_file = tmp_path / serial, tmp_path / f"{serial}.key"
    out = io.StringIO()
    code = main(["sandbox", "drive", serial, str(path), "--capacity", "10MB", "--key-out", str(key_file)],
                Env(stdout=out, stderr=io.StringIO(), environ=sandbox.environ))
    assert code == 0
    key = key_file.read_text().strip()
    assert re.fullmatch(r"\d{6}(-\d{6}){7}", key) and key not in out.getvalue()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    return path, key


def fill_drive(root: Path, serial: str, files: dict[str, bytes], container: str = "seed") -> str:
    """Write files and the manifest; returns the manifest hash."""
    blobs = []
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
        blocks = tuple(make_block(off, hashlib.md5(data[off:off + BLOCK]).digest(), len(data[off:off + BLOCK]))
                       for off in range(0, len(data), BLOCK))
        blobs.append(ManifestBlob(blob_path=f"{container}/{rel}", file_path="\\" + rel.replace("/", "\\"),
                                  length=len(data), blocks=blocks,
                                  content_md5_hex=hashlib.md5(data).hexdigest().upper()))
    return write_manifest(DriveManifest(drive_id=serial, blobs=tuple(blobs)), root / MANIFEST_NAME)


def _address():
    return {"recipientName": "Ops", "streetAddress1": "1 Main St", "city": "Redmond", "postalCode": "98052",
            "countryOrRegion": "USA", "phone": "4250000000", "email": "ops@example.com"}


def create_and_ship(clients, account, drives: list[tuple[str, str, str]], log_level: str = "Error") -> None:
    clients.ie.jobs.create("job1", "rg1", {"location": "westus", "properties": {
        "storageAccountId": account.id, "jobType": "Import", "logLevel": log_level, "backupDriveManifest": True,
        "driveList": [{"driveId": s, "bitLockerKey": k, "manifestFile": MANIFEST_FILE, "manifestHash": h,
                       "driveHeaderHash": ""} for s, k, h in drives]}})
    clients.ie.jobs.update("job1", "rg1", {"properties": {
        "state": "Shipping", "returnAddress": _address(),
        "deliveryPackage": {"carrierName": "FedEx", "trackingNumber": "1Z1", "driveCount": len(drives),
                            "shipDate": "2026-11-26"}}})


def test_good_and_damaged_drive(sandbox, setup, tmp_path):
    clients, account = setup
    good, key1 = make_drive(sandbox, tmp_path, "SER-GOOD")
    bad, key2 = make_drive(sandbox, tmp_path, "SER-BAD")
    data = {"backup/a.bin": bytes(range(256)) * 1000, "backup/empty.bin": b"", "b.txt": b"hello"}
    h1 = fill_drive(good, "SER-GOOD", data)
    h2 = fill_drive(bad, "SER-BAD", {"other/ok.bin": b"x" * 1000, "other/broken.bin": b"y" * (3 * BLOCK)})
    with open(bad / "other" / "broken.bin", "r+b") as fh:  # damage the second block after hashing
        fh.seek(BLOCK + 5)
        fh.write(b"Z")
    create_and_ship(clients, account, [("SER-GOOD", key1, h1), ("SER-BAD", key2, h2)], log_level="Verbose")

    job = sandbox.control.advance_job("rg1", "job1", subscription=clients.sub)
    assert job["properties"]["state"] == "Received"
    assert {d["state"] for d in job["properties"]["driveList"]} == {"Received"}
    job = sandbox.control.advance_job("rg1", "job1", "Completed", subscription=clients.sub)
    assert job["properties"]["state"] == "Completed"
    drives = {d["driveId"]: d for d in job["properties"]["driveList"]}
    assert drives["SER-GOOD"]["state"] == "Completed" and drives["SER-GOOD"]["copyStatus"] == "Completed"
    assert drives["SER-GOOD"]["bytesSucceeded"] == sum(len(v) for v in data.values())
    assert drives["SER-GOOD"]["percentComplete"] == 100 and "errorLogUri" not in drives["SER-GOOD"]
    assert drives["SER-BAD"]["state"] == "CompletedMoreInfo"
    assert drives["SER-BAD"]["copyStatus"] == "CompletedWithErrors" and drives["SER-BAD"]["bytesSucceeded"] == 1000
    assert job["properties"]["incompleteBlobListUri"]

    # seedctl's REST client sees the same.
    assert clients.ie.jobs.get("job1", "rg1")["properties"]["state"] == "Completed"

    blob = clients.blob(account.name)
    seed = blob.get_container_client("seed")
    assert sorted(b.name for b in seed.list_blobs()) == ["b.txt", "backup/a.bin", "backup/empty.bin", "other/ok.bin"]
    assert seed.download_blob("backup/a.bin").readall() == data["backup/a.bin"]
    props = seed.get_blob_client("backup/a.bin").get_blob_properties()
    # no Content-MD5 from the manifest's ClientData: the service does not interpret it (issue 24 item 7)
    assert props.content_settings.content_md5 is None
    committed, _ = seed.get_blob_client("backup/a.bin").get_block_list("committed")
    first = data["backup/a.bin"][:BLOCK]
    assert committed[0].id == make_block(0, hashlib.md5(first).digest(), BLOCK).block_id

    # The error log names the broken blob and the corrupted block, in the DriveLog format.
    diag = blob.get_container_client("waimportexport")
    error_log = diag.download_blob(drives["SER-BAD"]["errorLogUri"].split("/waimportexport/", 1)[1]).readall()
    assert b"<DriveLog" in error_log and b"other/broken.bin" in error_log and b'Status="Corrupted"' in error_log
    assert b"other/ok.bin" not in error_log
    verbose = diag.download_blob(drives["SER-GOOD"]["verboseLogUri"].split("/waimportexport/", 1)[1]).readall()
    assert b"backup/a.bin" in verbose
    assert drives["SER-GOOD"]["manifestUri"].endswith("_manifest.xml")


def test_wrong_key_bad_manifest_hash_and_missing_drive(sandbox, setup, tmp_path):
    clients, account = setup
    d1, key1 = make_drive(sandbox, tmp_path, "SER-KEY")
    d2, key2 = make_drive(sandbox, tmp_path, "SER-HASH")
    h1 = fill_drive(d1, "SER-KEY", {"f1": b"1"})
    fill_drive(d2, "SER-HASH", {"f2": b"2"})
    wrong_key = "-".join(["000011"] * 8)
    create_and_ship(clients, account, [("SER-KEY", wrong_key, h1), ("SER-HASH", key2, "0" * 32),
                                       ("SER-GHOST", key1, h1)])
    job = sandbox.control.advance_job("rg1", "job1", "Completed", subscription=clients.sub)
    drives = {d["driveId"]: d for d in job["properties"]["driveList"]}
    assert drives["SER-KEY"]["copyStatus"] == "BitLockerKeyInvalid"
    assert drives["SER-HASH"]["copyStatus"] == "ManifestCorrupted"
    assert drives["SER-GHOST"]["state"] == "NeverReceived"
    assert job["properties"]["state"] == "Closed"
    seed = clients.blob(account.name).get_container_client("seed")
    assert not seed.exists() or list(seed.list_blobs()) == []


def test_datacenter_refuses_unshipped_job_and_cli(sandbox, setup, tmp_path):
    clients, account = setup
    d, key = make_drive(sandbox, tmp_path, "SER-CLI")
    h = fill_drive(d, "SER-CLI", {"x": b"x"})
    clients.ie.jobs.create("job1", "rg1", {"location": "westus", "properties": {
        "storageAccountId": account.id, "jobType": "Import",
        "driveList": [{"driveId": "SER-CLI", "bitLockerKey": key, "manifestFile": MANIFEST_FILE,
                       "manifestHash": h}]}})
    err = io.StringIO()
    assert main(["sandbox", "datacenter", "job1", "-g", "rg1", "--subscription", clients.sub],
                Env(stdout=io.StringIO(), stderr=err, environ=sandbox.environ)) == 1
    assert "Creating" in err.getvalue()
    clients.ie.jobs.update("job1", "rg1", {"properties": {
        "state": "Shipping", "returnAddress": _address(),
        "deliveryPackage": {"carrierName": "FedEx", "trackingNumber": "1Z2", "driveCount": 1,
                            "shipDate": "2026-11-26"}}})
    out = io.StringIO()
    assert main(["sandbox", "datacenter", "job1", "-g", "rg1", "--subscription", clients.sub, "--to", "Transferring"],
                Env(stdout=out, stderr=io.StringIO(), environ=sandbox.environ)) == 0
    assert "Transferring" in out.getvalue() and "SER-CLI" in out.getvalue()


def test_dispositions_against_blobs_already_there(sandbox, setup, tmp_path):
    """ImportDisposition: no-overwrite keeps the blob there, rename picks "name (2).ext", overwrite
    replaces; the verbose DriveLog says which happened."""
    from dataclasses import replace

    from seedctl.drives.formats.manifest import read_manifest

    clients, account = setup
    container = clients.blob(account.name).get_container_client("seed")
    container.create_container()
    for name in ("keep.txt", "ren.txt", "over.txt"):
        container.upload_blob(name, b"old")
    path, key = make_drive(sandbox, tmp_path, "DISP1")
    fill_drive(path, "DISP1", {"keep.txt": b"new keep", "ren.txt": b"new ren", "over.txt": b"new over",
                               "fresh.txt": b"new"})
    blobs = {b.blob_path: b for b in read_manifest(path / MANIFEST_NAME).blobs}
    blobs["seed/keep.txt"] = replace(blobs["seed/keep.txt"], import_disposition="no-overwrite")
    blobs["seed/ren.txt"] = replace(blobs["seed/ren.txt"], import_disposition="rename")
    digest = write_manifest(DriveManifest(drive_id="DISP1", blobs=tuple(blobs.values())), path / MANIFEST_NAME)
    create_and_ship(clients, account, [("DISP1", key, digest)], log_level="Verbose")
    sandbox.control.advance_job("rg1", "job1", "Completed", subscription=clients.sub)
    read = lambda name: container.get_blob_client(name).download_blob().readall()  # noqa: E731
    assert read("keep.txt") == b"old" and read("ren.txt") == b"old" and read("ren (2).txt") == b"new ren"
    assert read("over.txt") == b"new over" and read("fresh.txt") == b"new"
    (drive,) = clients.ie.jobs.get("job1", "rg1")["properties"]["driveList"]
    assert drive["copyStatus"] == "Completed"
    log = clients.blob(account.name).get_blob_client(
        *drive["verboseLogUri"].split(f"/{account.name}/", 1)[1].split("/", 1)).download_blob().readall().decode()
    for disposition, status in (("no-overwrite", "Skipped"), ("rename", "Renamed"), ("overwrite", "Overwritten"),
                                ("overwrite", "Created")):
        assert f'<ImportDisposition Status="{status}">{disposition}</ImportDisposition>' in log


def test_a_manifest_path_never_leaves_the_drive(tmp_path):
    """The manifest came on the drive (untrusted): a FilePath with `..`, a drive letter or a UNC
    anchor is read as a missing file, never as a file outside the drive."""
    from seedctl.sandbox.drive_import import on_drive

    assert on_drive(tmp_path, "\\seed\\a.bin") == tmp_path / "seed" / "a.bin"
    for bad in ("\\..\\secret.bin", "\\seed\\..\\..\\x", "C:\\x.bin", "\\\\host\\share\\x", "\\", ""):
        assert on_drive(tmp_path, bad) is None, bad


def test_crc64_is_azure_storage_crc64():
    from crc64_reference import crc64

    assert crc64(b"123456789") == 0xAE8B14860A799888  # the CRC-64/NVME check value
    assert crc64(b"") == 0  # as the published verbose log shows for a 0-byte file
    assert crc64(b"6789", crc64(b"12345")) == crc64(b"123456789")
