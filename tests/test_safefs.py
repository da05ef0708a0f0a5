"""seedctl.safefs: the one way to touch a path under a drive or staging (issues 23 and 26).

Each test plants what an attacker with write access to the drive or staging can plant (a link, a
FIFO, a device link, a folder swapped for a link) and checks that the call is refused with a clear
message, that nothing outside the tree changed, and that nothing hangs. The Windows branch (no
folder descriptors, O_NOFOLLOW = 0, junctions reported by lstat as plain folders) runs here with
Windows' lstat answers: `WINDOWS` below reports every symbolic link the way CPython's os.lstat on
Windows reports a junction or a symbolic link (st_mode a folder or a link, st_file_attributes with
FILE_ATTRIBUTE_REPARSE_POINT, st_reparse_tag: the values in tests/windows/test_reparse_points.py),
and os.open follows it as Windows follows a junction.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

from seedctl import safefs
from seedctl.errors import DriveError
from seedctl.safefs import (
    FILE_ATTRIBUTE_DIRECTORY,
    FILE_ATTRIBUTE_REPARSE_POINT,
    IO_REPARSE_TAG_MOUNT_POINT,
    IO_REPARSE_TAG_SYMLINK,
    Platform,
    Tree,
    UnsafeEntry,
)

from platforms import FIFOS, SYMLINKS
from worlds import snapshot

# POSIX links and FIFOs are planted (the Windows branch runs here with Windows' lstat answers)
pytestmark = [SYMLINKS, FIFOS]

FILE_ATTRIBUTE_ARCHIVE = 0x20

def _windows_lstat(path: str) -> SimpleNamespace:
    """os.lstat as Windows reports it: a link to a folder is a junction (st_mode a folder), a link to
    a file a file symbolic link; both carry FILE_ATTRIBUTE_REPARSE_POINT."""
    st = os.lstat(path)
    fields = {k: getattr(st, k) for k in ("st_mode", "st_dev", "st_ino", "st_size", "st_mtime_ns")}
    if stat.S_ISLNK(st.st_mode):
        try:
            target_is_dir = stat.S_ISDIR(os.stat(path).st_mode)
        except OSError:
            target_is_dir = False
        if target_is_dir:
            fields.update(st_mode=stat.S_IFDIR | 0o777,
                          st_file_attributes=FILE_ATTRIBUTE_REPARSE_POINT | FILE_ATTRIBUTE_DIRECTORY,
                          st_reparse_tag=IO_REPARSE_TAG_MOUNT_POINT)
        else:
            fields.update(st_file_attributes=FILE_ATTRIBUTE_REPARSE_POINT, st_reparse_tag=IO_REPARSE_TAG_SYMLINK)
    else:
        fields.update(st_file_attributes=FILE_ATTRIBUTE_DIRECTORY if stat.S_ISDIR(st.st_mode)
                      else FILE_ATTRIBUTE_ARCHIVE, st_reparse_tag=0)
    return SimpleNamespace(**fields)


def _windows_fstat(fd: int) -> SimpleNamespace:
    st = os.fstat(fd)
    return SimpleNamespace(st_mode=st.st_mode, st_dev=st.st_dev, st_ino=st.st_ino, st_size=st.st_size,
                           st_mtime_ns=st.st_mtime_ns, st_file_attributes=FILE_ATTRIBUTE_ARCHIVE, st_reparse_tag=0)


WINDOWS = Platform(dir_fds=False, nofollow=0, reparse_points=True, lstat=_windows_lstat, fstat=_windows_fstat)
PLATFORMS = [pytest.param(safefs.HOST, id="posix"), pytest.param(WINDOWS, id="windows")]


@pytest.fixture
def scene(tmp_path: Path) -> SimpleNamespace:
    """A drive with seedctl's folders, and a victim folder outside it holding read-only files."""
    drive, victim = tmp_path / "drive", tmp_path / "victim"
    (drive / ".seedctl" / "tmp").mkdir(parents=True)
    (drive / "seed" / "a").mkdir(parents=True)
    (drive / "seed" / "a" / "f.bin").write_bytes(b"on the drive")
    victim.mkdir()
    for name in ("one", "two", "journal.jsonl", "00000000.part"):
        (victim / name).write_bytes(f"victim {name}".encode())
        (victim / name).chmod(0o444)
    return SimpleNamespace(drive=drive, victim=victim, before=snapshot(victim))


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_junction_at_seedctl_tmp_is_refused_and_its_target_untouched(scene, platform) -> None:
    """Issue 26 item 3: a junction at .seedctl\\tmp passed the folder check (lstat: a folder) and the
    leftover clean-up deleted every file at its target."""
    (scene.drive / ".seedctl" / "tmp").rmdir()
    (scene.drive / ".seedctl" / "tmp").symlink_to(scene.victim, target_is_directory=True)
    with Tree(scene.drive, what="drive D1", platform=platform) as tree:
        with pytest.raises(UnsafeEntry, match=r"tmp is (a junction|a symbolic link).*not a folder"):
            tree.listdir(".seedctl/tmp")
        with pytest.raises(UnsafeEntry):
            tree.unlink(".seedctl/tmp/one")
        with pytest.raises(UnsafeEntry):
            tree.open(".seedctl/tmp/00000000.part", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    assert snapshot(scene.victim) == scene.before


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_linked_journal_is_never_opened_for_writing(scene, platform) -> None:
    (scene.drive / ".seedctl" / "journal.jsonl").symlink_to(scene.victim / "journal.jsonl")
    with Tree(scene.drive, what="drive D1", platform=platform) as tree:
        with pytest.raises(UnsafeEntry, match="symbolic link"):
            tree.open(".seedctl/journal.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        with pytest.raises(UnsafeEntry, match="symbolic link"):
            tree.read(".seedctl/journal.jsonl", cap=100)
    assert snapshot(scene.victim) == scene.before


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_folder_swapped_for_a_link_is_refused_on_the_way(scene, platform) -> None:
    (scene.drive / "seed" / "a" / "f.bin").unlink()
    (scene.drive / "seed" / "a").rmdir()
    (scene.drive / "seed" / "a").symlink_to(scene.victim, target_is_directory=True)
    with Tree(scene.drive, what="drive D1", platform=platform) as tree:
        for call in (lambda: tree.lstat("seed/a/one"), lambda: tree.unlink("seed/a/one"),
                     lambda: tree.open("seed/a/one"), lambda: tree.mkdir("seed/a/sub"),
                     lambda: tree.open("seed/a/new", os.O_WRONLY | os.O_CREAT | os.O_EXCL)):
            with pytest.raises(UnsafeEntry, match="seed/a is"):
                call()
    assert snapshot(scene.victim) == scene.before


@pytest.mark.parametrize("platform", PLATFORMS)
def test_files_are_read_written_and_deleted_normally(scene, platform) -> None:
    with Tree(scene.drive, what="drive D1", platform=platform) as tree:
        assert tree.read("seed/a/f.bin", cap=100) == b"on the drive"
        tree.mkdir("seed/b")
        tree.mkdir("seed/b")  # an existing plain folder is fine
        fd = tree.open("seed/b/new.bin", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        os.write(fd, b"new")
        os.close(fd)
        with pytest.raises(FileExistsError):
            tree.open("seed/b/new.bin", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        assert sorted(tree.listdir("seed")) == ["a", "b"]
        assert tree.file_stat("seed/b/new.bin").st_size == 3
        assert tree.lstat("seed/none") is None and tree.lstat("nowhere/x") is None
        with pytest.raises(UnsafeEntry, match="too big"):
            tree.unlink("seed/b/new.bin", unless=lambda st: "too big" if st.st_size > 2 else None)
        assert tree.unlink("seed/b/new.bin") is True
        assert tree.unlink("seed/b/new.bin") is False
        assert tree.rmdir("seed/b") is True
        with pytest.raises(UnsafeEntry, match="larger than 3 bytes"):
            tree.read("seed/a/f.bin", cap=3)
        with pytest.raises(UnsafeEntry, match="may leave"):
            tree.lstat("seed/../../victim/one")


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_link_planted_at_a_new_files_name_is_never_written_through(scene, platform) -> None:
    tmp = scene.drive / ".seedctl" / "tmp"
    (tmp / "00000000.part").symlink_to(scene.victim / "00000000.part")
    with Tree(scene.drive, what="drive D1", platform=platform) as tree:
        with pytest.raises(FileExistsError):
            tree.open(".seedctl/tmp/00000000.part", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        with pytest.raises(UnsafeEntry):
            tree.open(".seedctl/tmp/00000000.part", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        with pytest.raises(UnsafeEntry, match="symbolic link"):
            tree.unlink(".seedctl/tmp/00000000.part")
    assert snapshot(scene.victim) == scene.before


def test_fifos_are_refused_without_waiting(scene) -> None:
    os.mkfifo(scene.drive / ".seedctl" / "journal.jsonl")
    with Tree(scene.drive, what="drive D1") as tree:
        for flags in (os.O_RDONLY, os.O_WRONLY | os.O_APPEND, os.O_WRONLY | os.O_CREAT):
            with pytest.raises(UnsafeEntry, match="FIFO"):
                tree.open(".seedctl/journal.jsonl", flags)
        with pytest.raises(UnsafeEntry, match="FIFO"):
            tree.unlink(".seedctl/journal.jsonl")


def test_the_windows_branch_catches_a_swap_between_lstat_and_open(scene) -> None:
    """No O_NOFOLLOW on Windows: the file opened must be the one lstat saw (identity match)."""
    real = scene.drive / "seed" / "a" / "f.bin"
    seen = _windows_lstat(str(real))

    def lstat_then_swap(path: str):
        st = _windows_lstat(path)
        if path == str(real):
            return SimpleNamespace(**{**vars(seen), "st_ino": seen.st_ino + 1})  # another file by the time of the open
        return st

    swapped = Platform(dir_fds=False, nofollow=0, reparse_points=True, lstat=lstat_then_swap, fstat=_windows_fstat)
    with Tree(scene.drive, what="drive D1", platform=swapped) as tree:
        with pytest.raises(UnsafeEntry, match="swapped"):
            tree.open("seed/a/f.bin")
    with pytest.raises(DriveError, match="swapped"):
        safefs.open_regular(real, what="manifest", platform=swapped)


def test_another_filesystem_on_the_way_is_refused() -> None:
    with Tree("/", what="root") as tree:
        with pytest.raises(UnsafeEntry, match="another filesystem"):
            tree.lstat("proc/self/status")


# -- the one reader ------------------------------------------------------------------------------

@pytest.mark.parametrize("platform", PLATFORMS)
def test_read_regular_refuses_links_fifos_devices_and_runaway_files(tmp_path, platform) -> None:
    good = tmp_path / "DriveManifest.xml"
    good.write_bytes(b"<DriveManifest/>")
    assert safefs.read_regular(good, what="manifest", cap=100, platform=platform) == b"<DriveManifest/>"
    zero = tmp_path / "zero.xml"
    zero.symlink_to("/dev/zero")
    with pytest.raises(DriveError, match=r"manifest .*zero.xml is a (symbolic link|character device)"):
        safefs.read_regular(zero, what="manifest", cap=1 << 30, platform=platform)
    linked = tmp_path / "linked.xml"
    linked.symlink_to(good)
    with pytest.raises(DriveError, match="symbolic link"):
        safefs.read_regular(linked, what="manifest", cap=100, platform=platform)
    with pytest.raises(DriveError, match="larger than 10 bytes"):
        safefs.read_regular(good, what="manifest", cap=10, platform=platform)
    with pytest.raises(FileNotFoundError):
        safefs.read_regular(tmp_path / "absent", what="manifest", cap=10, platform=platform)
    with pytest.raises(DriveError, match="a character device"):
        safefs.read_regular("/dev/zero", what="manifest", cap=10, platform=platform)


def test_read_regular_refuses_a_fifo_at_once(tmp_path) -> None:
    fifo = tmp_path / "DriveManifest.xml"
    os.mkfifo(fifo)
    with pytest.raises(DriveError, match="FIFO"):
        safefs.read_regular(fifo, what="manifest", cap=100)


def test_open_stream_stops_at_the_cap(tmp_path) -> None:
    big = tmp_path / "m.xml"
    big.write_bytes(b"x" * 5000)
    with safefs.open_stream(big, what="manifest", cap=5000) as fh:
        assert len(fh.read()) == 5000
    with safefs.open_stream(big, what="manifest", cap=4096) as fh, pytest.raises(DriveError, match="larger than"):
        fh.read()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_pseudo_filesystems_are_recognised(tmp_path) -> None:
    link = tmp_path / "key"
    link.symlink_to("/proc/self/environ")
    assert safefs.pseudo_filesystem("/proc/self/environ") == "/proc"
    assert safefs.pseudo_filesystem(link) == "/proc"
    assert safefs.pseudo_filesystem("/dev/null") == "/dev"
    if Path("/sys/kernel").exists():
        assert safefs.pseudo_filesystem("/sys/kernel") == "/sys"
    plain = tmp_path / "plain.key"
    plain.write_text("k")
    assert safefs.pseudo_filesystem(plain) is None


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_rename_into_a_folder_swapped_for_a_link_is_refused(scene, platform) -> None:
    tmp = scene.drive / ".seedctl" / "tmp"
    (tmp / "00000000.part").write_bytes(b"copied")
    (scene.drive / "seed" / "b").symlink_to(scene.victim, target_is_directory=True)
    with Tree(scene.drive, what="drive D1", platform=platform) as tree:
        with pytest.raises(UnsafeEntry, match="seed/b is"):
            tree.replace(".seedctl/tmp/00000000.part", "seed/b/one")
        tree.replace(".seedctl/tmp/00000000.part", "seed/a/f.bin")
    assert (scene.drive / "seed" / "a" / "f.bin").read_bytes() == b"copied"
    assert snapshot(scene.victim) == scene.before


@pytest.mark.parametrize("platform", PLATFORMS)
def test_lstat_each_reports_every_file_and_what_refused_it(scene, platform) -> None:
    (scene.drive / "seed" / "b").symlink_to(scene.victim, target_is_directory=True)
    (scene.drive / "seed" / "a" / "lnk").symlink_to(scene.victim / "one")
    with Tree(scene.drive, what="drive D1", platform=platform) as tree:
        got = dict(tree.lstat_each(["a/f.bin", "a/none", "a/lnk", "b/one", "../x", "c/none"], prefix="seed/"))
    assert got["a/f.bin"].st_size == len(b"on the drive")
    assert got["a/none"] is None and got["c/none"] is None
    assert not safefs.is_plain_file(got["a/lnk"])
    assert isinstance(got["b/one"], UnsafeEntry) and isinstance(got["../x"], UnsafeEntry)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_move_in_renames_from_a_held_folder_never_through_a_link(scene, platform) -> None:
    """The copy engine's rename of each copy into seed/: from .seedctl/tmp held open (its path where
    folders cannot be opened) to a name reached without links; a link at the name is replaced, a
    folder there or a link on the way is refused, and the lstat of what landed is returned."""
    tmp = scene.drive / ".seedctl" / "tmp"
    for name in ("x.part", "y.part", "z.part"):
        (tmp / name).write_bytes(b"copied " + name.encode())
    (scene.drive / "seed" / "a" / "link.bin").symlink_to(scene.victim / "one")
    (scene.drive / "seed" / "a" / "folder").mkdir()
    (scene.drive / "seed" / "b").symlink_to(scene.victim, target_is_directory=True)
    fd = os.open(tmp, os.O_RDONLY | os.O_DIRECTORY) if platform.posix else None
    src = (lambda name: name) if fd is not None else (lambda name: str(tmp / name))
    try:
        with Tree(scene.drive, what="drive D1", platform=platform) as tree:
            landed = tree.move_in(fd, src("x.part"), "seed/a/f.bin")
            assert (landed.st_size, landed.st_ino) == (len(b"copied x.part"), os.lstat(scene.drive / "seed/a/f.bin").st_ino)
            landed = tree.move_in(fd, src("y.part"), "seed/a/link.bin")  # the link itself is replaced
            assert not (scene.drive / "seed" / "a" / "link.bin").is_symlink() and landed.st_size == 13
            with pytest.raises(UnsafeEntry, match="folder"):
                tree.move_in(fd, src("z.part"), "seed/a/folder")
            with pytest.raises(UnsafeEntry, match="seed/b is"):
                tree.move_in(fd, src("z.part"), "seed/b/one")
    finally:
        if fd is not None:
            os.close(fd)
    assert (scene.drive / "seed" / "a" / "f.bin").read_bytes() == b"copied x.part"
    assert (tmp / "z.part").exists()
    assert snapshot(scene.victim) == scene.before
