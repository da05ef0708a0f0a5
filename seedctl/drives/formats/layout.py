"""Where seedctl puts things on a drive. One place, so every module agrees.

    <drive root>/
      DriveManifest.xml          the Import/Export manifest (written last, atomically)
      seed/...                   the staged files, under their staging-relative paths
      .seedctl/journal.jsonl     append-only record of completed files (seedctl's own)
      .seedctl/tmp/              files in flight; anything here is discarded on resume
      .seedctl/partial/          large files in flight, resumed from their last checkpoint
      .seedctl/ranges/           the parts (page ranges or blocks) of large files, one file each
      .seedctl-sandbox-drive.json  only on a simulated (sandbox) drive: its serial and capacity
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from seedctl.errors import DriveError
from seedctl.safefs import is_plain_file, is_plain_folder, is_reparse_point, kind_of

DATA_DIR = "seed"
SEEDCTL_DIR = ".seedctl"
JOURNAL_NAME = "journal.jsonl"
TMP_DIR = "tmp"
PARTIAL_DIR = "partial"
RANGES_DIR = "ranges"
SIM_MARKER = ".seedctl-sandbox-drive.json"
# Space is counted in 4 KiB clusters, as NTFS (and ext4) allocate it.
CLUSTER = 4096

# Entries a freshly formatted drive may already carry; they do not make it "foreign".
IGNORABLE_ROOT_ENTRIES = frozenset({
    "lost+found", "System Volume Information", "$RECYCLE.BIN", ".Trashes", ".Spotlight-V100",
    ".fseventsd", SIM_MARKER,
})


def clusters(size: int) -> int:
    """Bytes a file of `size` occupies on a filesystem with 4 KiB clusters."""
    return -(-size // CLUSTER) * CLUSTER


def journal_path(mount: Path) -> Path:
    return Path(mount) / SEEDCTL_DIR / JOURNAL_NAME


def tmp_dir(mount: Path) -> Path:
    return Path(mount) / SEEDCTL_DIR / TMP_DIR


def drive_file_path(rel_path: str) -> str:
    """The manifest FilePath for a staging-relative POSIX path: \\seed\\a\\b.bin."""
    if _SAFE_REL.fullmatch(rel_path):  # the common case, without a PurePosixPath per file
        return "\\" + DATA_DIR + "\\" + rel_path.replace("/", "\\")
    return "\\" + "\\".join((DATA_DIR, *PurePosixPath(rel_path).parts))


def local_path(mount: Path, rel_path: str) -> Path:
    """Where a staging-relative file lives on the mounted drive."""
    return Path(mount, DATA_DIR, *PurePosixPath(rel_path).parts)


def local_from_file_path(mount: Path, file_path: str) -> Path:
    """Map a manifest FilePath (backslash form) to a path under the mount point (lexically confined;
    ValueError when it names no file there)."""
    parts = [p for p in file_path.split("\\") if p]
    if not parts or any(p in (".", "..") or "/" in p or ":" in p or "\x00" in p for p in parts):
        raise ValueError(f"FilePath {file_path!r} leaves the drive")
    return Path(mount, *parts)


# --- confinement -------------------------------------------------------------------------------
# Every path seedctl takes from a drive (journal records, manifest FilePaths) is untrusted: a crafted
# journal must not make seedctl stat, write or delete anything outside the drive. Two layers:
# `rel_path_problem` (lexical: relative, no '..', nothing a Windows path would read as a root or a
# drive letter), checked when the journal is parsed; `Confinement.path` (resolving: the folder is
# still under the mount point once symlinks are followed, and on the drive's filesystem), checked
# right before the path is used.

# the common case in one regex: ASCII segments without '/', '\\', ':' or NUL, none empty, '.' or '..'
_SAFE_REL = re.compile(r"(?!\.\.?(?:/|$))[\x01-\x2e\x30-\x39\x3b-\x5b\x5d-\x7f]+"
                       r"(?:/(?!\.\.?(?:/|$))[\x01-\x2e\x30-\x39\x3b-\x5b\x5d-\x7f]+)*")


def rel_path_problem(rel: object) -> str | None:
    """Why `rel` is not a safe staging-relative POSIX path under the drive's data folder (None if it is)."""
    if not isinstance(rel, str) or not rel:
        return "is not a non-empty string"
    if len(rel) <= 4096 and _SAFE_REL.fullmatch(rel):
        return None
    if len(rel) > 32_767:
        return "is longer than any path a drive can hold"
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (a lone surrogate)"
    if "\x00" in rel:
        return "contains a NUL character"
    if rel.startswith("/"):
        return "is absolute"
    if "\\" in rel or ":" in rel:
        return "contains '\\' or ':' (a Windows path separator or drive letter)"
    if any(part in ("", ".", "..") for part in rel.split("/")):
        return "has an empty, '.' or '..' segment"
    return None


class Confinement:
    """Resolves paths taken from a drive and refuses any that would leave it.

    One instance per operation: the folders it has checked are remembered, so a million files in a
    few thousand folders cost a few thousand `realpath` calls.
    """

    def __init__(self, mount: Path, *, what: str) -> None:
        self.mount = Path(mount)
        self.what = what  # names the source in errors: "journal /mnt/d/.seedctl/journal.jsonl"
        self.root = os.path.realpath(self.mount)
        self._data = os.path.join(str(self.mount), DATA_DIR)
        try:
            self.dev = os.stat(self.root).st_dev
        except OSError as exc:
            raise DriveError(f"drive at {mount}: cannot stat it: {exc.strerror or exc}") from None
        self._ok: set[str] = set()

    def _refuse(self, rel: str, why: str) -> DriveError:
        return DriveError(f"{self.what}: the path {rel!r} {why}; refusing to touch it (nothing was changed). "
                          "The drive's record was edited or comes from elsewhere: move .seedctl/journal.jsonl "
                          "aside to recopy the drive")

    def path(self, rel: str) -> Path:
        """Where the staging-relative `rel` lives on the drive, proven to stay on it."""
        return Path(self._checked(rel))

    def _checked(self, rel: str) -> str:
        problem = rel_path_problem(rel)
        if problem:
            raise self._refuse(rel, problem)
        folder, _, name = rel.rpartition("/")
        folder = os.path.join(self._data, *folder.split("/")) if folder else self._data
        if folder not in self._ok:
            self.check_folder(Path(folder), rel)
        return os.path.join(folder, name)

    def check_folder(self, folder: Path, rel: str) -> None:
        """`folder` (which may not exist yet) resolves under the mount point, on the drive's filesystem."""
        key = str(folder)
        if key in self._ok:
            return
        real = os.path.realpath(folder)
        if real != self.root and not real.startswith(self.root.rstrip(os.sep) + os.sep):
            raise self._refuse(rel, f"resolves to {real}, outside the drive {self.root} (a symbolic link?)")
        existing = real
        while True:  # the nearest folder that exists tells the filesystem
            try:
                st = os.lstat(existing)
                break
            except FileNotFoundError:
                parent = os.path.dirname(existing)
                if parent == existing:
                    raise self._refuse(rel, "has no existing folder on the drive") from None
                existing = parent
            except OSError as exc:
                raise self._refuse(rel, f"cannot be checked: {exc.strerror or exc}") from None
        if st.st_dev != self.dev:
            raise self._refuse(rel, f"is on another filesystem than the drive ({existing} is a mount point)")
        if is_reparse_point(st):  # Windows: realpath may not resolve every kind of reparse point
            raise self._refuse(rel, f"leads through {existing}, {kind_of(st)}")
        self._ok.add(key)

    def lstat_file(self, rel: str) -> os.stat_result | None:
        """lstat of the drive file for `rel`: None when absent; DriveError when it is not a regular file
        on the drive's filesystem (a symbolic link, a folder, a mount point)."""
        path = self._checked(rel)  # a string: a million Path objects are measurably slow
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return None
        if not is_plain_file(st):
            raise self._refuse(rel, f"is not a regular file on the drive ({kind_of(st)})")
        if st.st_dev != self.dev:
            raise self._refuse(rel, "is on another filesystem than the drive")
        return st


def check_own_folder(mount: Path, name: str = SEEDCTL_DIR) -> None:
    """seedctl's own folders on the drive (.seedctl, .seedctl/tmp) must be plain folders: if one were a
    symbolic link, emptying `tmp` or appending to the journal would act wherever it points."""
    path = Path(mount, name)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise DriveError(f"drive at {mount}: cannot check {path}: {exc.strerror or exc}") from None
    if not is_plain_folder(st):  # a junction reports as a folder: only its reparse attribute tells
        raise DriveError(f"drive at {mount}: {path} is not a folder ({kind_of(st)}); it is seedctl's own folder "
                         "and must not point elsewhere. Remove it and re-run")
    try:
        mount_dev = os.stat(mount).st_dev
    except OSError as exc:
        raise DriveError(f"drive at {mount}: cannot stat it: {exc.strerror or exc}") from None
    if st.st_dev != mount_dev:
        raise DriveError(f"drive at {mount}: {path} is on another filesystem (a mount point); refusing to use it")
