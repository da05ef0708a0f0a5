"""The simulated datacenter for Data Box customer-disk jobs (`Microsoft.DataBox/jobs`).

Statuses, one step at a time (or on until `to_state`):
ShippedToAzureDC → AtAzureDC → DataCopy → Completed, or CompletedWithErrors when any disk did not
arrive, failed as a whole or had blobs that could not be imported. A job not yet shipped
(DeviceOrdered / AwaitingShipmentDetails) is refused: the datacenter has nothing. A cancelled job
stays Cancelled.

- AtAzureDC: every disk registered with `seedctl sandbox drive` (whose folder exists) arrived;
  the others get copyStatus DriveNotReceived.
- DataCopy (all the work happens here, as Transferring does for classic jobs): each arrived disk
  goes through `datacenter.process_drive` — BitLocker key, manifest presence, MD5 and format,
  then every blob imported into Azurite (block blobs with the manifest's block ids, page blobs
  with only their listed ranges written). Its copyProgress gets
  bytesProcessed / totalBytesToProcess, filesProcessed / totalFilesToProcess, filesErroredOut and
  copyStatus in Data Box words; copyLogDetails gets the error / verbose log links. The Data Box
  enum has no words for a wrong key or a bad manifest, so those disks are `Failed` /
  `MetadataFilesModifiedOrRemoved` with the classic reason as copyProgress.error.code.
- Logs: the copy log (drive log version 2021-08-01: ErroredEntity per failed file, then the
  `CopyLog Summary`) always, the verbose log (File entries with the blob type and the CRC-64 of the
  whole blob) when logCollectionLevel is
  Verbose, as `databoxcopylog/{order}_{serial}_CopyLog_{jobID}.xml` / `_VerboseLog_` — the names
  and formats of the Import/Export and Data Box Disk log pages (docs/sandbox.md, "Copy logs");
  manifest backups when enableManifestBackup is set (backupManifestCloudPath on the disk).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from seedctl.sandbox.arm import ArmError, json_copy, now_iso
from seedctl.sandbox.drive_import import (
    DataBoxLogs,
    DriveOutcome,
    blob_store,
    job_guid,
    process_drive,
    storage_account,
)
from seedctl.sandbox.ops_databox import render_job
from seedctl.sandbox.state import SandboxState
from seedctl.sandbox.store import Row

TYPE_KEY = "microsoft.databox/jobs"
STEPS = ("ShippedToAzureDC", "AtAzureDC", "DataCopy", "Completed")
TARGETS = STEPS + ("CompletedWithErrors",)
# process_drive's verdicts (classic words) → the Data Box copyStatus enum
COPY_STATUS = {
    "Completed": "Completed", "CompletedWithErrors": "CompletedWithErrors",
    "DiskNotFound": "DriveNotReceived", "BitLockerKeyInvalid": "Failed",
    "ManifestNotFound": "MetadataFilesModifiedOrRemoved", "ManifestCorrupted": "MetadataFilesModifiedOrRemoved",
    "ManifestFormatInvalid": "MetadataFilesModifiedOrRemoved",
    "ManifestDriveIdMismatch": "MetadataFilesModifiedOrRemoved",
}
REASONS = DataBoxLogs.REASONS


def advance(app: SandboxState, row: Row, to_state: str | None) -> dict[str, Any]:
    """Move the job one status on, or on until `to_state`; returns the job as GET shows it
    (with details)."""
    with app.store.lock:
        app.settle(row.id)
        row = app.store.get(row.id) or row
    status = row.body["properties"]["status"]
    if to_state is not None and to_state not in TARGETS:
        raise ArmError(400, "InvalidState", f"Unknown Data Box job status '{to_state}'; use one of "
                       f"{', '.join(TARGETS[1:])}.")
    if to_state in STEPS and status in STEPS and STEPS.index(to_state) < STEPS.index(status):
        raise ArmError(409, "InvalidStateTransition", f"The job is already in status '{status}'.")
    while True:
        status = row.body["properties"]["status"]
        if _final(status) or status == to_state or (to_state == "CompletedWithErrors" and status == "Completed"):
            break
        _step(app, row)
        with app.store.lock:
            row = app.store.get(row.id) or row
        if to_state is None:
            break
    return render_job(app, row)


def _final(status: str) -> bool:
    return status in ("Completed", "CompletedWithErrors", "CompletedWithWarnings", "Cancelled", "Aborted")


def _step(app: SandboxState, row: Row) -> None:
    p = row.body["properties"]
    status = p["status"]
    details = p["details"]
    disks: dict[str, Any] = details["importDiskDetailsCollection"]
    if status in ("DeviceOrdered", "AwaitingShipmentDetails"):
        raise ArmError(409, "JobNotShipped", f"The datacenter has received nothing: the job is in status "
                       f"'{status}'. Mark the devices shipped (carrier and tracking id) first.")
    account_id = details["dataImportDetails"][0]["accountDetails"]["storageAccountId"]
    if status == "ShippedToAzureDC":
        progress = []
        for serial in sorted(disks):
            found = app.store.drive(serial)
            arrived = found is not None and Path(found[0]).is_dir()
            progress.append(_progress(account_id, serial, "NotStarted" if arrived else "DriveNotReceived"))
        _save(app, row, "AtAzureDC", {"copyProgress": progress})
    elif status == "AtAzureDC":
        _save(app, row, "DataCopy", _copy(app, row))
    elif status == "DataCopy":
        failed = any(prog.get("copyStatus") != "Completed" for prog in details.get("copyProgress", []))
        ret = details.get("returnToCustomerPackageDetails") or {}
        package = {"carrierName": ret.get("carrierName") or "FedEx", "trackingId": f"RET{int(time.time())}",
                   "trackingUrl": ""}
        _save(app, row, "CompletedWithErrors" if failed else "Completed", {"returnPackage": package})


def _copy(app: SandboxState, row: Row) -> dict[str, Any]:
    """Read every arrived disk and import its blobs (outside the store lock: Azurite calls)."""
    p = row.body["properties"]
    details = p["details"]
    imports = details["dataImportDetails"][0]
    account_id = imports["accountDetails"]["storageAccountId"]
    store = blob_store(app, storage_account(app, account_id))
    sink = DataBoxLogs(store, row.body["name"], job_guid(row.id))
    keys = row.secret.get("bitLockerKeys", {})
    verbose = imports.get("logCollectionLevel") == "Verbose"
    backup = bool(details.get("enableManifestBackup"))
    progress, logs = [], []
    disks = json_copy(details["importDiskDetailsCollection"])
    previous = {prog["serialNumber"]: prog for prog in details.get("copyProgress", [])}
    for serial in sorted(disks):
        if previous.get(serial, {}).get("copyStatus") == "DriveNotReceived":
            progress.append(previous[serial])
            continue
        disk = disks[serial]
        outcome = process_drive(app, store=store, logs=sink, drive_id=serial, job_key=keys.get(serial, ""),
                                manifest_file=disk["manifestFile"], manifest_hash=disk["manifestHash"],
                                verbose=verbose, backup_manifest=backup)
        progress.append(_outcome_progress(account_id, serial, outcome))
        if outcome.error_log_uri or outcome.verbose_log_uri:
            entry = {"copyLogDetailsType": "DataBoxCustomerDisk", "serialNumber": serial}
            if outcome.error_log_uri:
                entry["errorLogLink"] = outcome.error_log_uri
            if outcome.verbose_log_uri:
                entry["verboseLogLink"] = outcome.verbose_log_uri
            logs.append(entry)
        if outcome.manifest_uri:
            disk["backupManifestCloudPath"] = outcome.manifest_uri
    return {"copyProgress": progress, "copyLogDetails": logs, "importDiskDetailsCollection": disks}


def _progress(account_id: str, serial: str, copy_status: str) -> dict[str, Any]:
    return {"serialNumber": serial, "copyStatus": copy_status, "storageAccountName": account_id.rsplit("/", 1)[-1],
            "transferType": "ImportToAzure", "dataAccountType": "StorageAccount", "accountId": account_id,
            "bytesProcessed": 0, "totalBytesToProcess": 0, "filesProcessed": 0, "totalFilesToProcess": 0,
            "invalidFilesProcessed": 0, "invalidFileBytesUploaded": 0, "renamedContainerCount": 0,
            "filesErroredOut": 0, "directoriesErroredOut": 0, "invalidDirectoriesProcessed": 0,
            "isEnumerationInProgress": False, "actions": []}


def _outcome_progress(account_id: str, serial: str, o: DriveOutcome) -> dict[str, Any]:
    prog = _progress(account_id, serial, COPY_STATUS.get(o.copy_status, "OtherServiceError"))
    ok = [b for b in o.blobs if b.ok]
    prog.update({"bytesProcessed": o.bytes_succeeded, "totalBytesToProcess": sum(b.length for b in o.blobs),
                 "filesProcessed": len(ok), "totalFilesToProcess": len(o.blobs),
                 "filesErroredOut": len(o.blobs) - len(ok)})
    if o.copy_status in REASONS:
        prog["error"] = {"code": o.copy_status, "message": REASONS[o.copy_status]}
    return prog


def _save(app: SandboxState, row: Row, status: str, details: dict[str, Any]) -> None:
    with app.store.lock:
        current = app.store.get(row.id)
        if current is None:
            raise ArmError(404, "ResourceNotFound", "The job was deleted while the datacenter worked on it.")
        p = current.body["properties"]
        p["status"] = status
        p.setdefault("_stageTimes", {})[status] = now_iso()
        p["details"].update(details)
        app.save(current)
