"""Windows' rules for names and paths, as plan errors computed here on Linux (issue 26): reserved
device names, names equal but for case (the NTFS upcase rule), and MAX_PATH with the drive's mount
point, a UNC staging path and the datacenter's root. The drive is NTFS and the datacenter reads it
with Win32 rules, whatever computer copied the files, so all of them hold on every platform."""

from __future__ import annotations

import ntpath
import os
import shutil
import struct
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from seedctl.drives import scan_staging
from seedctl.drives.placement.scan import _FolderScanner
from seedctl.drives.placement.winnames import (
    DATACENTER_MAX_PATH,
    UPCASE,
    case_collisions,
    is_reserved_name,
    ntfs_upper,
    path_limits,
    utf16_len,
    windows_form,
)
from seedctl.resources.staging import windows_path_limits
from seedctl.spec.model import drive_root

from .conftest import write_tree

posix_names = pytest.mark.skipif(os.name == "nt", reason="creates names Windows cannot hold (CON, a.txt and A.TXT "
                                 "in one folder) to see the scan refuse them")

RESERVED = ["CON", "con.txt", "Prn.log", "AUX", "nul", "NUL.tar.gz", "nul .txt", "COM0", "com1", "COM9.bin",
            "LPT0", "lpt5.x", "COM\u00b9", "lpt\u00b2.log", "COM\u00b3", "CONIN$", "conout$.txt"]
NOT_RESERVED = ["console", "COM10", "LPT", "com1x", "CONIN", "nul_", "auxiliary.txt", "xCON", "COM\u2074"]


@pytest.mark.parametrize("name", RESERVED)
def test_reserved_names(name: str) -> None:
    assert is_reserved_name(name)
    if hasattr(ntpath, "isreserved"):  # CPython 3.13+ applies the same (cautious) rule
        assert ntpath.isreserved(name)


@pytest.mark.parametrize("name", NOT_RESERVED)
def test_not_reserved_names(name: str) -> None:
    assert not is_reserved_name(name)


@posix_names
def test_reserved_names_are_plan_errors(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "s", {name: b"x" for name in RESERVED} | {"ok.bin": b"x", "d/COM0/f": b"x"})
    result = scan_staging(root, container="c1")
    assert [f.rel_path for f in result.files] == ["ok.bin"]
    assert sorted(e.path for e in result.errors) == sorted([*RESERVED, "d/COM0/f"])
    assert all("reserved Windows device name" in e.message for e in result.errors)


# --- names equal but for case ---------------------------------------------------------------------

def test_the_ntfs_upcase_rule() -> None:
    assert ntfs_upper("report-é-ÿ.txt") == "REPORT-É-Ÿ.TXT"
    # NTFS maps one UTF-16 unit to one: no ß -> SS, no dotless i -> I, no long s -> S
    assert ntfs_upper("straße") == "STRAßE" and ntfs_upper("\u0131") == "\u0131" and ntfs_upper("\u017f") == "\u017f"
    assert ntfs_upper("\U0001f600a") == "\U0001f600A"  # beyond the BMP: unchanged
    assert case_collisions(["Report.txt", "b", "REPORT.TXT", "é", "É", "straße", "STRASSE"]) == [
        ("Report.txt", "REPORT.TXT"), ("é", "É")]
    # a newer Windows may upper-case what Windows 7's table does not (Georgian Mkhedruli -> Mtavruli):
    # such pairs count as one too (the safe side: a rename, never a lost blob)
    assert case_collisions(["\u10d0", "\u1c90"]) == [("\u10d0", "\u1c90")]


@pytest.mark.skipif(not (shutil.which("mkntfs") and shutil.which("ntfscat")),
                    reason="needs mkntfs and ntfscat (ntfs-3g) to format a volume and read its $UpCase")
def test_the_table_is_the_one_a_formatted_volume_carries(tmp_path: Path) -> None:
    image = tmp_path / "ntfs.img"
    with open(image, "wb") as fh:
        fh.truncate(16 << 20)
    subprocess.run(["mkntfs", "-q", "-F", "-f", str(image)], check=True, capture_output=True)
    upcase = subprocess.run(["ntfscat", str(image), "$UpCase"], check=True, capture_output=True).stdout
    table = struct.unpack("<65536H", upcase)
    assert {unit: table[unit] for unit in range(65536) if table[unit] != unit} == UPCASE


@posix_names
def test_names_equal_but_for_case_are_plan_errors(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "s", {"Report.txt": b"1", "REPORT.TXT": b"2", "other.txt": b"3",
                                       "é.bin": b"4", "É.bin": b"5", "straße": b"6", "STRASSE": b"7",
                                       "Data/a": b"8", "data/b": b"9", "x": b"10", "X/y": b"11"})
    result = scan_staging(root, container="c1")
    assert sorted(f.rel_path for f in result.files) == ["Data/a", "STRASSE", "X/y", "data/b", "other.txt", "straße"]
    messages = {e.path: e.message for e in result.errors}
    assert set(messages) == {"Report.txt", "é.bin", "data", "x"}  # the later of each pair, in code point order
    assert messages["Report.txt"].startswith("file 'REPORT.TXT' and file 'Report.txt' differ only in case")
    assert messages["data"].startswith("folder 'Data' and folder 'data' differ only in case")
    assert messages["x"].startswith("folder 'X' and file 'x'")
    assert all("rename one of them" in m for m in messages.values())


# --- path length ------------------------------------------------------------------------------------

MOUNT_FOLDER = "C:\\SeedDrives\\Drive1"  # prefix C:\SeedDrives\Drive1\seed\ : 30 characters
UNC = "\\\\fileserver01\\dpm-replica\\staging\\2024-06 initial copy\\ProtectionGroup1"


def deep(length: int, name: str = "f.bin") -> str:
    """A relative path of exactly `length` characters ending in `name`, in folders of up to 60."""
    left = length - len(name)
    count = -(-left // 61)
    chars = left - count  # one slash per folder
    sizes = [chars // count + (1 if i < chars % count else 0) for i in range(count)]
    assert min(sizes) >= 1
    rel = "/".join([*(f"{i % 10}" * size for i, size in enumerate(sizes)), name])
    assert len(rel) == length
    return rel


def staged(tmp_path: Path, rel: str) -> Path:
    return write_tree(tmp_path / "s", {rel: b"x", "short.bin": b"y"})


def test_windows_form() -> None:
    assert windows_form("E:") == windows_form("E:\\") == "E:\\" and windows_form("e:/") == "e:\\"
    assert windows_form(MOUNT_FOLDER) == MOUNT_FOLDER + "\\"
    assert windows_form(UNC) == UNC + "\\"
    assert windows_form("/mnt/d1") is None and windows_form("drives/d1") is None
    assert windows_form("E:seed") is None  # drive-relative: not a mount point
    assert windows_form("\\\\?\\E:\\") is None  # extended-length: MAX_PATH does not apply
    assert drive_root("E:") == "E:\\" and drive_root("/mnt/e") == "/mnt/e"


def test_the_datacenter_limit_applies_everywhere(tmp_path: Path) -> None:
    room = DATACENTER_MAX_PATH - len("X:\\seed\\")
    fine = staged(tmp_path, deep(room))
    assert scan_staging(fine, container="c1").errors == ()
    shutil.rmtree(tmp_path / "s")
    over = staged(tmp_path, deep(room + 1))
    (error,) = scan_staging(over, container="c1").errors
    assert error.message.startswith(f"the file path would be {DATACENTER_MAX_PATH + 1} characters at the datacenter")
    assert "the Import/Export service's tools read no longer paths" in error.message


def test_the_mount_folder_counts(tmp_path: Path) -> None:
    length = 259 - len(MOUNT_FOLDER + "\\seed\\") + 1  # one over MAX_PATH on that drive, under the datacenter's
    rel = "dir/" + "n" * (length - 8) + ".bin"  # a long name in a short folder: the file limit, not the folder's
    root = staged(tmp_path, rel)
    limits = path_limits([("WD-1", MOUNT_FOLDER)])
    (error,) = scan_staging(root, container="c1", path_limits=limits).errors
    assert error.path == rel and "260 characters on drive WD-1 (C:\\SeedDrives\\Drive1\\seed\\" in error.message
    assert "MAX_PATH: Windows ships with long paths disabled" in error.message
    assert "mount the drive at a drive letter" in error.message
    # the same drive at a drive letter takes it; a POSIX mount point adds no limit
    assert scan_staging(root, container="c1", path_limits=path_limits([("WD-1", "E:")])).errors == ()
    assert scan_staging(root, container="c1", path_limits=path_limits([("WD-1", "/mnt/d1")])).errors == ()


def test_a_folder_too_long_to_create_is_one_error(tmp_path: Path) -> None:
    folder = deep(247 - len(MOUNT_FOLDER + "\\seed\\") + 1, name="last")  # CreateDirectory's limit + 1
    root = write_tree(tmp_path / "s", {f"{folder}/a": b"1", f"{folder}/b": b"2", "ok": b"3"})
    result = scan_staging(root, container="c1", path_limits=path_limits([("WD-1", MOUNT_FOLDER)]))
    assert [f.rel_path for f in result.files] == ["ok"]
    (error,) = result.errors
    assert error.path == folder and "the folder path would be 248 characters on drive WD-1" in error.message
    assert "its 2 file(s) are not seeded" in error.message


def test_unc_staging_counts(tmp_path: Path) -> None:
    rel = deep(259 - len(UNC) - 1 + 1)
    root = staged(tmp_path, rel)
    (error,) = scan_staging(root, container="c1", path_limits=path_limits(staging=UNC)).errors
    assert "260 characters in staging (\\\\fileserver01" in error.message and "map the share" in error.message


def test_lengths_are_utf16_units(tmp_path: Path) -> None:
    assert utf16_len("a\U0001f600") == 3 and utf16_len("é") == 1
    room = DATACENTER_MAX_PATH - len("X:\\seed\\")
    name = "\U0001f600" * 2 + ".bin"  # 6 characters, 8 UTF-16 units
    rel = deep(room - 1, name=name)  # one character under the limit, one unit over it
    (error,) = scan_staging(staged(tmp_path, rel), container="c1").errors
    assert error.path == rel and f"would be {DATACENTER_MAX_PATH + 1} characters" in error.message


def test_the_staging_node_takes_the_spec_paths_as_windows_spells_them() -> None:
    """A Linux CI runner plans a Windows copy computer's spec: the limits come from the spec text."""
    def spec(mount: str, staging: str) -> SimpleNamespace:
        drive = SimpleNamespace(serial="WD-1", mount_point=mount)
        return SimpleNamespace(drives=[drive], staging=SimpleNamespace(path=staging),
                               mount_path=lambda d: Path("/specs") / d.mount_point,
                               staging_root=lambda: Path("/specs") / staging)
    limits = windows_path_limits(spec(MOUNT_FOLDER, UNC))
    assert [p.where for p in limits.prefixes] == ["at the datacenter", "on drive WD-1", "in staging"]
    assert limits.prefixes[1].prefix == MOUNT_FOLDER + "\\seed\\" and limits.prefixes[2].prefix == UNC + "\\"
    assert [p.where for p in windows_path_limits(spec("/mnt/d1", "staging")).prefixes] == ["at the datacenter"]


# --- what only Windows does in the scan --------------------------------------------------------

def test_on_windows_sizes_come_from_the_file_and_os_access_is_not_asked(tmp_path: Path) -> None:
    """NTFS may serve a file's size and mtime from its directory entry, updated lazily while the
    file is open for writing; and os.access reads only the read-only attribute there."""
    root = write_tree(tmp_path / "s", {"grown.bin": b"x" * 10})
    scanner = _FolderScanner(str(root), (), (), "c1", "", windows=True)
    assert scanner.check_access is False
    stale = [("grown.bin", 1, 1), ("gone.bin", 5, 5)]  # what a stale directory entry said
    problems: list = []
    kept = scanner._checked(stale, str(root), "", problems)
    assert kept == [("grown.bin", 10, os.stat(root / "grown.bin").st_mtime_ns)] and problems == []
    assert _FolderScanner(str(root), (), (), "c1", "", windows=False).fresh_stats is False


def test_a_windows_spec_planned_on_linux_gets_the_path_errors_on_its_plan(tmp_path: Path) -> None:
    """The staging node of a spec written for a Windows copy computer (a drive mounted in a folder),
    planned here: the MAX_PATH error, computed from the spec's mount point, is on the plan."""
    from seedctl.env import Env
    from seedctl.plan import ERROR
    from seedctl.resources.base import Context
    from seedctl.resources.staging import StagingNode
    from seedctl.spec import load_spec_text

    length = 259 - len(MOUNT_FOLDER + "\\seed\\") + 1
    rel = "dir/" + "n" * (length - 8) + ".bin"
    staging = write_tree(tmp_path / "staging", {rel: b"x", "ok.bin": b"y"})
    text = (f"version: 1\nname: t\nazure: {{cloud: sandbox, subscription_id: 00000000-0000-0000-0000-000000000000, "
            f"resource_group: rg, location: westus}}\nstorage_account: {{name: seedstore}}\ncontainer: {{name: seed}}\n"
            f"staging: {{path: {staging}, blob_type: block}}\ndrives:\n"
            f"  - {{serial: WD-1, mount_point: 'C:\\SeedDrives\\Drive1', bitlocker: {{manage: true}}}}\n")
    spec = load_spec_text(text, "t.yaml", base_dir=tmp_path)
    ctx = Context(spec=spec, env=Env(environ={}), clients_factory=lambda: None)
    node = StagingNode("staging")
    change = node.diff(node.desired(ctx), node.read(ctx))
    assert change.action == ERROR
    (error,) = change.errors
    assert error.startswith(f"error: {rel}: the file path would be 260 characters on drive WD-1 (C:\\SeedDrives")
