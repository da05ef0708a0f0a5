"""An independent reader of a drive's manifest, for the tests (issue 22): it parses the XML with
xml.dom.minidom (not seedctl's reader), applies the rules of the 2014-11-01 manifest format as the
format's page states them, and checks every blob against the file on the drive and the staging
file it came from. It shares no code with seedctl but the test-side CRC-64 reference.

For a page blob: Length a multiple of 512; ranges 512-aligned, 512 B .. 4 MiB, ordered, not
overlapping, inside the Length, each Hash the upper-case hex MD5 of the staging file's bytes there
and of the drive file's; every byte the ranges leave out is zero in the staging file (what the
imported blob holds there); ClientData's CRC-64 is the staging file's. For a block blob: blocks
contiguous from 0 covering the Length, at most 4 MiB, Id "MD5/" + Base64 of the MD5, and the same
checks on the bytes. Small files only: everything is read into memory.

The CRC-64 is the test-side pure-Python reference for files up to 4 MiB; larger files use the
`anycrc` library's CRC-64/NVME model directly (the pure-Python table runs at a few MB/s; the
library is checked against the reference in tests/test_crc64.py)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from xml.dom import minidom

import anycrc

from crc64_reference import crc64 as reference_crc64

MAX_RANGE = 4 * 1024 * 1024
_NVME = anycrc.Model("CRC64-NVME")


def crc64(data: bytes) -> int:
    return reference_crc64(data) if len(data) <= MAX_RANGE else _NVME.calc(data)


def _text(blob: minidom.Element, name: str) -> str | None:
    nodes = [n for n in blob.childNodes if n.nodeType == n.ELEMENT_NODE and n.tagName == name]
    if not nodes:
        return None
    return "".join(c.data for c in nodes[0].childNodes if c.nodeType == c.TEXT_NODE).strip()


def check_drive(drive: Path, staging: Path, *, blob_type: str) -> dict[str, list[str]]:
    """{blob path: problems} for every blob of the drive's manifest (an empty list: the blob is right)."""
    doc = minidom.parse(str(drive / "DriveManifest.xml"))
    assert doc.documentElement.tagName == "DriveManifest"
    assert doc.documentElement.getAttribute("Version") == "2014-11-01"
    found: dict[str, list[str]] = {}
    for blob in doc.getElementsByTagName("Blob"):
        blob_path = _text(blob, "BlobPath") or ""
        problems = found.setdefault(blob_path, [])
        file_path = _text(blob, "FilePath") or ""
        length = int(_text(blob, "Length") or "-1")
        rel = blob_path.split("/", 1)[1]
        source = (staging / rel).read_bytes()
        on_drive = drive.joinpath(*file_path.strip("\\").split("\\")).read_bytes()
        if length != len(source) or len(on_drive) != len(source):
            problems.append(f"Length {length}, staging {len(source)}, drive {len(on_drive)}")
            continue
        if _text(blob, "ImportDisposition") != "overwrite":
            problems.append("ImportDisposition is not overwrite")
        client = _text(blob, "ClientData") or ""
        if client != f"seedctl:crc64={crc64(source)}":
            problems.append(f"ClientData {client!r} is not the staging file's CRC-64")
        pages = blob.getElementsByTagName("PageRangeList")
        blocks = blob.getElementsByTagName("BlockList")
        if blob_type == "page":
            if blocks or len(pages) != 1:
                problems.append("not exactly one PageRangeList")
                continue
            problems += _check_pages(pages[0], length, source, on_drive)
        else:
            if pages or len(blocks) != 1:
                problems.append("not exactly one BlockList")
                continue
            problems += _check_blocks(blocks[0], length, source, on_drive)
    return found


def _check_pages(ranges: minidom.Element, length: int, source: bytes, on_drive: bytes) -> list[str]:
    problems = []
    if length % 512:
        problems.append(f"a page blob's Length {length} is not a multiple of 512")
    end = 0
    for r in ranges.getElementsByTagName("PageRange"):
        offset, size, digest = int(r.getAttribute("Offset")), int(r.getAttribute("Length")), r.getAttribute("Hash")
        if offset % 512 or size % 512 or not 512 <= size <= MAX_RANGE:
            problems.append(f"range {offset}+{size}: not 512-aligned or not 512 B .. 4 MiB")
        if offset < end or offset + size > length:
            problems.append(f"range {offset}+{size}: out of order, overlapping or past the Length")
        if digest != hashlib.md5(source[offset:offset + size]).hexdigest().upper():
            problems.append(f"range {offset}+{size}: Hash is not the MD5 of the staging file's bytes")
        if on_drive[offset:offset + size] != source[offset:offset + size]:
            problems.append(f"range {offset}+{size}: the drive's bytes differ from staging")
        if source[end:offset].strip(b"\0"):
            problems.append(f"bytes {end}..{offset}, which no range lists, are not all zero in the staging file")
        end = max(end, offset + size)
    if source[end:].strip(b"\0"):
        problems.append(f"bytes from {end} on, which no range lists, are not all zero in the staging file")
    return problems


def _check_blocks(blocks: minidom.Element, length: int, source: bytes, on_drive: bytes) -> list[str]:
    problems = []
    expected = 0
    for b in blocks.getElementsByTagName("Block"):
        offset, size = int(b.getAttribute("Offset")), int(b.getAttribute("Length"))
        digest = hashlib.md5(source[offset:offset + size]).digest()
        if offset != expected or not 0 < size <= MAX_RANGE:
            problems.append(f"block {offset}+{size}: a gap, an overlap or not 1 B .. 4 MiB")
        if b.getAttribute("Hash") != digest.hex().upper() or b.getAttribute("Id") != "MD5/" + \
                base64.b64encode(digest).decode():
            problems.append(f"block {offset}+{size}: Hash or Id is not the staging file's MD5")
        if on_drive[offset:offset + size] != source[offset:offset + size]:
            problems.append(f"block {offset}+{size}: the drive's bytes differ from staging")
        expected = offset + size
    if expected != length:
        problems.append(f"blocks cover {expected} of {length} bytes")
    return problems
