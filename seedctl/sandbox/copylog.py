"""Copy logs in the Import/Export service's `DriveLog` format (Version 2014-11-01), as the
datacenter writes them to the diagnostics container: error log on any error, verbose log when the
job asks for it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field


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
    status: str  # Completed | CompletedWithErrors | FileNotFound | BlobRequestFailed | ...
    disposition: str | None = None
    disposition_status: str | None = None  # Created | Overwritten | Skipped | Renamed
    blocks: list[BlockResult] = field(default_factory=list)

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
