"""The simulated datacenter imports page blobs (issue 22), Data Box back end: the 2021-08-01 verbose
log names each file `PageBlob` with the CRC-64 of the whole blob (its unwritten parts as zeros), a
damaged range is an ErroredEntity of CloudFormat PageBlob, and a manifest that breaks the page rules
fails its disk. Checked with the test-side manifest reader, the pure-Python CRC-64 and plain
azure-storage-blob calls."""

from __future__ import annotations

import hashlib

from databox_helpers import blob_service, disk_entry, read_link
from pagedrive import MIB, agent_bytes, blob_intervals, manifest_intervals, page_blob_entry, read_manifest_xml

from seedctl.drives.formats.manifest import MANIFEST_NAME, DriveManifest, write_manifest
from seedctl.sandbox.simdrive import make_drive

from crc64_reference import crc64

BASE = agent_bytes(2 * MIB, seed=5)
AIB = agent_bytes(256 * 1024 + 1024, seed=6)


def _disk(dbx, tmp_path, serial, files, damage=None):
    root, key_file = tmp_path / serial, tmp_path / f"{serial}.key"
    make_drive(dbx.sandbox.control, dbx.sandbox.dir, serial, root, 10 * MIB, key_out=key_file)
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    blobs = tuple(page_blob_entry(rel, data, step=256 * 1024) for rel, data in files.items())
    digest = write_manifest(DriveManifest(serial, blobs), root / MANIFEST_NAME)
    if damage:
        rel, offset = damage
        with open(root / rel, "r+b") as fh:
            fh.seek(offset)
            fh.write(bytes([files[rel][offset] ^ 0xFF]))
    return root, key_file.read_text().strip(), digest


def test_page_blobs_in_the_verbose_log_with_their_crc64(dbx, tmp_path):
    serial = f"DBX-{dbx.sub[:8]}-PG"
    files = {"ds/b.BaseBlob": BASE, "ds/b.AIBBlob": AIB}
    root, key, digest = _disk(dbx, tmp_path, serial, files)
    dbx.create("pages", dbx.body({serial: disk_entry(key, digest)}))
    dbx.ship("pages")
    job = dbx.advance("pages", "Completed")
    (p,) = job["properties"]["details"]["copyProgress"]
    assert p["copyStatus"] == "Completed" and p["filesProcessed"] == 2
    (log,) = job["properties"]["details"]["copyLogDetails"]
    verbose = read_link(dbx, log["verboseLogLink"]).decode()
    for rel, data in files.items():
        path = "seed\\" + rel  # container\name, as in the published import sample
        assert f'<File CloudFormat="PageBlob" Path="{path}" Size="{len(data)}" crc64="{crc64(data)}">' in verbose

    listed = read_manifest_xml(root / MANIFEST_NAME)
    container = blob_service(dbx).get_container_client("seed")
    for rel, data in files.items():
        client = container.get_blob_client(rel)
        assert client.get_blob_properties().blob_type == "PageBlob"
        assert client.download_blob().readall() == data
        assert blob_intervals(client) == manifest_intervals(listed[f"seed/{rel}"])


def test_a_damaged_range_is_a_data_validation_error_of_a_page_blob(dbx, tmp_path):
    serial = f"DBX-{dbx.sub[:8]}-PD"
    bad = 512 * 1024 + 77  # inside the third 256 KiB piece, which holds data (the second is zeros)
    assert BASE[512 * 1024:768 * 1024].count(0) != 256 * 1024
    root, key, digest = _disk(dbx, tmp_path, serial, {"ds/b.BaseBlob": BASE}, damage=("ds/b.BaseBlob", bad))
    dbx.create("damaged", dbx.body({serial: disk_entry(key, digest)}))
    dbx.ship("damaged")
    job = dbx.advance("damaged", "Completed")
    assert job["properties"]["status"] == "CompletedWithErrors"
    (p,) = job["properties"]["details"]["copyProgress"]
    assert p["copyStatus"] == "CompletedWithErrors" and p["filesErroredOut"] == 1
    (log,) = job["properties"]["details"]["copyLogDetails"]
    copy = read_link(dbx, log["errorLogLink"]).decode()
    assert '<ErroredEntity CloudFormat="PageBlob" Path="seed/ds/b.BaseBlob">' in copy
    assert "<Category>UploadErrorDataValidationError</Category>" in copy
    assert f"page range at offset {512 * 1024}" in copy
    verbose = read_link(dbx, log["verboseLogLink"]).decode()
    assert "b.BaseBlob" not in verbose  # only what was imported whole is listed


def test_a_manifest_breaking_the_page_rules_fails_the_disk(dbx, tmp_path):
    serial = f"DBX-{dbx.sub[:8]}-PR"
    root, key_file = tmp_path / serial, tmp_path / f"{serial}.key"
    make_drive(dbx.sandbox.control, dbx.sandbox.dir, serial, root, 10 * MIB, key_out=key_file)
    (root / "x.BaseBlob").write_bytes(bytes(8192))
    data = ('<?xml version="1.0" encoding="UTF-8"?><DriveManifest Version="2014-11-01"><Drive>'
            f"<DriveId>{serial}</DriveId><BlobList><Blob><BlobPath>seed/x.BaseBlob</BlobPath>"
            "<FilePath>\\x.BaseBlob</FilePath><Length>8192</Length><PageRangeList>"
            f'<PageRange Offset="0" Length="1024" Hash="{"0" * 32}" />'
            f'<PageRange Offset="512" Length="512" Hash="{"0" * 32}" />'
            "</PageRangeList></Blob></BlobList></Drive></DriveManifest>").encode()
    (root / MANIFEST_NAME).write_bytes(data)
    dbx.create("rules", dbx.body({serial: disk_entry(key_file.read_text().strip(),
                                                     hashlib.md5(data).hexdigest().upper())}))
    dbx.ship("rules")
    job = dbx.advance("rules", "Completed")
    (p,) = job["properties"]["details"]["copyProgress"]
    assert p["copyStatus"] == "MetadataFilesModifiedOrRemoved" and p["error"]["code"] == "ManifestFormatInvalid"
    (log,) = job["properties"]["details"]["copyLogDetails"]
    assert '<ManifestFormatInvalid Count="1"' in read_link(dbx, log["errorLogLink"]).decode()
