"""Protected DACLs for secret files on Windows (seedctl/win32/acl.py): the SDDL logic over access
lists as Windows prints them, and the Win32 calls over recorded advapi32/kernel32 answers.

The SDDL strings are the shapes ConvertSecurityDescriptorToStringSecurityDescriptorW prints for
files in the usual places (documented defaults, not captured here: no Windows machine):
- under C:\\ on Windows Server, files inherit the root's entries, among them Users read & execute
  (0x1200a9) and SYSTEM / Administrators full control;
- under the user's profile only SYSTEM, Administrators and the user;
- what seedctl gives its own files: protected, OWNER RIGHTS / SYSTEM / Administrators.
"""

from __future__ import annotations

import ctypes
import errno

import pytest

from seedctl.win32 import ERROR_ACCESS_DENIED, ERROR_ALREADY_EXISTS, ERROR_FILE_EXISTS
from seedctl.win32.acl import (
    CREATE_NEW,
    DACL_SECURITY_INFORMATION,
    FILE_FLAG_OPEN_REPARSE_POINT,
    INVALID_HANDLE_VALUE,
    PRIVATE_SDDL,
    PROTECTED_DACL_SECURITY_INFORMATION,
    Acls,
    broad_readers,
    icacls_fix,
    is_private_sddl,
    parse_sddl,
)

from .recorded import Fail, FakeDll, fill

USER = "S-1-5-21-3623811015-3361044348-30300820-1013"
UNDER_C = (f"O:{USER}G:{USER}D:AI(A;ID;FA;;;BA)(A;ID;FA;;;SY)(A;ID;0x1200a9;;;BU)(A;ID;0x1301bf;;;{USER})")
UNDER_PROFILE = f"O:{USER}D:AI(A;ID;FA;;;SY)(A;ID;FA;;;BA)(A;ID;FA;;;{USER})"
SEEDCTL_OWN = f"O:{USER}D:P(A;;FA;;;OW)(A;;FA;;;SY)(A;;FA;;;BA)"
ROOT_FOLDER = "O:SYD:PAI(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)(A;OICIIO;GA;;;CO)(A;OICI;0x1200a9;;;BU)(A;CI;LC;;;BU)(A;CI;DC;;;BU)"


def test_parse_sddl() -> None:
    dacl = parse_sddl(UNDER_C)
    assert dacl.owner == USER and not dacl.protected
    assert [(a.kind, a.sid, a.rights) for a in dacl.aces] == [
        ("A", "S-1-5-32-544", 0x1F01FF), ("A", "S-1-5-18", 0x1F01FF), ("A", "S-1-5-32-545", 0x1200A9),
        ("A", USER, 0x1301BF)]
    assert parse_sddl(SEEDCTL_OWN).protected and parse_sddl(PRIVATE_SDDL).protected
    assert parse_sddl("O:BAD:P(A;;FA;;;SY)").owner == "S-1-5-32-544"


@pytest.mark.parametrize("sddl, readers", [
    (UNDER_C, ["Users"]),
    (UNDER_PROFILE, []),
    (SEEDCTL_OWN, []),
    ("D:(A;;FA;;;WD)", ["Everyone"]),
    ("D:AI(A;ID;0x1301bf;;;AU)(A;ID;FR;;;BU)", ["Authenticated Users", "Users"]),
    ("D:(A;;GR;;;S-1-5-32-545)", ["Users"]),                  # numeric SID, generic read
    ("D:(A;;FX;;;BU)(A;;0x100000;;;WD)", []),                 # execute only; SYNCHRONIZE only: no content
    ("D:(D;;FR;;;BU)(A;;FA;;;BU)", []),                       # a deny entry takes read back
    ("D:(D;;FR;;;WD)(A;;FA;;;AU)", []),                       # ... also one for Everyone
    (ROOT_FOLDER, ["Users"]),                                 # the inherit-only CREATOR OWNER entry does not count
    ("D:(A;;CCSWRP;;;BU)", ["Users"]),                        # object-right letters: CC is bit 0, read data
])
def test_broad_readers(sddl: str, readers: list[str]) -> None:
    assert broad_readers(sddl) == readers


def test_is_private() -> None:
    assert is_private_sddl(SEEDCTL_OWN)
    assert is_private_sddl(f"O:{USER}D:P(A;;FA;;;{USER})(A;;FA;;;SY)(A;;FA;;;BA)")  # the owner by its SID
    assert not is_private_sddl(UNDER_PROFILE)  # only those three, but inherited: the folder decides
    assert not is_private_sddl(UNDER_C)
    assert not is_private_sddl(f"O:{USER}D:P(A;;FA;;;OW)(A;;FR;;;S-1-5-21-1-2-3-1001)")  # another user
    assert is_private_sddl("O:BAD:P(A;;FA;;;SY)(A;;FA;;;BA)(A;OICIIO;GA;;;CO)")


def test_icacls_fix_uses_sids_not_localised_names() -> None:
    fix = icacls_fix("C:\\keys\\d1.txt", UNDER_C)
    assert fix == (f'icacls "C:\\keys\\d1.txt" /inheritance:r /grant:r "*{USER}:F" *S-1-5-18:F *S-1-5-32-544:F')


# -- the Win32 calls ----------------------------------------------------------------------------

SD, ACL, HANDLE = 0x5000, 0x6000, 0x1A4


def fakes(**kernel32: object) -> tuple[FakeDll, FakeDll, list]:
    advapi32 = FakeDll(ConvertStringSecurityDescriptorToSecurityDescriptorW=fill(2, SD),
                       ConvertSecurityDescriptorToStringSecurityDescriptorW=fill(3, UNDER_C),
                       GetSecurityDescriptorDacl=fill(2, ACL), GetNamedSecurityInfoW=fill(7, SD, 0),
                       SetNamedSecurityInfoW=0)
    answers = {"CreateFileW": HANDLE, "CreateDirectoryW": 1, "CloseHandle": 1, "LocalFree": None, **kernel32}
    opened: list = []
    return advapi32, FakeDll(**answers), opened


def make(advapi32: FakeDll, kernel32: FakeDll, opened: list) -> Acls:
    def open_osfhandle(handle: int, flags: int) -> int:
        opened.append((handle, flags))
        return 7
    return Acls(advapi32, kernel32, open_osfhandle)


def test_create_file_private_from_its_creation() -> None:
    advapi32, kernel32, opened = fakes()
    fd = make(advapi32, kernel32, opened).create_file("C:\\seed\\.seedctl\\plan.json")
    assert fd == 7 and opened[0][0] == HANDLE
    (sddl, revision, _, _), = advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW.calls
    assert sddl == PRIVATE_SDDL and revision == 1
    (path, _, _, sa, disposition, flags, _), = kernel32.CreateFileW.calls
    assert path == "C:\\seed\\.seedctl\\plan.json" and disposition == CREATE_NEW  # never opens what is there
    assert flags & FILE_FLAG_OPEN_REPARSE_POINT  # a link planted there is not followed
    assert sa._obj.lpSecurityDescriptor == SD and sa._obj.nLength == ctypes.sizeof(sa._obj)
    (freed,), = kernel32.LocalFree.calls  # the descriptor, once the file exists
    assert freed.value == SD and kernel32.names() == ["CreateFileW", "LocalFree"]


def test_create_file_that_exists_or_is_refused() -> None:
    advapi32, kernel32, opened = fakes(CreateFileW=Fail(ERROR_FILE_EXISTS, INVALID_HANDLE_VALUE))
    with pytest.raises(FileExistsError):
        make(advapi32, kernel32, opened).create_file("C:\\k")
    assert opened == [] and "LocalFree" in kernel32.names()  # the descriptor is freed on failure too
    advapi32, kernel32, opened = fakes(CreateFileW=Fail(ERROR_ACCESS_DENIED, INVALID_HANDLE_VALUE))
    with pytest.raises(PermissionError) as info:
        make(advapi32, kernel32, opened).create_file("C:\\k")
    assert info.value.winerror == ERROR_ACCESS_DENIED and info.value.errno == errno.EACCES


def test_create_folder() -> None:
    advapi32, kernel32, opened = fakes()
    make(advapi32, kernel32, opened).create_folder("C:\\seed\\.seedctl")
    (path, sa), = kernel32.CreateDirectoryW.calls
    assert path == "C:\\seed\\.seedctl" and sa._obj.lpSecurityDescriptor == SD
    advapi32, kernel32, opened = fakes(CreateDirectoryW=Fail(ERROR_ALREADY_EXISTS))
    with pytest.raises(FileExistsError):
        make(advapi32, kernel32, opened).create_folder("C:\\seed\\.seedctl")


def test_protect_sets_a_protected_dacl() -> None:
    advapi32, kernel32, opened = fakes()
    make(advapi32, kernel32, opened).protect("C:\\sandbox")
    (path, kind, what, owner, group, acl, sacl), = advapi32.SetNamedSecurityInfoW.calls
    assert path == "C:\\sandbox" and kind == 1 and acl.value == ACL and owner is group is sacl is None
    assert what == DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION
    advapi32.SetNamedSecurityInfoW.answer = ERROR_ACCESS_DENIED  # returns the error code itself
    with pytest.raises(PermissionError):
        make(advapi32, kernel32, opened).protect("C:\\sandbox")


def test_sddl_reads_owner_and_dacl_and_frees_both() -> None:
    advapi32, kernel32, opened = fakes()
    assert make(advapi32, kernel32, opened).sddl("C:\\keys\\d1.txt") == UNDER_C
    (path, kind, what, *_), = advapi32.GetNamedSecurityInfoW.calls
    assert path == "C:\\keys\\d1.txt" and kind == 1 and what == 0x1 | 0x4  # OWNER | DACL
    assert kernel32.names().count("LocalFree") == 2
    advapi32.GetNamedSecurityInfoW.answer = 2  # ERROR_FILE_NOT_FOUND, returned
    with pytest.raises(FileNotFoundError):
        make(advapi32, kernel32, opened).sddl("C:\\gone")
