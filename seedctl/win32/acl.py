"""Who may read seedctl's secret files on Windows: protected DACLs, and reading them back.

POSIX mode bits do not decide access on Windows; a file's DACL does, and a new file inherits its
folder's: under the user's profile that is private, under `C:\\seeding` it usually lets every user
read. So every file and folder seedctl creates for secrets (key files of sandbox drives, saved
plans, records, the sandbox's token and store) gets a *protected* DACL — inheritance from the folder
cut — that gives full control to exactly three: the owner (the user running seedctl), SYSTEM and the
Administrators group:

    D:P(A;OICI;FA;;;OW)(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)

(`OW` is OWNER RIGHTS, S-1-3-4: whoever owns the object; `OICI` passes the same entries on to what
is later created in a folder). The descriptor is given to CreateFileW / CreateDirectoryW, so a file
is private from its first byte, as 0600 from `open` is on POSIX.

Reading back: the owner and DACL as SDDL text (GetNamedSecurityInfoW, then
ConvertSecurityDescriptorToStringSecurityDescriptorW), parsed here. `broad_readers` names which of
Everyone, Users and Authenticated Users an entry lets read; `is_private` says whether only the
three above have any access. The Win32 calls go through `Acls`, which takes the DLLs (tests pass
stand-ins answering as recorded); the SDDL logic is plain code.
"""

from __future__ import annotations

import ctypes
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from seedctl.win32 import ERROR_ALREADY_EXISTS, ERROR_FILE_EXISTS, dll, prototype, win_error

PRIVATE_SDDL = "D:P(A;OICI;FA;;;OW)(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"

# SIDs by SDDL alias and number
_ALIASES = {"WD": "S-1-1-0", "AU": "S-1-5-11", "BU": "S-1-5-32-545", "SY": "S-1-5-18", "BA": "S-1-5-32-544",
            "OW": "S-1-3-4", "CO": "S-1-3-0", "IU": "S-1-5-4", "BG": "S-1-5-32-546", "AN": "S-1-5-7"}
# the groups every account is in (or that anyone can be): a secret they may read is not private
BROAD_GROUPS = {"S-1-1-0": "Everyone", "S-1-5-11": "Authenticated Users", "S-1-5-32-545": "Users"}
# who a private file's DACL may name: the owner (by OWNER RIGHTS or by its SID), SYSTEM, Administrators
_TRUSTED = {"S-1-3-4", "S-1-5-18", "S-1-5-32-544"}

# Access rights (winnt.h): the ones that let a caller read a file's content
FILE_READ_DATA = 0x0001
GENERIC_ALL = 0x10000000
GENERIC_READ = 0x80000000
_READS = FILE_READ_DATA | GENERIC_ALL | GENERIC_READ
_RIGHTS = {"FA": 0x1F01FF, "FR": 0x120089, "FW": 0x120116, "FX": 0x1200A0, "GA": GENERIC_ALL, "GR": GENERIC_READ,
           "GW": 0x40000000, "GX": 0x20000000, "RC": 0x20000, "SD": 0x10000, "WD": 0x40000, "WO": 0x80000,
           "CC": 0x1, "DC": 0x2, "LC": 0x4, "SW": 0x8, "RP": 0x10, "WP": 0x20, "DT": 0x40, "LO": 0x80,
           "CR": 0x100, "KA": 0xF003F, "KR": 0x20019, "KW": 0x20006, "KX": 0x20019}

_ACE = re.compile(r"\(([^()]*)\)")


@dataclass(frozen=True)
class Ace:
    kind: str  # "A" allow, "D" deny (others: audit, object ACEs)
    flags: str  # "OICI", "ID" (inherited), "IO" (inherit only: does not apply to this object)
    rights: int
    sid: str  # numeric form


@dataclass(frozen=True)
class Dacl:
    owner: str | None
    protected: bool
    aces: tuple[Ace, ...]


def _sid(text: str) -> str:
    return _ALIASES.get(text, text)


def _rights(text: str) -> int:
    if text.lower().startswith("0x"):
        return int(text, 16)
    if text.isdigit():
        return int(text)
    total = 0
    for i in range(0, len(text), 2):
        total |= _RIGHTS.get(text[i:i + 2], _READS)  # an unknown right: assume it reads (never call a secret private wrongly)
    return total


def parse_sddl(sddl: str) -> Dacl:
    """The owner and DACL of an SDDL security descriptor string (`O:...G:...D:flags(ace)(ace)...`)."""
    owner_match = re.search(r"O:(S-[0-9-]+|[A-Z]{2})", sddl)
    start = sddl.find("D:")
    dacl = sddl[start + 2:] if start >= 0 else ""
    end = dacl.find("S:")  # a SACL after the DACL
    dacl = dacl[:end] if end >= 0 and "(" not in dacl[end:end + 3] else dacl
    flags = dacl.split("(", 1)[0]
    aces = []
    for body in _ACE.findall(dacl):
        parts = body.split(";")
        if len(parts) < 6:
            continue
        aces.append(Ace(parts[0], parts[1], _rights(parts[2]), _sid(parts[5])))
    return Dacl(_sid(owner_match.group(1)) if owner_match else None, "P" in flags, tuple(aces))


def _applies(ace: Ace) -> bool:
    return "IO" not in ace.flags


def broad_readers(sddl: str) -> list[str]:
    """Which of Everyone, Authenticated Users and Users an allow entry lets read the file (a deny
    entry for the same group that covers reading takes it back)."""
    dacl = parse_sddl(sddl)
    denied = {a.sid for a in dacl.aces if a.kind == "D" and _applies(a) and a.rights & _READS}
    names = []
    for ace in dacl.aces:
        if ace.kind == "A" and _applies(ace) and ace.rights & _READS and ace.sid in BROAD_GROUPS \
                and ace.sid not in denied and "S-1-1-0" not in denied:
            name = BROAD_GROUPS[ace.sid]
            if name not in names:
                names.append(name)
    return names


def is_private_sddl(sddl: str) -> bool:
    """Protected (nothing inherited from the folder) and giving access to no one but the owner,
    SYSTEM and Administrators."""
    dacl = parse_sddl(sddl)
    allowed = _TRUSTED | ({dacl.owner} if dacl.owner else set())
    return dacl.protected and all(a.sid in allowed for a in dacl.aces if a.kind == "A" and _applies(a))


def icacls_fix(path: object, sddl: str) -> str:
    """The command that gives `path` the private DACL by hand (SIDs, not localised group names)."""
    owner = parse_sddl(sddl).owner or "%USERNAME%"
    who = f"*{owner}" if owner.startswith("S-") else owner
    return f'icacls "{path}" /inheritance:r /grant:r "{who}:F" *S-1-5-18:F *S-1-5-32-544:F'


# --- the Win32 calls ---------------------------------------------------------------------------

SDDL_REVISION_1 = 1
SE_FILE_OBJECT = 1
OWNER_SECURITY_INFORMATION = 0x1
DACL_SECURITY_INFORMATION = 0x4
PROTECTED_DACL_SECURITY_INFORMATION = 0x80000000
GENERIC_WRITE = 0x40000000
FILE_SHARE_READ, FILE_SHARE_WRITE, FILE_SHARE_DELETE = 0x1, 0x2, 0x4
CREATE_NEW = 1
FILE_ATTRIBUTE_NORMAL = 0x80
FILE_FLAG_OPEN_REPARSE_POINT = 0x00200000
INVALID_HANDLE_VALUE = ctypes.c_void_p(-1).value


class SECURITY_ATTRIBUTES(ctypes.Structure):  # noqa: N801 - the Win32 name
    _fields_ = [("nLength", ctypes.c_uint32), ("lpSecurityDescriptor", ctypes.c_void_p),
                ("bInheritHandle", ctypes.c_int)]


class Acls:
    """The Win32 side: create files and folders with a descriptor, set one, read one back."""

    def __init__(self, advapi32: Any = None, kernel32: Any = None,
                 open_osfhandle: Callable[[int, int], int] | None = None) -> None:
        self.advapi32 = advapi32 if advapi32 is not None else dll("advapi32")
        self.kernel32 = kernel32 if kernel32 is not None else dll("kernel32")
        if open_osfhandle is None:
            import msvcrt

            open_osfhandle = msvcrt.open_osfhandle  # type: ignore[attr-defined]
        self.open_osfhandle = open_osfhandle
        a, k, vp, u32 = self.advapi32, self.kernel32, ctypes.c_void_p, ctypes.c_uint32
        prototype(a.ConvertStringSecurityDescriptorToSecurityDescriptorW, ctypes.c_int, ctypes.c_wchar_p, u32,
                  ctypes.POINTER(vp), ctypes.POINTER(u32))
        prototype(a.ConvertSecurityDescriptorToStringSecurityDescriptorW, ctypes.c_int, vp, u32, u32,
                  ctypes.POINTER(ctypes.c_wchar_p), ctypes.POINTER(u32))
        prototype(a.GetSecurityDescriptorDacl, ctypes.c_int, vp, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(vp),
                  ctypes.POINTER(ctypes.c_int))
        prototype(a.GetNamedSecurityInfoW, u32, ctypes.c_wchar_p, ctypes.c_int, u32, ctypes.POINTER(vp),
                  ctypes.POINTER(vp), ctypes.POINTER(vp), ctypes.POINTER(vp), ctypes.POINTER(vp))
        prototype(a.SetNamedSecurityInfoW, u32, ctypes.c_wchar_p, ctypes.c_int, u32, vp, vp, vp, vp)
        prototype(k.CreateFileW, vp, ctypes.c_wchar_p, u32, u32, ctypes.POINTER(SECURITY_ATTRIBUTES), u32, u32, vp)
        prototype(k.CreateDirectoryW, ctypes.c_int, ctypes.c_wchar_p, ctypes.POINTER(SECURITY_ATTRIBUTES))
        prototype(k.CloseHandle, ctypes.c_int, vp)
        prototype(k.LocalFree, vp, vp)

    def _descriptor(self, sddl: str) -> ctypes.c_void_p:
        sd = ctypes.c_void_p()
        if not self.advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1,
                                                                                  ctypes.byref(sd), None):
            raise win_error(self.advapi32.last_error())
        return sd

    def create_file(self, path: str, sddl: str = PRIVATE_SDDL) -> int:
        """A new file at `path` for writing, with the descriptor `sddl` from its creation; never
        follows or replaces anything already there (FileExistsError). Returns a C runtime descriptor."""
        sd = self._descriptor(sddl)
        try:
            sa = SECURITY_ATTRIBUTES(ctypes.sizeof(SECURITY_ATTRIBUTES), sd.value, 0)
            handle = self.kernel32.CreateFileW(str(path), GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_DELETE,
                                               ctypes.byref(sa), CREATE_NEW,
                                               FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, None)
            if handle in (None, 0, INVALID_HANDLE_VALUE):
                raise win_error(self.kernel32.last_error(), str(path))
        finally:
            self.kernel32.LocalFree(sd)
        try:
            return self.open_osfhandle(handle, os.O_WRONLY | getattr(os, "O_BINARY", 0))
        except BaseException:
            self.kernel32.CloseHandle(handle)
            raise

    def create_folder(self, path: str, sddl: str = PRIVATE_SDDL) -> None:
        """A new folder with the descriptor `sddl` (FileExistsError when something is there)."""
        sd = self._descriptor(sddl)
        try:
            sa = SECURITY_ATTRIBUTES(ctypes.sizeof(SECURITY_ATTRIBUTES), sd.value, 0)
            if not self.kernel32.CreateDirectoryW(str(path), ctypes.byref(sa)):
                code = self.kernel32.last_error()
                raise win_error(ERROR_FILE_EXISTS if code == ERROR_ALREADY_EXISTS else code, str(path))
        finally:
            self.kernel32.LocalFree(sd)

    def protect(self, path: str, sddl: str = PRIVATE_SDDL) -> None:
        """Give an existing file or folder the (protected) DACL of `sddl`."""
        sd = self._descriptor(sddl)
        try:
            present, defaulted, acl = ctypes.c_int(), ctypes.c_int(), ctypes.c_void_p()
            if not self.advapi32.GetSecurityDescriptorDacl(sd, ctypes.byref(present), ctypes.byref(acl),
                                                           ctypes.byref(defaulted)):
                raise win_error(self.advapi32.last_error(), str(path))
            code = self.advapi32.SetNamedSecurityInfoW(str(path), SE_FILE_OBJECT, DACL_SECURITY_INFORMATION
                                                       | PROTECTED_DACL_SECURITY_INFORMATION, None, None, acl, None)
            if code:
                raise win_error(code, str(path))
        finally:
            self.kernel32.LocalFree(sd)

    def sddl(self, path: str) -> str:
        """The owner and DACL of `path` as SDDL text."""
        sd = ctypes.c_void_p()
        what = OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION
        code = self.advapi32.GetNamedSecurityInfoW(str(path), SE_FILE_OBJECT, what, None, None, None, None,
                                                   ctypes.byref(sd))
        if code:
            raise win_error(code, str(path))
        text = ctypes.c_wchar_p()
        try:
            if not self.advapi32.ConvertSecurityDescriptorToStringSecurityDescriptorW(
                    sd, SDDL_REVISION_1, what, ctypes.byref(text), None):
                raise win_error(self.advapi32.last_error(), str(path))
            try:
                return text.value or ""
            finally:
                self.kernel32.LocalFree(text)
        finally:
            self.kernel32.LocalFree(sd)


_default: Acls | None = None


def acls() -> Acls:
    """The real Win32 calls (Windows only), made ready once."""
    global _default
    if _default is None:
        _default = Acls()
    return _default
