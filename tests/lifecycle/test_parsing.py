"""The service's copy-log and incomplete-list formats, and the repair spec's naming and patterns."""

from __future__ import annotations

import fnmatch

import pytest

from seedctl.lifecycle.repair import escape_glob, next_name
from seedctl.lifecycle.storage import parse_drive_log, parse_incomplete_list, parse_verified, verified_key
from seedctl.sandbox.copylog import BlobResult, BlockResult, drive_log


def test_drive_log_names_failed_blobs_and_the_failing_block() -> None:
    blobs = [BlobResult("c/ok.bin", "\\seed\\ok.bin", 10, "Completed", "overwrite", "Created"),
             BlobResult("c/bad.bin", "\\seed\\bad.bin", 8 << 20, "CompletedWithErrors", "overwrite", "Cancelled",
                        [BlockResult(0, 4 << 20, "MD5/a", "A" * 32, "Committed"),
                         BlockResult(4 << 20, 4 << 20, "MD5/b", "B" * 32, "Corrupted")])]
    log = parse_drive_log(drive_log("D1", "CompletedWithErrors", blobs, errors_only=False))
    assert (log.drive_id, log.status) == ("D1", "CompletedWithErrors")
    by_path = {e.blob_path: e for e in log.blobs}
    assert by_path["c/ok.bin"].status == "Completed" and by_path["c/ok.bin"].detail == ""
    assert by_path["c/bad.bin"].status == "CompletedWithErrors"
    assert "Block offset 4194304: Corrupted" in by_path["c/bad.bin"].detail


def test_drive_log_with_a_namespace_and_garbage() -> None:
    xml = (b'<DriveLog xmlns="urn:x" Version="2014-11-01"><DriveId>D2</DriveId>'
           b'<Status>BitLockerKeyInvalid</Status></DriveLog>')
    assert parse_drive_log(xml).status == "BitLockerKeyInvalid"
    with pytest.raises(Exception, match="not well-formed"):
        parse_drive_log(b"<DriveLog>")


def test_incomplete_blob_list() -> None:
    data = b"<IncompleteBlobList>\n  <BlobPath>c/a b.bin</BlobPath>\n  <BlobPath>c/x.bin</BlobPath>\n</IncompleteBlobList>"
    assert parse_incomplete_list(data) == ["c/a b.bin", "c/x.bin"]
    assert parse_incomplete_list(b"<oops><BlobPath>c/y</BlobPath>") == ["c/y"]


@pytest.mark.parametrize("path", ["a.bin", "dir/[draft] *final?.bak", "x/y/z.txt"])
def test_escaped_patterns_match_exactly_the_path(path: str) -> None:
    pattern = escape_glob(path)
    assert fnmatch.fnmatchcase(path, pattern)
    assert not fnmatch.fnmatchcase(path + "x", pattern)
    assert not fnmatch.fnmatchcase("other/" + path.replace("/", "_"), pattern)


def test_repair_names_count_up_and_fit() -> None:
    assert next_name("fs-seed-2026-11", 24) == "fs-seed-2026-11-r1"
    assert next_name("fs-seed-2026-11-r1", 24) == "fs-seed-2026-11-r2"
    assert next_name("abcdefghijklmnopqrstuvwx", 24) == "abcdefghijklmnopqrstu-r1"
    assert next_name("abcdefghijklmnopqrst-uvw", 24) == "abcdefghijklmnopqrst-r1"  # no "--"


def test_verified_record_is_per_job_and_case_insensitive() -> None:
    meta = {"SeedctlCreatedBy": "s", verified_key("my-job").upper(): "at=2026-01-01T00:00:00;digest=abc;files=3"}
    record = parse_verified(meta, "my-job")
    assert record is not None and (record.digest, record.files) == ("abc", 3)
    assert parse_verified(meta, "other-job") is None
    assert parse_verified({verified_key("my-job"): "garbage"}, "my-job") is None
