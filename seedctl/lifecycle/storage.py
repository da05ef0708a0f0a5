"""The storage side of the lifecycle: the job, the container, the service's copy logs, and the
verification record, all through the clients `planner.make_context` builds (with `call_with_retry`).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from seedctl.azure.errors import is_not_found
from seedctl.azure.retry import call_with_retry
from seedctl.drives import local_name
from seedctl.errors import SeedctlError

# the records kept beside the spec live below lifecycle/ and resources/; re-exported here
from seedctl.records import (  # noqa: F401
    VerifiedRecord,
    local_record_path,
    read_destroyed,
    read_local_record,
    record_destroyed_locally,
    record_verified_locally,
)
from seedctl.resources.container import CREATED_BY_META
from seedctl.resources.jobs import backend_for

VERIFIED_META_PREFIX = "seedctlverified"  # + "_" + job name; metadata names must be C# identifiers


def require_job_spec(spec: Any) -> None:
    if spec.import_job is None:
        raise SeedctlError(f"{spec.source_path or 'the spec'} has no import_job: there is no job to follow")


def read_job(spec: Any, ctx: Any) -> dict[str, Any] | None:
    require_job_spec(spec)
    return backend_for(spec.import_job.api).get(ctx, spec.job_resource_group, spec.import_job.name)


def blob_service(spec: Any, ctx: Any) -> Any:
    """The account's blobs, through Entra ID where the identity may (azure/blob_access.py); the
    spec's container is where that is tried."""
    return ctx.clients.blob_service(spec.storage_account.name, spec.storage_resource_group,
                                    probe_container=spec.container.name)


def container_client(spec: Any, ctx: Any) -> Any:
    return blob_service(spec, ctx).get_container_client(spec.container.name)


def retry(ctx: Any, fn: Any, what: str) -> Any:
    return call_with_retry(fn, what, ctx.clients.policy)


def container_metadata(spec: Any, ctx: Any) -> dict[str, str] | None:
    """The container's metadata, or None when the container does not exist."""
    cc = container_client(spec, ctx)

    def get() -> Any:
        try:
            return cc.get_container_properties()
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise

    props = retry(ctx, get, f"read container {spec.container.name}")
    return None if props is None else dict(props.metadata or {})


def verified_key(job_name: str) -> str:
    # one key per job: a repair job verifies its own subset into the same container
    return f"{VERIFIED_META_PREFIX}_{job_name.replace('-', '_')}"


def parse_verified(metadata: dict[str, str] | None, job_name: str) -> VerifiedRecord | None:
    raw = {k.lower(): v for k, v in (metadata or {}).items()}.get(verified_key(job_name).lower())
    if not raw:
        return None
    parts = dict(p.split("=", 1) for p in raw.split(";") if "=" in p)
    try:
        return VerifiedRecord(parts["at"], parts["digest"], int(parts.get("files", "0")))
    except (KeyError, ValueError):
        return None


def record_verified(spec: Any, ctx: Any, record: VerifiedRecord) -> None:
    """Write the verification into the container's metadata (durable, beside the data, visible to
    anyone with the account) — merged, because Set Container Metadata replaces the whole set."""
    cc = container_client(spec, ctx)

    def write() -> None:
        metadata = dict(cc.get_container_properties().metadata or {})
        metadata[verified_key(spec.import_job.name)] = f"at={record.at};digest={record.digest};files={record.files}"
        cc.set_container_metadata(metadata)

    retry(ctx, write, f"record the verification on container {spec.container.name}")


def forget_verified(spec: Any, ctx: Any) -> None:
    """A failed verification withdraws an earlier pass: the data changed since, and destroy must
    not rely on the old record."""
    local_record_path(spec).unlink(missing_ok=True)
    cc = container_client(spec, ctx)
    key = verified_key(spec.import_job.name).lower()

    def drop() -> None:
        try:
            metadata = dict(cc.get_container_properties().metadata or {})
        except Exception as exc:
            if is_not_found(exc):
                return
            raise
        kept = {k: v for k, v in metadata.items() if k.lower() != key}
        if kept != metadata:
            cc.set_container_metadata(kept)

    retry(ctx, drop, f"withdraw the verification on container {spec.container.name}")


def created_by_seedctl(metadata: dict[str, str] | None) -> bool:
    return any(k.lower() == CREATED_BY_META for k in (metadata or {}))


def written_ranges(ctx: Any, client: Any, what: str) -> list[tuple[int, int]]:
    """A page blob's written parts as Get Page Ranges lists them (paged), as sorted, coalesced
    `[start, end)` intervals: the real service answers adjacent ranges as one, Azurite does not."""
    from seedctl.lifecycle.pageblobs import coalesce

    def read() -> list[tuple[int, int]]:
        return list(coalesce((r.start, r.end + 1) for r in client.list_page_ranges() if not r.cleared))

    return retry(ctx, read, f"read the page ranges of {what}")


# -- the service's logs --------------------------------------------------------------------------
def read_blob_uri(ctx: Any, spec: Any, uri: str) -> bytes:
    """Download a blob the service names by URI (copy logs, manifest backups, incomplete-blob list)
    with the storage account's credentials. Only blobs in the spec's storage account are read."""
    service = blob_service(spec, ctx)
    account = spec.storage_account.name
    # the account's endpoint, and in the sandbox the internal one the datacenter names its logs with
    bases = [service.url.rstrip("/") + "/",
             *(f"{alias.rstrip('/')}/{account}/" for alias in getattr(ctx.clients, "blob_aliases", ()))]
    base = next((b for b in bases if uri.startswith(b)), None)
    if base is not None:
        path = uri[len(base):]
    else:
        parts = urlsplit(uri)
        if not parts.hostname or not parts.hostname.lower().startswith(account.lower() + "."):
            raise SeedctlError(f"the log at {uri} is not in storage account {account}; open it in the portal")
        path = parts.path.lstrip("/")
    container, _, name = unquote(path.split("?", 1)[0]).partition("/")
    if not container or not name:
        raise SeedctlError(f"cannot tell the container and blob from {uri}")
    blob = service.get_blob_client(container, name)
    return bytes(retry(ctx, lambda: blob.download_blob().readall(), f"read {container}/{name}"))


@dataclass(slots=True)
class LogEntry:
    blob_path: str
    status: str  # DriveLog: the blob's Status; 2021-08-01 copy log: the error Category
    detail: str  # e.g. "block at offset 4194304: Corrupted", or "ErrorCode 23: CRC computed ..."


@dataclass(slots=True)
class LogFile:
    """A file the service imported, from a 2021-08-01 verbose log."""
    blob_path: str
    size: int
    crc64: int  # the service's CRC-64 of the blob (unsigned)
    cloud_format: str = ""  # BlockBlob | PageBlob | AzureFile


@dataclass
class DriveLog:
    drive_id: str
    status: str  # the classic words: Completed, CompletedWithErrors, ... ("Succeeded" reads as Completed)
    blobs: list[LogEntry] = field(default_factory=list)  # what failed
    version: str = ""  # "2014-11-01", "2018-10-01" (DriveLog@Version) or "2021-08-01" (copy log)
    files: list[LogFile] = field(default_factory=list)  # what succeeded, when the log lists it
    raw_status: str = ""  # the log's own word


def _child_text(el: ET.Element, name: str) -> str:
    for child in el:
        if local_name(child.tag) == name:
            return (child.text or "").strip()
    return ""


MAX_LOG_BYTES = 512 * 1024 * 1024  # a copy log larger than this is not parsed (it is untrusted input)
_FEED = 1 << 20  # bytes handed to the parser at a time
_TOP_LEVEL = ("DriveLog", "CopyLog", "ErroredEntity", "File")


def parse_drive_log(data: bytes) -> DriveLog:
    """A copy log in any of the service's formats (sources in docs/sandbox.md, "Copy logs"):

    - `DriveLog` (Version 2014-11-01, the REST-era format, and 2018-10-01, Data Box Disk's
      `_error.xml` / `_verbose.xml`): the drive's final Status and, per blob, its Status and the
      first failed block, page range, metadata or properties item;
    - the 2021-08-01 copy log (`databoxcopylog/..._CopyLog_<job>.xml`): `ErroredEntity` elements
      (Path, Category, ErrorCode, ErrorMessage) and the closing `CopyLog Summary`;
    - the 2021-08-01 verbose log: `File` elements (CloudFormat, Path, Size, crc64).

    The 2021-08-01 documents have several top-level elements, so every log is read inside a
    wrapper element. Streamed: each blob, file or entity is read and then dropped from the tree, so
    a verbose log of a million files or a page blob's hundreds of thousands of ranges never sits in
    memory as elements."""
    if len(data) > MAX_LOG_BYTES:
        raise SeedctlError(f"copy log is {len(data)} bytes, more than the {MAX_LOG_BYTES} seedctl reads")
    body = _log_body(data)
    reader = _LogReader()
    parser = ET.XMLPullParser(events=("start", "end"))
    try:
        for piece in (b"<_log>", *(body[i:i + _FEED] for i in range(0, len(body), _FEED)), b"</_log>"):
            parser.feed(piece)
            for event, el in parser.read_events():
                reader.event(event, el)
        parser.close()
        for event, el in parser.read_events():
            reader.event(event, el)
    except ET.ParseError as exc:
        raise SeedctlError(f"copy log is not well-formed XML: {exc}") from None
    return reader.result()


def _log_body(data: bytes) -> memoryview:
    """The document without its byte-order mark and XML declaration (it cannot stand inside the
    wrapper); a DOCTYPE or ENTITY declaration is refused: the service writes none."""
    view = memoryview(data)
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    while start < len(data) and data[start] in b" \t\r\n":
        start += 1
    if data.startswith(b"<?xml", start):
        end = data.find(b"?>", start)
        start = len(data) if end < 0 else end + 2
    if data.find(b"<!DOCTYPE", start) >= 0 or data.find(b"<!ENTITY", start) >= 0:
        raise SeedctlError("copy log holds a DOCTYPE or ENTITY declaration; the service writes none")
    return view[start:]


class _LogReader:
    """Events of the wrapped log → a DriveLog; each element is dropped once read."""

    def __init__(self) -> None:
        self.stack: list[ET.Element] = []
        self.log = DriveLog("", "", files=[])
        self.classic: ET.Element | None = None
        self.modern = False

    def event(self, event: str, el: ET.Element) -> None:
        if event == "start":
            self.stack.append(el)
            if len(self.stack) == 2:
                if local_name(el.tag) not in _TOP_LEVEL:
                    raise SeedctlError(f"copy log root element is {local_name(el.tag)!r}, expected DriveLog, "
                                       "ErroredEntity, CopyLog or File")
                self.classic = el if local_name(el.tag) == "DriveLog" else None
            return
        self.stack.pop()
        depth = len(self.stack) + 1
        name = local_name(el.tag)
        if depth == 3 and self.stack[-1] is self.classic and name in ("Blob", "File"):
            self.log.blobs.append(_classic_entry(el))
            self.stack[-1].remove(el)
        elif depth == 2:
            if name == "DriveLog":
                status = _child_text(el, "Status")
                self.log.drive_id, self.log.status, self.log.raw_status = _child_text(el, "DriveId"), status, status
                self.log.version = el.get("Version") or ""
            else:
                self.modern = True
                self.modern_element(name, el)
            self.stack[-1].remove(el)

    def modern_element(self, name: str, el: ET.Element) -> None:
        log = self.log
        if name == "ErroredEntity":
            code, message = _child_text(el, "ErrorCode"), _child_text(el, "ErrorMessage")
            detail = f"ErrorCode {code}: {message}" if code else message
            log.blobs.append(LogEntry(_service_path(el.get("Path") or ""), _child_text(el, "Category"), detail))
        elif name == "File":
            try:
                size, crc = int(el.get("Size") or 0), int(el.get("crc64") or 0)
            except ValueError:
                raise SeedctlError(f"verbose log entry for {el.get('Path')!r} has a Size or crc64 that is "
                                   "not a number") from None
            if not (0 <= size < 1 << 63 and 0 <= crc < 1 << 64):
                raise SeedctlError(f"verbose log entry for {el.get('Path')!r} has a Size or crc64 out of range")
            log.files.append(LogFile(_service_path(el.get("Path") or ""), size, crc, el.get("CloudFormat") or ""))
        elif name == "CopyLog":
            log.version = _child_text(el, "DriveLogVersion")
            log.drive_id = _child_text(el, "DriveId")
            log.raw_status = _child_text(el, "Status")
            log.status = "Completed" if log.raw_status == "Succeeded" else log.raw_status

    def result(self) -> DriveLog:
        log = self.log
        if self.modern and not log.version and (log.files or log.blobs):
            log.version = "2021-08-01"  # a verbose log (or a truncated copy log) carries no version
        return log


def _classic_entry(el: ET.Element) -> LogEntry:
    """A DriveLog's Blob (or File): its Status and its first failed items."""
    details = []
    for item in el.iter():
        item_status = item.get("Status")
        if item is el or item_status in (None, "Completed", "Committed", "Created", "Overwritten"):
            continue
        where = f"offset {item.get('Offset')}" if item.get("Offset") else ""
        details.append(f"{local_name(item.tag)} {where}: {item_status}".replace("  ", " "))
        if len(details) == 3:
            break
    path = _child_text(el, "BlobPath") or _child_text(el, "FileStoragePath")
    return LogEntry(path, el.get("Status") or "", "; ".join(details))


def _service_path(path: str) -> str:
    # The published samples write some paths with Windows separators: the import verbose log's
    # "container\\blob/name", the copy log's "iso\\samsungssd.iso"; a blob path uses "/".
    return path.replace("\\", "/")


_BLOB_PATH = re.compile(r"<BlobPath>(.*?)</BlobPath>", re.S)


def parse_incomplete_list(data: bytes) -> list[str]:
    """Blob paths from the job's incomplete-blob list (an XML list of BlobPath elements)."""
    try:
        root = ET.fromstring(data)
        return [(el.text or "").strip() for el in root.iter() if local_name(el.tag) == "BlobPath" and el.text]
    except (ET.ParseError, LookupError):
        text = data.decode("utf-8", "replace")
        return [m.strip() for m in _BLOB_PATH.findall(text)]
