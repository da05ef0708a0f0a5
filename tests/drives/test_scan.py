import os
import socket
from pathlib import Path

import pytest

from seedctl.drives import blob_name_problems, scan_staging
from seedctl.drives.formats.manifest import MAX_BLOB_LENGTH
from seedctl.drives.placement.scan import display_path
from seedctl.drives.placement.winnames import PathLimits, PathPrefix

from .conftest import without_dac_override, write_tree
from platforms import FIFOS, MODES


def test_scan_records_files_in_stable_order(staging: Path) -> None:
    r = scan_staging(staging, container="backup", prefix="/seed1/")
    assert [f.rel_path for f in r.files] == ["a/one.bin", "a/two.bin", "b/c/three.txt", "empty.dat"]
    one = r.files[0]
    assert one.size == 10_000 and one.mtime_ns == os.stat(staging / "a/one.bin").st_mtime_ns
    assert one.blob_path == "backup/seed1/a/one.bin"
    assert r.problems == () and r.total_bytes == sum(f.size for f in r.files)
    assert scan_staging(staging, container="backup").files[0].blob_path == "backup/a/one.bin"


def test_include_exclude(staging: Path) -> None:
    r = scan_staging(staging, container="c1", include=["*.bin", "b/*"], exclude=["two.bin"])
    assert [f.rel_path for f in r.files] == ["a/one.bin", "b/c/three.txt"]


@FIFOS
def test_special_files_and_escaping_symlinks_are_reported_not_followed(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "s", {"ok.bin": b"1", "sub/in.bin": b"22"})
    outside = write_tree(tmp_path / "outside", {"secret": b"x"})
    os.symlink(outside / "secret", root / "leak")
    os.symlink(outside, root / "leakdir")
    os.symlink(root / "sub" / "in.bin", root / "alias.bin")
    os.symlink(root / "sub", root / "loop")
    os.mkfifo(root / "fifo")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "sock"))
    try:
        r = scan_staging(root, container="c1")
    finally:
        sock.close()
    assert [f.rel_path for f in r.files] == ["alias.bin", "ok.bin", "sub/in.bin"]
    by_path = {p.path: p for p in r.problems}
    assert "leaves the staging folder" in by_path["leak"].message
    assert "leaves the staging folder" in by_path["leakdir"].message
    assert "special file" in by_path["fifo"].message and "special file" in by_path["sock"].message
    assert "not followed" in by_path["loop"].message
    assert all(p.severity == "warning" for p in r.problems)


@pytest.mark.parametrize("name, why", [
    ("a:b.bin", "NTFS"), ("back\\slash", "NTFS"), ("trailing.", "end"), ("CON.txt", "reserved"),
    ("ctl\x01.bin", "NTFS"),
])
def test_names_that_cannot_become_blobs_are_errors_naming_the_path(tmp_path: Path, name: str, why: str) -> None:
    root = write_tree(tmp_path / "s", {"good.bin": b"1"})
    (root / name).write_bytes(b"x")
    r = scan_staging(root, container="c1")
    assert [f.rel_path for f in r.files] == ["good.bin"]
    assert len(r.errors) == 1 and r.errors[0].path == display_path(name) and why in r.errors[0].message


def test_blob_name_rules() -> None:
    assert blob_name_problems("seed/a/b.bin") == []
    assert any("1024" in p for p in blob_name_problems("a" * 1025))
    assert any("254" in p for p in blob_name_problems("/".join(["a"] * 255)))
    assert blob_name_problems("")
    assert any("longer than 255" in p for p in blob_name_problems("a/" + "\U0001F600" * 130))


def test_undecodable_file_name_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "s"
    root.mkdir()
    with open(os.path.join(os.fsencode(root), b"bad\xff.bin"), "wb") as fh:
        fh.write(b"x")
    r = scan_staging(root, container="c1")
    assert not r.files and "not valid Unicode" in r.errors[0].message


def test_file_too_large_for_a_block_list(tmp_path: Path) -> None:
    root = tmp_path / "s"
    root.mkdir()
    with open(root / "huge.vhd", "wb") as fh:
        fh.truncate(MAX_BLOB_LENGTH + 1)  # sparse
    r = scan_staging(root, container="c1")
    assert not r.files and r.errors[0].path == "huge.vhd" and "block" in r.errors[0].message


def test_missing_root_is_one_error(tmp_path: Path) -> None:
    r = scan_staging(tmp_path / "nope", container="c1")
    assert not r.files and "does not exist" in r.errors[0].message


@MODES
def test_unreadable_file_is_an_error(tmp_path: Path) -> None:
    # root reads everything, so the scan runs in a child without the DAC-override capabilities
    import subprocess
    import sys

    root = write_tree(tmp_path / "s", {"ok.bin": b"1", "locked.bin": b"2", "d/x": b"3"})
    os.chmod(root / "locked.bin", 0)
    os.chmod(root / "d", 0)
    code = ("import sys; from seedctl.drives import scan_staging; r = scan_staging(sys.argv[1], container='c1'); "
            "print([f.rel_path for f in r.files]); print([(p.path, p.message) for p in r.errors])")
    out = subprocess.run([*without_dac_override(), sys.executable, "-c", code, str(root)], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    files, errors = out.stdout.splitlines()
    assert files == "['ok.bin']"
    assert "locked.bin" in errors and "not readable" in errors and "'d'" in errors and "cannot list" in errors


def test_a_too_long_blob_name_does_not_taint_its_neighbours(tmp_path: Path) -> None:
    # a deep folder where one file's blob name passes 1,024 characters and its neighbour's does not
    folder = tmp_path.joinpath(*(f"{i}" + "d" * 99 for i in range(9)))
    folder.mkdir(parents=True)
    (folder / ("x" * 200)).write_bytes(b"long")
    (folder / "a.txt").write_bytes(b"short")
    # Without MAX_PATH (issue 26 made it a plan error; here a limit no path reaches), only the
    # blob-name rule applies: it refuses the one file and not its neighbour.
    no_max_path = PathLimits((PathPrefix("nowhere", "", 1 << 20, 1 << 20),))
    result = scan_staging(tmp_path, container="c", path_limits=no_max_path)
    assert [f.rel_path.rsplit("/", 1)[-1] for f in result.files] == ["a.txt"]
    assert len(result.errors) == 1 and "x" * 200 in result.errors[0].path
    # With the datacenter's limit (256), the neighbour's 914-character path is refused too.
    result = scan_staging(tmp_path, container="c")
    assert len(result.files) == 0
    assert sorted(e.message.split(":")[0] for e in result.errors) == ["cannot become a blob name",
                                                                      "the file path would be 922 characters at the datacenter (X"]


def test_listing_digest_streams_and_tells_listings_apart() -> None:
    from seedctl.drives.placement.scan import StagedFile, listing_digest

    files = [StagedFile(f"d/f{i}", i, 10 * i, f"c/d/f{i}") for i in range(10_000)]  # more than a batch
    base = listing_digest(files)
    assert base == listing_digest(iter(files)) and len(base) == 24
    changed = [
        files[:-1],
        files[:-1] + [files[-1]._replace(size=1)],
        files[:-1] + [files[-1]._replace(mtime_ns=1)],
        files[:-1] + [files[-1]._replace(rel_path="d/f9999x")],
    ]
    assert len({base, *(listing_digest(c) for c in changed)}) == 5
    # field boundaries cannot be shifted: ("a1", 2) and ("a", 12) differ
    assert listing_digest([StagedFile("a1", 2, 3, "c/a1")]) != listing_digest([StagedFile("a", 12, 3, "c/a")])


def test_a_link_to_another_windows_drive_letter_is_outside_staging() -> None:
    """ntpath.commonpath raises ValueError for paths on different drives ("C:\\" and "D:\\"): the
    scan must read that as "leaves the staging folder", not crash the plan."""
    import ntpath

    from seedctl.drives.placement.scan import _inside

    assert _inside("C:\\staging", "C:\\staging\\a\\b", ntpath.commonpath) is True
    assert _inside("C:\\staging", "C:\\elsewhere", ntpath.commonpath) is False
    assert _inside("C:\\staging", "D:\\staging\\a", ntpath.commonpath) is False
