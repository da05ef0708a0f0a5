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

from array import array
from bisect import bisect_right
from collections.abc import Callable, Collection, Iterator, Mapping, MutableSequence, Sequence
from dataclasses import dataclass, field
from itertools import accumulate

from seedctl.drives.formats.layout import CLUSTER, clusters
from seedctl.drives.formats.manifest import MAX_BLOCK_SIZE
from seedctl.drives.tables.staged import StagedFile, StagedTable, rel_paths
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


def costs_on_drive(sizes: Sequence[int]) -> array:
    """`cost_on_drive` of every size, as one array: the same formula inline, no call per file (a
    million calls were a quarter of a 1M-file plan's allocation)."""
    block, small = MAX_BLOCK_SIZE, PER_FILE_OVERHEAD + PER_BLOCK_OVERHEAD  # a file of one block: the common case
    return array("q", [-(-s // CLUSTER) * CLUSTER + (small if s <= block else
                                                     PER_FILE_OVERHEAD + PER_BLOCK_OVERHEAD * -(-s // block))
                       for s in sizes])


@dataclass(frozen=True)
class DriveAllocation:
    serial: str
    usable_bytes: int
    files: Sequence[StagedFile]  # in scan order; a view of the scan's table when allocated from one
    # the sums, when the allocator already has them (not part of equality: derived from `files`)
    known_bytes: int | None = field(default=None, compare=False, repr=False)
    known_cost: int | None = field(default=None, compare=False, repr=False)

    @property
    def bytes(self) -> int:
        return self.known_bytes if self.known_bytes is not None else sum(f.size for f in self.files)

    @property
    def cost(self) -> int:
        return self.known_cost if self.known_cost is not None else sum(cost_on_drive(f.size) for f in self.files)


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
             pinned: Mapping[str, Collection[str]] | None = None) -> Allocation:
    """Place `files` on `drives` ([(serial, usable_bytes)], in spec order).

    `pinned` maps a serial to the relative paths its journal says are already on it; those stay
    put when they still fit. Raises AllocationError with figures when a file fits on no drive or
    the data exceeds the drives.

    Works on file indexes: each file's cost is computed once, a drive's files come out in scan
    order by construction (no re-sort), and filling an empty drive looks back from the end of the
    scan order (a few steps), not through every file (a plan of a million files spent most of its
    allocation time on those three). From a scan's `StagedTable` it reads the packed sizes and
    paths, and each drive's share is a view of the table (a range when contiguous): no object per file.
    """
    if not drives:
        if files:
            raise AllocationError(f"no drives in the spec for {len(files):,} files ({_gib(sum(f.size for f in files))})")
        return Allocation(())
    sizes, rel_paths, select = _columns(files)
    # compact arrays, not lists of int objects: 8 and 2 bytes a file instead of about 36 and 8
    costs = costs_on_drive(sizes)
    largest = max(u for _, u in drives)
    if costs and max(costs) > largest:
        too_big = [f for f, c in zip(files, costs, strict=True) if c > largest]
        f = too_big[0]
        raise AllocationError(
            f"{f.rel_path} is {f.size:,} bytes ({_gib(f.size)}), larger than the largest drive's usable "
            f"{largest:,} bytes ({_gib(largest)}); {len(too_big)} file(s) fit on no drive. Use larger drives")
    total_cost = sum(costs)
    total_usable = sum(u for _, u in drives)
    if total_cost > total_usable:
        short = total_cost - total_usable
        raise AllocationError(
            f"the data needs {total_cost:,} bytes ({_gib(total_cost)}) on drives but the {len(drives)} drive(s) "
            f"offer {total_usable:,} ({_gib(total_usable)}); {short:,} bytes ({_gib(short)}) short: add at least "
            f"{-(-short // largest)} drive(s) of {_gib(largest)}")
    serials = [s for s, _ in drives]
    free = [u for _, u in drives]
    number = {s: d for d, s in enumerate(serials)}
    drive_of = _drive_numbers(len(files), len(serials))  # file index -> drive index
    stay = bytearray(len(files))  # 1: written file kept where it is, never moved to fill an empty drive
    where = {rel: number[s] for s, rels in (pinned or {}).items() if s in number for rel in rels}
    if where:
        remaining = []
        for i, rel in enumerate(rel_paths()):
            d = where.get(rel)
            if d is not None and costs[i] <= free[d]:
                drive_of[i] = d
                free[d] -= costs[i]
                stay[i] = 1
            else:
                remaining.append(i)
        index = 0
    else:
        # nothing pinned: the sequential pour below, done a drive at a time on prefix sums
        index, first = _pour(costs, free, drive_of)
        remaining = range(first, len(files))
    last = len(serials)
    for i in remaining:
        cost = costs[i]
        start = index
        while cost > free[index]:
            index += 1
            if index == last:
                # fragmentation: fall back to any drive with room (first fit from the start)
                fit = next((d for d in range(last) if cost <= free[d]), None)
                if fit is None:
                    raise AllocationError(
                        f"{files[i].rel_path} ({files[i].size:,} bytes) fits on no drive once the files before it "
                        f"are placed (free: {', '.join(f'{s} {free[d]:,}' for d, s in enumerate(serials))}); "
                        "add a drive")
                drive_of[i] = fit
                free[fit] -= cost
                index = start
                break
        else:
            drive_of[i] = index
            free[index] -= cost
    _fill_empty_drives(drive_of, costs, free, stay)
    shares = []
    for d, indexes in enumerate(_indexes_by_drive(drive_of, len(serials))):
        if isinstance(indexes, range):
            share_bytes, cost = sum(sizes[indexes.start:indexes.stop]), sum(costs[indexes.start:indexes.stop])
        else:
            share_bytes, cost = sum(map(sizes.__getitem__, indexes)), sum(map(costs.__getitem__, indexes))
        shares.append(DriveAllocation(serials[d], drives[d][1], select(indexes), share_bytes, cost))
    return Allocation(tuple(shares))


def _drive_numbers(files: int, drives: int) -> bytearray | array:
    """The file -> drive table: a byte a file when drive numbers fit in one (a spec has at most a few
    dozen drives), so that counting a drive's files is a C-level byte count, not a million compares."""
    return bytearray(files) if drives <= 255 else array("h", [0]) * files


def _repeat(drive_of: bytearray | array, drive: int, count: int) -> bytearray | array:
    return bytearray([drive]) * count if isinstance(drive_of, bytearray) else array("h", [drive]) * count


def _pour(costs: array, free: list[int], drive_of: bytearray | array) -> tuple[int, int]:
    """The sequential pour of `allocate`'s loop for files 0.. (nothing pinned), a drive at a time:
    each drive takes the longest run of the next files that fits (a binary search in the prefix sums
    of the costs), and a file that does not fit moves the pour on to the next drive, as in the loop.

    Returns (the drive of the last file placed, the first file not placed): the loop carries on from
    there when a file fits on none of the remaining drives (its first-fit fallback)."""
    prefix = array("q", accumulate(costs, initial=0))  # prefix[k]: the cost of files 0..k-1
    placed, index = 0, 0
    for d in range(len(free)):
        if placed == len(costs):
            break
        end = bisect_right(prefix, prefix[placed] + free[d], placed) - 1
        if end > placed:
            drive_of[placed:end] = _repeat(drive_of, d, end - placed)
            free[d] -= prefix[end] - prefix[placed]
            placed, index = end, d
    return index, placed


def _columns(files: Sequence[StagedFile]
             ) -> tuple[Sequence[int], Callable[[], Iterator[str]], Callable[[Sequence[int]], Sequence[StagedFile]]]:
    """(sizes, the relative paths in order, a share's files by their indexes) of `files`: read from
    a scan's packed table, or from any other sequence of StagedFile (tests, small callers)."""
    if isinstance(files, StagedTable):
        return files.sizes, files.rel_paths, files.select
    return (array("q", (f.size for f in files)), lambda: rel_paths(files),
            lambda indexes: tuple(files[i] for i in indexes))


def _indexes_by_drive(drive_of: bytearray | array, drives: int) -> list[Sequence[int]]:
    """Each drive's file indexes, ascending (so in scan order). Usually each drive holds one
    contiguous run, in drive order: then each share is a range, found with C-level counts."""
    counts = [drive_of.count(d) for d in range(drives)]
    runs, start = [], 0
    for n in counts:
        runs.append(range(start, start + n))
        start += n
    if all(drive_of[r.start:r.stop].count(d) == len(r) for d, r in enumerate(runs)):
        return runs
    placed = [array("q") for _ in range(drives)]
    for i, d in enumerate(drive_of):
        placed[d].append(i)
    return placed


def _fill_empty_drives(drive_of: MutableSequence[int], costs: Sequence[int], free: list[int], stay: bytearray) -> None:
    """Give each empty drive one file: the last movable one in scan order (see the module doc).

    Movable: not kept in place from the journal, on a drive that keeps at least one file, and
    fitting the empty drive. Looking back from the end of the scan order, the first such file is
    the one; usually a step or two."""
    counts = [drive_of.count(d) for d in range(len(free))]
    for empty in reversed([d for d, n in enumerate(counts) if n == 0]):
        for i in range(len(drive_of) - 1, -1, -1):
            donor = drive_of[i]
            if not stay[i] and counts[donor] > 1 and costs[i] <= free[empty]:
                drive_of[i] = empty
                counts[donor] -= 1
                counts[empty] += 1
                free[donor] += costs[i]
                free[empty] -= costs[i]
                break
