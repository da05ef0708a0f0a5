"""Reading a drive manifest (`DriveManifest.xml`, 2014-11-01) in bounded memory.

A backup agent's seed is a few files of up to terabytes, each a page blob whose manifest entry lists
one `PageRange` per 4 MiB: about 500,000 elements for a 2 TB file. A tree parser would hold every
one of them as an object at once (hundreds of megabytes); this reader is streamed instead: pyexpat
calls a handler per element, each range goes straight into the blob's packed `PageRanges` (32 bytes
a range) and nothing else is kept. The file itself is fed to the parser in pieces.

The manifest is untrusted input (it came on a drive through the post, or from a copy): a DOCTYPE or
entity declaration is refused (the format has none; it is how entity-expansion bombs start), text
fields are capped, and every error is a ManifestError naming the source. Which elements may appear
where, and the checks on each blob, are those of the format (`manifest.blob_problems`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO
from xml.parsers import expat

from seedctl.drives.formats.manifest import (
    BLOCK_BLOB,
    CLIENT_DATA_CRC64,
    CLIENT_DATA_MD5,
    PAGE_BLOB,
    DriveManifest,
    ManifestBlob,
    ManifestBlock,
    ManifestError,
    PageRanges,
    blob_problems,
)
from seedctl.errors import DriveError
from seedctl.safefs import CAP_MANIFEST, open_stream

READ_CHUNK = 1 << 20  # bytes handed to the parser at a time
MAX_TEXT = 64 * 1024  # a text field longer than this is refused (a blob name is at most 1,024 characters)
MAX_PROBLEMS = 5  # blob problems named in one error before the read stops
_CREDENTIALS = frozenset({"StorageAccountKey", "ContainerSas", "ClientCreator"})  # accepted, never kept
_HEX = frozenset("0123456789abcdefABCDEF")


def open_manifest(path: Path) -> BinaryIO:
    """The manifest file opened for reading through the one safe reader (seedctl.safefs): a regular
    file only (a link, FIFO or device under the manifest's name is refused, never followed, waited
    on or read without end), at most CAP_MANIFEST bytes as it is read."""
    try:
        return open_stream(path, what="manifest", cap=CAP_MANIFEST)
    except FileNotFoundError:
        raise ManifestError(f"manifest {path} not found") from None
    except ManifestError:
        raise
    except DriveError as exc:
        raise ManifestError(str(exc)) from None


def read_manifest(path: Path) -> DriveManifest:
    """Parse and validate a drive manifest file; ManifestError names the file and what is wrong."""
    path = Path(path)
    with open_manifest(path) as fh:
        try:
            return _parse(iter(lambda: fh.read(READ_CHUNK), b""), path)
        except OSError as exc:
            raise ManifestError(f"cannot read manifest {path}: {exc.strerror or exc}") from exc
        except ManifestError:
            raise
        except DriveError as exc:  # the safe reader's cap, met while streaming
            raise ManifestError(str(exc)) from None


def parse_manifest(data: bytes, path: Path | str) -> DriveManifest:
    """Parse and validate manifest bytes (e.g. a copy kept beside the spec, or the service's backup);
    `path` names the source in every ManifestError."""
    return _parse((data,), path)


def _parse(chunks: Iterable[bytes], path: Path | str) -> DriveManifest:
    reader = _Reader(path)
    parser = reader.parser
    try:
        for chunk in chunks:
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise ManifestError(f"manifest {path} is not well-formed XML: {exc}") from None
    except (LookupError, ValueError) as exc:  # an unknown encoding in the declaration, and the like
        raise ManifestError(f"manifest {path} is not well-formed XML: {exc}") from None
    return reader.result()


class _Blob:
    """One <Blob> while it is read: its text fields, and its block list or page ranges."""

    __slots__ = ("fields", "blocks", "ranges", "blob_type", "lists")

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.blocks: list[ManifestBlock] = []
        self.ranges = PageRanges()
        self.blob_type = BLOCK_BLOB
        self.lists = 0  # BlockList / PageRangeList elements seen


class _Reader:
    """The parser's handlers: a stack of element names, the blob being read, the blobs done.

    Depths: 1 DriveManifest, 2 Drive, 3 DriveId / credential / BlobList, 4 Blob, 5 its fields and
    lists, 6 Block / PageRange. Text is collected only for DriveId and a Blob's fields."""

    def __init__(self, path: Path | str) -> None:
        self.path = path
        self.stack: list[str] = []
        self.version = ""
        self.drives = 0
        self.drive_id: str | None = None
        self.blobs: list[ManifestBlob] = []
        self.problems: list[str] = []
        self.blob: _Blob | None = None
        self.text: list[str] | None = None  # collecting the current field's text
        self.text_len = 0
        self.ignore_below = 0  # >0: inside an element whose content is skipped (from that depth on)
        self.range_open = False  # inside a PageRange (the fast handlers)
        self.range_nested = 0  # elements open below that PageRange
        p = expat.ParserCreate(namespace_separator="}")
        p.buffer_text = True
        p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        p.StartElementHandler = self.start
        p.EndElementHandler = self.end
        p.CharacterDataHandler = self.chars
        p.StartDoctypeDeclHandler = self.doctype
        p.EntityDeclHandler = self.doctype
        self.parser = p

    def fail(self, message: str) -> ManifestError:
        return ManifestError(f"manifest {self.path}: {message}")

    def doctype(self, *_args: object) -> None:
        raise self.fail("holds a DOCTYPE or ENTITY declaration; the manifest format has none")

    # -- handlers ---------------------------------------------------------------------------------
    def start(self, tag: str, attrs: dict[str, str]) -> None:
        name = tag.rsplit("}", 1)[-1]
        self.stack.append(name)
        depth = len(self.stack)
        if self.ignore_below:
            return
        if depth == 1:
            if name != "DriveManifest":
                raise self.fail(f"root element is {name!r}, expected DriveManifest")
            self.version = attrs.get("Version") or ""
        elif depth == 2:
            if name == "Drive":
                self.drives += 1
            if name != "Drive" or self.drives > 1:
                self.ignore_below = depth  # other root children were never read; later Drives are counted
        elif depth == 3:
            if name == "DriveId":
                self.collect()
            elif name in _CREDENTIALS:
                self.ignore_below = depth  # a secret: not even its text is kept
            elif name == "BlobList":
                if self.drive_id is None:
                    raise self.fail("DriveId must precede BlobList")
            else:
                raise self.fail(f"unexpected element {name} in Drive")
        elif depth == 4:
            if name == "Blob":
                self.blob = _Blob()
            elif name in ("MetadataPath", "PropertiesPath"):
                self.ignore_below = depth
            else:
                raise self.fail(f"unexpected {name} in BlobList")
        elif depth == 5:
            self.start_blob_child(name)
        elif depth == 6:
            self.start_item(name, attrs)
        else:
            self.ignore_below = depth  # below a Block or PageRange: nothing the format defines

    def start_blob_child(self, name: str) -> None:
        blob = self.blob
        assert blob is not None
        if name in ("BlockList", "PageRangeList"):
            blob.lists += 1
            if blob.lists > 1:
                raise self.fail("a Blob has both a BlockList and a PageRangeList")
            if name == "PageRangeList":
                blob.blob_type = PAGE_BLOB
                # the hot path of a large file (~500,000 ranges for 2 TB): handlers of its own
                self.parser.StartElementHandler = self.range_start
                self.parser.EndElementHandler = self.range_end
        else:
            self.collect()

    def start_item(self, name: str, attrs: dict[str, str]) -> None:
        """A child of a BlockList, or an element inside a text field (PageRangeList children have
        handlers of their own: `range_start`)."""
        parent = self.stack[-2]
        blob = self.blob
        if parent == "BlockList":
            assert blob is not None
            if name != "Block":
                raise self.fail(f"unexpected {name} in BlockList")
            blob.blocks.append(ManifestBlock(
                offset=self.integer(attrs.get("Offset"), "Block Offset"),
                length=self.integer(attrs.get("Length"), "Block Length"),
                block_id=attrs.get("Id") or "",
                md5_hex=attrs.get("Hash") or ""))
        else:
            self.ignore_below = len(self.stack)  # inside a text field: the field's own text is what counts

    def range_start(self, tag: str, attrs: dict[str, str]) -> None:
        """A child of a PageRangeList (or anything inside one of its PageRanges)."""
        if self.range_open:
            self.range_nested += 1  # below a PageRange: nothing the format defines
            return
        if tag != "PageRange" and tag.rsplit("}", 1)[-1] != "PageRange":
            raise self.fail(f"unexpected {tag.rsplit('}', 1)[-1]} in PageRangeList")
        self.range_open = True
        try:
            hash_hex = attrs["Hash"]
            md5 = bytes.fromhex(hash_hex) if len(hash_hex) == 32 else b""
            self.blob.ranges.append(int(attrs["Offset"]), int(attrs["Length"]), md5)  # type: ignore[union-attr]
        except (KeyError, ValueError):
            raise self.range_problem(attrs) from None

    def range_problem(self, attrs: dict[str, str]) -> ManifestError:
        """What is wrong with a PageRange the fast path refused."""
        hash_hex = attrs.get("Hash") or ""
        if len(hash_hex) != 32 or not _HEX.issuperset(hash_hex):
            return self.fail(f"PageRange Hash {hash_hex[:40]!r} is not a hex MD5")
        offset = self.integer(attrs.get("Offset"), "PageRange Offset")  # each raises what it finds
        self.integer(attrs.get("Length"), "PageRange Length")
        return self.fail(f"PageRange at offset {offset} is invalid")

    def range_end(self, tag: str) -> None:
        if self.range_nested:
            self.range_nested -= 1
        elif self.range_open:
            self.range_open = False
        else:  # the PageRangeList itself ends
            self.parser.StartElementHandler = self.start
            self.parser.EndElementHandler = self.end
            self.end(tag)

    def end(self, _tag: str) -> None:
        depth = len(self.stack)
        name = self.stack.pop()
        if self.ignore_below:
            if depth == self.ignore_below:
                self.ignore_below = 0
            return
        if depth == 3 and name == "DriveId":
            self.drive_id = self.collected()
        elif depth == 5 and self.text is not None:
            assert self.blob is not None
            self.blob.fields[name] = self.collected()
        elif depth == 4 and name == "Blob":
            self.finish_blob()

    def chars(self, data: str) -> None:
        if self.text is None or self.ignore_below:
            return
        self.text_len += len(data)
        if self.text_len > MAX_TEXT:
            raise self.fail(f"a {self.stack[-1]} element holds more than {MAX_TEXT} characters")
        self.text.append(data)

    # -- helpers ----------------------------------------------------------------------------------
    def collect(self) -> None:
        self.text, self.text_len = [], 0

    def collected(self) -> str:
        text = "".join(self.text or ()).strip()
        self.text = None
        return text

    def integer(self, text: str | None, what: str, limit: int = 1 << 63) -> int:
        try:
            value = int((text or "").strip())
        except ValueError:
            raise self.fail(f"{what} {(text or '')[:40]!r} is not an integer") from None
        if value < 0:
            raise self.fail(f"{what} {value} is negative")
        if value >= limit:
            raise self.fail(f"{what} {value} is out of range")
        return value

    def finish_blob(self) -> None:
        blob, self.blob = self.blob, None
        assert blob is not None
        fields = blob.fields
        blob_path = fields.get("BlobPath", "")
        if "FilePath" not in fields or "Length" not in fields or not blob_path:
            raise self.fail(f"Blob {blob_path[:200] or '?'} lacks BlobPath, FilePath or Length")
        if not blob.lists:
            raise self.fail(f"Blob {blob_path[:200]} has no BlockList or PageRangeList")
        client = fields.get("ClientData", "")
        content_md5 = client[len(CLIENT_DATA_MD5):] if client.startswith(CLIENT_DATA_MD5) else None
        content_crc64 = None
        if client.startswith(CLIENT_DATA_CRC64):
            content_crc64 = self.integer(client[len(CLIENT_DATA_CRC64):], f"ClientData CRC-64 of {blob_path[:200]}",
                                         limit=1 << 64)  # unsigned: half of all CRCs are 2**63 or more
        done = ManifestBlob(
            blob_path=blob_path,
            file_path=fields["FilePath"],
            length=self.integer(fields["Length"], f"Length of {blob_path[:200]}"),
            blocks=tuple(blob.blocks),
            import_disposition=fields.get("ImportDisposition"),
            content_md5_hex=content_md5,
            blob_type=blob.blob_type,
            page_ranges=blob.ranges,
            content_crc64=content_crc64,
        )
        self.problems.extend(blob_problems(done))
        if len(self.problems) >= MAX_PROBLEMS:
            raise ManifestError(f"manifest {self.path} is invalid: " + "; ".join(self.problems[:MAX_PROBLEMS]))
        self.blobs.append(done)

    def result(self) -> DriveManifest:
        if self.drives != 1:
            raise self.fail(f"expected one Drive element, found {self.drives}")
        if not self.drive_id:
            raise self.fail("DriveId is missing or empty")
        if self.problems:
            raise ManifestError(f"manifest {self.path} is invalid: " + "; ".join(self.problems))
        return DriveManifest(drive_id=self.drive_id, blobs=tuple(self.blobs), version=self.version)
