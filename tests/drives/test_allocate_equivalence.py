"""The allocator's fast path (costs once, index-based, look-back fill) gives exactly the placements
of the straightforward version it replaced, which is kept here as the reference (verbatim from
commit 61c34e7, renamed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seedctl.drives.placement.allocate import (
    Allocation,
    AllocationError,
    DriveAllocation,
    allocate,
    cost_on_drive,
)
from seedctl.drives.placement.scan import StagedFile


def _gib(n: int) -> str:
    return f"{n / 2**30:,.2f} GiB"


def reference_allocate(files: Sequence[StagedFile], drives: Sequence[tuple[str, int]], *,
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
    _reference_fill(serials, placed, free, stay, order)
    return Allocation(tuple(
        DriveAllocation(s, u, tuple(sorted(placed[s], key=lambda f: order[f.rel_path]))) for s, u in drives))


def _reference_fill(serials: list[str], placed: dict[str, list[StagedFile]], free: dict[str, int],
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


def _files(sizes: list[int]) -> list[StagedFile]:
    return [StagedFile(f"f{i:05d}", size, 0, f"c/f{i:05d}") for i, size in enumerate(sizes)]


def _outcome(fn, files, drives, pinned):
    try:
        return fn(files, drives, pinned=pinned)
    except AllocationError as exc:
        return ("error", str(exc))


_sizes = st.lists(st.one_of(st.integers(0, 5000), st.integers(0, 3 * 1024 * 1024), st.sampled_from([0, 4096, 4097])),
                  max_size=60)
_caps = st.lists(st.integers(0, 12 * 1024 * 1024), min_size=1, max_size=10)


@settings(max_examples=400, deadline=None)
@given(sizes=_sizes, caps=_caps, data=st.data())
def test_same_placements_as_the_reference(sizes: list[int], caps: list[int], data: st.DataObject) -> None:
    files = _files(sizes)
    drives = [(f"D{i}", cap) for i, cap in enumerate(caps)]
    pinned: dict[str, set[str]] = {}
    for f in files:
        d = data.draw(st.integers(-1, len(drives) - 1 + 2), label=f.rel_path)  # +2: a serial not in the spec
        if d >= 0:
            pinned.setdefault(f"D{d}", set()).add(f.rel_path)
    assert _outcome(allocate, files, drives, pinned) == _outcome(reference_allocate, files, drives, pinned)
    assert _outcome(allocate, files, drives, None) == _outcome(reference_allocate, files, drives, None)


@pytest.mark.parametrize("n", [0, 1, 2, 1000])
def test_many_empty_drives_and_few_files(n: int) -> None:
    files = _files([100] * n)
    drives = [(f"D{i}", 10**9) for i in range(10)]
    assert allocate(files, drives) == reference_allocate(files, drives)
