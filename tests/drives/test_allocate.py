import pytest

from seedctl.drives import AllocationError, StagedFile, allocate, cost_on_drive, usable_bytes

MB = 1024 * 1024


def files(*sizes: int, start: int = 0) -> list[StagedFile]:
    return [StagedFile(f"f{start + i:04d}", s, 0, f"c/f{start + i:04d}") for i, s in enumerate(sizes)]


def names(alloc) -> list[list[str]]:
    return [[f.rel_path for f in d.files] for d in alloc.drives]


def test_contiguous_fill_in_order() -> None:
    fs = files(*[10 * MB] * 10)
    cap = cost_on_drive(10 * MB) * 4
    a = allocate(fs, [("A", cap), ("B", cap), ("C", cap)])
    assert names(a) == [["f0000", "f0001", "f0002", "f0003"], ["f0004", "f0005", "f0006", "f0007"],
                        ["f0008", "f0009"]]
    assert a.for_serial("B").bytes == 40 * MB and a.for_serial("A").cost <= cap


def test_adding_data_moves_only_the_tail() -> None:
    cap = cost_on_drive(10 * MB) * 4
    drives = [("A", cap), ("B", cap), ("C", cap)]
    before = allocate(files(*[10 * MB] * 6), drives)
    assert names(before) == [["f0000", "f0001", "f0002", "f0003"], ["f0004"], ["f0005"]]
    written = {d.serial: {f.rel_path for f in d.files} for d in before.drives}
    after = allocate(files(*[10 * MB] * 6) + files(*[10 * MB] * 3, start=6), drives, pinned=written)
    for old, new in zip(names(before), names(after), strict=True):
        assert new[:len(old)] == old  # nothing already written moved
    assert sorted(sum(names(after), [])) == [f"f{i:04d}" for i in range(9)]
    # before anything is written, only the last files differ (the one that filled the empty drive)
    fresh = allocate(files(*[10 * MB] * 6) + files(*[10 * MB] * 3, start=6), drives)
    assert names(fresh)[0] == names(before)[0] and names(fresh)[1][:1] == names(before)[1]


def test_no_drive_is_left_empty_when_the_data_fits_on_fewer() -> None:
    cap = cost_on_drive(10 * MB) * 40
    a = allocate(files(*[10 * MB] * 5), [("A", cap), ("B", cap), ("C", cap)])
    assert names(a) == [["f0000", "f0001", "f0002"], ["f0003"], ["f0004"]]  # contiguous runs still


def test_written_files_never_move_to_fill_an_empty_drive() -> None:
    cap = cost_on_drive(10 * MB) * 40
    fs = files(*[10 * MB] * 3)
    a = allocate(fs, [("A", cap), ("B", cap)], pinned={"A": {"f0000", "f0001", "f0002"}})
    assert names(a) == [["f0000", "f0001", "f0002"], []]  # the plan names B as not needed
    b = allocate(fs, [("A", cap), ("B", cap)], pinned={"A": {"f0000", "f0001"}})
    assert names(b) == [["f0000", "f0001"], ["f0002"]]


def test_fewer_files_than_drives_leaves_a_drive_empty() -> None:
    cap = cost_on_drive(10 * MB) * 40
    a = allocate(files(10 * MB), [("A", cap), ("B", cap)])
    assert names(a) == [["f0000"], []]


def test_pinned_files_stay_put() -> None:
    cap = cost_on_drive(10 * MB) * 4
    fs = files(*[10 * MB] * 6)
    a = allocate(fs, [("A", cap), ("B", cap)], pinned={"B": {"f0000"}})
    assert "f0000" in names(a)[1] and "f0000" not in names(a)[0]


def test_file_larger_than_any_drive_names_it_with_figures() -> None:
    with pytest.raises(AllocationError) as info:
        allocate(files(5 * MB, 500 * MB), [("A", 100 * MB), ("B", 200 * MB)])
    text = str(info.value)
    assert "f0001" in text and "524,288,000" in text and "209,715,200" in text


def test_data_larger_than_all_drives_says_how_much_is_missing() -> None:
    with pytest.raises(AllocationError) as info:
        allocate(files(*[60 * MB] * 5), [("A", 130 * MB), ("B", 130 * MB)])
    assert "short" in str(info.value) and "add at least" in str(info.value)


def test_usable_bytes_keeps_room() -> None:
    assert usable_bytes(10**12) == 10**12 - 10**10
    assert usable_bytes(100 * MB) == 36 * MB
    assert cost_on_drive(0) > 0 and cost_on_drive(1) >= 4096


def test_no_drives() -> None:
    assert allocate([], []).drives == ()
    with pytest.raises(AllocationError):
        allocate(files(1), [])
