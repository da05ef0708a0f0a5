"""The simulated datacenter: moves an import job through the service's states and, when the
drives are "received", reads each drive's folder as if the disk had arrived.

Per drive it checks, in the service's order: the disk arrived (a drive registered with
`seedctl sandbox drive`), the job's BitLocker key for it (BitLockerKeyInvalid), the manifest file
(ManifestNotFound), its MD5 against the job's manifestHash (ManifestCorrupted), its format and
DriveId (ManifestFormatInvalid, ManifestDriveIdMismatch; a page blob that breaks the page rules is a
ManifestFormatInvalid too). Then it imports every blob of the manifest into Azurite
(`drive_import`): a block blob with Put Block under the manifest's block ids and Put Block List, a
page blob created at its Length with only its listed ranges written by Put Page; every block and
range checked against its MD5 first. A block whose bytes do not match fails its blob (left
uncommitted); a range whose bytes do not match is not written. Either is listed in the error log
(drive CompletedMoreInfo); the other blobs are still imported, as in real life.

Classic job states: Shipping → Received → Transferring → Packaging → Completed (Closed when a
drive failed as a whole or never arrived). Drive states: Specified → Received (or NeverReceived)
→ Transferring → Completed / CompletedMoreInfo.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from seedctl.sandbox import datacenter_databox, ops_databox, ops_importexport
from seedctl.sandbox.arm import ArmError
from seedctl.sandbox.drive_import import ClassicLogs, DriveOutcome, blob_store, process_drive, storage_account
from seedctl.sandbox.state import SandboxState
from seedctl.sandbox.store import Row

CLASSIC_ORDER = ("Creating", "Shipping", "Received", "Transferring", "Packaging", "Completed")
TERMINAL = ("Completed", "Closed", "ClosedWithErrors")


# -- finding the job ----------------------------------------------------------------------------
def find_job(app: SandboxState, sub: str | None, rg: str | None, name: str) -> Row:
    matches = [r for t in (ops_importexport.JOB_TYPE, ops_databox.JOB_TYPE) for r in app.store.list(t, sub)
               if r.body["name"].lower() == name.lower()
               and (rg is None or r.id.split("/")[4].lower() == rg.lower())]
    if not matches:
        raise ArmError(404, "ResourceNotFound", f"No import job named '{name}'"
                       + (f" in resource group '{rg}'" if rg else "") + " exists in the sandbox.")
    if len(matches) > 1:
        raise ArmError(409, "Ambiguous", f"Several jobs are named '{name}'; give the resource group "
                       "(and subscription).")
    return matches[0]


def advance_job(app: SandboxState, sub: str | None, rg: str | None, name: str,
                to_state: str | None) -> dict[str, Any]:
    """Move the job one state on, or on until `to_state`; returns the job as GET shows it."""
    with app.store.lock:
        row = find_job(app, sub, rg, name)
    if row.type == "microsoft.databox/jobs":
        return datacenter_databox.advance(app, row, to_state)
    state = row.body["properties"]["state"]
    if to_state is not None and to_state not in CLASSIC_ORDER + ("Closed",):
        raise ArmError(400, "InvalidState", f"Unknown job state '{to_state}'; use one of "
                       f"{', '.join(CLASSIC_ORDER[2:])}.")
    if to_state is not None and to_state in CLASSIC_ORDER and state in CLASSIC_ORDER \
            and CLASSIC_ORDER.index(to_state) < CLASSIC_ORDER.index(state):
        raise ArmError(409, "InvalidStateTransition", f"The job is already in state '{state}'.")
    while True:
        state = row.body["properties"]["state"]
        if state in TERMINAL or (to_state is not None and state == to_state):
            break
        _step_classic(app, row)
        with app.store.lock:
            row = app.store.get(row.id) or row
        if to_state is None:
            break
    return ops_importexport.render_job(app, row)


def _step_classic(app: SandboxState, row: Row) -> None:
    props = row.body["properties"]
    state = props["state"]
    drives = props.get("driveList", [])
    if props.get("cancelRequested") and state in ("Creating", "Shipping", "Received"):
        _save_props(app, row, {"state": "Completed"}, {})
        return
    if state == "Creating":
        raise ArmError(409, "JobNotShipped", "The datacenter has received nothing: the job is still in "
                       "state 'Creating'. Mark it shipped (carrier and tracking number, state Shipping) first.")
    if state == "Shipping":
        updates = {}
        for d in drives:
            found = app.store.drive(d["driveId"])
            arrived = found is not None and Path(found[0]).is_dir()
            updates[d["driveId"]] = {"state": "Received" if arrived else "NeverReceived"}
        _save_props(app, row, {"state": "Received"}, updates)
    elif state == "Received":
        outcomes = [_process_classic_drive(app, row, d) for d in drives if d.get("state") == "Received"]
        updates = {o.drive_id: _drive_fields(o, "Transferring") for o in outcomes}
        incomplete = [b for o in outcomes for b in o.failed_blobs]
        extra: dict[str, Any] = {"state": "Transferring", "percentComplete": 100 if outcomes else 0}
        if incomplete:
            extra["incompleteBlobListUri"] = _write_incomplete_list(app, row, incomplete)
        _save_props(app, row, extra, updates)
    elif state == "Transferring":
        updates = {}
        for d in drives:
            if d.get("state") == "Transferring":
                updates[d["driveId"]] = {"state": "Completed" if d.get("copyStatus") == "Completed"
                                         else "CompletedMoreInfo"}
        _save_props(app, row, {"state": "Packaging", "percentComplete": 100}, updates)
    elif state == "Packaging":
        failed = any(d.get("state") == "NeverReceived" or d.get("copyStatus") not in
                     ("Completed", "CompletedWithErrors") for d in drives)
        delivery = props.get("deliveryPackage") or {}
        ret = props.get("returnShipping") or {}
        package = {"carrierName": ret.get("carrierName") or delivery.get("carrierName") or "FedEx",
                   "trackingNumber": f"RET{int(time.time())}", "driveCount": len(drives),
                   "shipDate": time.strftime("%Y-%m-%d")}
        _save_props(app, row, {"state": "Closed" if failed else "Completed", "returnPackage": package}, {})


def _drive_fields(o: DriveOutcome, state: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"state": "CompletedMoreInfo" if o.drive_failed else state,
                              "copyStatus": o.copy_status, "percentComplete": o.percent,
                              "bytesSucceeded": o.bytes_succeeded}
    for key, value in (("errorLogUri", o.error_log_uri), ("verboseLogUri", o.verbose_log_uri),
                       ("manifestUri", o.manifest_uri)):
        if value:
            fields[key] = value
    return fields


def _save_props(app: SandboxState, row: Row, props: dict[str, Any], drives: dict[str, dict[str, Any]]) -> None:
    with app.store.lock:
        current = app.store.get(row.id)
        if current is None:
            raise ArmError(404, "ResourceNotFound", "The job was deleted while the datacenter worked on it.")
        p = current.body["properties"]
        p.update(props)
        for d in p.get("driveList", []):
            d.update(drives.get(d["driveId"], {}))
        app.save(current)


def _process_classic_drive(app: SandboxState, row: Row, drive: dict[str, Any]) -> DriveOutcome:
    props = row.body["properties"]
    store = blob_store(app, storage_account(app, props["storageAccountId"]))
    logs = ClassicLogs(store, props.get("diagnosticsPath") or "waimportexport", row.body["name"])
    return process_drive(app, store=store, logs=logs, drive_id=drive["driveId"], job_key=drive["bitLockerKey"],
                         manifest_file=drive["manifestFile"], manifest_hash=drive["manifestHash"],
                         verbose=props.get("logLevel") == "Verbose",
                         backup_manifest=bool(props.get("backupDriveManifest")))


def _write_incomplete_list(app: SandboxState, row: Row, blob_paths: list[str]) -> str:
    props = row.body["properties"]
    store = blob_store(app, storage_account(app, props["storageAccountId"]))
    logs = ClassicLogs(store, props.get("diagnosticsPath") or "waimportexport", row.body["name"])
    body = "\n".join(["<IncompleteBlobList>"] + [f"  <BlobPath>{escape(p)}</BlobPath>" for p in blob_paths]
                     + ["</IncompleteBlobList>", ""])
    return logs.write("job", "incompleteblobs", body.encode("utf-8"))
