"""File names as hostile input: what XML 1.0 or Blob storage cannot carry is refused by the scan.

The property test creates each generated name on disk (as bytes, so undecodable names and
surrogates reach the scan as Linux gives them), scans, and checks that the name is either refused
with a clear, printable message, or survives manifest write -> XML parse -> the blob-name rules.
"""

from __future__ import annotations

import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from seedctl.drives.formats.manifest import DriveManifest, ManifestBlob, make_block, to_xml_bytes
from seedctl.drives.placement.scan import (
    MAX_BLOB_NAME,
    MAX_SEGMENTS,
    blob_name_problems,
    display_path,
    scan_staging,
)

posix_only = pytest.mark.skipif(os.name == "nt", reason="file names as bytes are a POSIX notion")
pytestmark = pytest.mark.reliability
EXAMPLES = int(os.environ.get("SEEDCTL_FUZZ_EXAMPLES", "300"))


def make(root: Path, name: bytes, data: bytes = b"x") -> None:
    with open(os.path.join(os.fsencode(root), name), "wb") as fh:
        fh.write(data)


def listing(root: Path) -> list[tuple[bytes, bytes]]:
    base = os.fsencode(root)
    return sorted((n, open(os.path.join(base, n), "rb").read()) for n in os.listdir(base))


@posix_only
@pytest.mark.parametrize("name, shown, why", [
    ("a\ufffeb.bin".encode(), "a\\ufffeb.bin", "U+FFFE"),
    ("\uffff".encode(), "\\uffff", "U+FFFF"),
    ("x\ufdd0.bin".encode(), "x\\ufdd0.bin", "non-character"),
    ("\U0010ffff.bin".encode(), "\\U0010ffff.bin", "U+10FFFF"),
    ("\ud800.bin".encode("utf-8", "surrogatepass"), "\\xed\\xa0\\x80.bin", "not valid Unicode"),
    (b"bad\xff.bin", "bad\\xff.bin", "not valid Unicode"),
    (b"tab\there", "tab\\x09here", "cannot hold"),
    (b"esc\x1b[2J", "esc\\x1b[2J", "cannot hold"),
    ("c1\x85".encode(), "c1\\x85", "cannot hold"),
])
def test_names_xml_or_blob_storage_cannot_carry_are_refused(tmp_path: Path, name: bytes, shown: str,
                                                            why: str) -> None:
    root = tmp_path / "s"
    root.mkdir()
    make(root, b"good.bin")
    make(root, name)
    before = listing(root)
    result = scan_staging(root, container="c1")
    assert [f.rel_path for f in result.files] == ["good.bin"]
    assert len(result.errors) == 1
    error = result.errors[0]
    assert error.path == shown and why in error.message, str(error)
    assert str(error).isprintable() and str(error).encode("utf-8")  # safe on any terminal or log
    assert listing(root) == before


@posix_only
def test_a_bad_folder_name_is_reported_for_its_files(tmp_path: Path) -> None:
    root = tmp_path / "s"
    (root / "ok").mkdir(parents=True)
    os.mkdir(os.path.join(os.fsencode(root), "d\uffff".encode()))
    make(root / "d\uffff", b"f.bin")
    make(root / "ok", b"f.bin")
    result = scan_staging(root, container="c1")
    assert [f.rel_path for f in result.files] == ["ok/f.bin"]
    assert [e.path for e in result.errors] == ["d\\uffff/f.bin"]


def test_display_path() -> None:
    assert display_path("plain/ok é 😀.bin") == "plain/ok é 😀.bin"
    assert display_path("a\x00b\x7f\u200b") == "a\\x00b\\x7f\\u200b"
    assert display_path("\udcff") == "\\xff"


# --- the property ----------------------------------------------------------------------------

# The blob-name rules of the service, restated independently of the scan's implementation:
# https://learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata
def service_accepts(blob_name: str) -> bool:
    if not 1 <= len(blob_name) <= MAX_BLOB_NAME or blob_name.count("/") + 1 > MAX_SEGMENTS:
        return False
    if blob_name.endswith((".", "/", "\\")):
        return False
    for c in blob_name:
        code = ord(c)
        if code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF:
            return False
        if 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE:
            return False
    return True


_specials = st.sampled_from([
    "CON", "con.txt", "Lpt1.log", "NUL", "aux.", "name.", "name ", "name. .", " lead", "a:b", 'q"', "x<y>",
    "pipe|", "star*", "what?", "back\\slash", "\ufeffbom", "\u200bzw", "\U0001f600", "\ufdef", "\uffff",
    "\U0001fffe", "e\u0301", "\u0130", "\t", "\r\n", "\x7f", "\x9f", "\ue000", "..a", "...",
])
_unicode = st.text(st.characters(blacklist_characters="/\x00", blacklist_categories=()), min_size=1, max_size=24)
_names = st.one_of(
    _unicode.map(lambda s: s.encode("utf-8", "surrogatepass")),       # any code point, surrogates too
    st.binary(min_size=1, max_size=40),                               # raw bytes: undecodable names
    st.tuples(st.one_of(_specials, _unicode), st.sampled_from(["", ".", " ", ". ", " ."]))
      .map(lambda t: (t[0] + t[1]).encode("utf-8", "surrogatepass")),  # trailing dots and spaces
)


@posix_only
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=_names)
def test_every_name_is_refused_clearly_or_round_trips(name: bytes) -> None:
    assume(b"/" not in name and b"\x00" not in name and name not in (b".", b"..") and len(name) <= 255)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "s"
        root.mkdir()
        make(root, name, b"data")
        before = listing(root)
        result = scan_staging(root, container="c1", prefix="seed")
        assert listing(root) == before
        on_disk = os.fsdecode(name)
        if not result.files:
            assert len(result.errors) == 1, result.problems
            error = result.errors[0]
            assert error.path == display_path(on_disk)
            assert "cannot become a blob name" in error.message
            assert str(error).isprintable() and str(error).encode("utf-8")
            return
        (staged,) = result.files
        assert staged.rel_path == on_disk and result.errors == ()
        blob = ManifestBlob(staged.blob_path, "\\" + staged.rel_path, 4, (make_block(0, b"\x01" * 16, 4),))
        xml = to_xml_bytes(DriveManifest("SERIAL1", (blob,)))
        parsed = ET.fromstring(xml)
        blob_path = parsed.find("./Drive/BlobList/Blob/BlobPath").text
        file_path = parsed.find("./Drive/BlobList/Blob/FilePath").text
        assert blob_path == staged.blob_path == f"c1/seed/{on_disk}"
        assert file_path == "\\" + on_disk
        container, _, blob_name = blob_path.partition("/")
        assert container == "c1" and blob_name_problems(blob_name) == []
        assert service_accepts(blob_name), blob_name
