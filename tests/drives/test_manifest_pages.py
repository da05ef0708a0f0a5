"""Page blobs in the drive manifest (issue 22): the PageRangeList grammar of the 2014-11-01
format, the page rules the service enforces, and the whole-file CRC-64 in ClientData."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from seedctl.crc64 import crc64
from seedctl.drives.formats.manifest import (
    MAX_PAGE_RANGE,
    PAGE_BLOB,
    DriveManifest,
    ManifestBlob,
    ManifestError,
    ManifestPageRange,
    PageRanges,
    parse_manifest,
    read_manifest,
    to_xml_bytes,
    write_manifest,
)


def page_blob(data: bytes, *, name: str = "server1/disk.BaseBlob", skip_zero: bool = True,
              step: int = MAX_PAGE_RANGE) -> ManifestBlob:
    ranges = PageRanges()
    for offset in range(0, len(data), step):
        chunk = data[offset:offset + step]
        if skip_zero and not chunk.strip(b"\0"):
            continue
        ranges.append(offset, len(chunk), hashlib.md5(chunk).digest())
    return ManifestBlob(f"backup/{name}", "\\seed\\" + name.replace("/", "\\"), len(data), (),
                        blob_type=PAGE_BLOB, page_ranges=ranges, content_crc64=crc64(data))


def test_round_trip_keeps_ranges_type_and_crc64(tmp_path: Path) -> None:
    data = b"\1" * 1024 + bytes(MAX_PAGE_RANGE) + b"\2" * 512
    blob = page_blob(data, step=1024)
    path = tmp_path / "DriveManifest.xml"
    write_manifest(DriveManifest("WD1", (blob,)), path)
    back = read_manifest(path).blobs[0]
    assert back == blob and back.is_page_blob and back.content_crc64 == crc64(data)
    assert back.page_ranges.covered_bytes() == 1536  # the zero run in between is left out
    assert list(back.page_ranges)[0] == ManifestPageRange(0, 1024, hashlib.md5(b"\1" * 1024).hexdigest().upper())


def test_documented_shape() -> None:
    text = to_xml_bytes(DriveManifest("WD1", (page_blob(b"\7" * 1536, step=1024),))).decode()
    assert "<ClientData>seedctl:crc64=" in text and "<BlockList" not in text
    # the grammar's order: ClientData, Length, ImportDisposition, then the PageRangeList
    assert re.search(r"<ClientData>.*</ClientData>\r\n\s*<Length>1536</Length>\r\n\s*<ImportDisposition>"
                     r"overwrite</ImportDisposition>\r\n\s*<PageRangeList>\r\n\s*<PageRange Offset=\"0\" "
                     r"Length=\"1024\" Hash=\"[0-9A-F]{32}\" />\r\n\s*<PageRange Offset=\"1024\" Length=\"512\"",
                     text), text


def test_an_all_zero_file_is_a_page_blob_with_no_ranges(tmp_path: Path) -> None:
    blob = page_blob(bytes(8192))
    assert "<PageRangeList />" in to_xml_bytes(DriveManifest("WD1", (blob,))).decode()
    path = tmp_path / "m.xml"
    write_manifest(DriveManifest("WD1", (blob,)), path)
    assert read_manifest(path).blobs[0].is_page_blob


@pytest.mark.parametrize("ranges, length, why", [
    ([(0, 1000)], 1024, "not 512-aligned"),
    ([(100, 512)], 1024, "not 512-aligned"),
    ([(0, MAX_PAGE_RANGE + 512)], 2 * MAX_PAGE_RANGE, "has length"),
    ([(0, 1024), (512, 512)], 2048, "overlaps"),
    ([(1024, 512), (0, 512)], 2048, "overlaps the one before or is out of order"),
    ([(1024, 1024)], 1536, "ends past the Length"),
    ([], 1000, "not a multiple of 512"),
])
def test_writer_refuses_what_the_service_refuses(tmp_path: Path, ranges, length, why) -> None:
    blob = ManifestBlob("backup/a", "\\seed\\a", length, (), blob_type=PAGE_BLOB,
                        page_ranges=PageRanges((o, n, bytes(16)) for o, n in ranges))
    with pytest.raises(ManifestError, match=why):
        write_manifest(DriveManifest("WD1", (blob,)), tmp_path / "m.xml")
    assert list(tmp_path.iterdir()) == []


def _manifest_with(blob_xml: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?><DriveManifest Version="2014-11-01"><Drive>'
            f"<DriveId>WD1</DriveId><BlobList>{blob_xml}</BlobList></Drive></DriveManifest>").encode()


@pytest.mark.parametrize("blob_xml, message", [
    ('<Blob><BlobPath>c/a</BlobPath><FilePath>\\seed\\a</FilePath><Length>1024</Length><BlockList/>'
     '<PageRangeList/></Blob>', "both a BlockList and a PageRangeList"),
    ('<Blob><BlobPath>c/a</BlobPath><FilePath>\\seed\\a</FilePath><Length>1024</Length><PageRangeList>'
     '<PageRange Offset="0" Length="512" Hash="zz"/></PageRangeList></Blob>', "is not a hex MD5"),
    ('<Blob><BlobPath>c/a</BlobPath><FilePath>\\seed\\a</FilePath><Length>1024</Length><PageRangeList>'
     '<PageRange Offset="0" Length="99999999999999999999" Hash="' + "A" * 32 + '"/></PageRangeList></Blob>',
     "has length|out of range|integer"),
    ('<Blob><BlobPath>c/a</BlobPath><FilePath>\\seed\\a</FilePath><Length>1024</Length><PageRangeList>'
     '<Block Offset="0" Length="512" Hash="' + "A" * 32 + '"/></PageRangeList></Blob>', "unexpected Block"),
    ('<Blob><BlobPath>c/a</BlobPath><FilePath>\\seed\\a</FilePath><ClientData>seedctl:crc64=x</ClientData>'
     '<Length>1024</Length><PageRangeList/></Blob>', "CRC-64 of c/a"),
])
def test_reader_refuses_broken_page_lists_naming_the_source(blob_xml: str, message: str) -> None:
    with pytest.raises(ManifestError, match=f"manifest copy.xml.*({message})"):
        parse_manifest(_manifest_with(blob_xml), "copy.xml")


def test_earlier_seedctl_manifests_still_read_their_md5() -> None:
    xml = _manifest_with('<Blob><BlobPath>c/a</BlobPath><FilePath>\\seed\\a</FilePath><ClientData>seedctl:'
                         'content-md5=' + "B" * 32 + '</ClientData><Length>0</Length><BlockList/></Blob>')
    blob = parse_manifest(xml, "old.xml").blobs[0]
    assert blob.content_md5_hex == "B" * 32 and blob.content_crc64 is None and not blob.is_page_blob


def test_page_ranges_are_packed_and_compare_by_value() -> None:
    a = PageRanges([(0, 512, bytes(range(16)))])
    b = PageRanges()
    b.append(0, 512, bytes(range(16)))
    assert a == b and hash(a) == hash(b) and len(a) == 1 and a[-1].md5_hex == bytes(range(16)).hex().upper()
    with pytest.raises(IndexError):
        a[1]
    with pytest.raises(ValueError):
        a.append(512, 512, b"short")


@pytest.mark.parametrize("crc", [0, 2 ** 63 - 1, 2 ** 63, 2 ** 64 - 1])
def test_every_unsigned_crc64_reads_back(tmp_path: Path, crc: int) -> None:
    # half of all CRC-64s are 2**63 or more: the reader once refused them as out of range
    blob = page_blob(b"\1" * 512)
    blob = ManifestBlob(blob.blob_path, blob.file_path, blob.length, (), blob_type=PAGE_BLOB,
                        page_ranges=blob.page_ranges, content_crc64=crc)
    write_manifest(DriveManifest("WD1", (blob,)), tmp_path / "m.xml")
    assert read_manifest(tmp_path / "m.xml").blobs[0].content_crc64 == crc
    too_big = to_xml_bytes(DriveManifest("WD1", (blob,))).replace(
        f"crc64={crc}<".encode(), f"crc64={2 ** 64}<".encode())
    with pytest.raises(ManifestError, match="out of range"):
        parse_manifest(too_big, "m.xml")
