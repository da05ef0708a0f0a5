"""The simulated datacenter for Data Box customer-disk jobs: statuses, per-disk copy progress and
copy logs, blobs imported into Azurite with the manifest's block ids, and the failure cases."""

from __future__ import annotations

import io
import json
import random
import re

import pytest
from azure.core.exceptions import HttpResponseError
from databox_helpers import blob_service, disk_entry, make_disk, read_link

from seedctl.cli import main
from seedctl.drives.formats.manifest import MANIFEST_NAME, read_manifest
from seedctl.env import Env
from seedctl.errors import SandboxError as ControlError

FILES = {"backup/a.vhd": random.Random(1).randbytes(300_000), "backup/meta/b.xml": b"<b/>\n", "empty.bin": b""}


def stages(job):
    return {s["stageName"]: s["stageStatus"] for s in job["properties"]["details"]["jobStages"]}


def test_a_job_goes_through_every_status_and_its_blobs_arrive(dbx, tmp_path):
    serial = f"DBX-{dbx.sub[:8]}-1"
    path, key, digest = make_disk(dbx, tmp_path, serial, FILES)
    dbx.create("full", dbx.body({serial: disk_entry(key, digest)}, enableManifestBackup=True))
    with pytest.raises(ControlError) as e:  # nothing shipped yet: the datacenter has nothing
        dbx.advance("full")
    assert "JobNotShipped" in str(e.value)
    dbx.ship("full")

    job = dbx.advance("full")
    assert job["properties"]["status"] == "AtAzureDC"
    assert stages(job)["ShippedToAzureDC"] == "Succeeded" and stages(job)["AtAzureDC"] == "InProgress"
    progress = job["properties"]["details"]["copyProgress"]
    assert [(p["serialNumber"], p["copyStatus"]) for p in progress] == [(serial, "NotStarted")]
    assert job["properties"]["isCancellable"] is False

    job = dbx.advance("full")
    assert job["properties"]["status"] == "DataCopy"
    d = job["properties"]["details"]
    (p,) = d["copyProgress"]
    total = sum(len(v) for v in FILES.values())
    assert p["copyStatus"] == "Completed" and p["bytesProcessed"] == p["totalBytesToProcess"] == total
    assert p["filesProcessed"] == p["totalFilesToProcess"] == 3 and p["filesErroredOut"] == 0
    assert p["accountId"] == dbx.account_id and p["storageAccountName"] == dbx.account
    (log,) = d["copyLogDetails"]  # the copy log always, the verbose log as logCollectionLevel is Verbose
    assert log["copyLogDetailsType"] == "DataBoxCustomerDisk" and log["serialNumber"] == serial
    # named as the docs give them: databoxcopylog/<order>_<serial>_CopyLog_<job ID>.xml
    guid = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    assert re.search(rf"/databoxcopylog/full_{serial}_CopyLog_{guid}\.xml$", log["errorLogLink"])
    assert re.search(rf"/databoxcopylog/full_{serial}_VerboseLog_{guid}\.xml$", log["verboseLogLink"])
    copy = read_link(dbx, log["errorLogLink"]).decode()
    assert "<ErroredEntity" not in copy and "<DriveLogVersion>2021-08-01</DriveLogVersion>" in copy
    assert "<Status>Succeeded</Status>" in copy and "<TotalFiles_Blobs>3</TotalFiles_Blobs>" in copy
    assert "<FilesErrored>0</FilesErrored>" in copy
    verbose = read_link(dbx, log["verboseLogLink"]).decode()
    from crc64_reference import crc64  # the verbose log names each file with its CRC-64

    for rel, data in FILES.items():
        # `container\\name`, as in the published import sample
        assert f'<File CloudFormat="BlockBlob" Path="seed\\{rel}" Size="{len(data)}" crc64="{crc64(data)}">' \
            in verbose
    backup = d["importDiskDetailsCollection"][serial]["backupManifestCloudPath"]
    assert read_link(dbx, backup) == (path / MANIFEST_NAME).read_bytes()

    # every blob is in Azurite, byte for byte, with the manifest's block ids and no Content-MD5 (the
    # service does not interpret ClientData, where the whole-file digest travels)
    container = blob_service(dbx).get_container_client("seed")
    manifest = read_manifest(path / MANIFEST_NAME)
    for blob in manifest.blobs:
        client = container.get_blob_client(blob.blob_path.split("/", 1)[1])
        assert client.download_blob().readall() == FILES[blob.blob_path.split("/", 1)[1]]
        committed, _ = client.get_block_list("committed")
        assert [b.id for b in committed] == [b.block_id for b in blob.blocks]
        assert client.get_blob_properties().content_settings.content_md5 is None

    job = dbx.advance("full")
    assert job["properties"]["status"] == "Completed"
    assert job["properties"]["isDeletable"] is True and stages(job)["Completed"] == "Succeeded"
    assert job["properties"]["details"]["returnPackage"]["carrierName"] == "FedEx"
    assert job["properties"]["details"]["returnPackage"]["trackingId"].startswith("RET")
    again = dbx.advance("full")  # a final status stays
    assert again["properties"]["status"] == "Completed"
    # what the SDK reads of it
    sdk = dbx.databox.jobs.get(dbx.rg, "full", expand="details")
    assert sdk.properties.details.copy_progress[0].bytes_processed == total
    assert sdk.properties.details.copy_log_details[0].verbose_log_link == log["verboseLogLink"]


def test_failed_disks_end_completed_with_errors(dbx, tmp_path):
    """A wrong key, a manifest that does not match the job, a damaged block and a disk that never
    arrived, each on its own disk of one job."""
    s = f"DBX-{dbx.sub[:8]}"
    _, key1, hash1 = make_disk(dbx, tmp_path, f"{s}-KEY", FILES)
    _, key2, _ = make_disk(dbx, tmp_path, f"{s}-MAN", FILES)
    path3, key3, hash3 = make_disk(dbx, tmp_path, f"{s}-BAD", FILES)
    data = bytearray((path3 / "backup/a.vhd").read_bytes())
    data[70_000] ^= 0xFF  # second block damaged after the manifest was written
    (path3 / "backup/a.vhd").write_bytes(bytes(data))
    # a well-formed key that is certainly not this disk's (the first group changed)
    wrong_key = ("000000" if not key1.startswith("000000") else "000011") + key1[6:]
    disks = {f"{s}-KEY": disk_entry(wrong_key, hash1), f"{s}-MAN": disk_entry(key2, "F" * 32),
             f"{s}-BAD": disk_entry(key3, hash3), f"{s}-GONE": disk_entry(key3, "A" * 32)}
    dbx.create("broken", dbx.body(disks))
    dbx.ship("broken")
    job = dbx.advance("broken", "AtAzureDC")
    assert {p["serialNumber"]: p["copyStatus"] for p in job["properties"]["details"]["copyProgress"]}[
        f"{s}-GONE"] == "DriveNotReceived"
    job = dbx.advance("broken", "Completed")  # on until the end
    assert job["properties"]["status"] == "CompletedWithErrors"
    progress = {p["serialNumber"]: p for p in job["properties"]["details"]["copyProgress"]}
    assert progress[f"{s}-KEY"]["copyStatus"] == "Failed"
    assert progress[f"{s}-KEY"]["error"]["code"] == "BitLockerKeyInvalid"
    assert progress[f"{s}-MAN"]["copyStatus"] == "MetadataFilesModifiedOrRemoved"
    assert progress[f"{s}-MAN"]["error"]["code"] == "ManifestCorrupted"
    assert progress[f"{s}-GONE"]["copyStatus"] == "DriveNotReceived"
    bad = progress[f"{s}-BAD"]
    assert bad["copyStatus"] == "CompletedWithErrors" and bad["filesErroredOut"] == 1
    assert bad["bytesProcessed"] == sum(len(v) for v in FILES.values()) - 300_000 < bad["totalBytesToProcess"]
    logs = {entry["serialNumber"]: entry for entry in job["properties"]["details"]["copyLogDetails"]}
    error_log = read_link(dbx, logs[f"{s}-BAD"]["errorLogLink"]).decode()
    assert '<ErroredEntity CloudFormat="BlockBlob" Path="seed/backup/a.vhd">' in error_log
    assert "<Category>UploadErrorDataValidationError</Category>" in error_log
    assert "<Status>Failed</Status>" in error_log and "<FilesErrored>1</FilesErrored>" in error_log
    key_log = read_link(dbx, logs[f"{s}-KEY"]["errorLogLink"]).decode()
    assert '<BitLockerKeyInvalid Count="1"' in key_log and "<TotalFiles_Blobs>0</TotalFiles_Blobs>" in key_log
    # seedctl's reader gets the per-file reason out of it
    from seedctl.lifecycle.storage import parse_drive_log

    parsed = parse_drive_log(error_log.encode())
    assert parsed.version == "2021-08-01" and parsed.drive_id == f"{s}-BAD" and parsed.status == "Failed"
    assert [(e.blob_path, e.status) for e in parsed.blobs] == [("seed/backup/a.vhd", "UploadErrorDataValidationError")]
    # the damaged blob was not committed; the others of that disk were
    container = blob_service(dbx).get_container_client("seed")
    assert container.get_blob_client("backup/meta/b.xml").exists()
    assert not container.get_blob_client("backup/a.vhd").exists()


def test_cancelled_job_stays_cancelled_and_unknown_targets_are_refused(dbx):
    dbx.create("cxl")
    dbx.databox.jobs.cancel(dbx.rg, "cxl", {"reason": "test"})
    assert dbx.advance("cxl")["properties"]["status"] == "Cancelled"
    dbx.create("tgt")
    dbx.ship("tgt")
    with pytest.raises(ControlError) as e:
        dbx.advance("tgt", "Packaging")
    assert "InvalidState" in str(e.value)
    dbx.advance("tgt", "DataCopy")
    with pytest.raises(ControlError) as e:
        dbx.advance("tgt", "AtAzureDC")
    assert "already" in str(e.value)


def test_the_cli_moves_a_data_box_job(dbx, tmp_path):
    dbx.create("clijob")
    dbx.ship("clijob")
    out = io.StringIO()
    code = main(["sandbox", "datacenter", "clijob", "-g", dbx.rg, "--subscription", dbx.sub, "--to", "AtAzureDC",
                 "--json"], Env(stdout=out, stderr=io.StringIO(), environ=dbx.sandbox.environ))
    assert code == 0
    job = json.loads(out.getvalue())
    assert job["properties"]["status"] == "AtAzureDC" and job["type"] == "Microsoft.DataBox/jobs"
    assert "bitLockerKey" not in out.getvalue()
    # and the SDK sees the same
    assert dbx.databox.jobs.get(dbx.rg, "clijob").properties.status == "AtAzureDC"


def test_a_deleted_storage_account_is_an_error_of_the_datacenter_step(dbx, tmp_path):
    serial = f"DBX-{dbx.sub[:8]}-SA"
    _, key, digest = make_disk(dbx, tmp_path, serial, {"x.bin": b"x"})
    dbx.create("noacct", dbx.body({serial: disk_entry(key, digest)}))
    dbx.ship("noacct")
    dbx.advance("noacct", "AtAzureDC")
    # the service's DATABOX_SERVICE lock on the account goes first, as the Azure CLI's test does
    lock = f"{dbx.account_id}/providers/Microsoft.Authorization/locks/DATABOX_SERVICE"
    assert dbx.http.delete(dbx.url(lock, "2016-09-01")).status_code == 200
    dbx.clients.storage.storage_accounts.delete(dbx.rg, dbx.account)
    with pytest.raises((ControlError, HttpResponseError)) as e:
        dbx.advance("noacct")
    assert "StorageAccountNotFound" in str(e.value)
