"""seedctl.private_files' Windows branch, run here over a stand-in for the Win32 ACL calls.

`FolderAcls` does what `seedctl.win32.acl.Acls` asks Windows to do, on this machine's files, and
remembers the descriptor each file or folder would carry (by inode, so a rename keeps it). The
real calls are tested against recorded answers in test_acl.py; this is the flow around them:
folders and files created private from the start, `.seedctl` beside the spec created private
before the apply lock is put in it, `is_private` and the secret-file warning reading the DACL back.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from seedctl.errors import LockError, SeedctlError
from seedctl.private_files import (
    create_private,
    is_private,
    make_private,
    private_dir,
    readers_warning,
    write_private,
)
from seedctl.spec.secretfile import permission_warning
from seedctl.win32.acl import PRIVATE_SDDL

from .test_acl import UNDER_C, UNDER_PROFILE, USER

pytestmark = pytest.mark.skipif(os.name == "nt", reason="the stand-in runs the Windows branch on POSIX "
                                "files (on Windows the real calls run: test_private_files.py)")


class FolderAcls:
    def __init__(self, inherited: str = UNDER_C) -> None:
        self.inherited = inherited  # what a file gets from its folder when seedctl does not set it
        self.descriptors: dict[tuple[int, int], str] = {}
        self.calls: list[tuple[str, str]] = []

    def _key(self, path: str) -> tuple[int, int]:
        st = os.lstat(path)
        return st.st_dev, st.st_ino

    def create_file(self, path: str, sddl: str = PRIVATE_SDDL) -> int:
        self.calls.append(("create_file", path))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)  # CREATE_NEW
        self.descriptors[self._key(path)] = sddl
        return fd

    def create_folder(self, path: str, sddl: str = PRIVATE_SDDL) -> None:
        self.calls.append(("create_folder", path))
        os.mkdir(path)
        self.descriptors[self._key(path)] = sddl

    def protect(self, path: str, sddl: str = PRIVATE_SDDL) -> None:
        self.calls.append(("protect", path))
        self.descriptors[self._key(path)] = sddl

    def sddl(self, path: str) -> str:
        own = self.descriptors.get(self._key(path))
        return f"O:{USER}{own}" if own else self.inherited


def test_written_private_from_creation_folders_included(tmp_path: Path) -> None:
    acls = FolderAcls()
    target = write_private(tmp_path / "new" / "deeper" / "k.key", b"secret\n", acls=acls)
    assert target.read_bytes() == b"secret\n"
    kinds = [kind for kind, _ in acls.calls]
    assert kinds == ["create_folder", "create_folder", "create_file"]  # never created open, then narrowed
    assert is_private(target, acls=acls) and is_private(tmp_path / "new" / "deeper", acls=acls)
    assert readers_warning(target, "file:k.key", acls=acls) is None


def test_a_file_made_elsewhere_inherits_and_is_not_private(tmp_path: Path) -> None:
    acls = FolderAcls()
    (tmp_path / "plain").write_text("x")
    assert not is_private(tmp_path / "plain", acls=acls)
    assert not is_private(tmp_path / "plain", acls=FolderAcls(inherited=UNDER_PROFILE))  # not protected
    make_private(tmp_path / "plain", acls=acls)
    assert acls.calls[-1] == ("protect", str(tmp_path / "plain")) and is_private(tmp_path / "plain", acls=acls)


def test_create_private_refuses_what_exists(tmp_path: Path) -> None:
    acls = FolderAcls()
    os.close(create_private(tmp_path / "fresh", acls=acls))
    with pytest.raises(SeedctlError, match="already exists"):
        create_private(tmp_path / "fresh", acls=acls)


def test_the_secret_file_warning_reads_the_access_list(tmp_path: Path) -> None:
    key = tmp_path / "d1.txt"
    key.write_text("238810-662376-448998-450120-652806-203390-606320-483076")
    warning = readers_warning(key, "file:d1.txt", acls=FolderAcls(inherited=UNDER_C))
    assert warning is not None and "can be read by Users" in warning
    assert f'icacls "{key}" /inheritance:r /grant:r "*{USER}:F"' in warning
    assert "238810" not in warning
    assert readers_warning(key, "file:d1.txt", acls=FolderAcls(inherited=UNDER_PROFILE)) is None
    # the spec loader's warning takes the Windows branch, whatever the mode bits say
    assert "can be read by Users" in permission_warning(0o600, key, "file:d1.txt", acls=FolderAcls())

    class Unreadable(FolderAcls):
        def sddl(self, path: str) -> str:
            raise PermissionError(13, "Access is denied")
    assert readers_warning(key, "file:d1.txt", acls=Unreadable()) is None


def test_private_dir_reports_a_folder_it_cannot_create(tmp_path: Path) -> None:
    class Refusing(FolderAcls):
        def create_folder(self, path: str, sddl: str = PRIVATE_SDDL) -> None:
            raise PermissionError(13, "Access is denied", path)
    with pytest.raises(LockError, match="cannot create the folder"):
        private_dir(tmp_path / "x", error=LockError, acls=Refusing())
