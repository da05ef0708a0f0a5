"""The packed table of staged files (issue 17: a 1M-file scan in about 55 bytes a file): it must
behave exactly as the tuple of StagedFile it replaced, in order, content and digest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seedctl.drives.placement.allocate import allocate, cost_on_drive, costs_on_drive
from seedctl.drives.placement.scan import scan_staging
from seedctl.drives.tables.staged import (
    StagedFile,
    StagedTable,
    StagedTableBuilder,
    StagedView,
    listing_digest,
)

NAMES = ["a.bin", "b", "b.txt", "b0", "b-", "é.dat", "日本語.bak", "emoji-😀.x", "z" * 150]


def _files(prefix: str = "c/") -> list[StagedFile]:
    rels = sorted(NAMES + [f"dir/{n}" for n in NAMES] + ["dir/sub/deep.bin"])
    return [StagedFile(rel, i * 1000 + 1, 10**18 + i, prefix + rel) for i, rel in enumerate(rels)]


def test_table_holds_exactly_the_files_in_order() -> None:
    files = _files()
    table = StagedTable.from_files(files)
    assert len(table) == len(files) and list(table) == files and table == tuple(files)
    assert [table[i] for i in range(len(files))] == files and table[-1] == files[-1]
    assert list(table.rel_paths()) == [f.rel_path for f in files]
    assert list(table.rel_paths(3, 7)) == [f.rel_path for f in files[3:7]]
    assert table.total_bytes == sum(f.size for f in files) and list(table.sizes) == [f.size for f in files]
    with pytest.raises(IndexError):
        table[len(files)]


def test_slices_and_views_in_the_middle_of_the_table() -> None:
    files = _files()
    table = StagedTable.from_files(files)
    assert table[2:9] == files[2:9] and table[::3] == files[::3] and table[5:][1:4] == files[6:9]
    view = table.select(range(4, 11))
    assert isinstance(view, StagedView) and view == files[4:11] and list(view.rel_paths()) == [
        f.rel_path for f in files[4:11]]
    assert view.total_bytes == sum(f.size for f in files[4:11])
    scattered = table.select([0, 5, 6, len(files) - 1])
    assert list(scattered) == [files[0], files[5], files[6], files[-1]]
    assert scattered.total_bytes == sum(f.size for f in (files[0], files[5], files[6], files[-1]))
    assert table.select([]) == () and table.select([]).total_bytes == 0


def test_every_chunk_boundary_decodes_right() -> None:
    builder = StagedTableBuilder("c/")
    for folder in range(30):
        names = [f"f{i:05d}-é" if i % 7 == 0 else f"f{i:05d}" for i in range(300)]
        builder.add_run(f"d{folder:02d}/", names, range(300), range(300))
    table = builder.build()
    expected = [f"d{folder:02d}/" + (f"f{i:05d}-é" if i % 7 == 0 else f"f{i:05d}")
                for folder in range(30) for i in range(300)]
    assert list(table.rel_paths()) == expected
    assert [f.rel_path for f in table] == expected and table[4096].rel_path == expected[4096]
    assert list(table.rel_paths(4000, 8200)) == expected[4000:8200]


def test_a_blob_path_that_does_not_share_the_prefix_is_refused() -> None:
    with pytest.raises(ValueError, match="does not share the table's prefix"):
        StagedTable.from_files([StagedFile("a", 1, 1, "c/a"), StagedFile("b", 1, 1, "other/b")])


def test_listing_digest_same_for_a_table_and_any_sequence_and_sensitive_to_each_field() -> None:
    files = _files()
    table = StagedTable.from_files(files)
    assert listing_digest(table) == listing_digest(files) == listing_digest(iter(files))
    changed = [files[0]._replace(size=files[0].size + 1), *files[1:]]
    touched = [files[0]._replace(mtime_ns=files[0].mtime_ns + 1), *files[1:]]
    renamed = [files[0]._replace(rel_path="a.bim", blob_path="c/a.bim"), *files[1:]]
    digests = {listing_digest(x) for x in (files, changed, touched, renamed, files[:-1])}
    assert len(digests) == 5
    # paths end with NUL: moving a character across a boundary is a different listing
    one = [StagedFile("ab", 1, 1, "c/ab"), StagedFile("c", 1, 1, "c/c")]
    two = [StagedFile("a", 1, 1, "c/a"), StagedFile("bc", 1, 1, "c/bc")]
    assert listing_digest(one) != listing_digest(two)


_segment = st.text(alphabet=st.sampled_from(list("ab.-_0/ é😀")), min_size=1, max_size=6).filter(
    lambda s: "/" not in s and s not in (".", "..") and not s.endswith((" ", ".")))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(_segment, min_size=1, max_size=3), min_size=1, max_size=25))
def test_scan_comes_out_sorted_by_relative_path(tmp_path_factory: pytest.TempPathFactory,
                                               paths: list[list[str]]) -> None:
    """The scan emits files in sorted order by construction (no final sort): a subfolder's content
    sits where its name + '/' sorts among the folder's file names."""
    root = tmp_path_factory.mktemp("staging")
    made = set()
    for parts in paths:
        rel = "/".join(parts)
        target = root / rel
        if any(str(Path(p)) in made for p in [*(("/".join(parts[:i])) for i in range(1, len(parts)))]) or \
                any(m.startswith(rel + "/") for m in made):
            continue  # a file where a folder is needed, or the other way round
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"x")
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            continue
        made.add(rel)
    result = scan_staging(root, container="c")
    rels = list(result.files.rel_paths())
    on_disk = sorted(os.path.relpath(os.path.join(d, f), root).replace(os.sep, "/")
                     for d, _, fs in os.walk(root) for f in fs)
    assert rels == on_disk == sorted(rels)
    assert [f.blob_path for f in result.files] == [f"c/{r}" for r in rels]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=40 << 20), min_size=0, max_size=40),
       st.lists(st.integers(min_value=64 << 20, max_value=400 << 20), min_size=1, max_size=5),
       st.data())
def test_allocating_a_table_places_exactly_as_allocating_the_list(sizes: list[int], caps: list[int],
                                                                  data: st.DataObject) -> None:
    files = [StagedFile(f"f{i:04d}", s, i, f"c/f{i:04d}") for i, s in enumerate(sizes)]
    drives = [(f"D{d}", cap) for d, cap in enumerate(caps)]
    pinned = {d: set(data.draw(st.lists(st.sampled_from([f.rel_path for f in files]), max_size=5)))
              for d, _ in drives} if files else {}
    try:
        expected = allocate(files, drives, pinned=pinned)
    except Exception as exc:  # the same error, word for word
        with pytest.raises(type(exc)) as raised:
            allocate(StagedTable.from_files(files), drives, pinned=pinned)
        assert str(raised.value) == str(exc)
        return
    got = allocate(StagedTable.from_files(files), drives, pinned=pinned)
    assert got == expected
    for g, e in zip(got.drives, expected.drives, strict=True):
        assert (g.bytes, g.cost) == (sum(f.size for f in e.files), sum(cost_on_drive(f.size) for f in e.files))


def test_costs_on_drive_is_cost_on_drive() -> None:
    sizes = [0, 1, 4095, 4096, 4097, (4 << 20) - 1, 4 << 20, (4 << 20) + 1, 10**12]
    assert list(costs_on_drive(sizes)) == [cost_on_drive(s) for s in sizes]


def test_more_drives_than_fit_a_byte_still_places_every_file() -> None:
    files = [StagedFile(f"f{i:04d}", 100, 0, f"c/f{i:04d}") for i in range(600)]
    drives = [(f"D{i}", 10**9) for i in range(300)]
    for alloc in (allocate(files, drives), allocate(StagedTable.from_files(files), drives)):
        assert [len(d.files) for d in alloc.drives] == [301] + [1] * 299  # no drive left empty
        assert sorted(f.rel_path for d in alloc.drives for f in d.files) == [f.rel_path for f in files]


def test_columns_are_the_files_fields_for_tables_and_views() -> None:
    files = _files()
    table = StagedTable.from_files(files)
    assert list(table.columns()) == [(f.rel_path, f.size, f.mtime_ns) for f in files]
    for view in (table.select(range(3, 12)), table.select([1, 4, 9])):
        assert list(view.columns()) == [(f.rel_path, f.size, f.mtime_ns) for f in view]


def test_written_digest_follows_content_not_insertion_order() -> None:
    from seedctl.resources.drive import written_digest

    written = {f"d/f{i:05d}": (i, 10**18 + i) for i in range(10_000)}
    backwards = dict(reversed(list(written.items())))
    assert written_digest(written) == written_digest(backwards)
    for change in ({"d/f00007": (8, 10**18 + 7)}, {"d/f00007": (7, 10**18 + 8)}, {"d/f99999": (1, 1)}):
        assert written_digest({**written, **change}) != written_digest(written)
    assert written_digest({}) != written_digest({"a": (0, 0)})
