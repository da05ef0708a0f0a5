"""Property-based fuzzing of the copy-log reader (`parse_drive_log`): whatever bytes a log blob holds
(the service's, another tool's, damaged), verify gets a DriveLog or a SeedctlError — never another
exception, never an unbounded parse."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seedctl.errors import SeedctlError
from seedctl.lifecycle.storage import DriveLog, parse_drive_log
from seedctl.sandbox.copylog import BlobResult, BlockResult, copy_log, drive_log, verbose_log

pytestmark = pytest.mark.reliability
FUZZ = settings(max_examples=int(os.environ.get("SEEDCTL_FUZZ_EXAMPLES", "300")), deadline=None)


def _samples() -> list[bytes]:
    from seedctl.drives.formats.manifest import PageRanges

    ranges = PageRanges([(0, 512, bytes(16)), (4096, 1024, bytes(range(16)))])
    blobs = [BlobResult("c/ok.bin", "\\ok.bin", 10, "Completed", "overwrite", "Created", crc64=2 ** 64 - 1),
             BlobResult("c/bad.bin", "\\bad.bin", 8192, "CompletedWithErrors", "overwrite", "Cancelled",
                        [BlockResult(0, 4096, "MD5/a", "A" * 32, "Corrupted")]),
             BlobResult("c/p.BaseBlob", "\\p.BaseBlob", 8192, "CompletedWithErrors", "overwrite", "Created",
                        blob_type="PageBlob", page_ranges=ranges, range_status={1: "Corrupted"})]
    return [drive_log("D1", "CompletedWithErrors", blobs, errors_only=False), copy_log("D1", blobs),
            verbose_log(blobs)]


SAMPLES = _samples()


def _read(data: bytes) -> None:
    try:
        log = parse_drive_log(data)
    except SeedctlError:
        return
    assert isinstance(log, DriveLog)


def test_the_samples_read_back() -> None:
    classic, copy, verbose = (parse_drive_log(s) for s in SAMPLES)
    assert {e.blob_path: e.status for e in classic.blobs} == {
        "c/ok.bin": "Completed", "c/bad.bin": "CompletedWithErrors", "c/p.BaseBlob": "CompletedWithErrors"}
    assert "PageRange offset 4096: Corrupted" in {e.blob_path: e.detail for e in classic.blobs}["c/p.BaseBlob"]
    assert {e.blob_path for e in copy.blobs} == {"c/bad.bin", "c/p.BaseBlob"} and copy.version == "2021-08-01"
    assert [(f.blob_path, f.crc64, f.cloud_format) for f in verbose.files] == [("c/ok.bin", 2 ** 64 - 1, "BlockBlob")]


@FUZZ
@given(st.binary(max_size=2048))
def test_arbitrary_bytes(data: bytes) -> None:
    _read(data)


@FUZZ
@given(st.sampled_from(SAMPLES), st.data())
def test_samples_with_bytes_overwritten_or_cut(sample: bytes, data: st.DataObject) -> None:
    at = data.draw(st.integers(0, len(sample)))
    junk = data.draw(st.binary(max_size=16))
    _read(sample[:at] + junk + sample[at + len(junk):])
    _read(sample[:at])


@pytest.mark.parametrize("text", ['<File CloudFormat="PageBlob" Path="c\\\\x" Size="-1" crc64="0"></File>',
                                  '<File Path="c\\\\x" Size="1" crc64="18446744073709551616"></File>',
                                  '<File Path="c\\\\x" Size="1" crc64="abc"></File>'])
def test_verbose_entries_out_of_range_are_refused(text: str) -> None:
    with pytest.raises(SeedctlError, match="Size or crc64"):
        parse_drive_log(text.encode())
