"""Windows' rules for names and paths, computed on any OS: the drive is NTFS and the datacenter
reads it with Win32 rules, whatever computer copied the files.

- Reserved device names: CON, PRN, AUX, NUL, COM0-COM9, LPT0-LPT9, COM¹²³ / LPT¹²³ (superscript
  digits) and CONIN$ / CONOUT$, also with an extension (`nul.txt`) or spaces before it (`nul .txt`):
  Win32 opens the device, not a file ("Naming Files, Paths, and Namespaces"; CPython's
  `ntpath.isreserved` is as cautious).
- Names equal but for case: NTFS compares names after mapping each UTF-16 code unit through the
  volume's $UpCase table, so `Report.txt` and `REPORT.TXT` in one folder are one file there: one
  blob would be lost, or the import fails. `ntfs_upper` applies the table `mkntfs` writes, which is
  Windows 7's (tests/drives/test_winnames.py compares it with a freshly formatted volume's);
  `case_keys` adds the current Unicode simple upper-casing too, since a newer Windows may format
  with a newer table: two names are one when either key says so.
- Path length: with long paths disabled (how Windows Server ships), Win32 takes at most MAX_PATH
  (260) characters, the terminating NUL included, and CreateDirectory 12 fewer (room for an 8.3
  name); Import/Export's tooling fails on paths over 256 characters at the datacenter. Lengths are
  UTF-16 code units, as Windows counts them.
"""

from __future__ import annotations

import ntpath
from collections.abc import Iterable
from dataclasses import dataclass

from seedctl.drives.formats.layout import DATA_DIR

_DIGITS = "0123456789\u00b9\u00b2\u00b3"
RESERVED_NAMES = frozenset({"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
                            *(f"COM{d}" for d in _DIGITS), *(f"LPT{d}" for d in _DIGITS)})


def is_reserved_name(name: str) -> bool:
    """A Windows device name, alone, with an extension, or with spaces before the dot."""
    return name.partition(".")[0].rstrip(" ").upper() in RESERVED_NAMES


# $UpCase as (first code unit, count, step, delta): units first, first+step, ... map to unit+delta.
# Everything not listed maps to itself (surrogates included: characters beyond the BMP are compared
# unchanged). Generated from the $UpCase of a volume formatted by mkntfs 2022.10.3.
_UPCASE_RUNS = (
    (0x0061, 26, 1, -32), (0x00E0, 23, 1, -32), (0x00F8, 7, 1, -32), (0x00FF, 1, 1, 121),
    (0x0101, 24, 2, -1), (0x0133, 3, 2, -1), (0x013A, 8, 2, -1), (0x014B, 23, 2, -1), (0x017A, 3, 2, -1),
    (0x0180, 1, 1, 195), (0x0183, 2, 2, -1), (0x0188, 1, 1, -1), (0x018C, 1, 1, -1), (0x0192, 1, 1, -1),
    (0x0195, 1, 1, 97), (0x0199, 1, 1, -1), (0x019A, 1, 1, 163), (0x019E, 1, 1, 130), (0x01A1, 3, 2, -1),
    (0x01A8, 1, 1, -1), (0x01AD, 1, 1, -1), (0x01B0, 1, 1, -1), (0x01B4, 2, 2, -1), (0x01B9, 1, 1, -1),
    (0x01BD, 1, 1, -1), (0x01BF, 1, 1, 56), (0x01C6, 1, 1, -2), (0x01C9, 1, 1, -2), (0x01CC, 1, 1, -2),
    (0x01CE, 8, 2, -1), (0x01DD, 1, 1, -79), (0x01DF, 9, 2, -1), (0x01F3, 1, 1, -2), (0x01F5, 1, 1, -1),
    (0x01F9, 20, 2, -1), (0x0223, 9, 2, -1), (0x023C, 1, 1, -1), (0x0242, 1, 1, -1), (0x0247, 5, 2, -1),
    (0x0250, 1, 1, 10783), (0x0251, 1, 1, 10780), (0x0253, 1, 1, -210), (0x0254, 1, 1, -206),
    (0x0256, 2, 1, -205), (0x0259, 1, 1, -202), (0x025B, 1, 1, -203), (0x0260, 1, 1, -205),
    (0x0263, 1, 1, -207), (0x0268, 1, 1, -209), (0x0269, 1, 1, -211), (0x026B, 1, 1, 10743),
    (0x026F, 1, 1, -211), (0x0271, 1, 1, 10749), (0x0272, 1, 1, -213), (0x0275, 1, 1, -214),
    (0x027D, 1, 1, 10727), (0x0280, 1, 1, -218), (0x0283, 1, 1, -218), (0x0288, 1, 1, -218),
    (0x0289, 1, 1, -69), (0x028A, 2, 1, -217), (0x028C, 1, 1, -71), (0x0292, 1, 1, -219),
    (0x0371, 2, 2, -1), (0x0377, 1, 1, -1), (0x037B, 3, 1, 130), (0x03AC, 1, 1, -38), (0x03AD, 3, 1, -37),
    (0x03B1, 17, 1, -32), (0x03C3, 9, 1, -32), (0x03CC, 1, 1, -64), (0x03CD, 2, 1, -63),
    (0x03D7, 1, 1, -8), (0x03D9, 12, 2, -1), (0x03F2, 1, 1, 7), (0x03F8, 1, 1, -1), (0x03FB, 1, 1, -1),
    (0x0430, 32, 1, -32), (0x0450, 16, 1, -80), (0x0461, 17, 2, -1), (0x048B, 27, 2, -1),
    (0x04C2, 7, 2, -1), (0x04CF, 1, 1, -15), (0x04D1, 42, 2, -1), (0x0561, 38, 1, -48),
    (0x1D79, 1, 1, 35332), (0x1D7D, 1, 1, 3814), (0x1E01, 75, 2, -1), (0x1EA1, 48, 2, -1),
    (0x1F00, 8, 1, 8), (0x1F10, 6, 1, 8), (0x1F20, 8, 1, 8), (0x1F30, 8, 1, 8), (0x1F40, 6, 1, 8),
    (0x1F51, 4, 2, 8), (0x1F60, 8, 1, 8), (0x1F70, 2, 1, 74), (0x1F72, 4, 1, 86), (0x1F76, 2, 1, 100),
    (0x1F78, 2, 1, 128), (0x1F7A, 2, 1, 112), (0x1F7C, 2, 1, 126), (0x1F80, 8, 1, 8), (0x1F90, 8, 1, 8),
    (0x1FA0, 8, 1, 8), (0x1FB0, 2, 1, 8), (0x1FB3, 1, 1, 9), (0x1FC3, 1, 1, 9), (0x1FD0, 2, 1, 8),
    (0x1FE0, 2, 1, 8), (0x1FE5, 1, 1, 7), (0x1FF3, 1, 1, 9), (0x214E, 1, 1, -28), (0x2170, 16, 1, -16),
    (0x2184, 1, 1, -1), (0x24D0, 26, 1, -26), (0x2C30, 47, 1, -48), (0x2C61, 1, 1, -1),
    (0x2C65, 1, 1, -10795), (0x2C66, 1, 1, -10792), (0x2C68, 3, 2, -1), (0x2C73, 1, 1, -1),
    (0x2C76, 1, 1, -1), (0x2C81, 50, 2, -1), (0x2D00, 38, 1, -7264), (0xA641, 16, 2, -1),
    (0xA663, 6, 2, -1), (0xA681, 12, 2, -1), (0xA723, 7, 2, -1), (0xA733, 31, 2, -1), (0xA77A, 2, 2, -1),
    (0xA77F, 5, 2, -1), (0xA78C, 1, 1, -1), (0xFF41, 26, 1, -32),
)


def _table() -> dict[int, int]:
    table = {}
    for first, count, step, delta in _UPCASE_RUNS:
        for unit in range(first, first + count * step, step):
            table[unit] = unit + delta
    return table


UPCASE = _table()


def ntfs_upper(name: str) -> str:
    """`name` as NTFS compares it: every UTF-16 code unit through the $UpCase table."""
    if name.isascii():
        return name.upper()
    units = name.encode("utf-16-le", "surrogatepass")
    mapped = [UPCASE.get(int.from_bytes(units[i:i + 2], "little"), -1) for i in range(0, len(units), 2)]
    if all(m < 0 for m in mapped):
        return name
    out = bytearray(units)
    for k, m in enumerate(mapped):
        if m >= 0:
            out[2 * k:2 * k + 2] = m.to_bytes(2, "little")
    return out.decode("utf-16-le", "surrogatepass")


def _simple_upper(name: str) -> str:
    """Unicode simple upper-casing, one character at a time (full mappings such as ß → SS are not
    what any file system does)."""
    return "".join(u if len(u := c.upper()) == 1 else c for c in name)


def case_keys(name: str) -> tuple[str, str]:
    """The keys under which two names are one file on an NTFS drive (see the module doc)."""
    if name.isascii():
        upper = name.upper()
        return upper, upper
    return ntfs_upper(name), _simple_upper(name)


def case_collisions(names: Iterable[str]) -> list[tuple[str, str]]:
    """Pairs (earlier, later) of `names` that NTFS would hold as one; each later name once."""
    seen: tuple[dict[str, str], dict[str, str]] = ({}, {})
    pairs = []
    for name in names:
        keys = case_keys(name)
        first = next((table[key] for table, key in zip(seen, keys, strict=True) if key in table), None)
        if first is not None:
            pairs.append((first, name))
            continue
        for table, key in zip(seen, keys, strict=True):
            table[key] = name
    return pairs


# --- path length ---------------------------------------------------------------------------------

MAX_PATH = 260
MAX_FILE_PATH = MAX_PATH - 1  # characters, without the terminating NUL
MAX_FOLDER_PATH = MAX_PATH - 12 - 1  # CreateDirectory: room for an 8.3 name
DATACENTER_MAX_PATH = 256  # Import/Export: longer paths fail in the tool and in the upload
DATACENTER_ROOT = "X:\\"  # any drive letter: the datacenter's is unknown, its length is not


def utf16_len(text: str) -> int:
    """Length as Windows counts it: UTF-16 code units (a character beyond the BMP counts 2)."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le", "surrogatepass")) // 2


def windows_form(path: str) -> str | None:
    """`path` as a Win32 path string ending with a backslash, when it is an absolute Windows path
    (`E:\\`, `E:` (the root of E:), `C:\\mnt\\d1`, `\\\\server\\share\\dir`); None for POSIX and
    relative paths, and for extended-length paths (`\\\\?\\...`), which MAX_PATH does not limit."""
    text = path.replace("/", "\\")
    if text.startswith(("\\\\?\\", "\\\\.\\")):
        return None
    drive, rest = ntpath.splitdrive(text)
    if not drive or (len(drive) == 2 and rest and not rest.startswith("\\")):
        return None  # no drive, or drive-relative (E:seed)
    return ntpath.normpath(text).rstrip("\\") + "\\"


@dataclass(frozen=True)
class PathPrefix:
    """What a relative path is joined to somewhere Windows reads or writes it, and the limits there."""

    where: str  # "the datacenter", "drive WD-1 at E:\\", "staging"
    prefix: str  # ends with a backslash: "X:\\seed\\", "E:\\mnt\\d1\\seed\\", "\\\\fs01\\share\\staging\\"
    max_file: int
    max_folder: int | None  # None where no folder is created (staging is only read)


@dataclass(frozen=True)
class PathLimits:
    prefixes: tuple[PathPrefix, ...]

    @property
    def file_room(self) -> int:
        """The longest relative file path (UTF-16 units) every prefix can take."""
        return min(p.max_file - utf16_len(p.prefix) for p in self.prefixes)

    @property
    def folder_room(self) -> int:
        return min((p.max_folder - utf16_len(p.prefix) for p in self.prefixes if p.max_folder is not None),
                   default=1 << 30)

    def file_problem(self, rel: str) -> str | None:
        """Why the file at staging-relative `rel` (POSIX form) cannot be opened where a prefix puts it."""
        return self._problem(rel, folder=False)

    def folder_problem(self, rel_folder: str) -> str | None:
        return self._problem(rel_folder, folder=True)

    def _problem(self, rel: str, *, folder: bool) -> str | None:
        length = utf16_len(rel)
        worst = None
        for p in self.prefixes:
            limit = p.max_folder if folder else p.max_file
            if limit is None:
                continue
            total = utf16_len(p.prefix) + length
            if total > limit and (worst is None or total - limit > worst[0]):
                worst = (total - limit, p, total, limit)
        if worst is None:
            return None
        _, p, total, limit = worst
        what = "folder" if folder else "file"
        shown = p.prefix + rel.replace("/", "\\")
        return (f"the {what} path would be {total} characters {p.where} ({_clip(shown)}); Windows takes at most "
                f"{limit} there{_why(p)}. Shorten its folder or file names{_hint(p)}")


def _clip(text: str) -> str:
    return text if len(text) <= 80 else text[:40] + "..." + text[-36:]


def _why(p: PathPrefix) -> str:
    if p.where == "at the datacenter":
        return " (the Import/Export service's tools read no longer paths)"
    return " (MAX_PATH: Windows ships with long paths disabled)"


def _hint(p: PathPrefix) -> str:
    if p.where.startswith("on drive"):
        return ", or mount the drive at a drive letter (E:\\) instead of a folder"
    if p.where.startswith("in staging"):
        return ", or use a shorter staging path (map the share to a drive letter)"
    return ""


def path_limits(mount_points: Iterable[tuple[str, str]] = (), staging: str | None = None,
                data_dir: str = DATA_DIR) -> PathLimits:
    """The limits for files under `data_dir` on drives mounted at `mount_points` ((serial, path))
    and read from `staging`: the datacenter's always; a drive's or staging's when its path is a
    Windows path (a POSIX copy computer has no MAX_PATH)."""
    prefixes = [PathPrefix("at the datacenter", f"{DATACENTER_ROOT}{data_dir}\\", DATACENTER_MAX_PATH, None)]
    for serial, mount in mount_points:
        root = windows_form(mount)
        if root is not None:
            prefixes.append(PathPrefix(f"on drive {serial}", f"{root}{data_dir}\\", MAX_FILE_PATH, MAX_FOLDER_PATH))
    if staging is not None and (root := windows_form(staging)) is not None:
        prefixes.append(PathPrefix("in staging", root, MAX_FILE_PATH, None))
    return PathLimits(tuple(prefixes))


DEFAULT_LIMITS = path_limits()
