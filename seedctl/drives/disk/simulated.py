"""Sandbox drives: a folder marked with its serial and capacity, behaving like a disk of that size.

A simulated drive is accepted only when the spec's cloud is the sandbox (`allow_simulated`). Its
free space is capacity minus what is stored in it (sizes rounded up to 4 KiB clusters, as a real
filesystem would), and the copy engine writes through a `SpaceGuard` that raises ENOSPC, exactly
the error a full disk gives, when a write would go past the capacity.
"""

from __future__ import annotations

import errno
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from seedctl.drives.formats.layout import SIM_MARKER, clusters
from seedctl.errors import DriveError
from seedctl.fsretry import replace as replace_retrying
from seedctl.safefs import CAP_MARKER, read_regular

MARKER_KIND = "seedctl-sandbox-drive"
MARKER_MAX_BYTES = CAP_MARKER  # a marker is ~80 bytes; anything larger is not one
MAX_CAPACITY = 1 << 60  # 1 EiB: far beyond any disk, and safely inside every integer the engine uses


@dataclass(frozen=True)
class SimulatedDrive:
    serial: str
    capacity: int


def create_simulated_drive(path: Path, serial: str, capacity: int) -> None:
    """Make `path` (created if missing) a sandbox drive with this serial and capacity in bytes."""
    if not serial or any(c.isspace() for c in serial):
        raise DriveError(f"simulated drive {path}: serial {serial!r} must be non-empty and without spaces")
    if capacity <= 0:
        raise DriveError(f"simulated drive {path}: capacity must be positive, not {capacity}")
    if not 0 < capacity <= MAX_CAPACITY:
        raise DriveError(f"simulated drive {path}: capacity {capacity} is more than {MAX_CAPACITY}")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    marker = path / SIM_MARKER
    tmp = marker.with_name(marker.name + ".tmp")
    data = (json.dumps({"kind": MARKER_KIND, "serial": serial, "capacity": int(capacity)}) + "\n").encode()
    try:
        # a fresh temporary file: whatever sits under its name (a symbolic link included) is removed,
        # never written through
        if tmp.is_symlink() or tmp.is_file():
            tmp.unlink()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_BINARY", 0), 0o644)
        with open(fd, "wb") as fh:
            fh.write(data)
        replace_retrying(tmp, marker)  # Windows: an indexer or antivirus may hold the file a moment
    except OSError as exc:
        raise DriveError(f"simulated drive {path}: cannot write its marker: {exc.strerror or exc}") from None


def _marker_bytes(marker: Path) -> bytes | None:
    """The marker's bytes: a small regular file, never a link, FIFO or device (None when absent).
    Read with the one safe reader (seedctl.safefs)."""
    try:
        return read_regular(marker, what="simulated drive marker", cap=MARKER_MAX_BYTES)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None


def read_simulated(path: Path) -> SimulatedDrive | None:
    """The marker's serial and capacity, or None when `path` is not a simulated drive.

    The marker comes from a drive, so it is untrusted: it must be a JSON object with `kind`
    "seedctl-sandbox-drive", a `serial` (non-empty, no white space) and a positive integer
    `capacity`; anything else is a DriveError naming the marker and the field."""
    marker = Path(path) / SIM_MARKER
    raw = _marker_bytes(marker)
    if raw is None:
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise DriveError(f"simulated drive marker {marker} is not valid JSON: {exc}; recreate it with "
                         "`seedctl sandbox drive`") from None
    if not isinstance(data, dict):
        raise DriveError(f"simulated drive marker {marker} holds a JSON {type(data).__name__}, not an object: it is "
                         "not a seedctl marker; recreate it with `seedctl sandbox drive`")
    if data.get("kind") != MARKER_KIND:
        raise DriveError(f"simulated drive marker {marker}: field 'kind' is {data.get('kind')!r:.40}, not "
                         f"{MARKER_KIND!r}: it is not a seedctl marker")
    serial, capacity = data.get("serial"), data.get("capacity")
    if not isinstance(serial, str) or not serial or len(serial) > 128 or any(
            c.isspace() or not c.isprintable() for c in serial):
        raise DriveError(f"simulated drive marker {marker}: field 'serial' ({serial!r:.40}) must be a non-empty "
                         "string of at most 128 printable characters without spaces")
    if type(capacity) is not int or not 0 < capacity <= MAX_CAPACITY:
        raise DriveError(f"simulated drive marker {marker}: field 'capacity' ({capacity!r:.40}) must be a positive "
                         f"integer of at most {MAX_CAPACITY} bytes")
    return SimulatedDrive(serial, capacity)


def used_bytes(path: Path) -> int:
    """What the folder's files occupy (cluster-rounded), the marker excluded."""
    total = 0
    stack = [str(path)]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif entry.is_file(follow_symlinks=False) and entry.name != SIM_MARKER:
                        total += clusters(entry.stat(follow_symlinks=False).st_size)
        except FileNotFoundError:
            continue
    return total


class SpaceGuard:
    """Accounts writes against a simulated drive's capacity; raises ENOSPC like a full disk."""

    def __init__(self, capacity: int, used: int) -> None:
        self.capacity = capacity
        self.used = used
        self._lock = threading.Lock()

    @classmethod
    def for_drive(cls, path: Path) -> SpaceGuard | None:
        sim = read_simulated(path)
        return None if sim is None else cls(sim.capacity, used_bytes(path))

    def reserve(self, nbytes: int, where: str) -> None:
        with self._lock:
            if self.used + nbytes > self.capacity:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), where)
            self.used += nbytes

    def release(self, nbytes: int) -> None:
        with self._lock:
            self.used = max(0, self.used - nbytes)
