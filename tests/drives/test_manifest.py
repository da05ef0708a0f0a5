import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seedctl.drives.manifest import (
    MANIFEST_NAME,
    MAX_BLOCK_SIZE,
    DriveManifest,
    ManifestBlob,
    ManifestBlock,
    ManifestError,
    block_id_for,
    make_block,
    manifest_hash,
    read_manifest,
    write_manifest,
)


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
