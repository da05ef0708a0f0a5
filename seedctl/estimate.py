"""`seedctl estimate`: size the seed from the staging folder alone, before any drive is bought.

What it answers, and from what:

- **how many drives of a size, and how full each will be**: the same allocation `plan` makes
  (`seedctl.drives.allocate`: file costs with cluster rounding, manifest and journal overhead, and
  each drive's reserve), onto as few drives of that size as hold the data;
- **how long the copy takes**: every byte of staging divided by a throughput that is either stated
  (`--throughput`) or measured by a short sequential read of staging;
- **the calendar**: copy → the import job is created (apply creates it after the drives) → the
  tracking-number deadline (14 days) → shipping and transit → receipt (1-3 business days after
  delivery) → the datacenter's copy (7-10 days, no SLA) → verify → the backup agent's first online
  backup (its next scheduled backup) → clean-up. Sources: /work/shared/domain/importexport.md and
  importexport-reference.md §3.4, §3.7, §4.1; the transit, the packing day and the backup schedule
  are assumptions, stated as such and settable.

**Page blobs and zero runs.** The backup agent's staging files are a few TB-sized page-blob files
with long runs of zeros; page blobs keep only the pages that hold data. Where that changes the
answer, the estimate counts only the non-zero part:

- *What lands in Azure* (the imported page data, what the storage account holds and bills, what
  the datacenter uploads) is the non-zero part.
- *Copy time* is not: the copy reads every byte of staging (reading is how the zero runs are found,
  and every non-zero page is hashed).
- *Drive fill* is not: the copy engine (drives/writing/copyengine.py) leaves a page blob's zero
  runs as holes, but a hole saves space only where the drive's filesystem keeps sparse files (NTFS
  on Windows once the file is marked sparse, which is tried and may be refused), so allocation
  (drives/placement/allocate.py `cost_on_drive`) budgets every byte, and so does this estimate.
  `ZERO_RUNS_FILL_DRIVES` is that one decision, kept equal to allocation's: a drive is never
  bought or planned short because its holes turned out to be written as zeros.

How the zeros are counted, cheaply: first `SEEK_DATA`/`SEEK_HOLE`, which is exact and reads nothing
where the staging filesystem keeps the files sparse (ext4, XFS, Btrfs, ZFS, APFS, NTFS through
ntfs-3g/ntfs3; also SMB shares that pass it on). Zeros written as data (a filesystem or share
without sparse files, or a writer that wrote them) are found by a sample: `samples` reads of 64 KiB
spread at random over the data regions (stratified, fixed seed: the same tree gives the same
figure), each counted page by page (512 bytes, the page-blob page). A sample, not a full read:
reading 10 TB to learn how many zeros it holds would take the copy's own time.
"""

from __future__ import annotations

import errno
import math
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from seedctl.errors import SeedctlError

PAGE = 512  # a page blob's page
SAMPLE_BYTES = 64 * 1024
DEFAULT_SAMPLES = 256
MAX_EXTENTS_PER_FILE = 100_000  # a file fragmented beyond this is taken as data from there on
MEASURE_SECONDS = 2.0
MEASURE_BYTES = 256 * 1024 * 1024
MEASURE_MIN_BYTES = 16 * 1024 * 1024  # less staging data than this measures the cache, not the disk
MAX_DRIVES_PER_JOB = 10  # the service's limit (REST: "List of up to ten drives")

# The one decision the drive fill depends on (see the module docstring).
ZERO_RUNS_FILL_DRIVES = True

# The calendar's clocks. Facts (sources in the module docstring) and assumptions, kept apart.
TRACKING_DEADLINE_DAYS = 14          # fact: tracking number within two weeks of the job's creation
RECEIPT_BUSINESS_DAYS = (1, 3)       # fact: logged in 1-3 business days after the carrier delivers
DATACENTER_COPY_DAYS = (7, 10)       # fact: typically 7-10 days after receipt; no SLA
PACKING_DAYS = 1                     # assumption: the drives are packed and handed over the day after the copy
DEFAULT_TRANSIT_DAYS = 3             # assumption: a domestic courier; --transit-days
DEFAULT_BACKUP_INTERVAL_DAYS = 1     # assumption: a daily backup schedule; --backup-interval-days

DEFAULT_DRIVE_SIZES = (2 * 10**12, 4 * 10**12, 8 * 10**12, 10 * 10**12)  # decimal, as drives are sold


# -- opening staged files -------------------------------------------------------------------------



def open_staged(root: Path, rel_path: str) -> int:
    """A read-only descriptor of `root/rel_path` through seedctl.safefs: every folder opened through
    its parent's descriptor with O_NOFOLLOW (a symlink swapped in after the scan is refused, not
    followed), never waiting on a FIFO swapped in (O_NONBLOCK), and the file checked to be a regular
    file; on Windows, reparse points refused. OSError when it cannot be opened so."""
    from seedctl.errors import DriveError
    from seedctl.safefs import Tree

    try:
        with Tree(root, what=f"staging folder {root}") as tree:
            return tree.open(rel_path)
    except DriveError as exc:
        raise OSError(str(exc)) from None


# -- zeros ---------------------------------------------------------------------------------------

def data_extents(fd: int, size: int) -> list[tuple[int, int]]:
    """The (offset, length) runs of `fd` that hold data, by SEEK_DATA/SEEK_HOLE. Without them (or
    on a filesystem that does not keep holes) the whole file is one run."""
    if size == 0:
        return []
    seek_data, seek_hole = getattr(os, "SEEK_DATA", None), getattr(os, "SEEK_HOLE", None)
    if seek_data is None or seek_hole is None:
        return [(0, size)]
    extents: list[tuple[int, int]] = []
    offset = 0
    try:
        while offset < size:
            try:
                start = os.lseek(fd, offset, seek_data)
            except OSError as exc:
                if exc.errno == errno.ENXIO:  # no data after offset: the rest is a hole
                    break
                raise
            if start >= size:
                break
            end = min(os.lseek(fd, start, seek_hole), size)
            if len(extents) >= MAX_EXTENTS_PER_FILE:
                extents.append((start, size - start))
                break
            extents.append((start, end - start))
            offset = end
    except OSError:
        return [(0, size)]  # the filesystem does not answer: count it all as data (then sampled)
    return extents


def zero_pages(buf: bytes) -> int:
    """How many whole 512-byte pages of `buf` are all zeros (a tail shorter than a page counts as one)."""
    zero = bytes(PAGE)
    count = 0
    for i in range(0, len(buf), PAGE):
        page = buf[i:i + PAGE]
        if page == zero[:len(page)]:
            count += 1
    return count


@dataclass(frozen=True)
class ZeroCount:
    """How much of staging is zeros, and how that was found."""

    total_bytes: int
    hole_bytes: int = 0  # exact: SEEK_HOLE
    data_bytes: int = 0  # the rest (total - holes): sampled
    samples: int = 0
    sampled_bytes: int = 0
    sampled_zero_bytes: int = 0
    counted: bool = True  # False for block blobs: zeros are stored like any data

    @property
    def zero_fraction_of_data(self) -> float:
        return self.sampled_zero_bytes / self.sampled_bytes if self.sampled_bytes else 0.0

    @property
    def zero_bytes(self) -> int:
        """Holes (exact) plus the sampled fraction of the data regions."""
        if not self.counted:
            return 0
        return self.hole_bytes + round(self.data_bytes * self.zero_fraction_of_data)

    @property
    def nonzero_bytes(self) -> int:
        return self.total_bytes - self.zero_bytes

    def method(self) -> str:
        if not self.counted:
            return "not counted: block blobs store every byte"
        parts = []
        if self.hole_bytes:
            parts.append("SEEK_HOLE for the holes (exact)")
        if self.samples:
            parts.append(f"{self.samples:,} samples of 64 KiB of the rest, counted in 512-byte pages")
        return "; ".join(parts) or "nothing to count (no data)"

    def to_json(self) -> dict[str, Any]:
        return {"counted": self.counted, "total_bytes": self.total_bytes, "zero_bytes": self.zero_bytes,
                "nonzero_bytes": self.nonzero_bytes, "hole_bytes": self.hole_bytes, "data_bytes": self.data_bytes,
                "samples": self.samples, "sampled_bytes": self.sampled_bytes,
                "sampled_zero_bytes": self.sampled_zero_bytes, "method": self.method()}


SMALL_FILE = 1024 * 1024  # below this a file is not asked for holes: taken as data (and sampled)


def count_zeros(root: Path, files: Sequence[Any], *, samples: int = DEFAULT_SAMPLES, seed: int = 25,
                opener: Callable[[Path, str], int] = open_staged) -> ZeroCount:
    """Count the zeros of the staged `files` (StagedFile-like: rel_path, size).

    Holes are asked of files of a MiB or more only (the agent's few large files; in a tree of a
    million small files, a million opens would take longer than the answer is worth), and only
    those files' extents are kept; the sample then walks the data regions once, in order."""
    total = 0
    holes = 0
    extents_of: dict[int, list[tuple[int, int]]] = {}  # file index -> its data extents (large files)
    for index, f in enumerate(files):
        total += f.size
        if f.size < SMALL_FILE:
            continue
        try:
            fd = opener(root, f.rel_path)
        except OSError:
            continue  # unreadable now: taken as data; the sample skips it
        try:
            extents = data_extents(fd, f.size)
        finally:
            os.close(fd)
        holes += f.size - sum(length for _, length in extents)
        extents_of[index] = extents
    data = total - holes
    if not data or samples <= 0:
        return ZeroCount(total, holes, data)

    def regions() -> Any:  # (rel_path, offset, length) of every data region, in file order
        for index, f in enumerate(files):
            if f.size:
                for offset, length in extents_of.get(index, [(0, f.size)]):
                    yield f.rel_path, offset, length

    # stratified random positions over the data regions laid end to end: one per stratum
    rng = random.Random(seed)
    stride = data / samples
    wanted = sorted(int(stride * k + rng.random() * stride) for k in range(samples))
    sampled = sampled_zero = taken = 0
    walk = regions()
    region, base = next(walk, None), 0  # the current region, and the data offset where it starts
    fds: dict[str, int] = {}
    try:
        for position in wanted:
            while region is not None and base + region[2] <= position:
                base += region[2]
                region = next(walk, None)
            if region is None:
                break
            rel, offset, length = region
            start = offset + ((position - base) // PAGE) * PAGE
            count = min(SAMPLE_BYTES, offset + length - start)
            if count <= 0:
                continue
            try:
                fd = fds.get(rel)
                if fd is None:
                    fd = fds[rel] = opener(root, rel)
                buf = os.pread(fd, count, start)
            except OSError:
                continue
            taken += 1
            sampled += len(buf)
            tail = len(buf) % PAGE
            sampled_zero += zero_pages(buf) * PAGE - (PAGE - tail if tail and buf[-tail:] == bytes(tail) else 0)
    finally:
        for fd in fds.values():
            os.close(fd)
    return ZeroCount(total, holes, data, taken, sampled, sampled_zero)


# -- throughput ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Throughput:
    bytes_per_second: float
    source: str  # "stated" or "measured"
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"bytes_per_second": round(self.bytes_per_second, 1), "source": self.source, "detail": self.detail}


def measure_read_rate(root: Path, files: Sequence[Any], *, seconds: float = MEASURE_SECONDS,
                      max_bytes: int = MEASURE_BYTES, clock: Callable[[], float] = time.monotonic,
                      opener: Callable[[Path, str], int] = open_staged) -> Throughput | None:
    """A short sequential read of the largest staged file's data (its holes skipped), with the page
    cache for that range dropped first where the OS allows: bytes read over the time taken. None when
    staging holds too little data to tell a disk from the cache."""
    for f in sorted(files, key=lambda f: -f.size)[:8]:
        try:
            fd = opener(root, f.rel_path)
        except OSError:
            continue
        try:
            extents = data_extents(fd, f.size)
            if sum(length for _, length in extents) < MEASURE_MIN_BYTES:
                continue
            done, started, chunk = 0, clock(), 4 * 1024 * 1024
            for offset, length in extents:
                if hasattr(os, "posix_fadvise"):
                    os.posix_fadvise(fd, offset, min(length, max_bytes), os.POSIX_FADV_DONTNEED)
                position = offset
                while position < offset + length and done < max_bytes and clock() - started < seconds:
                    got = os.pread(fd, min(chunk, offset + length - position), position)
                    if not got:
                        break
                    position += len(got)
                    done += len(got)
                if done >= max_bytes or clock() - started >= seconds:
                    break
            elapsed = clock() - started
        except OSError:
            continue
        finally:
            os.close(fd)
        if done >= MEASURE_MIN_BYTES and elapsed > 0:
            from seedctl.units import format_bytes

            return Throughput(done / elapsed, "measured",
                              f"read {format_bytes(done)} of {f.rel_path} in {elapsed:.1f} s")
    return None


# -- drives --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DriveShare:
    name: str
    capacity: int
    files: int
    bytes: int
    cost: int  # what the files take on the drive (clusters, manifest and journal entries)

    @property
    def fill(self) -> float:
        return self.cost / self.capacity


@dataclass(frozen=True)
class DriveFit:
    """The staging data poured onto drives: the fewest of one size (`capacity`), or the spec's own."""

    label: str  # "4.0 TB" or "the spec's drives"
    capacity: int  # of each drive (the first one's, for the spec's drives)
    drives: tuple[DriveShare, ...] = ()
    error: str | None = None

    @property
    def count(self) -> int:
        return len(self.drives)

    @property
    def jobs(self) -> int:
        return math.ceil(self.count / MAX_DRIVES_PER_JOB)

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "capacity": self.capacity, "count": self.count, "jobs": self.jobs,
                "error": self.error,
                "drives": [{"name": d.name, "capacity": d.capacity, "files": d.files, "bytes": d.bytes,
                            "cost": d.cost, "fill_ratio": round(d.fill, 4)} for d in self.drives]}


def _pour(files: Sequence[Any], drives: list[tuple[str, int]]) -> tuple[DriveShare, ...]:
    """plan's allocation onto `drives` [(name, capacity)]; AllocationError when it does not fit."""
    from seedctl.drives import allocate, usable_bytes

    capacities = dict(drives)
    allocation = allocate(files, [(name, usable_bytes(capacity)) for name, capacity in drives])
    return tuple(DriveShare(d.serial, capacities[d.serial], len(d.files), d.bytes, d.cost) for d in allocation.drives)


def fit_drives(files: Sequence[Any], capacity: int) -> DriveFit:
    """The fewest drives of `capacity` that hold `files`, with `plan`'s allocation (file costs with
    cluster rounding and manifest/journal entries, each drive's reserve)."""
    from seedctl.drives import AllocationError, cost_on_drive, usable_bytes
    from seedctl.spec.sizes import format_size
    from seedctl.units import format_bytes

    label = format_size(capacity)
    usable = usable_bytes(capacity)
    if not files:
        return DriveFit(label, capacity, error="the staging folder holds no files")
    if usable <= 0:
        return DriveFit(label, capacity, error="a drive this small has no usable space (1 %, at least 64 MiB, "
                                               "is kept free for NTFS)")
    costs = [cost_on_drive(f.size) for f in files]
    largest = max(range(len(costs)), key=costs.__getitem__)
    if costs[largest] > usable:
        big = files[largest]
        return DriveFit(label, capacity, error=f"{big.rel_path} ({big.size:,} bytes, {format_bytes(big.size)}) needs "
                                               f"more than a drive's usable {usable:,} bytes, and a file is never "
                                               "split across drives: use larger drives")
    least = max(1, math.ceil(sum(costs) / usable))
    for count in range(least, 2 * least + 2):  # more than the least only when files do not pack
        try:
            return DriveFit(label, capacity, _pour(files, [(f"drive-{i + 1}", capacity) for i in range(count)]))
        except AllocationError as exc:
            last = str(exc)
    return DriveFit(label, capacity, error=last)


def fit_spec_drives(files: Sequence[Any], drives: Sequence[tuple[str, int]]) -> DriveFit:
    """`plan`'s allocation onto the spec's drives (serial, capacity), or why they do not suffice."""
    from seedctl.drives import AllocationError

    label = "the spec's drives"
    try:
        return DriveFit(label, drives[0][1], _pour(files, list(drives)))
    except AllocationError as exc:
        return DriveFit(label, drives[0][1], error=str(exc))


# -- the calendar --------------------------------------------------------------------------------

def add_business_days(day: date, days: int) -> date:
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


@dataclass(frozen=True)
class Step:
    what: str
    earliest: date
    latest: date
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"what": self.what, "earliest": self.earliest.isoformat(), "latest": self.latest.isoformat(),
                "note": self.note}


def calendar(start: datetime, copy_seconds: float, *, transit_days: int = DEFAULT_TRANSIT_DAYS,
             backup_interval_days: int = DEFAULT_BACKUP_INTERVAL_DAYS) -> list[Step]:
    """The seed's calendar from `start` (the copy begins), earliest and latest date of each step."""
    copied = (start + timedelta(seconds=copy_seconds)).date()
    shipped = copied + timedelta(days=PACKING_DAYS)
    delivered = shipped + timedelta(days=transit_days)
    received = (add_business_days(delivered, RECEIPT_BUSINESS_DAYS[0]),
                add_business_days(delivered, RECEIPT_BUSINESS_DAYS[1]))
    imported = (received[0] + timedelta(days=DATACENTER_COPY_DAYS[0]),
                received[1] + timedelta(days=DATACENTER_COPY_DAYS[1]))
    backed_up = (imported[0], imported[1] + timedelta(days=backup_interval_days))
    steps = [
        Step("copy staging to the drives (apply); the import job is created at the end", start.date(), copied),
        Step("DEADLINE: carrier and tracking number entered on the job",
             copied + timedelta(days=TRACKING_DEADLINE_DAYS), copied + timedelta(days=TRACKING_DEADLINE_DAYS),
             f"{TRACKING_DEADLINE_DAYS} days after the job is created; later, the service may delete the job"),
        Step("pack and ship; add shipment: to the spec and apply", shipped, shipped,
             f"assumed: {PACKING_DAYS} day after the copy"),
        Step("delivered to the datacenter", delivered, delivered,
             f"assumed: {transit_days} days in transit, --transit-days"),
        Step("received: the datacenter logs the drives in", *received,
             f"{RECEIPT_BUSINESS_DAYS[0]}-{RECEIPT_BUSINESS_DAYS[1]} business days after delivery"),
        Step("imported into the storage account; seedctl verify", *imported,
             f"{DATACENTER_COPY_DAYS[0]}-{DATACENTER_COPY_DAYS[1]} days after receipt, no SLA"),
        Step("the agent's first online backup moves the seed into the vault", *backed_up,
             f"its next scheduled backup; assumed: every {backup_interval_days} day(s), --backup-interval-days"),
        Step("clean up: seedctl destroy --staging", backed_up[0], backed_up[1],
             "once that first backup has succeeded"),
    ]
    return sorted(steps, key=lambda s: s.earliest)  # in date order (stable: the procedure's order on ties)


# -- the estimate --------------------------------------------------------------------------------

@dataclass
class Estimate:
    staging: str
    blob_type: str
    files: int
    total_bytes: int
    zeros: ZeroCount
    throughput: Throughput | None
    fits: list[DriveFit] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    start: datetime | None = None
    skipped: int = 0
    refused: list[str] = field(default_factory=list)  # sized, but `plan` refuses them as they are

    @property
    def copy_bytes(self) -> int:
        """What the copy reads: every byte (zero runs are found by reading them)."""
        return self.total_bytes

    @property
    def drive_bytes(self) -> int:
        """What the drives hold."""
        return self.total_bytes if ZERO_RUNS_FILL_DRIVES else self.zeros.nonzero_bytes

    @property
    def azure_bytes(self) -> int:
        """What lands in the storage account: page blobs keep only pages with data."""
        return self.zeros.nonzero_bytes if self.blob_type == "page" else self.total_bytes

    @property
    def copy_seconds(self) -> float | None:
        if not self.throughput or self.throughput.bytes_per_second <= 0:
            return None
        return self.copy_bytes / self.throughput.bytes_per_second

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "staging": self.staging, "blob_type": self.blob_type, "files": self.files,
            "skipped_entries": self.skipped, "refused_by_plan": list(self.refused),
            "total_bytes": self.total_bytes, "copy_bytes": self.copy_bytes, "drive_bytes": self.drive_bytes,
            "azure_bytes": self.azure_bytes, "zeros": self.zeros.to_json(),
            "throughput": self.throughput.to_json() if self.throughput else None,
            "copy_seconds": round(self.copy_seconds, 1) if self.copy_seconds is not None else None,
            "drive_sizes": [f.to_json() for f in self.fits],
            "start": self.start.isoformat() if self.start else None,
            "calendar": [s.to_json() for s in self.steps],
        }


def parse_rate(text: str) -> float:
    """Bytes per second from "200MB/s", "1.5 GiB/s", "200MB" or a plain number of bytes."""
    from seedctl.spec.sizes import parse_size

    value = text.strip()
    for suffix in ("/s", "/sec", "ps"):
        if value.lower().endswith(suffix):
            value = value[: -len(suffix)]
            break
    try:
        return float(parse_size(int(value) if value.isdigit() else value))
    except ValueError as exc:
        raise SeedctlError(f"--throughput {text!r}: {exc} (for example 200MB/s or 1.5GiB/s)") from None


def describe_duration(seconds: float) -> str:
    """'13 h 53 min', '2 days 4 h', '45 min'."""
    minutes = max(0, math.ceil(seconds / 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''} {hours} h"
    if hours:
        return f"{hours} h {mins} min"
    return f"{mins} min"
