"""Copy logs in the service's formats, written by the sandbox's datacenter (sources in
docs/sandbox.md, "Copy logs"):

- **DriveLog** (`<DriveLog Version="2014-11-01">`, the Import/Export REST-era format that
  classic jobs' errorLogUri / verboseLogUri point to): per blob its Status, ImportDisposition and
  the status of each block (`BlockList`) or page range (`PageRangeList` of
  `PageRange@Offset,Length,Hash,Status`: the format has no blob type element, the list is the
  marker); the error log keeps only what failed. The format carries no CRC-64.
- **Copy log, drive log version 2021-08-01** (Data Box / Import/Export in Data Box, container
  `databoxcopylog`): one `<ErroredEntity Path=…>` (Category, ErrorCode, ErrorMessage, Type) per
  file that failed, then `<CopyLog Summary="Summary">` with DriveLogVersion, DriveId, Status,
  TotalFiles_Blobs, FilesErrored and a Summary of ValidationErrors / CopyErrors by category. The
  document has several top-level elements, as the published samples do.
- **Verbose log, 2021-08-01**: one `<File CloudFormat="BlockBlob|PageBlob" Path=… Size=… crc64=…>`
  per file imported, nothing else; `Path` is `container\\name` as in the published import sample,
  `crc64` the Azure CRC-64 in unsigned decimal (of the whole blob: a page blob's unwritten parts
  count as the zeros they read as, the sandbox's assumption).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
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
    blob_type: str = "BlockBlob"  # BlockBlob | PageBlob (the 2021-08-01 logs' CloudFormat)
    page_ranges: Any = None  # a page blob's ranges (the manifest's PageRanges), None for a block blob
    range_status: dict[int, str] = field(default_factory=dict)  # index → status, for ranges not Completed

    @property
    def ok(self) -> bool:
        return self.status == "Completed"


def drive_log(drive_id: str, status: str, blobs: list[BlobResult], *, errors_only: bool) -> bytes:
    """The DriveLog 2014-11-01 document, written as text (a page blob of terabytes lists hundreds of
    thousands of ranges: no element tree of them)."""
    out = ['<?xml version="1.0" encoding="utf-8"?>\n<DriveLog Version="2014-11-01">\n',
           f"  <DriveId>{_escape(drive_id)}</DriveId>\n"]
    for blob in blobs:
        if errors_only and blob.ok:
            continue
        out += [f"  <Blob Status={quoteattr(blob.status)}>\n",
                f"    <BlobPath>{_escape(blob.blob_path)}</BlobPath>\n",
                f"    <FilePath>{_escape(blob.file_path)}</FilePath>\n",
                f"    <Length>{blob.length}</Length>\n"]
        if blob.disposition:
            out.append(f"    <ImportDisposition Status={quoteattr(blob.disposition_status or 'Cancelled')}>"
                       f"{_escape(blob.disposition)}</ImportDisposition>\n")
        if blob.page_ranges is not None:
            out.extend(_page_range_list(blob, errors_only))
        elif blob.blocks:
            out.append("    <BlockList>\n")
            out.extend(f"      <Block Offset=\"{b.offset}\" Length=\"{b.length}\" Id={quoteattr(b.block_id)} "
                       f"Hash={quoteattr(b.md5_hex)} Status=\"{b.status}\" />\n"
                       for b in blob.blocks if not (errors_only and b.status in ("Completed", "Committed")))
            out.append("    </BlockList>\n")
        out.append("  </Blob>\n")
    out.append(f"  <Status>{_escape(status)}</Status>\n</DriveLog>\n")
    return "".join(out).encode("utf-8")


def _page_range_list(blob: BlobResult, errors_only: bool) -> list[str]:
    """A page blob's `PageRangeList`: every range with its status (the error log: the failed ones)."""
    lines = []
    for index, (offset, length, md5) in enumerate(blob.page_ranges.raw()):
        status = blob.range_status.get(index, "Completed")
        if errors_only and status == "Completed":
            continue
        lines.append(f'      <PageRange Offset="{offset}" Length="{length}" Hash="{md5.hex().upper()}" '
                     f'Status="{status}" />\n')
    return ["    <PageRangeList>\n", *lines, "    </PageRangeList>\n"] if lines else ["    <PageRangeList />\n"]


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
    failed = _first_failure(blob)
    if failed is not None and failed[1] == "FileUnexpectedEnd":
        return "UploadErrorWin32", 38, f"File shorter than the manifest says ({failed[0]})"
    where = f" ({failed[0]})" if failed is not None else ""
    return "UploadErrorDataValidationError", 23, \
        f"CRC computed during data ingestion doesn't match the CRC computed during upload{where}"


def _first_failure(blob: BlobResult) -> tuple[str, str] | None:
    """(where, status) of a blob's first failed block or page range."""
    if blob.page_ranges is not None:
        for index in sorted(blob.range_status):
            if blob.range_status[index] != "Cancelled":
                return f"page range at offset {blob.page_ranges[index].offset}", blob.range_status[index]
        return None
    failed = next((b for b in blob.blocks if b.status not in ("Completed", "Committed", "Cancelled")), None)
    return None if failed is None else (f"block at offset {failed.offset}", failed.status)


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
        parts.append(f"<ErroredEntity CloudFormat={quoteattr(blob.blob_type)} Path={quoteattr(blob.blob_path)}>\n"
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
    """The 2021-08-01 verbose log: every file imported, with its blob type, size and CRC-64."""
    lines = [f"<File CloudFormat={quoteattr(b.blob_type)} Path={quoteattr(_path(b))} "
             f"Size=\"{b.length}\" crc64=\"{b.crc64 or 0}\">\n</File>" for b in blobs if b.ok]
    return "".join(lines).encode("utf-8")


def _path(blob: BlobResult) -> str:
    """`container\\name` (the name the blob got), as the published import sample writes it."""
    container, _, name = blob.blob_path.partition("/")
    return f"{container}\\{name if blob.target is None else blob.target}"
