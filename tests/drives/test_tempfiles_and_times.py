"""Temporary files on the drive (issue 23 item 1) and the copy's time (issue 26 blocker 1).

Issue 23: someone who can write the mounted drive planted links at the next temporary names
(`.seedctl/tmp/00000005.part`), and seedctl, as root, truncated and overwrote files outside the
drive through them. Temporary files are now created `O_CREAT|O_EXCL|O_NOFOLLOW` under random names,
written through their descriptor, and a name swapped for a link before the rename is caught.

Issue 26: on Windows `os.utime` cannot take a descriptor, and NTFS updates the last-write time
again when the writing handle closes, so a time set before the close never lasts and the journaled
time never matches the drive. The copy is now closed first, then its time is set by name through
its folder and read back. The order is asserted here on every platform, with NTFS's behaviour
emulated (closing a written file stamps it with the time of the close)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

import seedctl.drives.writing.copyengine as copyengine
from seedctl.drives import create_simulated_drive, prepare_drive, scan_staging, verify_drive
from seedctl.drives.formats.journal import read_journal
from seedctl.errors import DriveError

import platforms
from .conftest import pseudo, write_tree

MiB = 1 << 20


def _run(staging: Path, drive: Path, blob_type: str = "block", **kw):
    files = scan_staging(staging, container="backup", max_size=None).files
    return prepare_drive(drive, "SIM-T1", files, staging, owner_id="tmp", allow_simulated=True, blob_type=blob_type,
                         checkpoint_bytes=8 * MiB, **kw)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    files = {f"DS-1/f{i:02d}.AIBBlob": pseudo(512 * (i + 1), i) for i in range(12)}
    files["DS-2/mid.BaseBlob"] = pseudo(6 * MiB, 40)  # two chunks, in a commit group
    files["DS-3/big.BaseBlob"] = pseudo(34 * MiB, 41)  # larger than a group: the resumable path
    return write_tree(tmp_path / "staging", files)


@pytest.fixture
def drive(tmp_path: Path) -> Path:
    path = tmp_path / "drive"
    create_simulated_drive(path, "SIM-T1", 1 << 30)
    return path


def _victims(tmp_path: Path) -> dict[Path, bytes]:
    folder = tmp_path / "outside"
    folder.mkdir(exist_ok=True)
    victims = {}
    for i in range(3):
        path = folder / f"precious-{i}.txt"
        path.write_bytes(b"do not overwrite %d\n" % i)
        path.chmod(0o444)
        victims[path] = path.read_bytes()
    return victims


@platforms.SYMLINKS
def test_a_link_planted_at_the_next_temporary_name_is_never_written_through(tree, drive, tmp_path, monkeypatch):
    """The name the engine picks is taken by a link to a file outside the drive (as if guessed): the
    create fails (O_EXCL, O_NOFOLLOW), another name is drawn, the target is untouched."""
    victims = _victims(tmp_path)
    target = next(iter(victims))
    names = iter(["aa" * 16, "bb" * 16] + [f"{i:032x}" for i in range(1000)])
    monkeypatch.setattr(copyengine.secrets, "token_hex", lambda n: next(names))
    # a leftover link would be cleared when the run starts: plant it right after, before the copy
    import seedctl.drives.writing.prepare as prepare_mod

    real_clean = prepare_mod._clean_leftovers

    def clean_then_plant(*args, **kwargs):
        real_clean(*args, **kwargs)
        (drive / ".seedctl" / "tmp" / ("aa" * 16 + ".part")).symlink_to(target)

    monkeypatch.setattr(prepare_mod, "_clean_leftovers", clean_then_plant)
    result = _run(tree, drive, verify=True)
    assert result.verify_report.ok
    assert all(path.read_bytes() == data for path, data in victims.items())
    assert not any(p.is_symlink() for p in (drive / "seed").rglob("*"))


def test_temporary_names_are_unpredictable(tree, drive, monkeypatch):
    seen: list[str] = []
    real = copyengine.CopyEngine._create

    def spy(self, pending):
        fd = real(self, pending)
        seen.append(pending.dst)
        return fd

    monkeypatch.setattr(copyengine.CopyEngine, "_create", spy)
    _run(tree, drive)
    assert len(seen) == 13 and len(set(seen)) == 13
    assert all(len(name) == len("0" * 32 + ".part") and int(name[:32], 16) >= 0 for name in seen)
    assert not any(name.startswith("0000000") for name in seen)  # not a counter


@platforms.SYMLINKS
def test_links_planted_in_seedctl_folders_during_the_copy_change_nothing_outside(tree, drive, tmp_path):
    """A writer on the drive keeps replacing every temporary and partial file it sees with a link to a
    file outside the drive while prepare runs. Whatever it wins, no byte outside the drive changes,
    no link lands in seed/, and a run after it stops converges."""
    victims = _victims(tmp_path)
    targets = list(victims)
    stop = threading.Event()
    planted = [0]

    def attacker() -> None:
        n = 0
        while not stop.is_set():
            for folder in (drive / ".seedctl" / "tmp", drive / ".seedctl" / "partial"):
                try:
                    names = os.listdir(folder)
                except FileNotFoundError:
                    continue
                for name in names:
                    path = folder / name
                    try:
                        if path.is_symlink():
                            continue
                        path.unlink()
                        path.symlink_to(targets[n % len(targets)])
                        planted[0] += 1
                        n += 1
                    except OSError:
                        pass
            time.sleep(0.0005)

    thread = threading.Thread(target=attacker, daemon=True)
    thread.start()
    try:
        outcomes = []
        for _ in range(3):
            try:
                outcomes.append(_run(tree, drive).files_copied)
            except DriveError as exc:
                outcomes.append(str(exc))  # the swap was caught and named; nothing was renamed through a link
    finally:
        stop.set()
        thread.join()
    assert planted[0] > 0, f"the attacker never got to plant a link {outcomes}"
    assert all(path.read_bytes() == data for path, data in victims.items())
    assert not any(p.is_symlink() for p in (drive / "seed").rglob("*")) if (drive / "seed").exists() else True
    result = _run(tree, drive, verify=True)
    assert result.verify_report.ok
    assert all(path.read_bytes() == data for path, data in victims.items())


@pytest.mark.parametrize("blob_type", ["block", "page"])
def test_the_time_is_set_after_the_close_and_survives_a_close_that_stamps_it(tree, drive, monkeypatch, blob_type):
    """NTFS emulated: closing a file that was written sets its last-write time to the close's time.
    The time seedctl sets must be set after the close (asserted on the call order) and be the one the
    journal records and the drive holds; a second run then finds every file as written."""
    written: dict[int, str] = {}
    events: list[tuple[str, str]] = []
    real_open, real_close, real_utime = os.open, os.close, os.utime

    def spy_open(path, flags, *args, **kwargs):
        fd = real_open(path, flags, *args, **kwargs)
        if flags & (os.O_WRONLY | os.O_RDWR) and str(path).endswith(".part") or \
                (flags & os.O_WRONLY and kwargs.get("dir_fd") is not None and len(str(path)) == 32):
            written[fd] = os.path.basename(str(path))
        return fd

    def ntfs_close(fd):
        name = written.pop(fd, None)
        if name is not None:
            now = time.time_ns()
            real_utime(fd, ns=(now, now))  # what NTFS does when the writing handle closes
            events.append(("close", name))
        return real_close(fd)

    def spy_utime(path, *args, **kwargs):
        if not isinstance(path, int):
            events.append(("utime", os.path.basename(str(path))))
        return real_utime(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy_open)
    monkeypatch.setattr(os, "close", ntfs_close)
    monkeypatch.setattr(os, "utime", spy_utime)
    result = _run(tree, drive, blob_type)
    monkeypatch.undo()
    assert result.files == 14
    closed = {name: i for i, (what, name) in enumerate(events) if what == "close"}
    timed = {name: i for i, (what, name) in enumerate(events) if what == "utime"}
    assert set(closed) == set(timed) and len(closed) == 14, events
    assert all(timed[name] > closed[name] for name in closed), events  # set after the handle closed
    # the journaled time is the drive's, so the next run finds every file as written and reads nothing
    for rel, record in read_journal(drive).files.items():
        assert os.lstat(drive / "seed" / rel).st_mtime_ns == record.dst_mtime_ns
    again = _run(tree, drive, blob_type)
    assert again == result and again.bytes_read == 0 and verify_drive(drive).ok


@platforms.SYMLINKS
@pytest.mark.parametrize("swapped", ["DS-1/f03.AIBBlob", "DS-3/big.BaseBlob"], ids=["small", "checkpointed"])
def test_a_staging_file_swapped_for_a_link_after_the_scan_is_never_read(tree, drive, tmp_path, swapped):
    """Between the plan's scan and the copy, a staging file becomes a link to a file outside staging
    with the same size and modification time (all the old by-path open compared): the copy opens
    the source through the staging folder without following a link, so it stops on that file and
    the outside file's bytes never reach the drive."""
    files = scan_staging(tree, container="backup", max_size=None).files
    source = tree / swapped
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.bin"
    secret.write_bytes(b"S" * source.stat().st_size)
    st = source.stat()
    os.utime(secret, ns=(st.st_atime_ns, st.st_mtime_ns))
    source.unlink()
    source.symlink_to(secret)
    with pytest.raises(DriveError) as caught:
        prepare_drive(drive, "SIM-T1", files, tree, owner_id="tmp", allow_simulated=True, blob_type="page",
                      checkpoint_bytes=8 * MiB)
    assert swapped in str(caught.value) and "symbolic link" in str(caught.value), caught.value
    for path in drive.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert b"S" * 512 not in path.read_bytes(), path
