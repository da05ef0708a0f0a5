"""The simulated datacenter: moves an import job through the service's states and, when the
drives are "received", reads each drive's folder as if the disk had arrived.

Per drive it checks, in the service's order: the disk arrived (a drive registered with
`seedctl sandbox drive`), the job's BitLocker key for it (BitLockerKeyInvalid), the manifest file
(ManifestNotFound), its MD5 against the job's manifestHash (ManifestCorrupted), its format and
DriveId (ManifestFormatInvalid, ManifestDriveIdMismatch). Then it imports every blob of the
manifest into Azurite with Put Block (each block's bytes checked against the manifest's MD5, and
Content-MD5 sent so Azurite checks the transfer too) and Put Block List with the manifest's block
ids. A block whose bytes do not match fails its blob (left uncommitted, listed in the error log,
drive CompletedMoreInfo); the other blobs are still imported, as in real life.

Classic job states: Shipping → Received → Transferring → Packaging → Completed (Closed when a
drive failed as a whole or never arrived). Drive states: Specified → Received (or NeverReceived)
→ Transferring → Completed / CompletedMoreInfo.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from seedctl.sandbox.arm import ArmError
from seedctl.sandbox.copylog import BlobResult, BlockResult, drive_log
from seedctl.sandbox.store import Row

if TYPE_CHECKING:
    from seedctl.sandbox.app import SandboxApp

CLASSIC_ORDER = ("Creating", "Shipping", "Received", "Transferring", "Packaging", "Completed")
TERMINAL = ("Completed", "Closed", "ClosedWithErrors")


@dataclass
class DriveOutcome:
    drive_id: str
    copy_status: str  # Completed | CompletedWithErrors | BitLockerKeyInvalid | Manifest... | DiskNotFound
    bytes_succeeded: int = 0
    percent: int = 0
    blobs: list[BlobResult] = field(default_factory=list)
    error_log_uri: str | None = None
    verbose_log_uri: str | None = None
    manifest_uri: str | None = None
    failed_blobs: list[str] = field(default_factory=list)

    @property
    def drive_failed(self) -> bool:
        return self.copy_status not in ("Completed", "CompletedWithErrors")


# -- finding the job ----------------------------------------------------------------------------
def find_job(app: SandboxApp, sub: str | None, rg: str | None, name: str) -> Row:
    from seedctl.sandbox.ops_databox import JOB_TYPE as DATABOX_TYPE
    from seedctl.sandbox.ops_importexport import JOB_TYPE

    matches = [r for t in (JOB_TYPE, DATABOX_TYPE) for r in app.store.list(t, sub)
               if r.body["name"].lower() == name.lower()
               and (rg is None or r.id.split("/")[4].lower() == rg.lower())]
    if not matches:
        raise ArmError(404, "ResourceNotFound", f"No import job named '{name}'"
                       + (f" in resource group '{rg}'" if rg else "") + " exists in the sandbox.")
    if len(matches) > 1:
        raise ArmError(409, "Ambiguous", f"Several jobs are named '{name}'; give the resource group "
                       "(and subscription).")
    return matches[0]


def advance_job(app: SandboxApp, sub: str | None, rg: str | None, name: str,
                to_state: str | None) -> dict[str, Any]:
    """Move the job one state on, or on until `to_state`; returns the job as GET shows it."""
    with app.store.lock:
        row = find_job(app, sub, rg, name)
    if row.type == "microsoft.databox/jobs":
        from seedctl.sandbox.ops_databox import advance_databox_job

        return advance_databox_job(app, row, to_state)
    from seedctl.sandbox.ops_importexport import render_job

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
    return render_job(app, row)


def _step_classic(app: SandboxApp, row: Row) -> None:
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


def _save_props(app: SandboxApp, row: Row, props: dict[str, Any], drives: dict[str, dict[str, Any]]) -> None:
    with app.store.lock:
        current = app.store.get(row.id)
        if current is None:
            raise ArmError(404, "ResourceNotFound", "The job was deleted while the datacenter worked on it.")
        p = current.body["properties"]
        p.update(props)
        for d in p.get("driveList", []):
            d.update(drives.get(d["driveId"], {}))
        app._save(current)


# -- reading a drive ----------------------------------------------------------------------------
def _account(app: SandboxApp, account_id: str) -> Row:
    row = app.store.get(account_id)
    if row is None:
        raise ArmError(409, "StorageAccountNotFound", f"The job's storage account {account_id} no longer exists.")
    return row


def _process_classic_drive(app: SandboxApp, row: Row, drive: dict[str, Any]) -> DriveOutcome:
    props = row.body["properties"]
    return process_drive(app, account=_account(app, props["storageAccountId"]), job_name=row.body["name"],
                         drive_id=drive["driveId"], job_key=drive["bitLockerKey"],
                         manifest_file=drive["manifestFile"], manifest_hash=drive["manifestHash"],
                         diagnostics=props.get("diagnosticsPath") or "waimportexport",
                         verbose=props.get("logLevel") == "Verbose",
                         backup_manifest=bool(props.get("backupDriveManifest")))


def process_drive(app: SandboxApp, *, account: Row, job_name: str, drive_id: str, job_key: str,
                  manifest_file: str, manifest_hash: str, diagnostics: str, verbose: bool,
                  backup_manifest: bool) -> DriveOutcome:
    """Check and import one received drive; writes its copy logs. Never raises for drive faults."""
    from seedctl.drives.manifest import ManifestError, read_manifest

    found = app.store.drive(drive_id)
    outcome = DriveOutcome(drive_id, "DiskNotFound")
    logs = _LogWriter(app, account, diagnostics, job_name, drive_id)
    if found is None or not Path(found[0]).is_dir():
        outcome.error_log_uri = logs.write("error", drive_log(drive_id, "DiskNotFound", [], errors_only=True))
        return outcome
    root, registered_key = Path(found[0]), found[1]
    if job_key.strip() != registered_key.strip():
        outcome.copy_status = "BitLockerKeyInvalid"
        outcome.error_log_uri = logs.write("error", drive_log(drive_id, outcome.copy_status, [], errors_only=True))
        return outcome
    manifest_path = _on_drive(root, manifest_file)
    try:
        manifest_bytes = manifest_path.read_bytes()
    except OSError:
        outcome.copy_status = "ManifestNotFound"
        outcome.error_log_uri = logs.write("error", drive_log(drive_id, outcome.copy_status, [], errors_only=True))
        return outcome
    if hashlib.md5(manifest_bytes).hexdigest().upper() != manifest_hash.upper():
        outcome.copy_status = "ManifestCorrupted"
        outcome.error_log_uri = logs.write("error", drive_log(drive_id, outcome.copy_status, [], errors_only=True))
        return outcome
    if backup_manifest:
        outcome.manifest_uri = logs.write("manifest", manifest_bytes)
    try:
        manifest = read_manifest(manifest_path)
    except ManifestError:
        outcome.copy_status = "ManifestFormatInvalid"
    else:
        if manifest.drive_id != drive_id:
            outcome.copy_status = "ManifestDriveIdMismatch"
        else:
            service = app.blob_service(account.body["name"], account.secret["key1"])
            outcome.blobs = [_import_blob(service, root, blob) for blob in manifest.blobs]
            outcome.bytes_succeeded = sum(b.length for b in outcome.blobs if b.ok)
            outcome.failed_blobs = [b.blob_path for b in outcome.blobs if not b.ok]
            outcome.copy_status = "CompletedWithErrors" if outcome.failed_blobs else "Completed"
            outcome.percent = 100
    if outcome.copy_status != "Completed":
        outcome.error_log_uri = logs.write("error", drive_log(drive_id, outcome.copy_status, outcome.blobs,
                                                              errors_only=True))
    if verbose:
        outcome.verbose_log_uri = logs.write("verbose", drive_log(drive_id, outcome.copy_status, outcome.blobs,
                                                                  errors_only=False))
    return outcome


def _on_drive(root: Path, drive_relative: str) -> Path:
    parts = [p for p in PureWindowsPath(drive_relative).parts if p not in ("\\", "/")]
    return root.joinpath(*parts)


def _import_blob(service: Any, root: Path, blob: Any) -> BlobResult:
    from azure.core.exceptions import HttpResponseError, ResourceExistsError
    from azure.storage.blob import BlobBlock, ContentSettings

    container, _, name = blob.blob_path.partition("/")
    result = BlobResult(blob.blob_path, blob.file_path, blob.length, "Completed",
                        disposition=blob.import_disposition or "overwrite")
    path = _on_drive(root, blob.file_path)
    if not path.is_file():
        result.status, result.disposition_status = "FileNotFound", "Cancelled"
        return result
    try:
        container_client = service.get_container_client(container)
        try:
            container_client.create_container()
        except ResourceExistsError:
            pass
        target = _target_name(container_client, name, result)
        if target is None:
            return result
        client = container_client.get_blob_client(target)
        failed = False
        with open(path, "rb") as fh:
            for block in blob.blocks:
                if failed:
                    result.blocks.append(BlockResult(block.offset, block.length, block.block_id,
                                                     block.md5_hex, "Cancelled"))
                    continue
                fh.seek(block.offset)
                data = fh.read(block.length)
                if len(data) != block.length:
                    status = "FileUnexpectedEnd"
                elif hashlib.md5(data).hexdigest().upper() != block.md5_hex.upper():
                    status = "Corrupted"
                else:
                    client.stage_block(block.block_id, data, validate_content=True)
                    status = "Committed"
                result.blocks.append(BlockResult(block.offset, block.length, block.block_id, block.md5_hex,
                                                 status))
                failed = status != "Committed"
        if failed:
            result.status = "CompletedWithErrors"
            result.disposition_status = "Cancelled"
            return result
        settings = None
        if blob.content_md5_hex:
            settings = ContentSettings(content_md5=bytearray(bytes.fromhex(blob.content_md5_hex)))
        client.commit_block_list([BlobBlock(b.block_id) for b in blob.blocks], content_settings=settings)
    except HttpResponseError:
        result.status = "BlobRequestFailed"
        result.disposition_status = result.disposition_status or "Cancelled"
    except OSError:
        result.status = "IOFailed"
        result.disposition_status = result.disposition_status or "Cancelled"
    return result


def _target_name(container_client: Any, name: str, result: BlobResult) -> str | None:
    """Apply ImportDisposition: overwrite (default), no-overwrite (skip), rename ("a (2).txt")."""
    exists = container_client.get_blob_client(name).exists()
    if not exists:
        result.disposition_status = "Created"
        return name
    if result.disposition == "no-overwrite":
        result.disposition_status = "Skipped"
        return None
    if result.disposition == "rename":
        stem, dot, ext = name.rpartition(".") if "." in name.rsplit("/", 1)[-1] else (name, "", "")
        n = 2
        while True:
            candidate = f"{stem} ({n}){dot}{ext}"
            if not container_client.get_blob_client(candidate).exists():
                result.disposition_status = "Renamed"
                return candidate
            n += 1
    result.disposition_status = "Overwritten"
    return name


class _LogWriter:
    """Writes copy logs (and manifest backups) as block blobs under the diagnostics path."""

    def __init__(self, app: SandboxApp, account: Row, diagnostics: str, job: str, drive_id: str) -> None:
        self.app, self.account = app, account
        container, _, prefix = diagnostics.strip("/").partition("/")
        self.container = container or "waimportexport"
        self.prefix = (prefix + "/" if prefix else "") + "waies/"
        self.stem = f"{job}_{drive_id}_{time.strftime('%Y%m%d-%H%M%S')}-{int(time.time() * 1000) % 1000:03d}"

    def write(self, kind: str, data: bytes) -> str:
        from azure.core.exceptions import ResourceExistsError

        service = self.app.blob_service(self.account.body["name"], self.account.secret["key1"])
        container = service.get_container_client(self.container)
        try:
            container.create_container()
        except ResourceExistsError:
            pass
        name = f"{self.prefix}{self.stem}_{kind}.xml"
        container.upload_blob(name, data, overwrite=True)
        return f"{self.app.blob_endpoint}/{self.account.body['name']}/{self.container}/{name}"


def _write_incomplete_list(app: SandboxApp, row: Row, blob_paths: list[str]) -> str:
    props = row.body["properties"]
    account = _account(app, props["storageAccountId"])
    logs = _LogWriter(app, account, props.get("diagnosticsPath") or "waimportexport", row.body["name"], "job")
    body = "\n".join(["<IncompleteBlobList>"] + [f"  <BlobPath>{escape(p)}</BlobPath>" for p in blob_paths]
                     + ["</IncompleteBlobList>", ""])
    return logs.write("incompleteblobs", body.encode("utf-8"))

