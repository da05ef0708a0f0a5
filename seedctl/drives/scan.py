"""Scan the staging folder: one os.scandir walk, no per-file subprocess, stable order.

Records each regular file's staging-relative path, size and mtime and maps it to a blob path
(`container/prefix/rel`), checked against the Blob service naming rules and against what an NTFS
drive can hold (the file goes onto an NTFS volume under that name). Special files (sockets, FIFOs,
devices) and symlinks that leave the tree are reported and skipped, never followed; a symlink to a
file inside the tree is copied as that file; directory symlinks are not followed (no cycles).
"""

from __future__ import annotations

import errno
import fnmatch
import gc
import hashlib
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from seedctl.drives.manifest import MAX_BLOB_LENGTH

MAX_BLOB_NAME = 1024
MAX_SEGMENTS = 254
MAX_NTFS_NAME = 255
WINDOWS_PATH_WARN = 256  # longer drive paths need Windows long-path support on the copy computer
_NTFS_FORBIDDEN = set('<>:"|?*\\')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


class StagedFile(NamedTuple):
    """One staged file. A NamedTuple rather than a dataclass: a scan makes a million of these, and
    a tuple is built in a third of the time (measured in the 1M-file scan benchmark)."""

    rel_path: str  # POSIX form, relative to the staging root
    size: int
    mtime_ns: int
    blob_path: str  # container/prefix/rel_path


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
    files: tuple[StagedFile, ...]
    problems: tuple[ScanProblem, ...] = field(default_factory=tuple)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

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
    if _SAFE_SEGMENT.fullmatch(seg) and not seg.endswith((" ", ".")) and \
            seg.split(".")[0].upper() not in _WINDOWS_RESERVED:
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
    if seg.split(".")[0].upper() in _WINDOWS_RESERVED:
        problems.append(f"segment '{display_path(seg)}' is a reserved Windows device name")
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


def listing_digest(files: Iterable[StagedFile]) -> str:
    """A short digest of (path, size, mtime) of every file, streamed: no list of a million tuples
    and no 70 MB JSON text in memory (they were a third of a 1M-file plan's peak RSS).

    Each field ends with NUL, which no file name can hold, so the encoding is unambiguous."""
    h = hashlib.sha256()
    batch: list[str] = []
    for f in files:
        batch.append(f"{f.rel_path}\0{f.size}\0{f.mtime_ns}\0")
        if len(batch) == 4096:
            h.update("".join(batch).encode("utf-8", "surrogateescape"))
            batch.clear()
    h.update("".join(batch).encode("utf-8", "surrogateescape"))
    return h.hexdigest()[:24]


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
_DIR_FD_SCANDIR = os.scandir in os.supports_fd


def _matches(rel: str, patterns: Iterable[str]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def scan_staging(root: Path, *, include: Iterable[str] = (), exclude: Iterable[str] = (), container: str,
                 prefix: str = "") -> ScanResult:
    """Walk `root` once; return its files in a stable order (sorted by relative path) and problems.

    `include`/`exclude` are glob patterns matched against the relative path and the file name
    (an empty include list means everything). An unreadable staging root is one error, not an exception.
    """
    # A scan allocates one object per file and no reference cycles; the cyclic collector would
    # otherwise re-walk the growing list again and again (about a third of a 1M-file scan).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _scan(Path(root), tuple(include), tuple(exclude), container, prefix)
    finally:
        if was_enabled:
            gc.enable()


class _FolderScanner:
    """Scans one folder at a time (thread-safe: no shared mutable state)."""

    def __init__(self, real_root: str, include: tuple[str, ...], exclude: tuple[str, ...], container: str,
                 prefix: str) -> None:
        self.real_root = real_root
        self.include, self.exclude = include, exclude
        self.filtering = bool(include or exclude)
        self.container = container
        self.name_prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.check_access = not _reads_everything()

    def folder(self, folder: str, rel_folder: str
               ) -> tuple[list[StagedFile], list[ScanProblem], list[tuple[str, str]]]:
        files: list[StagedFile] = []
        problems: list[ScanProblem] = []
        subfolders: list[tuple[str, str]] = []
        folder_name = self.name_prefix + (rel_folder + "/" if rel_folder else "")
        folder_problems = [p for seg in folder_name.split("/")[:-1] for p in segment_problems(seg)]
        folder_segments = folder_name.count("/")
        # Listing through a folder descriptor makes each entry's stat an fstatat() relative to it
        # (as find does), not a walk of the whole path from / for every file.
        folder_fd = None
        try:
            if _DIR_FD_SCANDIR:
                folder_fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
                entries = list(os.scandir(folder_fd))
            else:
                entries = list(os.scandir(folder))
        except OSError as exc:
            if folder_fd is not None:
                os.close(folder_fd)
            problems.append(ScanProblem(rel_folder or ".", f"cannot list folder: {exc.strerror or exc}"))
            return files, problems, subfolders
        try:
            self._entries(entries, folder, rel_folder, folder_name, folder_problems, folder_segments,
                          files, problems, subfolders)
        finally:
            if folder_fd is not None:
                os.close(folder_fd)
        return files, problems, subfolders

    def _entries(self, entries: list[os.DirEntry], folder: str, rel_folder: str, folder_name: str,
                 folder_problems: list[str], folder_segments: int, files: list[StagedFile],
                 problems: list[ScanProblem], subfolders: list[tuple[str, str]]) -> None:
        include, exclude, container, real_root = self.include, self.exclude, self.container, self.real_root
        safe_segment, reserved, access = _SAFE_SEGMENT.fullmatch, _WINDOWS_RESERVED, os.access
        # locals, not attribute or global look-ups, in the per-file loop
        fmt, reg, filtering, check_access = _FMT, _REG, self.filtering, self.check_access
        max_length, path_warn = MAX_BLOB_LENGTH, WINDOWS_PATH_WARN - 6
        name_room = 200 - len(folder_name) if folder_segments < MAX_SEGMENTS else -1
        join = os.path.join
        rel_prefix = f"{rel_folder}/" if rel_folder else ""
        blob_prefix = f"{container}/{folder_name}"
        for entry in entries:
            name = entry.name
            rel = rel_prefix + name
            try:
                st = entry.stat(follow_symlinks=False)
                mode = st.st_mode
                if mode & fmt == reg:
                    pass  # the common case first: a regular file, no further mode tests
                elif stat.S_ISLNK(mode):
                    target = os.path.realpath(join(folder, name))
                    if os.path.commonpath([real_root, target]) != real_root:
                        problems.append(ScanProblem(rel, f"symlink leaves the staging folder (to {display_path(target)}); "
                                                         "not followed", "warning", True))
                        continue
                    try:
                        st = os.stat(join(folder, name))
                    except OSError as exc:
                        if exc.errno not in (errno.ENOENT, errno.ELOOP):
                            raise
                        why = "to nothing (its target does not exist)" if exc.errno == errno.ENOENT else "in a loop"
                        problems.append(ScanProblem(rel, f"symlink {why}; skipped", "warning", True))
                        continue
                    mode = st.st_mode
                    if stat.S_ISDIR(mode):
                        problems.append(ScanProblem(rel, "symlink to a folder; not followed", "warning", True))
                        continue
                if stat.S_ISDIR(mode):
                    subfolders.append((join(folder, name), rel))
                    continue
                if mode & fmt != reg:
                    problems.append(ScanProblem(rel, "special file (socket, FIFO or device); skipped", "warning", True))
                    continue
            except FileNotFoundError:
                continue  # vanished while we looked: not part of this scan
            except OSError as exc:
                problems.append(ScanProblem(rel, f"cannot read file information: {exc.strerror or exc}"))
                continue
            if filtering and ((include and not _matches(rel, include)) or (exclude and _matches(rel, exclude))):
                continue
            if check_access and not access(join(folder, name), os.R_OK):
                problems.append(ScanProblem(rel, "file is not readable by this user"))
                continue
            # the common case inline (a call per file is a measurable share of a 1M-file scan)
            if safe_segment(name) and name[-1] not in " ." and name.partition(".")[0].upper() not in reserved:
                naming = folder_problems
            else:
                naming = folder_problems + segment_problems(name)
            if len(name) > name_room or name.endswith("."):
                naming = naming + _whole_name_problems(folder_name + name, folder_segments + 1)  # never in place
            if naming:
                problems.append(ScanProblem(rel, "cannot become a blob name: " + "; ".join(naming)))
                continue
            size = st.st_size
            if size > max_length:
                problems.append(ScanProblem(rel, f"{size:,} bytes is more than a 2014-11-01 manifest block "
                                                 f"list can describe ({MAX_BLOB_LENGTH:,} bytes)"))
                continue
            if len(rel) > path_warn:
                problems.append(ScanProblem(rel, "path on the drive is longer than 256 characters; Windows needs "
                                                 "long paths enabled to read it", "warning"))
            files.append(StagedFile(rel, size, st.st_mtime_ns, blob_prefix + name))


def _scan(root: Path, include: tuple[str, ...], exclude: tuple[str, ...], container: str,
          prefix: str) -> ScanResult:
    if not os.path.isdir(root):
        return ScanResult(str(root), (), (ScanProblem(".", f"staging folder {root} does not exist or is not a folder"),))
    walker = _FolderScanner(os.path.realpath(root), include, exclude, container, prefix)
    files: list[StagedFile] = []
    problems: list[ScanProblem] = []
    # One thread on purpose: threads per folder were measured slower (GIL hand-offs cost more than
    # the overlapped stat calls gain).
    stack = [(str(root), "")]
    while stack:
        found, trouble, subfolders = walker.folder(*stack.pop())
        files.extend(found)
        problems.extend(trouble)
        stack.extend(subfolders)
    files.sort()  # by rel_path: the first field, unique
    problems.sort(key=lambda p: p.path)
    return ScanResult(str(root), tuple(files), tuple(problems))
