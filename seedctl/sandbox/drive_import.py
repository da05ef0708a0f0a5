"""Reading one received drive, for both back ends' datacenters: the BitLocker key, the manifest
(presence, MD5 against the job's hash, format, DriveId), then every blob of the manifest imported
into Azurite:

- a block blob (`BlockList`) with Put Block under the manifest's block ids (each block's bytes
  checked against the manifest's MD5, Content-MD5 sent so Azurite checks the transfer too) and Put
  Block List. A block whose bytes do not match fails its blob (left uncommitted, later blocks
  Cancelled). The blob gets no Content-MD5: the service sets none from a manifest (ClientData is
  the client's, "not interpreted"), and a multi-block blob has none unless a client sets it.
- a page blob (`PageRangeList`) created at the manifest's Length, then only the listed ranges
  written with Put Page, each range's bytes checked against its MD5 first (Azurite checks none on
  Put Page). A range whose bytes do not match is not written (`Corrupted`) and the others still
  are, as in the service's published log sample; the blob ends CompletedWithErrors.

The other blobs are still imported, as in real life. A manifest that breaks the page rules
(unaligned, a range over 4 MiB, overlapping, a Length not a multiple of 512) fails the whole drive
as ManifestFormatInvalid ("the manifest content does not conform to the required format").

Speed (issue 17): the blobs are imported by a small thread pool, each thread with its own
keep-alive HTTP connection to Azurite, authorised by one account SAS (no per-request signing and
no SDK pipeline per request); each container is created once and listed once (ImportDisposition
needs to know which blobs exist), so a one-block file costs two requests: Put Block and Put
Block List. Copy logs are written by the caller's `LogSink` (classic DriveLog or the 2021-08-01
copy log).
"""

from __future__ import annotations

import base64
import errno
import hashlib
import http.client
import os
import stat
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path, PureWindowsPath
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

from seedctl.crc64 import combine, crc64, zeros
from seedctl.sandbox.arm import ArmError
from seedctl.sandbox.copylog import BlobResult, BlockResult, copy_log, drive_log, verbose_log
from seedctl.sandbox.state import SandboxState
from seedctl.sandbox.store import Row

WORKERS = 8  # Azurite answers one request at a time per connection; 8 keep it busy on 2 cores
X_MS_VERSION = "2021-08-06"


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


# -- Azurite, directly ----------------------------------------------------------------------------
class BlobRequestError(Exception):
    """Azurite could not be reached (after one reconnect)."""


class BlobStore:
    """Block-blob calls on one Azurite account over raw HTTP with an account SAS; thread-safe
    (one connection per thread)."""

    def __init__(self, blob_endpoint: str, account: str, key: str) -> None:
        from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

        parts = urlsplit(blob_endpoint)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.account = account
        self.endpoint = f"{blob_endpoint}/{account}"
        self.sas = generate_account_sas(
            account, key, ResourceTypes(service=True, container=True, object=True),
            AccountSasPermissions(read=True, write=True, create=True, list=True, add=True),
            datetime.now(timezone.utc) + timedelta(hours=12))
        self._local = threading.local()

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            self._local.conn = conn
        return conn

    def call(self, method: str, path: str, query: str, body: bytes = b"",
             headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        url = f"/{self.account}/{quote(path, safe='/')}?{query + '&' if query else ''}{self.sas}"
        hdrs = {"x-ms-version": X_MS_VERSION, "Content-Length": str(len(body)), **(headers or {})}
        for attempt in (1, 2):  # a keep-alive connection Azurite closed: reconnect once
            conn = self._conn()
            try:
                conn.request(method, url, body=body, headers=hdrs)
                resp = conn.getresponse()
                return resp.status, resp.read()
            except (http.client.HTTPException, OSError) as exc:
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise BlobRequestError(f"{method} {path}: {exc}") from None
        raise AssertionError("unreachable")

    def create_container(self, name: str) -> None:
        status, body = self.call("PUT", name, "restype=container")
        if status not in (201, 409):
            raise OSError(f"create container {name}: HTTP {status} {body[:200]!r}")

    def names(self, container: str) -> set[str]:
        """Every blob name in the container (one listing, 5,000 a page)."""
        found: set[str] = set()
        marker = ""
        while True:
            query = "restype=container&comp=list&maxresults=5000" + (f"&marker={quote(marker)}" if marker else "")
            status, body = self.call("GET", container, query)
            if status == 404:
                return found
            if status != 200:
                raise OSError(f"list {container}: HTTP {status}")
            root = ET.fromstring(body)
            found.update((el.text or "") for el in root.iter("Name"))
            marker = (root.findtext("NextMarker") or "").strip()
            if not marker:
                return found

    def put_block(self, blob: str, block_id: str, data: bytes, md5: bytes) -> int:
        status, _ = self.call("PUT", blob, f"comp=block&blockid={quote(block_id, safe='')}", data,
                              {"Content-MD5": base64.b64encode(md5).decode()})
        return status

    def put_block_list(self, blob: str, block_ids: list[str]) -> int:
        xml = "".join(["<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>",
                       *(f"<Latest>{i}</Latest>" for i in block_ids), "</BlockList>"]).encode()
        status, _ = self.call("PUT", blob, "comp=blocklist", xml, {"Content-Type": "application/xml"})
        return status

    def create_page_blob(self, blob: str, length: int) -> int:
        """Put Blob of a page blob: `length` bytes, all zero (replaces a blob of that name)."""
        status, _ = self.call("PUT", blob, "", b"", {"x-ms-blob-type": "PageBlob",
                                                     "x-ms-blob-content-length": str(length)})
        return status

    def put_page(self, blob: str, offset: int, data: bytes, md5: bytes) -> int:
        """Put Page (update) of `data` at `offset`. Never `x-ms-content-crc64`: Azurite answers 500
        to it in its strict mode."""
        status, _ = self.call("PUT", blob, "comp=page", data, {
            "x-ms-page-write": "update", "x-ms-range": f"bytes={offset}-{offset + len(data) - 1}",
            "Content-MD5": base64.b64encode(md5).decode()})
        return status

    def upload(self, blob: str, data: bytes) -> str:
        status, body = self.call("PUT", blob, "", data, {"x-ms-blob-type": "BlockBlob"})
        if status != 201:
            raise OSError(f"upload {blob}: HTTP {status} {body[:200]!r}")
        return f"{self.endpoint}/{quote(blob, safe='/')}"


# -- the copy logs --------------------------------------------------------------------------------
class LogSink(Protocol):
    def drive_failed(self, drive_id: str, copy_status: str) -> str | None: ...
    def finished(self, outcome: DriveOutcome, verbose: bool) -> tuple[str | None, str | None]: ...
    def manifest(self, drive_id: str, data: bytes) -> str: ...


class ClassicLogs:
    """Import/Export (classic) jobs: DriveLog error / verbose logs and manifest backups under the
    job's diagnostics path, named `waies/{job}_{drive}_{time}_{error|verbose|manifest}.xml` as in
    the classic examples (myjob_9WM35C2V_20130921-034307-902_error.xml)."""

    def __init__(self, store: BlobStore, diagnostics: str, job: str) -> None:
        container, _, prefix = diagnostics.strip("/").partition("/")
        self.store, self.container = store, container or "waimportexport"
        self.prefix = (prefix + "/" if prefix else "") + "waies/"
        self.job = job
        self._created = False

    def write(self, drive_id: str, kind: str, data: bytes) -> str:
        if not self._created:
            self.store.create_container(self.container)
            self._created = True
        stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{int(time.time() * 1000) % 1000:03d}"
        return self.store.upload(f"{self.container}/{self.prefix}{self.job}_{drive_id}_{stamp}_{kind}.xml", data)

    def drive_failed(self, drive_id: str, copy_status: str) -> str | None:
        return self.write(drive_id, "error", drive_log(drive_id, copy_status, [], errors_only=True))

    def finished(self, o: DriveOutcome, verbose: bool) -> tuple[str | None, str | None]:
        error = None
        if o.copy_status != "Completed":
            error = self.write(o.drive_id, "error", drive_log(o.drive_id, o.copy_status, o.blobs, errors_only=True))
        detail = self.write(o.drive_id, "verbose", drive_log(o.drive_id, o.copy_status, o.blobs,
                                                             errors_only=False)) if verbose else None
        return error, detail

    def manifest(self, drive_id: str, data: bytes) -> str:
        return self.write(drive_id, "manifest", data)


class DataBoxLogs:
    """Data Box customer-disk jobs: the copy log is always written, the verbose log on request, both
    in the `databoxcopylog` container named `{order}_{serial}_CopyLog_{jobID}.xml` /
    `..._VerboseLog_...` as the docs give them (jobID: a GUID fixed per job)."""

    CONTAINER = "databoxcopylog"
    REASONS = {  # a disk that failed as a whole → (validation category, description)
        "BitLockerKeyInvalid": "The BitLocker key in the job does not unlock the disk.",
        "ManifestNotFound": "The manifest file named in the job is not on the disk.",
        "ManifestCorrupted": "The manifest file on the disk does not match the manifest hash in the job.",
        "ManifestFormatInvalid": "The manifest file on the disk could not be read.",
        "ManifestDriveIdMismatch": "The manifest file on the disk names another disk.",
        "DiskNotFound": "The disk was not in the package.",
    }

    def __init__(self, store: BlobStore, order: str, job_guid: str) -> None:
        self.store, self.order, self.guid = store, order, job_guid
        self._created = False

    def write(self, serial: str, kind: str, data: bytes) -> str:
        if not self._created:
            self.store.create_container(self.CONTAINER)
            self._created = True
        return self.store.upload(f"{self.CONTAINER}/{self.order}_{serial}_{kind}_{self.guid}.xml", data)

    def drive_failed(self, drive_id: str, copy_status: str) -> str | None:
        reason = (copy_status, self.REASONS.get(copy_status, copy_status))
        return self.write(drive_id, "CopyLog", copy_log(drive_id, [], failure=reason))

    def finished(self, o: DriveOutcome, verbose: bool) -> tuple[str | None, str | None]:
        failure = (o.copy_status, self.REASONS[o.copy_status]) if o.copy_status in self.REASONS else None
        error = self.write(o.drive_id, "CopyLog", copy_log(o.drive_id, o.blobs, failure=failure))
        detail = self.write(o.drive_id, "VerboseLog", verbose_log(o.blobs)) if verbose else None
        return error, detail

    def manifest(self, drive_id: str, data: bytes) -> str:
        return self.write(drive_id, "Manifest", data)


def job_guid(resource_id: str) -> str:
    """The job ID in Data Box log names: a GUID fixed for the job (derived from its resource id)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, resource_id.lower()))


# -- reading a drive ------------------------------------------------------------------------------
def blob_store(app: SandboxState, account: Row) -> BlobStore:
    return BlobStore(app.blob_endpoint, account.body["name"], account.secret["key1"])


def process_drive(app: SandboxState, *, store: BlobStore, logs: LogSink, drive_id: str, job_key: str,
                  manifest_file: str, manifest_hash: str, verbose: bool, backup_manifest: bool) -> DriveOutcome:
    """Check and import one received drive; writes its copy logs. Never raises for drive faults."""
    from seedctl.drives import ManifestError, open_manifest, parse_manifest

    found = app.store.drive(drive_id)
    outcome = DriveOutcome(drive_id, "DiskNotFound")
    if found is None or not Path(found[0]).is_dir():
        outcome.error_log_uri = logs.drive_failed(drive_id, outcome.copy_status)
        return outcome
    root, registered_key = Path(found[0]), found[1]
    if job_key.strip() != registered_key.strip():
        outcome.copy_status = "BitLockerKeyInvalid"
        outcome.error_log_uri = logs.drive_failed(drive_id, outcome.copy_status)
        return outcome
    manifest_path = on_drive(root, manifest_file)
    try:
        if manifest_path is None:
            raise OSError("outside the drive")
        with open_manifest(manifest_path) as fh:  # a regular file only: a FIFO there never blocks the import
            manifest_bytes = fh.read()
    except (OSError, ManifestError):
        outcome.copy_status = "ManifestNotFound"
        outcome.error_log_uri = logs.drive_failed(drive_id, outcome.copy_status)
        return outcome
    if hashlib.md5(manifest_bytes).hexdigest().upper() != manifest_hash.upper():
        outcome.copy_status = "ManifestCorrupted"
        outcome.error_log_uri = logs.drive_failed(drive_id, outcome.copy_status)
        return outcome
    if backup_manifest:
        outcome.manifest_uri = logs.manifest(drive_id, manifest_bytes)
    try:
        manifest = parse_manifest(manifest_bytes, manifest_path)
    except ManifestError:
        outcome.copy_status = "ManifestFormatInvalid"
    else:
        if manifest.drive_id != drive_id:
            outcome.copy_status = "ManifestDriveIdMismatch"
        else:
            outcome.blobs = import_blobs(store, root, manifest.blobs, crc=verbose)
            outcome.bytes_succeeded = sum(b.length for b in outcome.blobs if b.ok)
            outcome.failed_blobs = [b.blob_path for b in outcome.blobs if not b.ok]
            outcome.copy_status = "CompletedWithErrors" if outcome.failed_blobs else "Completed"
            outcome.percent = 100
    outcome.error_log_uri, outcome.verbose_log_uri = logs.finished(outcome, verbose)
    return outcome


def on_drive(root: Path, drive_relative: str) -> Path | None:
    """A drive-relative path from the manifest (untrusted: it came on the drive) as a path under
    `root`, or None when it would leave the drive (`..`, a drive letter or UNC anchor)."""
    win = PureWindowsPath(drive_relative)
    if win.drive:
        return None
    parts = [p for p in win.parts if p not in ("\\", "/")]
    if any(p in ("..", ".") for p in parts) or not parts:
        return None
    return root.joinpath(*parts)


def import_blobs(store: BlobStore, root: Path, blobs: Any, *, crc: bool = False) -> list[BlobResult]:
    """Import every blob of a manifest; results in manifest order."""
    blobs = list(blobs)
    containers = sorted({b.blob_path.partition("/")[0] for b in blobs})
    existing: dict[str, set[str]] = {}
    for container in containers:
        store.create_container(container)
        existing[container] = store.names(container)
    # Dispositions are decided up front, in manifest order, so that concurrent imports cannot race
    # for a rename's free name.
    plans = [_plan(blob, existing) for blob in blobs]
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="dc-import") as pool:
        return list(pool.map(lambda pair: _import_blob(store, root, *pair, crc=crc), zip(blobs, plans, strict=True)))


def _plan(blob: Any, existing: dict[str, set[str]]) -> BlobResult:
    """The blob's result so far: its disposition and target name (None when skipped)."""
    container, _, name = blob.blob_path.partition("/")
    result = BlobResult(blob.blob_path, blob.file_path, blob.length, "Completed",
                        disposition=blob.import_disposition or "overwrite")
    taken = existing[container]
    if name not in taken:
        result.disposition_status, result.target = "Created", name
    elif result.disposition == "no-overwrite":
        result.disposition_status = "Skipped"
    elif result.disposition == "rename":
        leaf = name.rsplit("/", 1)[-1]
        stem, dot, ext = name.rpartition(".") if "." in leaf else (name, "", "")
        n = 2
        while f"{stem} ({n}){dot}{ext}" in taken:
            n += 1
        result.disposition_status, result.target = "Renamed", f"{stem} ({n}){dot}{ext}"
    else:
        result.disposition_status, result.target = "Overwritten", name
    if result.target is not None:
        taken.add(result.target)
    return result


def _import_blob(store: BlobStore, root: Path, blob: Any, result: BlobResult, *, crc: bool) -> BlobResult:
    if result.target is None:  # no-overwrite and the blob exists: nothing to do
        return result
    path = on_drive(root, blob.file_path)
    target = f"{blob.blob_path.partition('/')[0]}/{result.target}"
    try:
        with _open_regular(path) as fh:
            if blob.is_page_blob:
                return _import_page_blob(store, fh, target, blob, result, crc=crc)
            return _import_block_blob(store, fh, target, blob, result, crc=crc)
    except FileNotFoundError:
        result.status, result.disposition_status = "FileNotFound", "Cancelled"
    except BlobRequestError:
        result.status, result.disposition_status = "BlobRequestFailed", "Cancelled"
    except OSError:
        result.status, result.disposition_status = "IOFailed", "Cancelled"
    return result


def _import_block_blob(store: BlobStore, fh: Any, target: str, blob: Any, result: BlobResult, *,
                       crc: bool) -> BlobResult:
    failed, running = False, 0
    for block in blob.blocks:
        if failed:
            result.blocks.append(BlockResult(block.offset, block.length, block.block_id, block.md5_hex, "Cancelled"))
            continue
        fh.seek(block.offset)
        data = fh.read(block.length)
        digest = hashlib.md5(data).digest()
        if len(data) != block.length:
            status = "FileUnexpectedEnd"
        elif digest.hex().upper() != block.md5_hex.upper():
            status = "Corrupted"
        else:
            http_status = store.put_block(target, block.block_id, data, digest)
            status = "Committed" if http_status == 201 else "BlobRequestFailed"
            if status != "Committed":
                result.http_status = http_status
            if crc:
                running = crc64(data, running)
        result.blocks.append(BlockResult(block.offset, block.length, block.block_id, block.md5_hex, status))
        failed = status != "Committed"
    if failed:
        result.status = "BlobRequestFailed" if result.http_status else "CompletedWithErrors"
        result.disposition_status = "Cancelled"
        return result
    try:
        http_status = store.put_block_list(target, [b.block_id for b in blob.blocks])
    except BlobRequestError:
        http_status = 0
    if http_status != 201:
        result.status, result.http_status, result.disposition_status = "BlobRequestFailed", http_status, "Cancelled"
        return result
    result.crc64 = running if crc else None
    return result


def _import_page_blob(store: BlobStore, fh: Any, target: str, blob: Any, result: BlobResult, *,
                      crc: bool) -> BlobResult:
    """Create the page blob at its Length, then write only the listed ranges. A range whose bytes do
    not match its MD5 (or that the file is too short for) is not written and the other ranges still
    are; a failed storage request stops the blob (later ranges Cancelled). The CRC-64 covers the
    whole Length, the unwritten parts as the zeros they read as."""
    result.blob_type, result.page_ranges = "PageBlob", blob.page_ranges
    http_status = store.create_page_blob(target, blob.length)
    if http_status != 201:
        result.status, result.http_status, result.disposition_status = "BlobRequestFailed", http_status, "Cancelled"
        return result
    running, done, stopped = 0, 0, False
    for index, (offset, length, md5) in enumerate(blob.page_ranges.raw()):
        if stopped:
            result.range_status[index] = "Cancelled"
            continue
        fh.seek(offset)
        data = fh.read(length)
        if len(data) != length:
            result.range_status[index] = "FileUnexpectedEnd"
            continue
        if hashlib.md5(data).digest() != md5:
            result.range_status[index] = "Corrupted"
            continue
        http_status = store.put_page(target, offset, data, md5)
        if http_status != 201:
            result.range_status[index], result.http_status, stopped = "BlobRequestFailed", http_status, True
            continue
        if crc:
            running = crc64(data, combine(running, zeros(offset - done), offset - done))
            done = offset + length
    if result.range_status:
        result.status = "BlobRequestFailed" if stopped else "CompletedWithErrors"
        return result
    result.crc64 = combine(running, zeros(blob.length - done), blob.length - done) if crc else None
    return result


def _open_regular(path: Path | None) -> Any:
    """A data file named by the manifest (untrusted: it came on the drive), opened for reading when it
    is a regular file on the drive; anything else (outside the drive, a symbolic link, a FIFO or
    device, which could block the import or never end) is not there: FileNotFoundError."""
    if path is None:
        raise FileNotFoundError("outside the drive")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOENT, errno.ENOTDIR):
            raise FileNotFoundError(f"{path}: not a file on the drive") from None
        raise
    fh = open(fd, "rb")  # noqa: SIM115 (the caller's with-block closes it)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        fh.close()
        raise FileNotFoundError(f"{path}: not a regular file")
    return fh
