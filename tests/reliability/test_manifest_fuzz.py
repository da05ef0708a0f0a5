"""Property-based fuzzing of the drive-manifest reader: whatever bytes sit in DriveManifest.xml
(damaged disk, hand edits, another tool's file), the reader returns a manifest or raises
ManifestError naming the file — never another exception. verify, repair and the sandbox
datacenter all read manifests from drives that have been through the post."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seedctl.drives.formats.manifest import (
    DriveManifest,
    ManifestBlob,
    ManifestError,
    make_block,
    read_manifest,
    to_xml_bytes,
)

pytestmark = pytest.mark.reliability
EXAMPLES = int(os.environ.get("SEEDCTL_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _valid_manifest_bytes() -> bytes:
    import hashlib

    blocks = tuple(make_block(i * 4, hashlib.md5(bytes([i])).digest(), 4) for i in range(3))
    blob = ManifestBlob("seed/a/b.bin", "\\seed\\a\\b.bin", 12, blocks, "overwrite", "0" * 32)
    return to_xml_bytes(DriveManifest("WD-123", (blob,)))


VALID = _valid_manifest_bytes()


def _read(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "DriveManifest.xml"
    path.write_bytes(data)
    try:
        manifest = read_manifest(path)
    except ManifestError as exc:
        assert "DriveManifest.xml" in str(exc)
        return
    assert isinstance(manifest, DriveManifest)


@FUZZ
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(tmp_path, data):
    _read(tmp_path, data)


@FUZZ
@given(st.integers(0, len(VALID) - 1), st.binary(min_size=1, max_size=16))
def test_valid_manifest_with_bytes_overwritten(tmp_path, at, junk):
    _read(tmp_path, VALID[:at] + junk + VALID[at + len(junk):])


@FUZZ
@given(st.integers(0, len(VALID)))
def test_truncated_manifest(tmp_path, at):
    _read(tmp_path, VALID[:at])


@FUZZ
@given(st.sampled_from([b"Offset", b"Length", b"Hash", b"Id", b"BlobPath", b"FilePath", b"DriveId", b"Block"]),
       st.text(max_size=30).map(lambda t: t.encode("utf-8")))
def test_fields_replaced_with_arbitrary_values(tmp_path, field, value):
    # replace every value of one attribute/element with fuzz
    import re

    text = re.sub(rb'(' + field + rb'=")[^"]*(")', lambda m: m.group(1) + value.replace(b'"', b"") + m.group(2), VALID)
    text = re.sub(rb"(<" + field + rb">)[^<]*(</)", lambda m: m.group(1) + value.replace(b"<", b"") + m.group(2), text)
    _read(tmp_path, text)


def test_billion_laughs_is_refused(tmp_path):
    bomb = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
            + b"".join(b'<!ENTITY %s "&%s;&%s;&%s;&%s;&%s;&%s;&%s;&%s;&%s;&%s;">' % ((chr(98 + i).encode(),)
                                                                                 + (chr(97 + i).encode(),) * 10)
                       for i in range(8))
            + b']><DriveManifest Version="2014-11-01"><Drive><DriveId>&i;</DriveId></Drive></DriveManifest>')
    path = tmp_path / "DriveManifest.xml"
    path.write_bytes(bomb)
    with pytest.raises(ManifestError):
        read_manifest(path)


@pytest.mark.parametrize("encoding", [b"U-F-8", b"cp1252x", b"utf-16"])
def test_unknown_or_wrong_encoding_declaration_is_a_manifest_error(tmp_path, encoding):
    # found by the fuzzer: an unknown encoding name made ElementTree raise LookupError, not ParseError
    damaged = VALID.replace(b'encoding="UTF-8"', b'encoding="' + encoding + b'"', 1)
    assert damaged != VALID
    _read(tmp_path, damaged)


def test_copy_log_with_unknown_encoding_is_a_clear_error():
    from seedctl.errors import SeedctlError
    from seedctl.lifecycle.storage import parse_drive_log, parse_incomplete_list

    with pytest.raises(SeedctlError):
        parse_drive_log(b'<?xml version="1.0" encoding="U-F-8"?><DriveLog><DriveId>X</DriveId></DriveLog>junk<')
    assert parse_incomplete_list(b'<?xml version="1.0" encoding="U-F-8"?><x><BlobPath>a/b</BlobPath></x>') == ["a/b"]
