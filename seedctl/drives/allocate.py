"""Allocate staged files to drives, stably.

Files are taken in scan order (sorted by relative path) and poured into the drives in the spec's
order: each drive gets a contiguous run of that order. Files already written to a drive (its journal,
passed as `pinned`) stay there while they still fit, so a resumed or re-planned run never moves data
that is on a drive. New files appended to the end of the order only ever land on the last drives:
adding data moves only the tail.

No drive in a job may be empty (the operator would be told to ship a disk that carries nothing),
so when the pour leaves drives empty — the data fits on fewer drives than the spec lists — each
empty drive takes the last not-yet-written file in scan order from a drive that keeps at least one
(the last empty drive the very last file, the one before it the file before that), so the runs stay
contiguous. Files already written never move. Only when there are fewer movable files than empty
drives does a drive stay empty; the plan then names it as not needed.

What a file costs on a drive is more than its size: cluster rounding, plus its share of the manifest
(about 200 bytes per block and 600 per file) and of the journal (about 40 bytes per block and 400 per
file). `usable_bytes()` further keeps back room for filesystem metadata.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from seedctl.drives.manifest import MAX_BLOCK_SIZE
from seedctl.drives.scan import StagedFile
from seedctl.drives.simulated import clusters
from seedctl.errors import DriveError

PER_FILE_OVERHEAD = 1024  # manifest entry + journal record
PER_BLOCK_OVERHEAD = 256  # a Block element in the manifest + its MD5 in the journal
FS_RESERVE_FRACTION = 0.01  # NTFS MFT, bitmap, log: keep 1 % (at least 64 MiB) back
FS_RESERVE_MIN = 64 * 1024 * 1024


class AllocationError(DriveError):
    """The data cannot be placed on the drives; the message gives the figures."""


def cost_on_drive(size: int) -> int:
    """Bytes a file of `size` uses on a drive, its manifest and journal entries included."""
    blocks = max(1, -(-size // MAX_BLOCK_SIZE))
    return clusters(size) + PER_FILE_OVERHEAD + blocks * PER_BLOCK_OVERHEAD


def usable_bytes(capacity: int) -> int:
    """What of a drive's capacity seedctl will fill (the rest is filesystem overhead and slack)."""
    return max(0, capacity - max(FS_RESERVE_MIN, int(capacity * FS_RESERVE_FRACTION)))


@dataclass(frozen=True)
class DriveAllocation:
    serial: str
    usable_bytes: int
    files: tuple[StagedFile, ...]

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def cost(self) -> int:
        return sum(cost_on_drive(f.size) for f in self.files)


@dataclass(frozen=True)
class Allocation:
    drives: tuple[DriveAllocation, ...]

    def for_serial(self, serial: str) -> DriveAllocation:
        for d in self.drives:
            if d.serial == serial:
                return d
        raise KeyError(serial)


def _gib(n: int) -> str:
    return f"{n / 2**30:,.2f} GiB"


def allocate(files: Sequence[StagedFile], drives: Sequence[tuple[str, int]], *,
             pinned: Mapping[str, set[str]] | None = None) -> Allocation:
    """Place `files` on `drives` ([(serial, usable_bytes)], in spec order).

    `pinned` maps a serial to the relative paths its journal says are already on it; those stay
    put when they still fit. Raises AllocationError with figures when a file fits on no drive or
    the data exceeds the drives.
    """
    if not drives:
        if files:
            raise AllocationError(f"no drives in the spec for {len(files):,} files ({_gib(sum(f.size for f in files))})")
        return Allocation(())
    largest = max(u for _, u in drives)
    too_big = [f for f in files if cost_on_drive(f.size) > largest]
    if too_big:
        f = too_big[0]
        raise AllocationError(
            f"{f.rel_path} is {f.size:,} bytes ({_gib(f.size)}), larger than the largest drive's usable "
            f"{largest:,} bytes ({_gib(largest)}); {len(too_big)} file(s) fit on no drive. Use larger drives")
    total_cost = sum(cost_on_drive(f.size) for f in files)
    total_usable = sum(u for _, u in drives)
    if total_cost > total_usable:
        short = total_cost - total_usable
        raise AllocationError(
            f"the data needs {total_cost:,} bytes ({_gib(total_cost)}) on drives but the {len(drives)} drive(s) "
            f"offer {total_usable:,} ({_gib(total_usable)}); {short:,} bytes ({_gib(short)}) short: add at least "
            f"{-(-short // largest)} drive(s) of {_gib(largest)}")
    serials = [s for s, _ in drives]
    free = {s: u for s, u in drives}
    placed: dict[str, list[StagedFile]] = {s: [] for s in serials}
    remaining: list[StagedFile] = []
    where = {rel: s for s, rels in (pinned or {}).items() if s in free for rel in rels}
    stay: set[str] = set()  # written files kept where they are: never moved to fill an empty drive
    for f in files:
        s = where.get(f.rel_path)
        if s is not None and cost_on_drive(f.size) <= free[s]:
            placed[s].append(f)
            free[s] -= cost_on_drive(f.size)
            stay.add(f.rel_path)
        else:
            remaining.append(f)
    index = 0
    for f in remaining:
        cost = cost_on_drive(f.size)
        start = index
        while cost > free[serials[index]]:
            index += 1
            if index == len(serials):
                # fragmentation: fall back to any drive with room (first fit from the start)
                fit = next((s for s in serials if cost <= free[s]), None)
                if fit is None:
                    raise AllocationError(
                        f"{f.rel_path} ({f.size:,} bytes) fits on no drive once the files before it are placed "
                        f"(free: {', '.join(f'{s} {free[s]:,}' for s in serials)}); add a drive")
                placed[fit].append(f)
                free[fit] -= cost
                index = start
                break
        else:
            placed[serials[index]].append(f)
            free[serials[index]] -= cost
    order = {f.rel_path: i for i, f in enumerate(files)}
    _fill_empty_drives(serials, placed, free, stay, order)
    return Allocation(tuple(
        DriveAllocation(s, u, tuple(sorted(placed[s], key=lambda f: order[f.rel_path]))) for s, u in drives))


def _fill_empty_drives(serials: list[str], placed: dict[str, list[StagedFile]], free: dict[str, int],
                       stay: set[str], order: Mapping[str, int]) -> None:
    """Give each empty drive one file: the last movable one in scan order (see the module doc)."""
    for empty in reversed([s for s in serials if not placed[s]]):
        candidates = [(order[f.rel_path], s, f) for s in serials if len(placed[s]) > 1
                      for f in placed[s] if f.rel_path not in stay and cost_on_drive(f.size) <= free[empty]]
        if not candidates:
            continue
        _, donor, f = max(candidates, key=lambda c: c[0])
        placed[donor].remove(f)
        free[donor] += cost_on_drive(f.size)
        placed[empty].append(f)
        free[empty] -= cost_on_drive(f.size)
