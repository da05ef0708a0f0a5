"""The Import/Export drive manifest (`DriveManifest.xml`, format version 2014-11-01): writer and reader.

The grammar is the official "Azure Import/Export service manifest file format" page (dn529098):
`DriveManifest@Version` > `Drive` > `DriveId`, optional credential, `BlobList`s of `Blob`s, each with
`BlobPath`, `FilePath`, optional `ClientData`, `Length`, optional `ImportDisposition`, then a
`BlockList` of `Block@Offset,@Length,@Id,@Hash` (a block blob) or a `PageRangeList` of
`PageRange@Offset,@Length,@Hash` (a page blob: ranges 512-aligned, at most 4 MiB, ordered, not
overlapping; they may cover only part of the file).

Decisions (see docs/drives.md):
- Block blobs: blocks of at most 4 MiB, contiguous from offset 0, at most 50,000 per blob. Page
  blobs (the backup agent's seed, `staging.blob_type: page`): a Length that is a multiple of 512,
  ranges of at most 4 MiB with the MD5 of each; ranges may leave parts of the file out (all-zero
  ones), as the format allows.
- The whole-file digest rides in `ClientData` (which the service does not interpret) as
  `seedctl:crc64=<unsigned decimal>`, the Azure CRC-64 (seedctl.crc64), which can be combined from
  parts; drives written by an earlier seedctl carry `seedctl:content-md5=<HEX>`, still read.
- Block ids are "MD5/" + Base64(raw block MD5), as the Microsoft tool writes them; they are always
  28 characters, so ids within one blob have equal length as Put Block requires.
- Every Hash is upper-case hex MD5.
- No storage credential is written: a storage account key or SAS on a drive that travels by courier
  would be a secret outside the import job. The reader accepts one (older manifests) but never keeps it.
- The drive header hash is the empty string: the service documents no format for it, and the
  Microsoft SDK/CLI/PowerShell samples and recorded real calls send "" and are accepted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import re
import stat
import struct
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, overload

from seedctl.errors import DriveError
from seedctl.fsretry import replace as replace_retrying
from seedctl.safefs import CAP_MANIFEST, read_regular

MANIFEST_NAME = "DriveManifest.xml"
MANIFEST_FILE = "\\" + MANIFEST_NAME  # the job's manifestFile (drive-relative, backslash form)
MANIFEST_VERSION = "2014-11-01"
DRIVE_HEADER_HASH = ""  # see module docstring
MAX_BLOCK_SIZE = 4 * 1024 * 1024
MAX_BLOCKS = 50_000
MAX_BLOB_LENGTH = MAX_BLOCK_SIZE * MAX_BLOCKS  # ~195 GiB: what a 2014-11-01 block list can describe
DISPOSITIONS = ("rename", "no-overwrite", "overwrite")
CLIENT_DATA_MD5 = "seedctl:content-md5="  # the whole-file MD5 an earlier seedctl recorded (read, not written)
CLIENT_DATA_CRC64 = "seedctl:crc64="  # the whole-file Azure CRC-64 (seedctl.crc64), unsigned decimal
BLOCK_BLOB, PAGE_BLOB = "BlockBlob", "PageBlob"
PAGE_SIZE = 512  # page blobs are written in 512-byte pages: offsets, range lengths and the Length
MAX_PAGE_RANGE = 4 * 1024 * 1024  # a PageRange's Length (the manifest format: "no more than 4 MB")
MAX_PAGE_BLOB_LENGTH = 8 * 1024 ** 4  # 8 TiB: the service's page-blob limit (docs/drives.md on 1 TB vs 8 TiB)

_HEX32 = re.compile(r"^[0-9A-F]{32}$")
# Characters XML 1.0 cannot carry (outside its Char production: most C0 controls, lone surrogates,
# U+FFFE, U+FFFF), plus CR, which a parser turns into LF (the name would not survive a round trip).
_NOT_XML = re.compile("[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_WRITE_CHUNK = 1024 * 1024  # the streamed writer flushes its text in pieces of about this size


class ManifestError(DriveError):
    """A manifest file is missing, malformed or inconsistent; the message names the file."""


@dataclass(frozen=True)
class ManifestBlock:
    offset: int
    length: int
    block_id: str
    md5_hex: str  # upper-case hex


@dataclass(frozen=True)
class ManifestPageRange:
    offset: int
    length: int
    md5_hex: str  # upper-case hex MD5 of the range's bytes


class PageRanges(Sequence[ManifestPageRange]):
    """A page blob's ranges, packed: 8 + 8 + 16 bytes a range in arrays, not an object per range.

    A 2 TB agent file is about 500,000 ranges of 4 MiB; as ManifestPageRange objects that would be
    some 100 MB. Items are made on demand. Immutable once handed to a ManifestBlob by convention
    (`append` is for whoever builds it)."""

    __slots__ = ("_offsets", "_lengths", "_md5s")

    def __init__(self, ranges: Iterable[tuple[int, int, bytes]] = ()) -> None:
        self._offsets = array("q")
        self._lengths = array("q")  # "q": a hostile manifest's length must not overflow
        self._md5s = bytearray()
        for offset, length, md5 in ranges:
            self.append(offset, length, md5)

    def append(self, offset: int, length: int, md5: bytes) -> None:
        """Add a range; `md5` is the raw 16-byte digest."""
        if len(md5) != 16:
            raise ValueError("a page range's MD5 is 16 bytes")
        if not (0 <= offset < 1 << 63 and 0 <= length < 1 << 63):
            raise ValueError(f"page range offset {offset} or length {length} is out of range")
        self._offsets.append(offset)
        self._lengths.append(length)
        self._md5s += md5

    def __len__(self) -> int:
        return len(self._offsets)

    @overload
    def __getitem__(self, index: int) -> ManifestPageRange: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[ManifestPageRange]: ...

    def __getitem__(self, index: int | slice) -> ManifestPageRange | Sequence[ManifestPageRange]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("page range index out of range")
        return ManifestPageRange(self._offsets[index], self._lengths[index],
                                 self._md5s[16 * index:16 * index + 16].hex().upper())

    def __iter__(self) -> Iterator[ManifestPageRange]:
        for i in range(len(self)):
            yield self[i]

    def raw(self) -> Iterator[tuple[int, int, bytes]]:
        """(offset, length, raw MD5) per range, without building a ManifestPageRange."""
        md5s = bytes(self._md5s)
        for i, (offset, length) in enumerate(zip(self._offsets, self._lengths, strict=True)):
            yield offset, length, md5s[16 * i:16 * i + 16]

    def covered_bytes(self) -> int:
        """Bytes the ranges describe (what the datacenter writes; the rest of the blob stays zero)."""
        return sum(self._lengths)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PageRanges):
            return (self._offsets == other._offsets and self._lengths == other._lengths
                    and self._md5s == other._md5s)
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self._offsets.tobytes(), self._lengths.tobytes(), bytes(self._md5s)))

    def __repr__(self) -> str:
        return f"PageRanges({len(self)} ranges, {self.covered_bytes()} bytes)"


@dataclass(frozen=True)
class ManifestBlob:
    blob_path: str  # container/prefix/name
    file_path: str  # drive-relative, backslash form: \seed\sub\file.bin
    length: int
    blocks: tuple[ManifestBlock, ...]
    import_disposition: str | None = "overwrite"
    content_md5_hex: str | None = None  # whole-file MD5 (ClientData of drives an earlier seedctl wrote)
    blob_type: str = BLOCK_BLOB  # BLOCK_BLOB (a BlockList) or PAGE_BLOB (a PageRangeList)
    page_ranges: PageRanges = field(default_factory=PageRanges)  # a page blob's ranges; empty for a block blob
    content_crc64: int | None = None  # whole-file Azure CRC-64 (seedctl.crc64), carried in ClientData

    @property
    def is_page_blob(self) -> bool:
        return self.blob_type == PAGE_BLOB


@dataclass(frozen=True)
class DriveManifest:
    drive_id: str
    blobs: tuple[ManifestBlob, ...]
    version: str = MANIFEST_VERSION


class CopiedBlob(NamedTuple):
    """One block blob as drive preparation knows it: its raw digests, no object per block. The
    streamed writer checks and renders it without building a ManifestBlob (the per-file cost of a
    manifest of a million small files), and falls back to the full ManifestBlob checks for anything
    unusual.

    With `crc64` (what this seedctl records) ClientData carries the whole-file CRC-64 and `md5` is
    the one block's MD5 (unused when `blocks` lists several); without it (a file an earlier seedctl
    journaled) `md5` is the whole file's MD5, carried in ClientData as that seedctl wrote it."""

    blob_path: str
    file_path: str
    length: int
    md5: bytes  # 16 bytes: the one block's MD5, which is the whole file's (see above)
    block_size: int
    blocks: bytes = b""  # the block MD5s joined, 16 bytes each; b"": one block, whose MD5 is `md5`
    crc64: int | None = None

    def as_blob(self) -> ManifestBlob:
        """The same blob as a ManifestBlob (block offsets and lengths from the block size)."""
        if self.blocks:
            digests = [self.blocks[i:i + 16] for i in range(0, len(self.blocks), 16)]
        else:
            digests = [self.md5] if self.length else []
        blocks, offset = [], 0
        for d in digests:
            length = min(self.block_size, self.length - offset)
            blocks.append(ManifestBlock(offset, length, block_id_for(d), d.hex().upper()))
            offset += length
        if self.crc64 is not None:
            return ManifestBlob(self.blob_path, self.file_path, self.length, tuple(blocks), "overwrite",
                                content_crc64=self.crc64)
        return ManifestBlob(self.blob_path, self.file_path, self.length, tuple(blocks), "overwrite",
                            self.md5.hex().upper())


PART = struct.Struct("<qq16s")  # one part of a streamed blob: offset, length, raw MD5 (32 bytes)


class StreamedBlob(NamedTuple):
    """A blob whose parts (page ranges, or blocks) stream in as packed `PART` records, in offset
    order: `parts` is bytes, or an iterable of bytes pieces (a range file on the drive read a piece
    at a time; it raises ManifestError at its end when the file is not the one journaled). The
    writer checks every part against the format's rules as it renders it, so a page blob of
    500,000 ranges costs neither an object per range nor the whole list in memory."""

    blob_path: str
    file_path: str
    length: int
    crc64: int
    blob_type: str  # PAGE_BLOB or BLOCK_BLOB
    parts: bytes | Iterable[bytes]

    def as_blob(self) -> ManifestBlob:
        """The same blob as a ManifestBlob (for tests and small blobs: holds every part)."""
        raw = self.parts if isinstance(self.parts, (bytes, bytearray)) else b"".join(self.parts)
        records = [PART.unpack_from(raw, i) for i in range(0, len(raw) - len(raw) % PART.size, PART.size)]
        if self.blob_type == PAGE_BLOB:
            return ManifestBlob(self.blob_path, self.file_path, self.length, (), "overwrite", blob_type=PAGE_BLOB,
                                page_ranges=PageRanges(records), content_crc64=self.crc64)
        return ManifestBlob(self.blob_path, self.file_path, self.length,
                            tuple(make_block(o, d, n) for o, n, d in records), "overwrite",
                            blob_type=self.blob_type, content_crc64=self.crc64)


def block_id_for(md5_digest: bytes) -> str:
    """The Microsoft tool's block id: "MD5/" + Base64 of the raw 16-byte MD5 (always 28 chars)."""
    return "MD5/" + base64.b64encode(md5_digest).decode("ascii")


def make_block(offset: int, md5_digest: bytes, length: int) -> ManifestBlock:
    return ManifestBlock(offset, length, block_id_for(md5_digest), md5_digest.hex().upper())


def xml_char_problem(text: str) -> str | None:
    """Why `text` cannot be written into a manifest as it is (None when it can): a character outside
    XML 1.0's Char production, or a CR. The message shows the character escaped."""
    bad = _NOT_XML.search(text)
    if bad is None:
        return None
    return (f"contains the character {ascii(bad.group())} (U+{ord(bad.group()):04X}) at position {bad.start()}, "
            "which an XML 1.0 manifest cannot carry")


def blob_problems(blob: ManifestBlob) -> list[str]:
    """What is wrong with one blob's block list (empty when it is valid)."""
    where = _where(blob.blob_path)
    problems = _head_problems(blob, where)
    if blob.blob_type == PAGE_BLOB:
        return problems + _page_problems(blob, where)
    if blob.blob_type != BLOCK_BLOB:
        problems.append(f"{where}: blob type {blob.blob_type!r} is neither {BLOCK_BLOB} nor {PAGE_BLOB}")
    if len(blob.page_ranges):
        problems.append(f"{where}: a block blob has page ranges")
    if len(blob.blocks) > MAX_BLOCKS:
        problems.append(f"{where}: {len(blob.blocks)} blocks, more than {MAX_BLOCKS}")
    expected = 0
    id_lengths = set()
    for block in blob.blocks:
        if block.offset != expected:
            problems.append(f"{where}: block at offset {block.offset} leaves a gap or overlap (expected {expected})")
            break
        if not 0 < block.length <= MAX_BLOCK_SIZE:
            problems.append(f"{where}: block at offset {block.offset} has length {block.length} (1..{MAX_BLOCK_SIZE})")
        if not _HEX32.match(block.md5_hex):
            problems.append(f"{where}: block at offset {block.offset} Hash is not upper-case hex MD5")
        try:
            base64.b64decode(block.block_id, validate=True)
        except ValueError:
            problems.append(f"{where}: block id {block.block_id!r} is not Base64")
        id_lengths.add(len(block.block_id))
        expected += block.length
    else:
        if expected != blob.length:
            problems.append(f"{where}: blocks cover {expected} bytes but Length is {blob.length}")
    if len(id_lengths) > 1:
        problems.append(f"{where}: block ids differ in length (Put Block requires equal lengths)")
    return problems


def _where(blob_path: str) -> str:
    return ascii(blob_path)[1:-1] if blob_path else "(no blob path)"


def _head_problems(blob: ManifestBlob, where: str) -> list[str]:
    """What is wrong with a blob's paths, Length, disposition and ClientData (not its block or range list)."""
    problems: list[str] = []
    for name, value in (("BlobPath", blob.blob_path), ("FilePath", blob.file_path)):
        problem = xml_char_problem(value)
        if problem:
            problems.append(f"{where}: {name} {problem}")
    if not blob.blob_path or "/" not in blob.blob_path:
        problems.append(f"{where}: BlobPath must be container/name")
    if not blob.file_path.startswith("\\") or "/" in blob.file_path:
        problems.append(f"{where}: FilePath {blob.file_path!r} must be drive-relative in backslash form")
    elif any(part in ("", ".", "..") or ":" in part or "\0" in part for part in blob.file_path[1:].split("\\")):
        problems.append(f"{where}: FilePath {blob.file_path!r} has an empty, '.', '..' or drive-letter segment: "
                        "it must name a file on the drive")
    if blob.length < 0:
        problems.append(f"{where}: negative Length")
    if blob.import_disposition is not None and blob.import_disposition not in DISPOSITIONS:
        problems.append(f"{where}: ImportDisposition {blob.import_disposition!r} is not one of {DISPOSITIONS}")
    if blob.content_md5_hex is not None and not _HEX32.match(blob.content_md5_hex):
        problems.append(f"{where}: content MD5 is not 32 upper-case hex digits")
    if blob.content_crc64 is not None and not 0 <= blob.content_crc64 < 1 << 64:
        problems.append(f"{where}: content CRC-64 is not an unsigned 64-bit number")
    return problems


def _page_problems(blob: ManifestBlob, where: str) -> list[str]:
    """The page-blob rules of the manifest format: Length a multiple of 512 and within the limit;
    ranges 512-aligned, 1..4 MiB long, ordered by offset, not overlapping, inside the Length, each
    with an MD5. The first broken range is named; the rest are not listed."""
    problems: list[str] = []
    if blob.blocks:
        problems.append(f"{where}: a page blob has a block list")
    if blob.length % PAGE_SIZE:
        problems.append(f"{where}: Length {blob.length} of a page blob is not a multiple of {PAGE_SIZE}")
    if blob.length > MAX_PAGE_BLOB_LENGTH:
        problems.append(f"{where}: Length {blob.length} is over the page-blob limit of {MAX_PAGE_BLOB_LENGTH} bytes")
    end = 0
    for offset, length, md5 in blob.page_ranges.raw():
        if offset % PAGE_SIZE or length % PAGE_SIZE:
            problems.append(f"{where}: page range at offset {offset} (length {length}) is not 512-aligned")
        elif not 0 < length <= MAX_PAGE_RANGE:
            problems.append(f"{where}: page range at offset {offset} has length {length} (512..{MAX_PAGE_RANGE})")
        elif offset < end:
            problems.append(f"{where}: page range at offset {offset} overlaps the one before or is out of order")
        elif offset + length > blob.length:
            problems.append(f"{where}: page range at offset {offset} ends past the Length {blob.length}")
        elif len(md5) != 16:
            problems.append(f"{where}: page range at offset {offset} Hash is not an MD5")
        else:
            end = offset + length
            continue
        break
    return problems


def _cdata(text: str) -> str:
    # exactly xml.etree.ElementTree's escaping of text, so the bytes (and the manifestHash) are the
    # ones the tree-based writer produced
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("\r", "&#13;").replace("\n", "&#10;").replace("\t", "&#09;"))


def _header_problems(drive_id: str, version: str) -> list[str]:
    problems = []
    if xml_char_problem(drive_id):
        problems.append(f"DriveId {xml_char_problem(drive_id)}")
    elif not drive_id or any(c.isspace() for c in drive_id):
        problems.append(f"DriveId {drive_id!r} must be the serial number without spaces")
    if xml_char_problem(version):
        problems.append(f"Version {xml_char_problem(version)}")
    return problems


def _blob_text(blob: ManifestBlob) -> str:
    """One <Blob> element as the tree writer indented it (LF line ends, converted on output)."""
    parts = ["      <Blob>\n        <BlobPath>", _cdata(blob.blob_path), "</BlobPath>\n        <FilePath>",
             _cdata(blob.file_path), "</FilePath>\n"]
    if blob.content_crc64 is not None:
        parts += ["        <ClientData>", CLIENT_DATA_CRC64, str(blob.content_crc64), "</ClientData>\n"]
    elif blob.content_md5_hex:
        parts += ["        <ClientData>", _cdata(CLIENT_DATA_MD5 + blob.content_md5_hex), "</ClientData>\n"]
    parts += ["        <Length>", str(blob.length), "</Length>\n"]
    if blob.import_disposition:
        parts += ["        <ImportDisposition>", _cdata(blob.import_disposition), "</ImportDisposition>\n"]
    if blob.blob_type == PAGE_BLOB:
        parts.append(page_range_list_text(blob.page_ranges))
    elif blob.blocks:
        parts.append("        <BlockList>\n")
        for b in blob.blocks:
            parts += ['          <Block Offset="', str(b.offset), '" Length="', str(b.length), '" Id="',
                      _attr(b.block_id), '" Hash="', _attr(b.md5_hex), '" />\n']
        parts.append("        </BlockList>\n")
    else:
        parts.append("        <BlockList />\n")
    parts.append("      </Blob>\n")
    return "".join(parts)


def page_range_list_text(ranges: PageRanges) -> str:
    """A blob's <PageRangeList> element as `_blob_text` indents it (LF line ends)."""
    if not len(ranges):
        return "        <PageRangeList />\n"
    parts = ["        <PageRangeList>\n"]
    for offset, length, md5 in ranges.raw():
        parts += ['          <PageRange Offset="', str(offset), '" Length="', str(length), '" Hash="',
                  md5.hex().upper(), '" />\n']
    parts.append("        </PageRangeList>\n")
    return "".join(parts)


def _plain(text: str) -> bool:
    """Printable ASCII (so every character is one XML 1.0 can carry, and no CR or LF)."""
    return text.isascii() and text.isprintable()


def _copied_text(blob: CopiedBlob) -> str:
    """`_blob_text` of `blob.as_blob()` with CRLF line ends, checked as `blob_problems` checks it.

    The common case — one block that is the whole file, printable ASCII paths in the expected form —
    is rendered directly: its block list is valid by construction (one block from offset 0 covering
    the Length, a 28-character Base64 id and an upper-case hex Hash made from 16 raw bytes here).
    Everything else goes through ManifestBlob and the full checks."""
    bp, fp, length, md5 = blob.blob_path, blob.file_path, blob.length, blob.md5
    if (blob.blocks or not 0 < length <= min(blob.block_size, MAX_BLOCK_SIZE) or len(md5) != 16
            or (blob.crc64 is not None and not 0 <= blob.crc64 < 1 << 64)
            or not _plain(bp) or "/" not in bp or not _plain(fp) or fp[:1] != "\\" or fp[-1] == "\\"
            or "/" in fp or ":" in fp or "\\\\" in fp or "\\." in fp):
        full = blob.as_blob()
        problems = blob_problems(full)
        if problems:
            raise ManifestError("refusing to write an invalid drive manifest: " + "; ".join(problems[:5]))
        return _blob_text(full).replace("\n", "\r\n")
    if "&" in bp or "<" in bp or ">" in bp:
        bp = _cdata(bp)
    if "&" in fp or "<" in fp or ">" in fp:
        fp = _cdata(fp)
    h = md5.hex().upper()
    client = f"{CLIENT_DATA_MD5}{h}" if blob.crc64 is None else f"{CLIENT_DATA_CRC64}{blob.crc64}"
    return (f"      <Blob>\r\n        <BlobPath>{bp}</BlobPath>\r\n        <FilePath>{fp}</FilePath>\r\n"
            f"        <ClientData>{client}</ClientData>\r\n        <Length>{length}</Length>\r\n"
            "        <ImportDisposition>overwrite</ImportDisposition>\r\n        <BlockList>\r\n"
            f'          <Block Offset="0" Length="{length}" Id="MD5/{binascii.b2a_base64(md5, newline=False).decode()}"'
            f' Hash="{h}" />\r\n        </BlockList>\r\n      </Blob>\r\n')


_PARTS_PER_PIECE = 4096  # parts rendered into one text piece (about 360 KB of XML)


def _streamed_pieces(blob: StreamedBlob) -> Iterator[str]:
    """`_blob_text` of `blob.as_blob()`, with CRLF line ends, in pieces: the parts are checked and
    rendered as they stream in (the rules of `blob_problems`, the first broken part named)."""
    page = blob.blob_type == PAGE_BLOB
    head = ManifestBlob(blob.blob_path, blob.file_path, blob.length, (), "overwrite",
                        blob_type=blob.blob_type, content_crc64=blob.crc64)
    where = _where(blob.blob_path)
    problems = _head_problems(head, where)
    if blob.blob_type not in (PAGE_BLOB, BLOCK_BLOB):
        problems.append(f"{where}: blob type {blob.blob_type!r} is neither {BLOCK_BLOB} nor {PAGE_BLOB}")
    elif page:
        problems += _page_problems(head, where)
    if problems:
        raise ManifestError("refusing to write an invalid drive manifest: " + "; ".join(problems[:5]))
    text = _blob_text(head).replace("\n", "\r\n")
    empty_list = "        <PageRangeList />\r\n" if page else "        <BlockList />\r\n"
    head_text, tail_text = text.split(empty_list)
    yield head_text
    open_tag, close_tag = ("PageRangeList", "PageRangeList") if page else ("BlockList", "BlockList")
    pieces = [blob.parts] if isinstance(blob.parts, (bytes, bytearray)) else blob.parts
    end = count = 0  # page: where the last range ended; block: the next block's offset
    carry = b""
    started = False
    fmt = ('          <PageRange Offset="{}" Length="{}" Hash="{}" />\r\n' if page else
           '          <Block Offset="{}" Length="{}" Id="MD5/{}" Hash="{}" />\r\n')
    for piece in pieces:
        data = carry + piece if carry else piece
        usable = len(data) - len(data) % PART.size
        carry = bytes(data[usable:])
        lines = []
        for offset, length, md5 in PART.iter_unpack(memoryview(data)[:usable]):
            problem = _part_problem(page, blob.length, offset, length, end, count)
            if problem:
                raise ManifestError(f"refusing to write an invalid drive manifest: {where}: {problem}")
            end = offset + length
            count += 1
            if page:
                lines.append(fmt.format(offset, length, md5.hex().upper()))
            else:
                lines.append(fmt.format(offset, length, binascii.b2a_base64(md5, newline=False).decode(),
                                        md5.hex().upper()))
            if len(lines) >= _PARTS_PER_PIECE:
                yield ("" if started else f"        <{open_tag}>\r\n") + "".join(lines)
                started, lines = True, []
        if lines:
            yield ("" if started else f"        <{open_tag}>\r\n") + "".join(lines)
            started = True
    if carry:
        raise ManifestError(f"refusing to write an invalid drive manifest: {where}: its part list ends in a "
                            f"partial record ({len(carry)} bytes)")
    if not page and end != blob.length:
        raise ManifestError(f"refusing to write an invalid drive manifest: {where}: blocks cover {end} bytes but "
                            f"Length is {blob.length}")
    yield (f"        </{close_tag}>\r\n" if started else empty_list) + tail_text


def _part_problem(page: bool, length: int, offset: int, part: int, end: int, count: int) -> str | None:
    """Why one part of a streamed blob breaks the format's rules (None when it does not)."""
    if page:
        if offset % PAGE_SIZE or part % PAGE_SIZE:
            return f"page range at offset {offset} (length {part}) is not 512-aligned"
        if not 0 < part <= MAX_PAGE_RANGE:
            return f"page range at offset {offset} has length {part} (512..{MAX_PAGE_RANGE})"
        if offset < end:
            return f"page range at offset {offset} overlaps the one before or is out of order"
        if offset + part > length:
            return f"page range at offset {offset} ends past the Length {length}"
        return None
    if offset != end:
        return f"block at offset {offset} leaves a gap or overlap (expected {end})"
    if not 0 < part <= MAX_BLOCK_SIZE:
        return f"block at offset {offset} has length {part} (1..{MAX_BLOCK_SIZE})"
    if count >= MAX_BLOCKS:
        return f"more than {MAX_BLOCKS} blocks"
    return None


def stream_manifest(drive_id: str, blobs: Iterable[ManifestBlob | CopiedBlob | StreamedBlob], out: object, *,
                    version: str = MANIFEST_VERSION) -> tuple[str, int]:
    """Write the manifest for `blobs` to the binary stream `out` one blob at a time, hashing as it
    goes; return (upper-case hex MD5, bytes written). Memory does not grow with the number of blobs.

    Deterministic: the same manifest gives the same bytes (UTF-8, CRLF line ends like the Windows
    tool, two-space indentation), byte for byte what the earlier ElementTree writer produced. Every
    blob is checked before it is written; an invalid one raises ManifestError (the caller discards
    the partial output)."""
    problems = _header_problems(drive_id, version)
    if problems:
        raise ManifestError("refusing to write an invalid drive manifest: " + "; ".join(problems))
    md5 = hashlib.md5()
    written = 0
    pending: list[str] = []
    pending_len = 0

    def flush() -> None:
        nonlocal pending, pending_len, written
        data = "".join(pending).encode("utf-8")  # every piece has its CRLF line ends already
        md5.update(data)
        out.write(data)  # type: ignore[attr-defined]
        written += len(data)
        pending, pending_len = [], 0

    pending.append(f'<?xml version="1.0" encoding="UTF-8"?>\n<DriveManifest Version="{_attr(version)}">\n'
                   f"  <Drive>\n    <DriveId>{_cdata(drive_id)}</DriveId>\n".replace("\n", "\r\n"))
    empty = True
    for blob in blobs:
        if type(blob) is CopiedBlob:
            text = _copied_text(blob)
        elif type(blob) is StreamedBlob:
            if empty:
                pending.append("    <BlobList>\r\n")
                empty = False
            for text in _streamed_pieces(blob):
                pending.append(text)
                pending_len += len(text)
                if pending_len >= _WRITE_CHUNK:
                    flush()
            continue
        else:
            problems = blob_problems(blob)  # type: ignore[arg-type]
            if problems:
                raise ManifestError("refusing to write an invalid drive manifest: " + "; ".join(problems[:5]))
            text = _blob_text(blob).replace("\n", "\r\n")  # type: ignore[arg-type]
        if empty:
            pending.append("    <BlobList>\r\n")
            empty = False
        pending.append(text)
        pending_len += len(text)
        if pending_len >= _WRITE_CHUNK:
            flush()
    pending.append("    <BlobList />\r\n" if empty else "    </BlobList>\r\n")
    pending.append("  </Drive>\r\n</DriveManifest>\r\n")
    flush()
    return md5.hexdigest().upper(), written


def to_xml_bytes(manifest: DriveManifest) -> bytes:
    """Serialise deterministically (same manifest, same bytes, same hash)."""
    out = io.BytesIO()
    stream_manifest(manifest.drive_id, manifest.blobs, out, version=manifest.version)
    return out.getvalue()


def write_manifest(manifest: DriveManifest | tuple[str, Iterable[ManifestBlob | CopiedBlob | StreamedBlob]],
                   path: Path) -> str:
    """Write atomically (temp file, fsync, rename, fsync the folder); return the upper-case hex MD5.

    `manifest` is a DriveManifest, or (drive id, an iterable of blobs) to stream a manifest of any
    size without holding it: the blobs are consumed one at a time and the hash is computed as the
    bytes are written. Nothing is left behind when a blob is invalid or the write fails."""
    if isinstance(manifest, DriveManifest):
        drive_id, blobs, version = manifest.drive_id, manifest.blobs, manifest.version
    else:
        (drive_id, blobs), version = manifest, MANIFEST_VERSION
    path = Path(path)
    tmp = path.with_name(path.name + ".seedctl-tmp")
    try:
        # a fresh file: a symbolic link (or anything else) planted under the temporary name is removed,
        # never followed, so the write cannot land outside the drive
        _remove_leftover(tmp)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_BINARY", 0), 0o644)
    except OSError as exc:
        raise ManifestError(f"cannot write manifest {path}: {exc.strerror or exc}") from exc
    try:
        with open(fd, "wb", buffering=0) as fh:
            digest, _ = stream_manifest(drive_id, blobs, fh, version=version)
            fh.flush()
            os.fsync(fh.fileno())
        replace_retrying(tmp, path)  # retried while an antivirus or the indexer holds it (Windows)
        fsync_dir(path.parent)
    except ManifestError:
        tmp.unlink(missing_ok=True)
        raise
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ManifestError(f"cannot write manifest {path}: {exc.strerror or exc}") from exc
    return digest


def _remove_leftover(path: Path) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        raise ManifestError(f"cannot write manifest: {path} is a folder; remove it and re-run")
    os.unlink(path)


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (a no-op where folders cannot be opened, i.e. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def manifest_hash(path: Path) -> str:
    """The job's manifestHash: Base16 (upper-case hex) MD5 of the manifest file's bytes."""
    try:
        return hashlib.md5(_read_manifest_bytes(Path(path))).hexdigest().upper()
    except OSError as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc.strerror or exc}") from exc


def _read_manifest_bytes(path: Path) -> bytes:
    """The manifest's bytes through the one safe reader (seedctl.safefs): a regular file only,
    never a link, FIFO or device, at most CAP_MANIFEST bytes; ManifestError naming it otherwise."""
    try:
        return read_regular(path, what="manifest", cap=CAP_MANIFEST)
    except FileNotFoundError:
        raise ManifestError(f"manifest {path} not found") from None
    except DriveError as exc:
        raise ManifestError(str(exc)) from None


def local_name(tag: str) -> str:
    """An XML tag without its namespace: the service's files may or may not declare one."""
    return tag.rsplit("}", 1)[-1]


def read_manifest(path: Path) -> DriveManifest:
    """Parse and validate a drive manifest file; ManifestError names the file and what is wrong.

    Streamed, in bounded memory whatever the number of page ranges (manifest_reader)."""
    from seedctl.drives.formats.manifest_reader import read_manifest as read

    return read(path)


def parse_manifest(data: bytes, path: Path | str) -> DriveManifest:
    """Parse and validate manifest bytes (e.g. a copy kept beside the spec, or the service's backup);
    `path` names the source in every ManifestError."""
    from seedctl.drives.formats.manifest_reader import parse_manifest as parse

    return parse(data, path)
