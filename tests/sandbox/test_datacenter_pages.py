"""The simulated datacenter imports page blobs (issue 22), classic back end: only the listed ranges
are written, each checked against its MD5 first; the blob is as long as the manifest says; a range
whose bytes differ is not written and named in the DriveLog's PageRangeList; a manifest that breaks
the page rules fails the drive as ManifestFormatInvalid. Checked with plain azure-storage-blob calls
and the test-side manifest reader, not seedctl's."""

from __future__ import annotations

import hashlib

from pagedrive import (
    MIB,
    agent_bytes,
    blob_intervals,
    coalesce,
    manifest_intervals,
    page_blob_entry,
    read_manifest_xml,
    write_files,
)
from test_datacenter import create_and_ship, make_drive

from seedctl.drives.formats.manifest import (
    MANIFEST_NAME,
    DriveManifest,
    ManifestBlob,
    make_block,
    write_manifest,
)

from platforms import FIFOS, SYMLINKS

BASE = agent_bytes(3 * MIB + 512, seed=1)  # a zero piece every third 256 KiB
AIB = agent_bytes(300 * 1024, seed=2)


def _page_drive(root, serial, files, step=512 * 1024, extra=()):
    write_files(root, files)
    blobs = [page_blob_entry(rel, data, step=step) for rel, data in files.items()] + list(extra)
    return write_manifest(DriveManifest(serial, tuple(blobs)), root / MANIFEST_NAME)


def _log(clients, account, uri: str) -> str:
    container, _, name = uri.split(f"/{account.name}/", 1)[1].partition("/")
    return clients.blob(account.name).get_blob_client(container, name).download_blob().readall().decode()


def test_page_blobs_arrive_with_only_their_ranges_written(sandbox, setup, tmp_path):
    clients, account = setup
    root, key = make_drive(sandbox, tmp_path, "PG-GOOD")
    files = {"ds1/a.BaseBlob": BASE, "ds1/a.AIBBlob": AIB, "ds1/zero.AIBBlob": bytes(8192)}
    small = b"plain block blob"
    write_files(root, {"notes.txt": small})
    block = ManifestBlob("seed/notes.txt", "\\notes.txt", len(small), (make_block(0, hashlib.md5(small).digest(),
                                                                                  len(small)),))
    digest = _page_drive(root, "PG-GOOD", files, extra=[block])
    create_and_ship(clients, account, [("PG-GOOD", key, digest)], log_level="Verbose")
    job = sandbox.control.advance_job("rg1", "job1", "Completed", subscription=clients.sub)
    (drive,) = job["properties"]["driveList"]
    assert drive["copyStatus"] == "Completed" and drive["bytesSucceeded"] == sum(map(len, files.values())) + len(small)

    listed = read_manifest_xml(root / MANIFEST_NAME)
    seed = clients.blob(account.name).get_container_client("seed")
    for rel, data in files.items():
        client = seed.get_blob_client(rel)
        props = client.get_blob_properties()
        assert props.blob_type == "PageBlob" and props.size == len(data)
        # the service sets no Content-MD5 from a manifest (ClientData is not interpreted)
        assert props.content_settings.content_md5 is None
        assert client.download_blob().readall() == data
        assert blob_intervals(client) == manifest_intervals(listed[f"seed/{rel}"])
    assert blob_intervals(seed.get_blob_client("ds1/zero.AIBBlob")) == []
    assert seed.get_blob_client("notes.txt").get_blob_properties().content_settings.content_md5 is None
    assert seed.download_blob("notes.txt").readall() == small

    log = _log(clients, account, drive["verboseLogUri"])
    ranges = listed["seed/ds1/a.BaseBlob"].ranges
    offset, length, md5 = ranges[1]
    assert f'<PageRange Offset="{offset}" Length="{length}" Hash="{md5}" Status="Completed" />' in log
    assert log.count('Status="Completed" />') == sum(len(listed[f"seed/{r}"].ranges) for r in files)
    assert "<PageRangeList />" in log  # the all-zero file: a page blob with no ranges
    assert "crc64" not in log.lower()  # the classic DriveLog carries no CRC-64


def test_a_corrupted_range_is_not_written_and_the_others_are(sandbox, setup, tmp_path):
    clients, account = setup
    root, key = make_drive(sandbox, tmp_path, "PG-BAD")
    digest = _page_drive(root, "PG-BAD", {"ds1/a.BaseBlob": BASE})
    listed = read_manifest_xml(root / MANIFEST_NAME)["seed/ds1/a.BaseBlob"]
    bad_offset, bad_length, _ = listed.ranges[2]
    with open(root / "ds1" / "a.BaseBlob", "r+b") as fh:  # damaged after the manifest was written
        fh.seek(bad_offset + 100)
        fh.write(b"\xff" if BASE[bad_offset + 100] != 0xFF else b"\x00")
    create_and_ship(clients, account, [("PG-BAD", key, digest)], log_level="Verbose")
    job = sandbox.control.advance_job("rg1", "job1", "Completed", subscription=clients.sub)
    (drive,) = job["properties"]["driveList"]
    assert drive["copyStatus"] == "CompletedWithErrors" and drive["bytesSucceeded"] == 0
    assert job["properties"]["incompleteBlobListUri"]

    client = clients.blob(account.name).get_container_client("seed").get_blob_client("ds1/a.BaseBlob")
    assert client.get_blob_properties().size == len(BASE)  # the blob exists: its other ranges were written
    want = coalesce((o, o + n) for o, n, _ in listed.ranges if o != bad_offset)
    assert blob_intervals(client) == want
    got = client.download_blob().readall()
    assert got[bad_offset:bad_offset + bad_length] == bytes(bad_length)  # never written: reads as zeros
    assert got[:bad_offset] == BASE[:bad_offset] and got[bad_offset + bad_length:] == BASE[bad_offset + bad_length:]

    error = _log(clients, account, drive["errorLogUri"])
    assert '<Blob Status="CompletedWithErrors">' in error and '<ImportDisposition Status="Created">' in error
    assert error.count("<PageRange ") == 1  # the error log keeps only the failed range
    assert f'<PageRange Offset="{bad_offset}" Length="{bad_length}"' in error and 'Status="Corrupted"' in error


def test_an_overwritten_page_blob_is_recreated(sandbox, setup, tmp_path):
    """overwrite replaces the blob: what the old one held where the new file has zeros is gone."""
    clients, account = setup
    seed = clients.blob(account.name).get_container_client("seed")
    seed.create_container()
    seed.get_blob_client("ds1/a.BaseBlob").upload_blob(b"\x07" * len(BASE), blob_type="PageBlob")
    root, key = make_drive(sandbox, tmp_path, "PG-OVER")
    digest = _page_drive(root, "PG-OVER", {"ds1/a.BaseBlob": BASE})
    create_and_ship(clients, account, [("PG-OVER", key, digest)])
    sandbox.control.advance_job("rg1", "job1", "Completed", subscription=clients.sub)
    assert seed.download_blob("ds1/a.BaseBlob").readall() == BASE


def _broken(serial: str, length: int, ranges: list[tuple[int, int]]) -> bytes:
    body = "".join(f'<PageRange Offset="{o}" Length="{n}" Hash="{"0" * 32}" />' for o, n in ranges)
    return ('<?xml version="1.0" encoding="UTF-8"?>\r\n<DriveManifest Version="2014-11-01"><Drive>'
            f"<DriveId>{serial}</DriveId><BlobList><Blob><BlobPath>seed/x.BaseBlob</BlobPath>"
            f"<FilePath>\\x.BaseBlob</FilePath><Length>{length}</Length><ImportDisposition>overwrite"
            f"</ImportDisposition><PageRangeList>{body}</PageRangeList></Blob></BlobList></Drive>"
            "</DriveManifest>").encode()


BROKEN = {  # serial suffix → (Length, ranges): each breaks one page rule of the manifest format
    "UNALIGNED": (8192, [(100, 512)]),
    "OVER4MIB": (8 * MIB, [(0, 4 * MIB + 512)]),
    "OVERLAP": (8192, [(0, 1024), (512, 512)]),
    "LENGTH": (8000, [(0, 512)]),
}


def test_manifests_breaking_the_page_rules_fail_their_drive(sandbox, setup, tmp_path):
    clients, account = setup
    drives = []
    for suffix, (length, ranges) in BROKEN.items():
        serial = f"PG-{suffix}"
        root, key = make_drive(sandbox, tmp_path, serial)
        (root / "x.BaseBlob").write_bytes(bytes(length))
        data = _broken(serial, length, ranges)
        (root / MANIFEST_NAME).write_bytes(data)
        drives.append((serial, key, hashlib.md5(data).hexdigest().upper()))
    create_and_ship(clients, account, drives)
    job = sandbox.control.advance_job("rg1", "job1", "Completed", subscription=clients.sub)
    assert {d["driveId"]: d["copyStatus"] for d in job["properties"]["driveList"]} == {
        s: "ManifestFormatInvalid" for s, _, _ in drives}
    assert job["properties"]["state"] == "Closed"
    seed = clients.blob(account.name).get_container_client("seed")
    assert not seed.exists() or list(seed.list_blobs()) == []


@FIFOS
@SYMLINKS
def test_a_fifo_or_link_on_the_drive_never_blocks_the_import(sandbox, setup, tmp_path):
    """The drive is untrusted: a FIFO under the manifest's name, or a FIFO or symbolic link where a
    data file should be, is read as not there (never waited on, never followed)."""
    import os
    import threading

    clients, account = setup
    fifo_manifest, key1 = make_drive(sandbox, tmp_path, "PG-FIFO-M")
    os.mkfifo(fifo_manifest / MANIFEST_NAME)
    root, key2 = make_drive(sandbox, tmp_path, "PG-FIFO-F")
    digest = _page_drive(root, "PG-FIFO-F", {"ds/a.BaseBlob": AIB, "ds/b.BaseBlob": AIB, "ds/c.BaseBlob": AIB})
    (root / "ds" / "a.BaseBlob").unlink()
    os.mkfifo(root / "ds" / "a.BaseBlob")
    outside = tmp_path / "outside.bin"
    outside.write_bytes(AIB)
    (root / "ds" / "b.BaseBlob").unlink()
    (root / "ds" / "b.BaseBlob").symlink_to(outside)
    create_and_ship(clients, account, [("PG-FIFO-M", key1, "0" * 32), ("PG-FIFO-F", key2, digest)],
                    log_level="Verbose")
    done: dict = {}
    worker = threading.Thread(target=lambda: done.update(
        job=sandbox.control.advance_job("rg1", "job1", "Completed", subscription=clients.sub)), daemon=True)
    worker.start()
    worker.join(120)
    assert "job" in done, "the datacenter hung on a FIFO"
    drives = {d["driveId"]: d for d in done["job"]["properties"]["driveList"]}
    assert drives["PG-FIFO-M"]["copyStatus"] == "ManifestNotFound"
    assert drives["PG-FIFO-F"]["copyStatus"] == "CompletedWithErrors"
    log = _log(clients, account, drives["PG-FIFO-F"]["errorLogUri"])
    assert log.count('<Blob Status="FileNotFound">') == 2 and "ds/c.BaseBlob" not in log
