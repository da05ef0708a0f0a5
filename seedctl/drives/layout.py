"""Where seedctl puts things on a drive. One place, so every module agrees.

    <drive root>/
      DriveManifest.xml          the Import/Export manifest (written last, atomically)
      seed/...                   the staged files, under their staging-relative paths
      .seedctl/journal.jsonl     append-only record of completed files (seedctl's own)
      .seedctl/tmp/              files in flight; anything here is discarded on resume
      .seedctl-sandbox-drive.json  only on a simulated (sandbox) drive: its serial and capacity
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

DATA_DIR = "seed"
SEEDCTL_DIR = ".seedctl"
JOURNAL_NAME = "journal.jsonl"
TMP_DIR = "tmp"
SIM_MARKER = ".seedctl-sandbox-drive.json"

# Entries a freshly formatted drive may already carry; they do not make it "foreign".
IGNORABLE_ROOT_ENTRIES = frozenset({
    "lost+found", "System Volume Information", "$RECYCLE.BIN", ".Trashes", ".Spotlight-V100",
    ".fseventsd", SIM_MARKER,
})


def journal_path(mount: Path) -> Path:
    return Path(mount) / SEEDCTL_DIR / JOURNAL_NAME


def tmp_dir(mount: Path) -> Path:
    return Path(mount) / SEEDCTL_DIR / TMP_DIR


def drive_file_path(rel_path: str) -> str:
    """The manifest FilePath for a staging-relative POSIX path: \\seed\\a\\b.bin."""
    return "\\" + "\\".join((DATA_DIR, *PurePosixPath(rel_path).parts))


def local_path(mount: Path, rel_path: str) -> Path:
    """Where a staging-relative file lives on the mounted drive."""
    return Path(mount, DATA_DIR, *PurePosixPath(rel_path).parts)


def local_from_file_path(mount: Path, file_path: str) -> Path:
    """Map a manifest FilePath (backslash form) to a path under the mount point."""
    parts = [p for p in file_path.split("\\") if p]
    if any(p in (".", "..") for p in parts):
        raise ValueError(f"FilePath {file_path!r} leaves the drive")
    return Path(mount, *parts)
