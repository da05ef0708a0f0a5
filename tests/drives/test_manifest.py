import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seedctl.drives.formats.manifest import (
    MANIFEST_NAME,
    MAX_BLOCK_SIZE,
    CopiedBlob,
    DriveManifest,
    ManifestBlob,
    ManifestBlock,
    ManifestError,
    block_id_for,
    make_block,
    manifest_hash,
    read_manifest,
    to_xml_bytes,
    write_manifest,
)

from platforms import FIFOS, SYMLINKS


def blob_for(data: bytes, name: str = "a.bin", block: int = MAX_BLOCK_SIZE) -> ManifestBlob:
    blocks = tuple(make_block(o, hashlib.md5(data[o:o + block]).digest(), len(data[o:o + block]))
                   for o in range(0, len(data), block))
    return ManifestBlob(f"backup/seed/{name}", f"\\seed\\{name}", len(data), blocks,
                        content_md5_hex=hashlib.md5(data).hexdigest().upper())


def test_round_trip_and_hash(tmp_path: Path) -> None:
    m = DriveManifest("WD-WCC4N1234567", (blob_for(b"x" * (MAX_BLOCK_SIZE + 5)), blob_for(b"", "empty")))
    path = tmp_path / MANIFEST_NAME
    digest = write_manifest(m, path)
    assert digest == hashlib.md5(path.read_bytes()).hexdigest().upper() == manifest_hash(path)
    assert read_manifest(path) == m
    assert not list(tmp_path.glob("*.seedctl-tmp"))


def test_documented_shape(tmp_path: Path) -> None:
    data = b"hello"
    path = tmp_path / MANIFEST_NAME
    write_manifest(DriveManifest("9WM35C2V", (blob_for(data),)), path)
    text = path.read_text()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert '<DriveManifest Version="2014-11-01">' in text
    # element order of the official grammar: BlobPath, FilePath, ClientData, Length, ImportDisposition, BlockList
    order = [text.index(t) for t in ("<DriveId>", "<BlobList>", "<BlobPath>", "<FilePath>", "<ClientData>",
                                     "<Length>", "<ImportDisposition>", "<BlockList>", "<Block ")]
    assert order == sorted(order)
    md5 = hashlib.md5(data).digest()
    assert f'Id="{block_id_for(md5)}" Hash="{md5.hex().upper()}"' in text
    assert "StorageAccountKey" not in text and "ContainerSas" not in text


def test_block_ids_are_microsoft_style_and_equal_length() -> None:
    ids = {block_id_for(hashlib.md5(bytes([i])).digest()) for i in range(50)}
    assert all(i.startswith("MD5/") and len(i) == 28 for i in ids)
    # the sample from the copy-log documentation: base64 cAzn4h7VVSWXf696qp5Uaw== is 700CE7E2...
    assert block_id_for(bytes.fromhex("700CE7E21ED55525977FAF7AAA9E546B")) == "MD5/cAzn4h7VVSWXf696qp5Uaw=="


@pytest.mark.parametrize("blocks, why", [
    ((ManifestBlock(0, 3, block_id_for(b"0" * 16), "A" * 32), ManifestBlock(4, 2, block_id_for(b"1" * 16), "B" * 32)),
     "gap"),
    ((ManifestBlock(0, 5, block_id_for(b"0" * 16), "a" * 32),), "hex"),
    ((ManifestBlock(0, 4, block_id_for(b"0" * 16), "A" * 32),), "cover"),
    ((ManifestBlock(0, 5, "not base64!", "A" * 32),), "Base64"),
])
def test_writer_refuses_invalid_block_lists(tmp_path: Path, blocks, why) -> None:
    blob = ManifestBlob("backup/a", "\\seed\\a", 5, blocks)
    with pytest.raises(ManifestError, match=why):
        write_manifest(DriveManifest("X1", (blob,)), tmp_path / MANIFEST_NAME)
    assert not (tmp_path / MANIFEST_NAME).exists()


def test_writer_refuses_oversized_block(tmp_path: Path) -> None:
    n = MAX_BLOCK_SIZE + 1
    blob = ManifestBlob("backup/a", "\\seed\\a", n, (ManifestBlock(0, n, block_id_for(b"0" * 16), "A" * 32),))
    with pytest.raises(ManifestError, match="length"):
        write_manifest(DriveManifest("X1", (blob,)), tmp_path / MANIFEST_NAME)


@pytest.mark.parametrize("text, message", [
    ("not xml", "not well-formed"),
    ("<Other/>", "root element"),
    ('<DriveManifest Version="2014-11-01"><Drive><BlobList/></Drive></DriveManifest>', "DriveId must precede"),
    ('<DriveManifest Version="2014-11-01"><Drive><DriveId>X</DriveId><BlobList><Blob><BlobPath>c/a</BlobPath>'
     '<FilePath>\\a</FilePath><Length>5</Length><BlockList><Block Offset="0" Length="4" Id="MD5/cAzn4h7VVSWXf696'
     'qp5Uaw==" Hash="700CE7E21ED55525977FAF7AAA9E546B"/></BlockList></Blob></BlobList></Drive></DriveManifest>',
     "cover 4 bytes but Length is 5"),
    ('<DriveManifest Version="2014-11-01"><Drive><DriveId>X</DriveId><BlobList><Blob><BlobPath>c/a</BlobPath>'
     '<FilePath>\\a</FilePath><Length>x</Length><BlockList/></Blob></BlobList></Drive></DriveManifest>',
     "not an integer"),
])
def test_reader_errors_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / MANIFEST_NAME
    path.write_text(text)
    with pytest.raises(ManifestError, match=message) as info:
        read_manifest(path)
    assert str(path) in str(info.value)


def test_reader_accepts_credential_but_drops_it(tmp_path: Path) -> None:
    path = tmp_path / MANIFEST_NAME
    path.write_text('<DriveManifest Version="2014-11-01"><Drive><DriveId>X</DriveId>'
                    '<StorageAccountKey>c2VjcmV0</StorageAccountKey><BlobList/></Drive></DriveManifest>')
    m = read_manifest(path)
    assert m == DriveManifest("X", ())
    assert "c2VjcmV0" not in repr(m)


def test_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="not found"):
        read_manifest(tmp_path / MANIFEST_NAME)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet="abcdefgh_-é", min_size=1, max_size=12), st.binary(max_size=300)),
                min_size=0, max_size=5, unique_by=lambda t: t[0]),
       st.integers(min_value=1, max_value=64))
def test_round_trip_property(tmp_path_factory, files, block) -> None:
    m = DriveManifest("SER1", tuple(blob_for(data, name, block) for name, data in files))
    path = tmp_path_factory.mktemp("m") / MANIFEST_NAME
    write_manifest(m, path)
    assert read_manifest(path) == m


# --- the streamed writer: byte for byte what the tree writer produced ----------------------------

def _tree_writer(manifest: DriveManifest) -> bytes:
    """The ElementTree serialisation seedctl used before the writer was streamed (kept here as the
    reference: manifests and their hashes must not change across versions)."""
    import xml.etree.ElementTree as ET

    root = ET.Element("DriveManifest", Version=manifest.version)
    drive = ET.SubElement(root, "Drive")
    ET.SubElement(drive, "DriveId").text = manifest.drive_id
    blob_list = ET.SubElement(drive, "BlobList")
    for blob in manifest.blobs:
        el = ET.SubElement(blob_list, "Blob")
        ET.SubElement(el, "BlobPath").text = blob.blob_path
        ET.SubElement(el, "FilePath").text = blob.file_path
        if blob.content_md5_hex:
            ET.SubElement(el, "ClientData").text = "seedctl:content-md5=" + blob.content_md5_hex
        ET.SubElement(el, "Length").text = str(blob.length)
        if blob.import_disposition:
            ET.SubElement(el, "ImportDisposition").text = blob.import_disposition
        blocks = ET.SubElement(el, "BlockList")
        for b in blob.blocks:
            ET.SubElement(blocks, "Block", Offset=str(b.offset), Length=str(b.length), Id=b.block_id, Hash=b.md5_hex)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").replace("\n", "\r\n").encode("utf-8")


_NAME = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20).filter(
    lambda t: not set(t) & {"\ufffe", "\uffff", "/", "\\", ":"} and t not in (".", ".."))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_NAME, st.binary(max_size=200), st.booleans(), st.sampled_from([None, "overwrite",
                                                                                          "rename"])),
                max_size=6),
       st.integers(min_value=1, max_value=50))
def test_streamed_writer_is_byte_identical_to_the_tree_writer(files, block) -> None:
    blobs = []
    for name, data, with_md5, disposition in files:
        b = blob_for(data, name, block)
        blobs.append(ManifestBlob(b.blob_path, b.file_path, b.length, b.blocks, disposition,
                                  b.content_md5_hex if with_md5 else None))
    m = DriveManifest("SER-1&<>", tuple(blobs))
    assert to_xml_bytes(m) == _tree_writer(m)


def test_streamed_write_hashes_what_it_writes_and_accepts_a_generator(tmp_path: Path) -> None:
    import seedctl.drives.formats.manifest as manifest_mod

    blobs = [blob_for(bytes([i % 256]) * (i * 97), f"f{i}.bin", 64) for i in range(300)]
    path = tmp_path / MANIFEST_NAME
    old_chunk = manifest_mod._WRITE_CHUNK
    manifest_mod._WRITE_CHUNK = 1000  # many pieces
    try:
        digest = write_manifest(("S1", (b for b in blobs)), path)
    finally:
        manifest_mod._WRITE_CHUNK = old_chunk
    data = path.read_bytes()
    assert digest == hashlib.md5(data).hexdigest().upper()
    assert data == to_xml_bytes(DriveManifest("S1", tuple(blobs)))
    assert read_manifest(path) == DriveManifest("S1", tuple(blobs))


# --- issue 13, item 3: the writer refuses what XML 1.0 cannot carry (defence in depth) -------------

@pytest.mark.parametrize("char", ["\ufffe", "\uffff", "\ud800", "\udcff", "\x00", "\x01", "\x1f", "\r"],
                         ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("where", ["blob", "file", "drive"])
def test_writer_refuses_characters_xml_cannot_carry(tmp_path: Path, char: str, where: str) -> None:
    good = blob_for(b"abc", "ok.bin")
    name = f"a{char}b.bin"
    if where == "blob":
        m = DriveManifest("S1", (good, ManifestBlob(f"backup/{name}", "\\seed\\x.bin", 3, good.blocks)))
    elif where == "file":
        m = DriveManifest("S1", (good, ManifestBlob("backup/x.bin", f"\\seed\\{name}", 3, good.blocks)))
    else:
        m = DriveManifest(f"S{char}1", (good,))
    path = tmp_path / MANIFEST_NAME
    (tmp_path / "before").write_bytes(b"x")
    with pytest.raises(ManifestError) as info:
        write_manifest(m, path)
    message = str(info.value)
    assert f"U+{ord(char):04X}" in message and "XML 1.0" in message
    assert char not in message  # shown escaped, so the message itself prints cleanly
    assert sorted(p.name for p in tmp_path.iterdir()) == ["before"]  # neither the manifest nor a temporary


def test_writer_refuses_mid_stream_and_leaves_nothing(tmp_path: Path) -> None:
    good = blob_for(b"abc", "ok.bin")
    bad = ManifestBlob("backup/\uffff", "\\seed\\y.bin", 3, good.blocks)
    path = tmp_path / MANIFEST_NAME
    path.write_bytes(b"the previous manifest")
    with pytest.raises(ManifestError, match="U\\+FFFF"):
        write_manifest(("S1", iter([good] * 5000 + [bad])), path)
    assert path.read_bytes() == b"the previous manifest"
    assert sorted(p.name for p in tmp_path.iterdir()) == [MANIFEST_NAME]


@SYMLINKS
def test_writer_does_not_write_through_a_planted_temporary_link(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"keep")
    drive = tmp_path / "drive"
    drive.mkdir()
    (drive / (MANIFEST_NAME + ".seedctl-tmp")).symlink_to(outside)
    write_manifest(DriveManifest("S1", (blob_for(b"abc"),)), drive / MANIFEST_NAME)
    assert outside.read_bytes() == b"keep"
    assert read_manifest(drive / MANIFEST_NAME).drive_id == "S1"


@pytest.mark.parametrize("file_path", ["\\seed\\..\\..\\etc\\passwd", "\\seed\\.\\a", "\\seed\\\\a", "\\C:\\a",
                                       "\\seed\\a:stream"])
def test_reader_and_writer_refuse_file_paths_that_leave_the_drive(tmp_path: Path, file_path: str) -> None:
    good = blob_for(b"abc")
    m = DriveManifest("S1", (ManifestBlob("backup/a", file_path, 3, good.blocks),))
    with pytest.raises(ManifestError, match="FilePath"):
        write_manifest(m, tmp_path / MANIFEST_NAME)
    text = _tree_writer(m)
    (tmp_path / MANIFEST_NAME).write_bytes(text)
    with pytest.raises(ManifestError, match="FilePath"):
        read_manifest(tmp_path / MANIFEST_NAME)


@FIFOS
def test_reader_refuses_a_fifo_without_waiting(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / MANIFEST_NAME)
    with pytest.raises(ManifestError, match="not a regular file"):
        read_manifest(tmp_path / MANIFEST_NAME)


def test_parse_manifest_names_the_given_source() -> None:
    from seedctl.drives.formats.manifest import parse_manifest

    with pytest.raises(ManifestError, match="local copy of drive S1"):
        parse_manifest(b"<nope", "local copy of drive S1")
    assert parse_manifest(to_xml_bytes(DriveManifest("S1", ())), "x") == DriveManifest("S1", ())


# --- issue 17: drive preparation's blobs (raw digests, no object per block) -------------------------

def _copied(name: str, data: bytes, block: int = MAX_BLOCK_SIZE) -> CopiedBlob:
    digests = [hashlib.md5(data[o:o + block]).digest() for o in range(0, len(data), block)]
    whole = hashlib.md5(data).digest()
    return CopiedBlob(f"backup/seed/{name}", "\\seed\\" + name.replace("/", "\\"), len(data), whole, block,
                      b"" if digests in ([], [whole]) else b"".join(digests))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_NAME, st.binary(max_size=200)), max_size=6), st.integers(min_value=1, max_value=300))
def test_copied_blobs_are_written_byte_for_byte_as_their_manifest_blobs(files, block) -> None:
    copied = [_copied(name, data, block) for name, data in files]
    assert to_xml_bytes(DriveManifest("S-1", tuple(copied))) == _tree_writer(  # type: ignore[arg-type]
        DriveManifest("S-1", tuple(c.as_blob() for c in copied)))


def test_copied_blob_of_one_block_matches_blob_for() -> None:
    for name, data in [("a&b<c>.bin", b"x" * 5000), ("f.bak", b"y"), ("e", b""), (".hidden", b"zz")]:
        assert _copied(name, data).as_blob() == blob_for(data, name)


@pytest.mark.parametrize("blob, message", [
    (CopiedBlob("nocontainer", "\\seed\\a", 3, b"\x01" * 16, 4 << 20), "container/name"),
    (CopiedBlob("backup/a", "\\seed\\..\\a", 3, b"\x01" * 16, 4 << 20), "FilePath"),
    (CopiedBlob("backup/a", "\\seed\\a:b", 3, b"\x01" * 16, 4 << 20), "FilePath"),
    (CopiedBlob("backup/a\uffff", "\\seed\\a", 3, b"\x01" * 16, 4 << 20), "U\\+FFFF"),
    (CopiedBlob("backup/a", "\\seed\\a", MAX_BLOCK_SIZE + 1, b"\x01" * 16, MAX_BLOCK_SIZE + 1), "has length"),
], ids=["no-container", "dotdot", "colon", "non-character", "oversized-block"])
def test_copied_blobs_are_checked_like_manifest_blobs(tmp_path: Path, blob: CopiedBlob, message: str) -> None:
    path = tmp_path / MANIFEST_NAME
    with pytest.raises(ManifestError, match=message):
        write_manifest(("S1", [_copied("ok", b"abc"), blob]), path)
    assert not list(tmp_path.iterdir())
