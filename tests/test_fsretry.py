"""Renames retried on Windows sharing violations (seedctl.fsretry): an antivirus, the indexer or a
backup agent holding a just-written file makes os.replace fail for a moment with WinError 32 (or 5,
33). The failures are made here as Windows reports them (OSError with `winerror`)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from seedctl import fsretry


def windows_error(code: int) -> OSError:
    exc = PermissionError(errno.EACCES, "The process cannot access the file because it is being used by "
                                        "another process")
    exc.winerror = code
    return exc


class FlakyRename:
    def __init__(self, failures: list[OSError]) -> None:
        self.failures = failures
        self.calls: list[tuple] = []

    def __call__(self, src, dst, **kw) -> None:  # noqa: ANN001
        self.calls.append((src, dst, kw))
        if self.failures:
            raise self.failures.pop(0)


@pytest.mark.parametrize("code", [32, 5, 33])
def test_a_sharing_violation_is_retried_until_the_rename_succeeds(code: int) -> None:
    rename, pauses = FlakyRename([windows_error(code), windows_error(code)]), []
    fsretry.replace("a.tmp", "a", rename=rename, sleep=pauses.append)
    assert len(rename.calls) == 3 and pauses == list(fsretry.PAUSES[:2])


def test_dir_fds_are_passed_on() -> None:
    rename = FlakyRename([])
    fsretry.replace("t", "d", src_dir_fd=3, dst_dir_fd=3, rename=rename, sleep=lambda s: None)
    assert rename.calls == [("t", "d", {"src_dir_fd": 3, "dst_dir_fd": 3})]


def test_it_gives_up_after_about_two_seconds() -> None:
    rename, pauses = FlakyRename([windows_error(32) for _ in range(20)]), []
    with pytest.raises(PermissionError) as info:
        fsretry.replace("a.tmp", "a", rename=rename, sleep=pauses.append)
    assert info.value.winerror == 32 and len(rename.calls) == len(fsretry.PAUSES) + 1
    assert 1.5 <= sum(pauses) <= 3


def test_other_errors_and_posix_errors_are_raised_at_once() -> None:
    for exc in (windows_error(2), PermissionError(errno.EACCES, "denied"), FileNotFoundError(errno.ENOENT, "x")):
        rename = FlakyRename([exc])
        with pytest.raises(OSError):
            fsretry.replace("a.tmp", "a", rename=rename, sleep=lambda s: pytest.fail("slept"))
        assert len(rename.calls) == 1


def test_a_real_rename(tmp_path: Path) -> None:
    (tmp_path / "a.tmp").write_text("new")
    (tmp_path / "a").write_text("old")
    fsretry.replace(tmp_path / "a.tmp", tmp_path / "a")
    assert (tmp_path / "a").read_text() == "new" and not (tmp_path / "a.tmp").exists()
