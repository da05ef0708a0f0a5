"""Scan the staging folder: one os.scandir walk, no per-file subprocess, stable order.

Records each regular file's staging-relative path, size and mtime and maps it to a blob path
(`container/prefix/rel`), checked against the Blob service naming rules and against what an NTFS
drive read with Win32 rules can hold (`winnames`: reserved device names, names equal but for case,
MAX_PATH with the drive's mount point, the staging path and the datacenter's root), on every OS. Special files (sockets, FIFOs,
devices) and symlinks that leave the tree are reported and skipped, never followed; a symlink to a
file inside the tree is copied as that file; directory symlinks are not followed (no cycles).

The walk stays on the staging folder's filesystem and out of drives (issue 23): a folder on another
filesystem (a mount point), a folder holding a seedctl drive (its sandbox marker or its journal: a
drive bind-mounted inside staging would be seeded onto itself) and, on Windows, any entry carrying
FILE_ATTRIBUTE_REPARSE_POINT (a junction reports as a plain folder) are skipped, each visibly (an
error under `staging.strict`). Each folder is opened without following a link and must be the
folder its parent listed (device and inode), so a folder swapped for a link mid-walk is an error.
"""

from __future__ import annotations

import bisect
import errno
import fnmatch
import gc
import os
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from seedctl.drives.formats.layout import JOURNAL_NAME, SEEDCTL_DIR, SIM_MARKER
from seedctl.drives.formats.manifest import MAX_BLOB_LENGTH
from seedctl.drives.placement.winnames import (
    DEFAULT_LIMITS,
    PathLimits,
    case_collisions,
    is_reserved_name,
    utf16_len,
)
from seedctl.drives.tables.staged import StagedFile, StagedTable, StagedTableBuilder, listing_digest
from seedctl.safefs import HOST, Platform, is_reparse_point, kind_of

__all__ = ["ScanProblem", "ScanResult", "StagedFile", "blob_name_problems", "display_path", "listing_digest",
           "scan_staging", "segment_problems"]

MAX_BLOB_NAME = 1024
MAX_SEGMENTS = 254
MAX_NTFS_NAME = 255
_NTFS_FORBIDDEN = set('<>:"|?*\\')


def display_path(path: str) -> str:
    """`path` safe to print anywhere: controls, non-characters and undecodable bytes as escapes.

    A file name is attacker-controlled text; printed raw, a control character rewrites the terminal
    and a lone surrogate (an undecodable byte) makes the print itself fail. Undecodable bytes show
    as `\\xNN` (the byte on disk); other characters that cannot be shown as `\\uNNNN`/`\\UNNNNNNNN`.
    """
    if path.isprintable() and not _needs_escape(path):
        return path
    out = []
    for c in path:
        code = ord(c)
        if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's surrogateescape of a byte >= 0x80
            out.append(f"\\x{code - 0xDC00:02x}")
        elif c.isprintable() and not _xml_invalid(code) and not _noncharacter(code):
            out.append(c)
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


def _xml_invalid(code: int) -> bool:
    """Outside XML 1.0's Char production (#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] |
    [#x10000-#x10FFFF]): no XML document, so no drive manifest, can carry it."""
    return (code < 0x20 and code not in (0x9, 0xA, 0xD)) or 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF)


def _noncharacter(code: int) -> bool:
    """One of Unicode's 66 non-characters (U+FDD0..U+FDEF and U+xFFFE/U+xFFFF in every plane):
    never valid in interchanged text, and not a character Blob storage names may hold."""
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def _needs_escape(text: str) -> bool:
    return any(_xml_invalid(ord(c)) or _noncharacter(ord(c)) for c in text if ord(c) > 0x7E)


@dataclass(frozen=True)
class ScanProblem:
    path: str  # staging-relative (or the root itself), as `display_path` shows it
    message: str
    severity: str = "error"  # "error" stops plan; "warning" is shown
    skipped: bool = False  # an entry left out of the seed (a special file, a symlink not followed)

    def __post_init__(self) -> None:
        # every problem's path is shown escaped: file names are untrusted text
        object.__setattr__(self, "path", display_path(self.path))

    def __str__(self) -> str:
        return f"{self.severity}: {self.path}: {self.message}"


@dataclass(frozen=True)
class ScanResult:
    root: str
    files: StagedTable  # in scan order: sorted by relative path
    problems: tuple[ScanProblem, ...] = field(default_factory=tuple)

    @property
    def total_bytes(self) -> int:
        return self.files.total_bytes

    @property
    def errors(self) -> tuple[ScanProblem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def skipped(self) -> tuple[ScanProblem, ...]:
        """Entries of the staging tree that will not be seeded, each with its reason."""
        return tuple(p for p in self.problems if p.skipped)


# A segment made only of these, not ending in space or dot, short, and not a device name, is fine:
# the fast path that keeps the per-file cost of the name check near zero.
_SAFE_SEGMENT = re.compile(r"[A-Za-z0-9_\-+=,;@!#$%&'()\[\]{}~^` .]{1,200}")


def segment_problems(seg: str) -> list[str]:
    """Why one path segment cannot be part of a blob name imported from an NTFS drive."""
    if seg in ("", ".", ".."):
        return [f"path segment {seg!r} is not allowed"]
    if _SAFE_SEGMENT.fullmatch(seg) and not seg.endswith((" ", ".")) and not is_reserved_name(seg):
        return []
    problems = []
    bad = sorted({c for c in seg if c in _NTFS_FORBIDDEN or ord(c) < 32 or 0x7F <= ord(c) <= 0x9F})
    if bad:
        problems.append(f"segment '{display_path(seg)}' contains '{display_path(''.join(bad))}', which an NTFS "
                        "drive, the drive manifest (XML) or a blob name cannot hold")
    if seg.endswith((" ", ".")):
        problems.append(f"segment '{display_path(seg)}' ends with a space or dot (not kept by NTFS)")
    if len(seg.encode("utf-16-le", "surrogatepass")) // 2 > MAX_NTFS_NAME:
        problems.append(f"segment '{display_path(seg[:40])}...' is longer than {MAX_NTFS_NAME} characters")
    if is_reserved_name(seg):
        problems.append(f"segment '{display_path(seg)}' is a reserved Windows device name (Windows opens the "
                        "device, not a file, for it)")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in seg):
        problems.append(f"segment '{display_path(seg)}' is not valid Unicode (undecodable bytes in the file "
                        "name; rename it to UTF-8)")
    odd = sorted({c for c in seg if c in "\ufffe\uffff" or _noncharacter(ord(c))})
    if odd:
        shown = ", ".join(f"U+{ord(c):04X}" for c in odd)
        problems.append(f"segment '{display_path(seg)}' contains {shown}, a Unicode non-character that the "
                        "drive manifest (XML 1.0) or a blob name cannot carry")
    return problems


def _whole_name_problems(blob_name: str, segments: int) -> list[str]:
    problems = []
    if len(blob_name) > MAX_BLOB_NAME:
        problems.append(f"blob name is {len(blob_name)} characters, more than {MAX_BLOB_NAME}")
    if segments > MAX_SEGMENTS:
        problems.append(f"blob name has {segments} path segments, more than {MAX_SEGMENTS}")
    if blob_name.endswith((".", "/")):
        problems.append("blob name must not end with '.' or '/'")
    return problems


def blob_name_problems(blob_name: str) -> list[str]:
    """Why `blob_name` (without the container) cannot be a blob imported from an NTFS drive."""
    if not blob_name:
        return ["empty blob name"]
    segments = blob_name.split("/")
    problems = _whole_name_problems(blob_name, len(segments))
    for seg in segments:
        problems.extend(segment_problems(seg))
    return problems


def blob_path_for(container: str, prefix: str, rel_path: str) -> str:
    prefix = prefix.strip("/")
    return f"{container}/{prefix}/{rel_path}" if prefix else f"{container}/{rel_path}"


def _reads_everything() -> bool:
    """True when this process may read any file (Linux CAP_DAC_READ_SEARCH, as root usually has):
    then os.access would only cost a syscall per file to say yes."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) & (1 << 2))
    except OSError:
        pass
    return False


_FMT, _REG = stat.S_IFMT(0o177777), stat.S_IFREG
_WINERROR_LINK_LOOP = 1921  # ERROR_CANT_RESOLVE_FILENAME
_DIR_FD_SCANDIR = os.scandir in os.supports_fd
_O_FOLDER = getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_scandir = os.scandir  # tests pass recorded Windows entries through this


def _inside(root: str, target: str, commonpath: Callable[[list[str]], str] = os.path.commonpath) -> bool:
    """`target` lies in the tree at `root` (both resolved). On Windows a link to another drive letter
    has no common path with the root at all: commonpath raises ValueError there, which means outside."""
    try:
        return commonpath([root, target]) == root
    except ValueError:
        return False


def _matches(rel: str, patterns: Iterable[str]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def scan_staging(root: Path, *, include: Iterable[str] = (), exclude: Iterable[str] = (), container: str,
                 prefix: str = "", path_limits: PathLimits = DEFAULT_LIMITS, platform: Platform = HOST,
                 max_size: int | None = MAX_BLOB_LENGTH) -> ScanResult:
    """Walk `root` once; return its files in a stable order (sorted by relative path) and problems.

    `include`/`exclude` are glob patterns matched against the relative path and the file name
    (an empty include list means everything). `path_limits` (`winnames.path_limits`: the drives'
    mount points and the staging path as Windows spells them) bound the path lengths; by default
    the datacenter's only. An unreadable staging root is one error, not an exception.
    `max_size`: a larger file is an error (a block blob's limit); None: no limit here (page blobs are
    checked by placement/pagecheck.py).
    """
    # A scan allocates one object per file and no reference cycles; the cyclic collector would
    # otherwise re-walk the growing list again and again (about a third of a 1M-file scan).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _scan(Path(root), tuple(include), tuple(exclude), container, prefix, path_limits, platform, max_size)
    finally:
        if was_enabled:
            gc.enable()


_Record = tuple[str, int, int]  # (name, size, mtime_ns) of one file of a folder


class _FolderScanner:
    """Scans one folder at a time (no shared mutable state)."""

    def __init__(self, real_root: str, include: tuple[str, ...], exclude: tuple[str, ...], container: str,
                 prefix: str, limits: PathLimits = DEFAULT_LIMITS, *, windows: bool = os.name == "nt",
                 root_dev: int = -1, platform: Platform = HOST, max_size: int | None = MAX_BLOB_LENGTH) -> None:
        self.real_root = real_root
        self.root_dev = root_dev  # the staging folder's filesystem: the walk never leaves it
        self.reparse = platform.reparse_points  # Windows: lstat results carry st_file_attributes
        self.include, self.exclude = include, exclude
        self.filtering = bool(include or exclude)
        self.name_prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.blob_prefix = f"{container}/{self.name_prefix}"
        self.limits = limits
        self.file_room, self.folder_room = limits.file_room, limits.folder_room
        # Windows: os.access checks only the read-only attribute (never the ACL), so it says yes for
        # every file at a network round trip each on UNC staging; the copy reports a file it cannot
        # read. And NTFS may serve a file's size and mtime from its directory entry, which is updated
        # lazily while a writer holds the file open: they are read from the file itself.
        self.check_access = not windows and not _reads_everything()
        self.fresh_stats = windows
        self.max_size = max_size

    def folder(self, folder: str, rel_folder: str, identity: tuple[int, int] | None = None
               ) -> tuple[list[_Record], list[ScanProblem], list[tuple[str, str, str, tuple[int, int]]]]:
        """(the folder's files that are seeded, sorted by name; problems; subfolders as (name, path,
        rel, (device, inode) as listed)). `identity`: the folder as its parent listed it."""
        files: list[_Record] = []
        problems: list[ScanProblem] = []
        subfolders: list[tuple[str, str, str, tuple[int, int]]] = []
        # Listing through a folder descriptor makes each entry's stat an fstatat() relative to it
        # (as find does), not a walk of the whole path from / for every file.
        folder_fd = None
        try:
            if _DIR_FD_SCANDIR:
                # never through a link: a subfolder swapped for one since its parent was listed is
                # refused (O_NOFOLLOW), and the folder opened must be the one listed (device, inode)
                folder_fd = os.open(folder, os.O_RDONLY | (_O_FOLDER if identity else getattr(os, "O_DIRECTORY", 0)))
                if identity is not None:
                    st = os.fstat(folder_fd)
                    if (st.st_dev, st.st_ino) != identity:
                        raise OSError(0, "it was replaced while the staging folder was scanned (a folder swapped "
                                         "for a link or a mount?); scan again once staging is stable")
                entries = list(_scandir(folder_fd))
            else:
                entries = list(_scandir(folder))
        except OSError as exc:
            if folder_fd is not None:
                os.close(folder_fd)
            problems.append(ScanProblem(rel_folder or ".", f"cannot list folder: {exc.strerror or exc}"))
            return files, problems, subfolders
        try:
            rel_prefix = f"{rel_folder}/" if rel_folder else ""
            drive = self._drive_marker(entries, folder_fd, folder)
            if drive:
                # a drive (a bind mount of one, or a sandbox drive folder) inside staging: its content is
                # the seed's copy, never part of the seed
                problems.append(ScanProblem(rel_folder or ".", f"holds a seedctl drive ({drive}); not seeded",
                                            "warning" if rel_folder else "error", bool(rel_folder)))
                return files, problems, subfolders
            self._entries(entries, folder, rel_prefix, files, problems, subfolders)
        finally:
            if folder_fd is not None:
                os.close(folder_fd)
        if files:
            files = self._checked(files, folder, rel_folder, problems)
            files.sort()  # by name: the first field, unique in a folder
        if files or len(subfolders) > 1:
            files = self._one_name_each(files, subfolders, rel_folder, problems)
        return files, problems, subfolders

    def _one_name_each(self, files: list[_Record], subfolders: list[tuple[str, str, str, tuple[int, int]]],
                       rel_folder: str,
                       problems: list[ScanProblem]) -> list[_Record]:
        """The folder's files without those whose name equals another's but for case: NTFS, and the
        datacenter reading it with Win32 rules, would hold the two as one (`winnames.case_keys`)."""
        names = [r[0] for r in files] + [s[0] for s in subfolders]
        if names and "\0".join(names).isascii():
            if len({n.upper() for n in names}) == len(names):
                return files  # the common case: one upper-casing per name, no collision
        clashes = case_collisions(sorted(names))
        if not clashes:
            return files
        rel_prefix = f"{rel_folder}/" if rel_folder else ""
        folders = {s[0] for s in subfolders}
        dropped = set()
        for first, second in clashes:
            kinds = " and ".join(("folder" if n in folders else "file") + f" '{display_path(n)}'" for n in (first, second))
            problems.append(ScanProblem(rel_prefix + second, f"{kinds} differ only in case: on the NTFS drive (and at the "
                                                             "datacenter, which reads it with Windows rules) they are one; "
                                                             "rename one of them"))
            dropped.update((first, second))
        return [r for r in files if r[0] not in dropped]

    @staticmethod
    def _drive_marker(entries: list[os.DirEntry], folder_fd: int | None, folder: str) -> str | None:
        """What marks the listed folder as a seedctl drive (None when nothing does): the sandbox
        marker, or seedctl's journal in `.seedctl/` (a real drive)."""
        for entry in entries:
            if entry.name == SIM_MARKER:
                return f"its {SIM_MARKER}"
            if entry.name == SEEDCTL_DIR:
                where = f"{SEEDCTL_DIR}/{JOURNAL_NAME}"
                try:
                    if folder_fd is not None:
                        os.stat(where, dir_fd=folder_fd, follow_symlinks=False)
                    else:
                        os.lstat(os.path.join(folder, SEEDCTL_DIR, JOURNAL_NAME))
                except OSError:
                    continue
                return f"its journal {where}"
        return None

    def _entries(self, entries: list[os.DirEntry], folder: str, rel_prefix: str, files: list[_Record],
                 problems: list[ScanProblem], subfolders: list[tuple[str, str, str, tuple[int, int]]]) -> None:
        """Sort one folder's entries into regular files, subfolders and skipped entries. The per-entry
        work is one stat and one append; every check on names and sizes runs per folder afterwards."""
        fmt, reg, real_root, join = _FMT, _REG, self.real_root, os.path.join
        reparse = self.reparse
        for entry in entries:
            name = entry.name
            try:
                st = entry.stat(follow_symlinks=False)
                if reparse and is_reparse_point(st):  # Windows: a junction's lstat says "folder"
                    problems.append(ScanProblem(rel_prefix + name, f"is {kind_of(st)}; not followed", "warning", True))
                    continue
                mode = st.st_mode
                if mode & fmt == reg:  # the common case first: a regular file, no further mode tests
                    files.append((name, st.st_size, st.st_mtime_ns))
                    continue
                rel = rel_prefix + name
                if stat.S_ISLNK(mode):
                    target = os.path.realpath(join(folder, name))
                    if not _inside(real_root, target):
                        problems.append(ScanProblem(rel, f"symlink leaves the staging folder (to {display_path(target)}); "
                                                         "not followed", "warning", True))
                        continue
                    try:
                        st = os.stat(join(folder, name))
                    except OSError as exc:
                        # Windows reports a loop of links as ERROR_CANT_RESOLVE_FILENAME (1921), errno EINVAL
                        loop = exc.errno == errno.ELOOP or getattr(exc, "winerror", None) == _WINERROR_LINK_LOOP
                        if exc.errno != errno.ENOENT and not loop:
                            raise
                        why = "in a loop" if loop else "to nothing (its target does not exist)"
                        problems.append(ScanProblem(rel, f"symlink {why}; skipped", "warning", True))
                        continue
                    mode = st.st_mode
                    if stat.S_ISDIR(mode):
                        problems.append(ScanProblem(rel, "symlink to a folder; not followed", "warning", True))
                        continue
                if stat.S_ISDIR(mode):
                    if st.st_dev != self.root_dev and self.root_dev != -1:
                        problems.append(ScanProblem(rel, "is on another filesystem (a mount point); not followed",
                                                    "warning", True))
                        continue
                    subfolders.append((name, join(folder, name), rel, (st.st_dev, st.st_ino)))
                    continue
                if mode & fmt != reg:
                    problems.append(ScanProblem(rel, "special file (socket, FIFO or device); skipped", "warning", True))
                    continue
                files.append((name, st.st_size, st.st_mtime_ns))  # a symlink to a file inside the tree
            except FileNotFoundError:
                continue  # vanished while we looked: not part of this scan
            except OSError as exc:
                problems.append(ScanProblem(rel_prefix + name, f"cannot read file information: {exc.strerror or exc}"))

    def _checked(self, files: list[_Record], folder: str, rel_folder: str,
                 problems: list[ScanProblem]) -> list[_Record]:
        """The files of one folder that pass the filters, the access check and the naming and size
        rules; a problem for each that does not.

        The naming rules are checked on the folder's names joined (two regular expressions and two
        substring tests over one string) and each file is looked at on its own only when that finds
        something."""
        rel_prefix = f"{rel_folder}/" if rel_folder else ""
        if self.filtering:
            include, exclude = self.include, self.exclude
            files = [r for r in files if not ((include and not _matches(rel_prefix + r[0], include))
                                              or (exclude and _matches(rel_prefix + r[0], exclude)))]
        if self.check_access and files:
            readable = []
            for r in files:
                if os.access(os.path.join(folder, r[0]), os.R_OK):
                    readable.append(r)
                else:
                    problems.append(ScanProblem(rel_prefix + r[0], "file is not readable by this user"))
            files = readable
        if not files:
            return files
        if self.fresh_stats:
            files = self._restated(files, folder, rel_prefix, problems)
        folder_name = self.name_prefix + rel_prefix
        folder_problems = [p for seg in folder_name.split("/")[:-1] for p in segment_problems(seg)]
        folder_segments = folder_name.count("/")
        name_room = 200 - len(folder_name) if folder_segments < MAX_SEGMENTS else -1
        names, sizes, _ = zip(*files, strict=True)
        joined = "\0" + "\0".join(names) + "\0"
        longest = max(map(len, names))
        names_fine = (not folder_problems and longest <= name_room and _SAFE_NAMES.fullmatch(joined) is not None
                      and ".\0" not in joined and " \0" not in joined and _RESERVED_NAME.search(joined) is None)
        sizes_fine = self.max_size is None or max(sizes) <= self.max_size
        folder_length = utf16_len(rel_folder)
        if rel_folder and folder_length > self.folder_room:
            why = self.limits.folder_problem(rel_folder)
            if why:  # every file of it: the folder cannot be created on the drive
                problems.append(ScanProblem(rel_folder, f"{why}; its {len(files):,} file(s) are not seeded"))
                return []
        # names_fine means ASCII names: their lengths are their UTF-16 lengths
        if names_fine and sizes_fine and folder_length + 1 + longest <= self.file_room:
            return files
        kept = []
        for r in files:
            name, size = r[0], r[1]
            rel = rel_prefix + name
            naming = [] if names_fine else folder_problems + segment_problems(name)
            if not names_fine and (len(name) > name_room or name.endswith(".")):
                naming += _whole_name_problems(folder_name + name, folder_segments + 1)
            if naming:
                problems.append(ScanProblem(rel, "cannot become a blob name: " + "; ".join(naming)))
                continue
            if self.max_size is not None and size > self.max_size:
                problems.append(ScanProblem(rel, f"{size:,} bytes is more than a 2014-11-01 manifest block "
                                                 f"list can describe ({MAX_BLOB_LENGTH:,} bytes)"))
                continue
            too_long = self.limits.file_problem(rel) if utf16_len(rel) > self.file_room else None
            if too_long:
                problems.append(ScanProblem(rel, too_long))
                continue
            kept.append(r)
        return kept

    def _restated(self, files: list[_Record], folder: str, rel_prefix: str,
                  problems: list[ScanProblem]) -> list[_Record]:
        """The files' sizes and mtimes read from each file (not its directory entry: see __init__)."""
        fresh = []
        for name, _, _ in files:
            try:
                st = os.stat(os.path.join(folder, name), follow_symlinks=False)
            except FileNotFoundError:
                continue  # vanished while we looked: not part of this scan
            except OSError as exc:
                problems.append(ScanProblem(rel_prefix + name, f"cannot read file information: {exc.strerror or exc}"))
                continue
            fresh.append((name, st.st_size, st.st_mtime_ns))
        return fresh


# The naming rules over a folder's names, each with a NUL before and after (no name holds NUL): every
# name made only of safe characters (1-200 of them), none ending in space or dot (a substring test),
# none a Windows device name. The same rules as `segment_problems`' fast path, checked per folder.
_SAFE_NAMES = re.compile(r"\0(?:[A-Za-z0-9_\-+=,;@!#$%&'()\[\]{}~^` .]{1,200}\0)*")
_RESERVED_NAME = re.compile(r"\0(?:CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9]|CONIN\$|CONOUT\$) *[.\0]",
                            re.IGNORECASE | re.ASCII)


class _Run(NamedTuple):
    """A folder's files that come next in the sorted order (a run between two of its subfolders)."""

    rel_prefix: str
    records: list[_Record]


def _scan(root: Path, include: tuple[str, ...], exclude: tuple[str, ...], container: str,
          prefix: str, limits: PathLimits, platform: Platform = HOST,
          max_size: int | None = MAX_BLOB_LENGTH) -> ScanResult:
    try:
        root_dev = os.stat(root).st_dev if os.path.isdir(root) else -1
    except OSError:
        root_dev = -1
    walker = _FolderScanner(os.path.realpath(root), include, exclude, container, prefix, limits, root_dev=root_dev,
                            platform=platform, max_size=max_size)
    builder = StagedTableBuilder(walker.blob_prefix)
    if not os.path.isdir(root):
        return ScanResult(str(root), builder.build(),
                          (ScanProblem(".", f"staging folder {root} does not exist or is not a folder"),))
    problems: list[ScanProblem] = []
    # Depth first, each folder's files and subfolders merged in sorted order, so that files come out
    # already sorted by relative path, with no sort of a million paths at the end. In that order a
    # subfolder's whole content sits where its name + "/" sorts among the folder's own file names
    # (a file name holds no "/", so every path under the subfolder compares alike to each of them).
    # One thread on purpose: threads per folder were measured slower (GIL hand-offs cost more than
    # the overlapped stat calls gain).
    stack: list[_Run | tuple[str, str, tuple[int, int] | None]] = [(str(root), "", None)]
    while stack:
        item = stack.pop()
        if isinstance(item, _Run):
            _add(builder, item.rel_prefix, item.records)
            continue
        found, trouble, subfolders = walker.folder(*item)
        problems.extend(trouble)
        rel_prefix = f"{item[1]}/" if item[1] else ""
        if not subfolders:
            _add(builder, rel_prefix, found)
            continue
        subfolders.sort(key=lambda s: s[0] + "/")
        pending: list[_Run | tuple[str, str, tuple[int, int] | None]] = []
        taken = 0
        for name, path, rel, identity in subfolders:
            upto = bisect.bisect_left(found, (name + "/",), taken)
            if upto > taken:
                pending.append(_Run(rel_prefix, found[taken:upto]))
            pending.append((path, rel, identity))
            taken = upto
        if taken < len(found):
            pending.append(_Run(rel_prefix, found[taken:]))
        stack.extend(reversed(pending))
    problems.sort(key=lambda p: p.path)
    return ScanResult(str(root), builder.build(), tuple(problems))


def _add(builder: StagedTableBuilder, rel_prefix: str, records: list[_Record]) -> None:
    if records:
        names, sizes, mtimes = zip(*records, strict=True)
        builder.add_run(rel_prefix, names, sizes, mtimes)
