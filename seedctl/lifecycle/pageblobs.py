"""A page blob's evidence for `verify` (issue 22): which parts of it are written, against the
manifest's ranges, and a download of exactly those parts.

A page blob reads zeros wherever no page was written, so its content equals the file's when (a)
every range the manifest lists is written with the file's bytes, and (b) nothing else is written,
or only zeros are. Get Page Ranges tells (a)'s extent and (b) without reading data; `--deep` reads
the listed ranges (MD5 each, against the manifest) and any other written part (which must be
zeros), and combines the CRC-64 of the whole blob from them without reading the unwritten parts.

Intervals are `[start, end)` byte offsets, sorted and coalesced: the real service answers adjacent
written ranges as one range, Azurite lists each write separately, so only covered bytes are compared.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from seedctl.crc64 import combine, crc64, zeros
from seedctl.units import format_bytes

Interval = tuple[int, int]


def coalesce(intervals: Iterable[Interval]) -> Iterator[Interval]:
    """Sorted `[start, end)` intervals (as a page range listing gives them) merged where they touch."""
    start = end = None
    for s, e in intervals:
        if end is not None and s <= end:
            end = max(end, e)
            continue
        if end is not None:
            yield start, end  # type: ignore[misc]
        start, end = s, e
    if end is not None:
        yield start, end  # type: ignore[misc]


def manifest_intervals(ranges: Any) -> Iterator[Interval]:
    """The bytes a manifest's PageRanges cover (ordered by offset, as the format requires)."""
    return coalesce((offset, offset + length) for offset, length, _ in ranges.raw())


def difference(a: Iterable[Interval], b: Iterable[Interval]) -> Iterator[Interval]:
    """The parts of `a` not covered by `b` (both sorted and coalesced); streamed."""
    others = iter(b)
    cur = next(others, None)
    for start, end in a:
        pos = start
        while pos < end:
            while cur is not None and cur[1] <= pos:
                cur = next(others, None)
            if cur is None or cur[0] >= end:
                yield pos, end
                break
            if cur[0] > pos:
                yield pos, cur[0]
            pos = cur[1]


@dataclass
class RangeDiff:
    """Where the written parts of a blob and the manifest's ranges differ."""

    missing_bytes: int = 0  # listed by the manifest, not written in the blob
    first_missing: Interval | None = None
    extra_bytes: int = 0  # written in the blob, not listed by the manifest
    first_extra: Interval | None = None
    extra: tuple[Interval, ...] = ()  # every such part, for --deep to read

    @property
    def same(self) -> bool:
        return not (self.missing_bytes or self.extra_bytes)


def compare(want: list[Interval], got: list[Interval]) -> RangeDiff:
    """Where `got` (the blob's written parts) and `want` (the manifest's) differ. The extra parts are
    all kept (no more of them than the blob's listing has intervals): `--deep` must read every one."""
    diff = RangeDiff()
    for s, e in difference(want, got):
        diff.missing_bytes += e - s
        diff.first_missing = diff.first_missing or (s, e)
    extra = []
    for s, e in difference(got, want):
        diff.extra_bytes += e - s
        diff.first_extra = diff.first_extra or (s, e)
        extra.append((s, e))
    diff.extra = tuple(extra)
    return diff


def describe(diff: RangeDiff) -> str:
    parts = []
    if diff.first_missing:
        s, e = diff.first_missing
        parts.append(f"{format_bytes(diff.missing_bytes)} the manifest lists were never written (first: bytes "
                     f"{s:,}-{e - 1:,}; the blob reads zeros there)")
    if diff.first_extra:
        s, e = diff.first_extra
        parts.append(f"{format_bytes(diff.extra_bytes)} are written where the manifest lists nothing (first: "
                     f"bytes {s:,}-{e - 1:,})")
    return "; ".join(parts)


RUN_CAP = 256 * 1024 * 1024  # a run read in one download: a failure re-reads at most this much


def runs(ranges: Any, cap: int = RUN_CAP) -> Iterator[tuple[int, list[tuple[int, int, bytes]]]]:
    """The manifest's ranges grouped into runs of adjacent ranges, each at most `cap` bytes (or one
    range): (run start, its ranges). One download per run."""
    run: list[tuple[int, int, bytes]] = []
    for offset, length, md5 in ranges.raw():
        if run and (offset != run[-1][0] + run[-1][1] or offset + length - run[0][0] > cap):
            yield run[0][0], run
            run = []
        run.append((offset, length, md5))
    if run:
        yield run[0][0], run


@dataclass
class Downloaded:
    bad: str | None  # why the content differs, or None
    crc64: int  # of the whole blob, from the parts read and the zeros in between
    bytes_read: int


def download_check(retry: Any, client: Any, blob: Any, extra: tuple[Interval, ...]) -> Downloaded:
    """Read the manifest's ranges (MD5 each) and the blob's other written parts (zeros each), run by
    run; `retry(fn, what)` retries one run. The CRC-64 of the whole blob is combined from the runs
    and the zeros between them."""
    parts: list[tuple[int, int, int]] = []  # (offset, length, crc64) of every part read, in order
    bad: str | None = None
    read = 0
    for start, ranges in runs(blob.page_ranges):
        length = ranges[-1][0] + ranges[-1][1] - start
        crc, problem = retry(lambda s=start, n=length, r=ranges: _read_run(client, s, n, r),
                             f"download bytes {start:,}-{start + length - 1:,} of {blob.blob_path}")
        parts.append((start, length, crc))
        read += length
        bad = bad or problem
    for start, end in extra:
        crc, nonzero = retry(lambda s=start, e=end: _read_zeros(client, s, e - s),
                             f"download bytes {start:,}-{end - 1:,} of {blob.blob_path}")
        read += end - start
        if nonzero is not None and bad is None:
            bad = (f"byte {nonzero:,} is not zero where the manifest lists no range (the file has zeros "
                   "there)")
        parts.append((start, end - start, crc))
    total, done = 0, 0
    for offset, length, crc in sorted(parts):
        total = combine(combine(total, zeros(offset - done), offset - done), crc, length)
        done = offset + length
    total = combine(total, zeros(blob.length - done), blob.length - done)
    return Downloaded(bad, total, read)


def _read_run(client: Any, start: int, length: int, ranges: list[tuple[int, int, bytes]]) -> tuple[int, str | None]:
    """Download one run of adjacent ranges; (its CRC-64, the first range whose MD5 differs)."""
    index, fill, md5 = 0, 0, hashlib.md5()
    crc, bad = 0, None
    for chunk in client.download_blob(offset=start, length=length).chunks():
        crc = crc64(chunk, crc)
        view = memoryview(chunk)
        while len(view) and index < len(ranges):
            offset, want_len, want_md5 = ranges[index]
            take = min(len(view), want_len - fill)
            md5.update(view[:take])
            fill += take
            view = view[take:]
            if fill == want_len:
                if bad is None and md5.digest() != want_md5:
                    bad = f"downloaded page range at offset {offset:,} differs from the drive's (its MD5)"
                index, fill, md5 = index + 1, 0, hashlib.md5()
    if index < len(ranges) and bad is None:
        bad = f"the blob ended inside the page range at offset {ranges[index][0]:,}"
    return crc, bad


def _read_zeros(client: Any, start: int, length: int) -> tuple[int, int | None]:
    """Download a part the manifest does not list; (its CRC-64, the offset of its first non-zero byte)."""
    crc, pos, nonzero = 0, start, None
    for chunk in client.download_blob(offset=start, length=length).chunks():
        crc = crc64(chunk, crc)
        if nonzero is None and chunk.count(0) != len(chunk):
            nonzero = pos + next(i for i, b in enumerate(chunk) if b)
        pos += len(chunk)
    return crc, nonzero
