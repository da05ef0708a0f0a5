"""Copy logs in the service's formats, written by the sandbox's datacenter (sources in
docs/sandbox.md, "Copy logs"):

- **DriveLog** (`<DriveLog Version="2014-11-01">`, the Import/Export REST-era format that
  classic jobs' errorLogUri / verboseLogUri point to): per blob its Status, ImportDisposition and
  the status of each block; the error log keeps only what failed.
- **Copy log, drive log version 2021-08-01** (Data Box / Import/Export in Data Box, container
  `databoxcopylog`): one `<ErroredEntity Path=…>` (Category, ErrorCode, ErrorMessage, Type) per
  file that failed, then `<CopyLog Summary="Summary">` with DriveLogVersion, DriveId, Status,
  TotalFiles_Blobs, FilesErrored and a Summary of ValidationErrors / CopyErrors by category. The
  document has several top-level elements, as the published samples do.
- **Verbose log, 2021-08-01**: one `<File CloudFormat="BlockBlob" Path=… Size=… crc64=…>` per file
  imported, nothing else.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape as _escape
from xml.sax.saxutils import quoteattr

COPY_LOG_VERSION = "2021-08-01"


@dataclass
class BlockResult:
    offset: int
    length: int
    block_id: str
    md5_hex: str
    status: str  # Completed | Corrupted | FileUnexpectedEnd | Cancelled | ...


@dataclass
class BlobResult:
    blob_path: str
    file_path: str
    length: int
    status: str  # Completed | CompletedWithErrors | FileNotFound | BlobRequestFailed | IOFailed
    disposition: str | None = None
    disposition_status: str | None = None  # Created | Overwritten | Skipped | Renamed | Cancelled
    blocks: list[BlockResult] = field(default_factory=list)
    target: str | None = None  # the blob name written (differs after a rename)
    crc64: int | None = None  # of the whole file, for verbose copy logs
    http_status: int | None = None  # when the storage request failed

    @property
    def ok(self) -> bool:
        return self.status == "Completed"


def drive_log(drive_id: str, status: str, blobs: list[BlobResult], *, errors_only: bool) -> bytes:
    root = ET.Element("DriveLog", Version="2014-11-01")
    ET.SubElement(root, "DriveId").text = drive_id
    for blob in blobs:
        if errors_only and blob.ok:
            continue
        el = ET.SubElement(root, "Blob", Status=blob.status)
        ET.SubElement(el, "BlobPath").text = blob.blob_path
        ET.SubElement(el, "FilePath").text = blob.file_path
        ET.SubElement(el, "Length").text = str(blob.length)
        if blob.disposition:
            ET.SubElement(el, "ImportDisposition", Status=blob.disposition_status or "Cancelled").text = \
                blob.disposition
        if blob.blocks:
            block_list = ET.SubElement(el, "BlockList")
            for b in blob.blocks:
                if errors_only and b.status in ("Completed", "Committed"):
                    continue
                ET.SubElement(block_list, "Block", Offset=str(b.offset), Length=str(b.length),
                              Id=b.block_id, Hash=b.md5_hex, Status=b.status)
    ET.SubElement(root, "Status").text = status
    ET.indent(root)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode").encode("utf-8") + b"\n"


# -- 2021-08-01 ---------------------------------------------------------------------------------
# A failed blob → (Category, ErrorCode, ErrorMessage). The categories are the documented ones; the
# numeric codes of UploadErrorWin32 are Windows error numbers (as in the published samples), those
# of UploadErrorCloudHttp the HTTP status; UploadErrorDataValidationError has no published code,
# the sandbox writes 23 (ERROR_CRC).
def _error_of(blob: BlobResult) -> tuple[str, int, str]:
    if blob.status == "FileNotFound":
        return "UploadErrorWin32", 2, "File not found on the disk"
    if blob.status == "IOFailed":
        return "UploadErrorWin32", 1117, "File read failed"
    if blob.status == "BlobRequestFailed":
        return "UploadErrorCloudHttp", blob.http_status or 500, "The storage request failed"
    failed = next((b for b in blob.blocks if b.status not in ("Completed", "Committed", "Cancelled")), None)
    if failed is not None and failed.status == "FileUnexpectedEnd":
        return "UploadErrorWin32", 38, f"File shorter than the manifest says (block at offset {failed.offset})"
    where = f" (block at offset {failed.offset})" if failed is not None else ""
    return "UploadErrorDataValidationError", 23, \
        f"CRC computed during data ingestion doesn't match the CRC computed during upload{where}"


DESCRIPTIONS = {
    "UploadErrorWin32": "File system error.",
    "UploadErrorCloudHttp": "Unsupported blob type or a failed storage request.",
    "UploadErrorDataValidationError": "CRC computed during data ingestion doesn't match the CRC computed during upload.",
}


def copy_log(drive_id: str, blobs: list[BlobResult], *, failure: tuple[str, str] | None = None) -> bytes:
    """The 2021-08-01 copy log of one disk. `failure` = (category, description) when the disk
    failed as a whole (wrong key, bad manifest: no file was copied); the published samples show no
    such case, so the sandbox reports it as a validation error of that category."""
    parts: list[str] = []
    counts: dict[str, int] = {}
    errored = 0
    for blob in blobs:
        if blob.ok or blob.disposition_status == "Skipped":
            continue
        category, code, message = _error_of(blob)
        counts[category] = counts.get(category, 0) + 1
        errored += 1
        parts.append(f"<ErroredEntity CloudFormat=\"BlockBlob\" Path={quoteattr(blob.blob_path)}>\n"
                     f"  <Category>{category}</Category>\n  <ErrorCode>{code}</ErrorCode>\n"
                     f"  <ErrorMessage>{_escape(message)}</ErrorMessage>\n  <Type>File</Type>\n"
                     "</ErroredEntity>")
    status = "Failed" if failure is not None or errored else "Succeeded"
    validation = (f'      <{failure[0]} Count="1" Description={quoteattr(failure[1])} />' if failure is not None
                  else '      <None Count="1" />')
    copy_errors = [f'      <{c} Count="{n}" Description={quoteattr(DESCRIPTIONS.get(c, c))} />'
                   for c, n in sorted(counts.items())] or ['      <None Count="1" Description="No errors encountered" />']
    summary = "\n".join([
        '<CopyLog Summary="Summary">', f"  <DriveLogVersion>{COPY_LOG_VERSION}</DriveLogVersion>",
        f"  <DriveId>{_escape(drive_id)}</DriveId>", f"  <Status>{status}</Status>",
        f"  <TotalFiles_Blobs>{len(blobs)}</TotalFiles_Blobs>", f"  <FilesErrored>{errored}</FilesErrored>",
        "  <Summary>", "    <ValidationErrors>", validation, "    </ValidationErrors>", "    <CopyErrors>",
        *copy_errors, "    </CopyErrors>", "  </Summary>", "</CopyLog>"])
    return ("".join(parts) + summary + "\n").encode("utf-8")


def verbose_log(blobs: list[BlobResult]) -> bytes:
    """The 2021-08-01 verbose log: every file imported, with its size and CRC-64."""
    lines = [f"<File CloudFormat=\"BlockBlob\" Path={quoteattr(b.blob_path if b.target is None else _path(b))} "
             f"Size=\"{b.length}\" crc64=\"{b.crc64 or 0}\">\n</File>" for b in blobs if b.ok]
    return "".join(lines).encode("utf-8")


def _path(blob: BlobResult) -> str:
    container = blob.blob_path.partition("/")[0]
    return f"{container}/{blob.target}"
