"""The Import/Export drive manifest (`DriveManifest.xml`, format version 2014-11-01): writer and reader.

The grammar is the official "Azure Import/Export service manifest file format" page (dn529098):
`DriveManifest@Version` > `Drive` > `DriveId`, optional credential, `BlobList`s of `Blob`s, each with
`BlobPath`, `FilePath`, optional `ClientData`, `Length`, optional `ImportDisposition`, then a
`BlockList` of `Block@Offset,@Length,@Id,@Hash`.

Decisions (see docs/drives.md):
- Block blobs only (the backup agent's staging files are plain files); blocks of at most 4 MiB,
  contiguous from offset 0, at most 50,000 per blob.
- Block ids are "MD5/" + Base64(raw block MD5), as the Microsoft tool writes them; they are always
  28 characters, so ids within one blob have equal length as Put Block requires.
- Every Hash is upper-case hex MD5.
- No storage credential is written: a storage account key or SAS on a drive that travels by courier
  would be a secret outside the import job. The reader accepts one (older manifests) but never keeps it.
- The whole-file MD5 rides in `ClientData` (which the service does not interpret) as
  `seedctl:content-md5=<HEX>`, so `verify` can check whole files.
- The drive header hash is the empty string: the service documents no format for it, and the
  Microsoft SDK/CLI/PowerShell samples and recorded real calls send "" and are accepted.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from seedctl.errors import DriveError

MANIFEST_NAME = "DriveManifest.xml"
MANIFEST_FILE = "\\" + MANIFEST_NAME  # the job's manifestFile (drive-relative, backslash form)
MANIFEST_VERSION = "2014-11-01"
DRIVE_HEADER_HASH = ""  # see module docstring
MAX_BLOCK_SIZE = 4 * 1024 * 1024
MAX_BLOCKS = 50_000
MAX_BLOB_LENGTH = MAX_BLOCK_SIZE * MAX_BLOCKS  # ~195 GiB: what a 2014-11-01 block list can describe
DISPOSITIONS = ("rename", "no-overwrite", "overwrite")
CLIENT_DATA_MD5 = "seedctl:content-md5="

_HEX32 = re.compile(r"^[0-9A-F]{32}$")


class ManifestError(DriveError):
    """A manifest file is missing, malformed or inconsistent; the message names the file."""


@dataclass(frozen=True)
class ManifestBlock:
    offset: int
    length: int
    block_id: str
    md5_hex: str  # upper-case hex


@dataclass(frozen=True)
class ManifestBlob:
    blob_path: str  # container/prefix/name
    file_path: str  # drive-relative, backslash form: \seed\sub\file.bin
    length: int
    blocks: tuple[ManifestBlock, ...]
    import_disposition: str | None = "overwrite"
    content_md5_hex: str | None = None  # whole-file MD5, carried in ClientData


@dataclass(frozen=True)
class DriveManifest:
    drive_id: str
    blobs: tuple[ManifestBlob, ...]
    version: str = MANIFEST_VERSION


def block_id_for(md5_digest: bytes) -> str:
    """The Microsoft tool's block id: "MD5/" + Base64 of the raw 16-byte MD5 (always 28 chars)."""
    return "MD5/" + base64.b64encode(md5_digest).decode("ascii")


def make_block(offset: int, md5_digest: bytes, length: int) -> ManifestBlock:
    return ManifestBlock(offset, length, block_id_for(md5_digest), md5_digest.hex().upper())


def blob_problems(blob: ManifestBlob) -> list[str]:
    """What is wrong with one blob's block list (empty when it is valid)."""
    problems: list[str] = []
    where = blob.blob_path or "(no blob path)"
    if not blob.blob_path or "/" not in blob.blob_path:
        problems.append(f"{where}: BlobPath must be container/name")
    if not blob.file_path.startswith("\\") or "/" in blob.file_path:
        problems.append(f"{where}: FilePath {blob.file_path!r} must be drive-relative in backslash form")
    if blob.length < 0:
        problems.append(f"{where}: negative Length")
    if blob.import_disposition is not None and blob.import_disposition not in DISPOSITIONS:
        problems.append(f"{where}: ImportDisposition {blob.import_disposition!r} is not one of {DISPOSITIONS}")
    if blob.content_md5_hex is not None and not _HEX32.match(blob.content_md5_hex):
        problems.append(f"{where}: content MD5 is not 32 upper-case hex digits")
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


def to_xml_bytes(manifest: DriveManifest) -> bytes:
    """Serialise deterministically (same manifest, same bytes, same hash)."""
    problems = [p for blob in manifest.blobs for p in blob_problems(blob)]
    if not manifest.drive_id or any(c.isspace() for c in manifest.drive_id):
        problems.append(f"DriveId {manifest.drive_id!r} must be the serial number without spaces")
    if problems:
        raise ManifestError("refusing to write an invalid drive manifest: " + "; ".join(problems[:5]))
    root = ET.Element("DriveManifest", Version=manifest.version)
    drive = ET.SubElement(root, "Drive")
    ET.SubElement(drive, "DriveId").text = manifest.drive_id
    blob_list = ET.SubElement(drive, "BlobList")
    for blob in manifest.blobs:
        el = ET.SubElement(blob_list, "Blob")
        ET.SubElement(el, "BlobPath").text = blob.blob_path
        ET.SubElement(el, "FilePath").text = blob.file_path
        if blob.content_md5_hex:
            ET.SubElement(el, "ClientData").text = CLIENT_DATA_MD5 + blob.content_md5_hex
        ET.SubElement(el, "Length").text = str(blob.length)
        if blob.import_disposition:
            ET.SubElement(el, "ImportDisposition").text = blob.import_disposition
        blocks = ET.SubElement(el, "BlockList")
        for b in blob.blocks:
            ET.SubElement(blocks, "Block", Offset=str(b.offset), Length=str(b.length), Id=b.block_id, Hash=b.md5_hex)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    # CRLF like the Windows tool; the XML declaration says UTF-8 as the documented sample does
    text = '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
    return text.replace("\n", "\r\n").encode("utf-8")


def write_manifest(manifest: DriveManifest, path: Path) -> str:
    """Write atomically (temp file, fsync, rename, fsync the folder); return the upper-case hex MD5."""
    data = to_xml_bytes(manifest)
    path = Path(path)
    tmp = path.with_name(path.name + ".seedctl-tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ManifestError(f"cannot write manifest {path}: {exc.strerror or exc}") from exc
    return hashlib.md5(data).hexdigest().upper()


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
        return hashlib.md5(Path(path).read_bytes()).hexdigest().upper()
    except OSError as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc.strerror or exc}") from exc


def local_name(tag: str) -> str:
    """An XML tag without its namespace: the service's files may or may not declare one."""
    return tag.rsplit("}", 1)[-1]


def _int(text: str | None, what: str, path: Path) -> int:
    try:
        value = int((text or "").strip())
    except ValueError:
        raise ManifestError(f"manifest {path}: {what} {text!r} is not an integer") from None
    if value < 0:
        raise ManifestError(f"manifest {path}: {what} {value} is negative")
    return value


def read_manifest(path: Path) -> DriveManifest:
    """Parse and validate a drive manifest; ManifestError names the file and what is wrong."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ManifestError(f"manifest {path} not found") from None
    except OSError as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc.strerror or exc}") from exc
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ManifestError(f"manifest {path} is not well-formed XML: {exc}") from None
    if local_name(root.tag) != "DriveManifest":
        raise ManifestError(f"manifest {path}: root element is {local_name(root.tag)!r}, expected DriveManifest")
    version = root.get("Version") or ""
    drives = [c for c in root if local_name(c.tag) == "Drive"]
    if len(drives) != 1:
        raise ManifestError(f"manifest {path}: expected one Drive element, found {len(drives)}")
    drive_id = None
    blobs: list[ManifestBlob] = []
    for child in drives[0]:
        name = local_name(child.tag)
        if name == "DriveId":
            drive_id = (child.text or "").strip()
        elif name in ("StorageAccountKey", "ContainerSas", "ClientCreator"):
            continue  # accepted, never kept (a credential is a secret)
        elif name == "BlobList":
            if drive_id is None:
                raise ManifestError(f"manifest {path}: DriveId must precede BlobList")
            for blob_el in child:
                if local_name(blob_el.tag) == "Blob":
                    blobs.append(_read_blob(blob_el, path))
                elif local_name(blob_el.tag) not in ("MetadataPath", "PropertiesPath"):
                    raise ManifestError(f"manifest {path}: unexpected {local_name(blob_el.tag)} in BlobList")
        else:
            raise ManifestError(f"manifest {path}: unexpected element {name} in Drive")
    if not drive_id:
        raise ManifestError(f"manifest {path}: DriveId is missing or empty")
    manifest = DriveManifest(drive_id=drive_id, blobs=tuple(blobs), version=version)
    problems = [p for blob in manifest.blobs for p in blob_problems(blob)]
    if problems:
        raise ManifestError(f"manifest {path} is invalid: " + "; ".join(problems[:5]))
    return manifest


def _read_blob(el: ET.Element, path: Path) -> ManifestBlob:
    fields: dict[str, str] = {}
    blocks: list[ManifestBlock] = []
    saw_list = False
    for child in el:
        name = local_name(child.tag)
        if name == "BlockList":
            saw_list = True
            for b in child:
                if local_name(b.tag) != "Block":
                    raise ManifestError(f"manifest {path}: unexpected {local_name(b.tag)} in BlockList")
                blocks.append(ManifestBlock(
                    offset=_int(b.get("Offset"), "Block Offset", path),
                    length=_int(b.get("Length"), "Block Length", path),
                    block_id=b.get("Id") or "",
                    md5_hex=(b.get("Hash") or ""),
                ))
        elif name == "PageRangeList":
            raise ManifestError(f"manifest {path}: page blobs are not supported by seedctl")
        else:
            fields[name] = (child.text or "").strip()
    blob_path = fields.get("BlobPath", "")
    if "FilePath" not in fields or "Length" not in fields or not blob_path:
        raise ManifestError(f"manifest {path}: Blob {blob_path or '?'} lacks BlobPath, FilePath or Length")
    if not saw_list:
        raise ManifestError(f"manifest {path}: Blob {blob_path} has no BlockList")
    client = fields.get("ClientData", "")
    content_md5 = client[len(CLIENT_DATA_MD5):] if client.startswith(CLIENT_DATA_MD5) else None
    return ManifestBlob(
        blob_path=blob_path,
        file_path=fields["FilePath"],
        length=_int(fields["Length"], f"Length of {blob_path}", path),
        blocks=tuple(blocks),
        import_disposition=fields.get("ImportDisposition"),
        content_md5_hex=content_md5,
    )
