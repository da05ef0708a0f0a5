"""The streamed manifest reader (issue 22): the same manifests as the tree parser it replaced, read
in pieces, with the untrusted-input refusals it adds (DOCTYPE, oversized text) naming the file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from seedctl.drives.formats import manifest_reader
from seedctl.drives.formats.manifest import (
    PAGE_BLOB,
    DriveManifest,
    ManifestBlob,
    ManifestError,
    PageRanges,
    make_block,
    parse_manifest,
    read_manifest,
    to_xml_bytes,
    write_manifest,
)

from platforms import SYMLINKS


def _sample() -> DriveManifest:
    data = bytes(range(256)) * 40
    blocks = tuple(make_block(off, hashlib.md5(data[off:off + 4096]).digest(), len(data[off:off + 4096]))
                   for off in range(0, len(data), 4096))
    block_blob = ManifestBlob("c/dir/a & b.bin", "\\seed\\dir\\a & b.bin", len(data), blocks, "overwrite",
                              hashlib.md5(data).hexdigest().upper())
    ranges = PageRanges((off, 1024, hashlib.md5(bytes([off // 1024])).digest()) for off in range(0, 65536, 2048))
    page_blob = ManifestBlob("c/server/x.BaseBlob", "\\seed\\server\\x.BaseBlob", 65536, (), blob_type=PAGE_BLOB,
                             page_ranges=ranges, content_crc64=12345)
    return DriveManifest("WD-1", (block_blob, page_blob))


def test_read_in_small_pieces_gives_the_same_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = _sample()
    path = tmp_path / "DriveManifest.xml"
    write_manifest(manifest, path)
    for chunk in (1, 7, 512, 1 << 20):  # element and attribute boundaries fall anywhere
        monkeypatch.setattr(manifest_reader, "READ_CHUNK", chunk)
        assert read_manifest(path) == manifest


def test_namespaces_and_foreign_children_are_tolerated() -> None:
    xml = ('<?xml version="1.0"?><m:DriveManifest xmlns:m="urn:x" Version="2014-11-01"><m:Drive>'
           '<m:DriveId>WD-1</m:DriveId><m:BlobList><m:MetadataPath Hash="A">\\m.xml</m:MetadataPath>'
           '<m:Blob><m:BlobPath>c/a</m:BlobPath><m:FilePath>\\seed\\a</m:FilePath><m:Length>1024</m:Length>'
           '<m:PageRangeList><m:PageRange Offset="0" Length="512" Hash="' + "0A" * 16 + '"><m:Note/></m:PageRange>'
           '</m:PageRangeList><m:PropertiesPath Hash="B">\\p.xml</m:PropertiesPath></m:Blob></m:BlobList>'
           '</m:Drive></m:DriveManifest>')
    blob = parse_manifest(xml.encode(), "ns.xml").blobs[0]
    assert blob.is_page_blob and list(blob.page_ranges.raw()) == [(0, 512, bytes.fromhex("0A" * 16))]


@pytest.mark.parametrize("xml, message", [
    ('<!DOCTYPE DriveManifest [<!ENTITY x "y">]><DriveManifest/>', "DOCTYPE or ENTITY"),
    ('<!DOCTYPE DriveManifest SYSTEM "http://example.com/x.dtd"><DriveManifest/>', "DOCTYPE or ENTITY"),
    ('<DriveManifest Version="2014-11-01"><Drive><DriveId>' + "A" * 70_000 + "</DriveId></Drive></DriveManifest>",
     "more than 65536 characters"),
    ('<DriveManifest Version="2014-11-01"><Drive><DriveId>A</DriveId></Drive><Drive><DriveId>B</DriveId></Drive>'
     "</DriveManifest>", "expected one Drive element, found 2"),
    ('<DriveManifest Version="2014-11-01"><Drive><DriveId>A</DriveId><BlobList><Blob><BlobPath>c/a</BlobPath>'
     '<FilePath>\\a</FilePath><Length>1024</Length><PageRangeList><PageRange Length="512" Hash="' + "0" * 32
     + '"/></PageRangeList></Blob></BlobList></Drive></DriveManifest>', "PageRange Offset '' is not an integer"),
    ('<DriveManifest Version="2014-11-01"><Drive><DriveId>A</DriveId><BlobList><Blob><BlobPath>c/a</BlobPath>'
     '<FilePath>\\a</FilePath><Length>1024</Length><PageRangeList><PageRange Offset="0" Length="-512" Hash="'
     + "0" * 32 + '"/></PageRangeList></Blob></BlobList></Drive></DriveManifest>', "PageRange Length -512 is negative"),
    ('<DriveManifest Version="2014-11-01"><Drive><DriveId>A</DriveId><BlobList><Blob><BlobPath>c/a</BlobPath>'
     '<FilePath>\\a</FilePath><Length>1024</Length><PageRangeList><PageRange Offset="0" Length="512" Hash="'
     + "0 " * 16 + '"/></PageRangeList></Blob></BlobList></Drive></DriveManifest>', "is not a hex MD5"),
    ('<DriveManifest Version="2014-11-01"><Drive><DriveId>A</DriveId><BlobList><Blob><BlobPath>c/a</BlobPath>'
     '<FilePath>\\a</FilePath><Length>1024</Length><PageRangeList><PageRange Offset="0" Length="512" Hash="'
     + "0" * 32 + '"/></PageRangeList><PageRangeList/></Blob></BlobList></Drive></DriveManifest>',
     "both a BlockList and a PageRangeList"),
    ('<DriveManifest Version="2014-11-01"><Drive><DriveId>A</DriveId><BlobList><Blob><BlobPath>c/a</BlobPath>'
     "<FilePath>\\a</FilePath><Length>1024</Length></Blob></BlobList></Drive></DriveManifest>",
     "has no BlockList or PageRangeList"),
])
def test_untrusted_input_is_refused_naming_the_source(xml: str, message: str) -> None:
    with pytest.raises(ManifestError, match=f"^manifest drive S1's copy.*{message}"):
        parse_manifest(xml.encode(), "drive S1's copy")


def test_a_credential_is_skipped_unread(tmp_path: Path) -> None:
    # its text is never collected (so it can be neither kept nor echoed in an error), whatever its size
    xml = ('<DriveManifest Version="2014-11-01"><Drive><DriveId>X</DriveId><ContainerSas>'
           + "s" * 100_000 + "</ContainerSas><BlobList/></Drive></DriveManifest>")
    assert parse_manifest(xml.encode(), "x") == DriveManifest("X", ())


def test_problems_stop_the_read_after_five(tmp_path: Path) -> None:
    blob = ('<Blob><BlobPath>c/{0}</BlobPath><FilePath>\\{0}</FilePath><Length>1000</Length>'
            "<PageRangeList/></Blob>")
    xml = ('<DriveManifest Version="2014-11-01"><Drive><DriveId>X</DriveId><BlobList>'
           + "".join(blob.format(f"f{i}") for i in range(50)) + "</BlobList></Drive></DriveManifest>")
    with pytest.raises(ManifestError) as info:
        parse_manifest(xml.encode(), "x")
    assert str(info.value).count("not a multiple of 512") == 5


@SYMLINKS
def test_a_manifest_is_opened_without_following_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real.xml"
    real.write_bytes(to_xml_bytes(_sample()))
    link = tmp_path / "DriveManifest.xml"
    link.symlink_to(real)
    with pytest.raises(ManifestError, match="is a symbolic link, not a regular file"):
        read_manifest(link)
