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

from seedctl.drives.layout import SIM_MARKER
from seedctl.errors import DriveError

CLUSTER = 4096
MARKER_KIND = "seedctl-sandbox-drive"


@dataclass(frozen=True)
class SimulatedDrive:
    serial: str
    capacity: int


def clusters(size: int) -> int:
    """Bytes a file of `size` occupies on a filesystem with 4 KiB clusters."""
    return -(-size // CLUSTER) * CLUSTER


def create_simulated_drive(path: Path, serial: str, capacity: int) -> None:
    """Make `path` (created if missing) a sandbox drive with this serial and capacity in bytes."""
    if not serial or any(c.isspace() for c in serial):
        raise DriveError(f"simulated drive {path}: serial {serial!r} must be non-empty and without spaces")
    if capacity <= 0:
        raise DriveError(f"simulated drive {path}: capacity must be positive, not {capacity}")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    marker = path / SIM_MARKER
    tmp = marker.with_name(marker.name + ".tmp")
    tmp.write_text(json.dumps({"kind": MARKER_KIND, "serial": serial, "capacity": int(capacity)}) + "\n")
    os.replace(tmp, marker)


def read_simulated(path: Path) -> SimulatedDrive | None:
    """The marker's serial and capacity, or None when `path` is not a simulated drive."""
    try:
        data = json.loads((Path(path) / SIM_MARKER).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise DriveError(f"simulated drive marker {Path(path) / SIM_MARKER} is unreadable: {exc}") from None
    if data.get("kind") != MARKER_KIND or not isinstance(data.get("capacity"), int):
        raise DriveError(f"simulated drive marker {Path(path) / SIM_MARKER} is not a seedctl marker")
    return SimulatedDrive(str(data["serial"]), int(data["capacity"]))


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
