"""Reading one received drive, for both back ends' datacenters: the BitLocker key, the manifest
(presence, MD5 against the job's hash, format, DriveId), then every blob of the manifest imported
into Azurite with Put Block under the manifest's block ids (each block's bytes checked against the
manifest's MD5) and Put Block List. A block whose bytes do not match fails its blob (left
uncommitted); the other blobs are still imported, as in real life. Copy logs are written by the
caller's log writer.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Any

from seedctl.sandbox.arm import ArmError
from seedctl.sandbox.copylog import BlobResult, BlockResult, drive_log
from seedctl.sandbox.state import SandboxState
from seedctl.sandbox.store import Row


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


def storage_account(app: SandboxState, account_id: str) -> Row:
    row = app.store.get(account_id)
    if row is None:
        raise ArmError(409, "StorageAccountNotFound", f"The job's storage account {account_id} no longer exists.")
    return row


def process_drive(app: SandboxState, *, account: Row, job_name: str, drive_id: str, job_key: str,
                  manifest_file: str, manifest_hash: str, diagnostics: str, verbose: bool,
                  backup_manifest: bool) -> DriveOutcome:
    """Check and import one received drive; writes its copy logs. Never raises for drive faults."""
    from seedctl.drives.manifest import ManifestError, read_manifest

    found = app.store.drive(drive_id)
    outcome = DriveOutcome(drive_id, "DiskNotFound")
    logs = LogWriter(app, account, diagnostics, job_name, drive_id)
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


class LogWriter:
    """Writes copy logs (and manifest backups) as block blobs under the diagnostics path."""

    def __init__(self, app: SandboxState, account: Row, diagnostics: str, job: str, drive_id: str) -> None:
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
