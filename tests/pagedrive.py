"""Test-side tools for page blobs (issue 22), independent of seedctl's reading code:

- building a page blob's manifest entry from bytes (ranges of the file's non-zero parts, each with
  its MD5; the whole-file CRC-64 from the pure-Python reference), to put on a simulated drive with
  seedctl's manifest writer until drive preparation writes page blobs itself;
- an independent reader of a manifest (ElementTree, the format's element names: not seedctl's
  reader), and of a page blob's written ranges (plain azure-storage-blob `list_page_ranges`),
  coalesced into covered intervals — the real service answers adjacent ranges as one, Azurite
  lists each write separately.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crc64_reference import crc64

MIB = 1024 * 1024


def page_ranges(data: bytes, step: int = 4 * MIB) -> list[tuple[int, int, bytes]]:
    """(offset, length, raw MD5) of every `step`-sized piece of `data` that is not all zeros."""
    assert len(data) % 512 == 0 and step % 512 == 0 and 0 < step <= 4 * MIB
    out = []
    for offset in range(0, len(data), step):
        piece = data[offset:offset + step]
        if piece.count(0) != len(piece):
            out.append((offset, len(piece), hashlib.md5(piece).digest()))
    return out


def page_blob_entry(rel: str, data: bytes, *, container: str = "seed", step: int = 4 * MIB,
                    ranges: Iterable[tuple[int, int, bytes]] | None = None) -> Any:
    from seedctl.drives.formats.manifest import PAGE_BLOB, ManifestBlob, PageRanges

    return ManifestBlob(f"{container}/{rel}", "\\" + rel.replace("/", "\\"), len(data), (), blob_type=PAGE_BLOB,
                        page_ranges=PageRanges(page_ranges(data, step) if ranges is None else ranges),
                        content_crc64=crc64(data))


def write_files(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)


def agent_bytes(size: int, seed: int, zero_every: int = 3) -> bytes:
    """`size` bytes (a multiple of 512) of random data in 256 KiB pieces, every `zero_every`-th
    piece all zeros (the long zero runs of the agent's files)."""
    import random

    rng = random.Random(seed)
    piece = 256 * 1024
    parts = [bytes(min(piece, size - off)) if (off // piece) % zero_every == 1 else
             rng.randbytes(min(piece, size - off)) for off in range(0, size, piece)]
    return b"".join(parts)


# -- independent readers ----------------------------------------------------------------------
@dataclass
class ListedBlob:
    blob_path: str
    file_path: str
    length: int
    kind: str  # "page" or "block"
    ranges: list[tuple[int, int, str]]  # (offset, length, upper-case hex MD5); blocks for a block blob
    client_data: str


def read_manifest_xml(path: Path) -> dict[str, ListedBlob]:
    """The blobs of a DriveManifest.xml, read with ElementTree by the format's element names."""
    root = ET.parse(path).getroot()
    assert root.tag == "DriveManifest" and root.get("Version") == "2014-11-01"
    out = {}
    for blob in root.iter("Blob"):
        prl, bl = blob.find("PageRangeList"), blob.find("BlockList")
        assert (prl is None) != (bl is None), "a blob has exactly one of PageRangeList and BlockList"
        items = prl.findall("PageRange") if prl is not None else bl.findall("Block")  # type: ignore[union-attr]
        entry = ListedBlob(blob.findtext("BlobPath", ""), blob.findtext("FilePath", ""),
                           int(blob.findtext("Length", "-1")), "page" if prl is not None else "block",
                           [(int(i.get("Offset", "-1")), int(i.get("Length", "-1")), i.get("Hash", "")) for i in items],
                           blob.findtext("ClientData", ""))
        out[entry.blob_path] = entry
    return out


def check_page_rules(entry: ListedBlob) -> None:
    """The manifest format's page-blob rules, checked by the test itself."""
    assert entry.kind == "page" and entry.length % 512 == 0
    end = 0
    for offset, length, md5 in entry.ranges:
        assert offset % 512 == 0 and length % 512 == 0 and 0 < length <= 4 * MIB, (offset, length)
        assert offset >= end, "ordered by offset, no overlaps"
        assert offset + length <= entry.length and len(md5) == 32 and md5 == md5.upper()
        end = offset + length


def coalesce(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """[start, end) intervals merged where they touch or overlap."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def manifest_intervals(entry: ListedBlob) -> list[tuple[int, int]]:
    return coalesce((o, o + n) for o, n, _ in entry.ranges)


def blob_intervals(blob_client: Any) -> list[tuple[int, int]]:
    """A page blob's written ranges as the storage service lists them (plain SDK), coalesced."""
    return coalesce((r.start, r.end + 1) for r in blob_client.list_page_ranges() if not r.cleared)
