"""Skipped staging entries are visible: counted on the staging node, named in text and markdown plans,
dangling symlinks included; `staging.strict: true` makes any skip a plan error."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from seedctl.drives import scan_staging
from seedctl.env import Env
from seedctl.plan import ERROR, NOOP, Plan
from seedctl.render.markdown import render_markdown
from seedctl.render.text import render_text
from seedctl.resources.base import Context
from seedctl.resources.staging import SKIPPED_SHOWN, StagingNode
from seedctl.spec import load_spec_text

from .conftest import write_tree

pytestmark = [pytest.mark.reliability,
              pytest.mark.skipif(os.name == "nt", reason="POSIX symlinks, FIFOs and sockets")]

SPEC = """\
version: 1
name: t
azure: {{cloud: sandbox, subscription_id: 00000000-0000-0000-0000-000000000000, resource_group: rg, location: westus}}
storage_account: {{name: seedstore}}
container: {{name: seed}}
staging: {{path: {staging}, blob_type: block{strict}}}
drives:
  - {{serial: D1, mount_point: {mount}, bitlocker: {{manage: true}}}}
"""


def hostile_tree(tmp_path: Path) -> Path:
    root = write_tree(tmp_path / "staging", {"ok.bin": b"1", "sub/in.bin": b"22"})
    outside = write_tree(tmp_path / "outside", {"secret": b"x"})
    os.symlink(outside / "secret", root / "leak")
    os.symlink(root / "sub", root / "dirlink")
    os.symlink(root / "gone", root / "dangling")
    os.symlink(root / "loop-b", root / "loop-a")
    os.symlink(root / "loop-a", root / "loop-b")
    os.mkfifo(root / "fifo")
    return root


def listing(folder: Path) -> list[tuple[str, str]]:
    return sorted((str(p.relative_to(folder)), os.readlink(p) if p.is_symlink() else
                   (p.read_bytes().hex() if p.is_file() else "dir")) for p in folder.rglob("*")
                  if not p.is_fifo() and not p.is_socket())


def test_scan_marks_every_skip_with_its_reason(tmp_path: Path) -> None:
    root = hostile_tree(tmp_path)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "sock"))
    try:
        result = scan_staging(root, container="c1")
    finally:
        sock.close()
    assert [f.rel_path for f in result.files] == ["ok.bin", "sub/in.bin"]
    reasons = {p.path: p.message for p in result.skipped}
    assert set(reasons) == {"leak", "dirlink", "dangling", "loop-a", "loop-b", "fifo", "sock"}
    assert "does not exist" in reasons["dangling"] and "loop" in reasons["loop-a"]
    assert "leaves the staging folder" in reasons["leak"] and "folder" in reasons["dirlink"]
    assert result.errors == ()


def plan_for(tmp_path: Path, strict: bool) -> tuple[Plan, object]:
    staging = hostile_tree(tmp_path)
    text = SPEC.format(staging=staging, strict=", strict: true" if strict else "", mount=tmp_path / "d1")
    spec = load_spec_text(text, "t.yaml", base_dir=tmp_path)
    ctx = Context(spec=spec, env=Env(environ={}), clients_factory=lambda: None)
    node = StagingNode("staging")
    before = listing(tmp_path)
    change = node.diff(node.desired(ctx), node.read(ctx))
    assert listing(tmp_path) == before  # reading the staging tree changes nothing
    plan = Plan(spec_name="t", spec_path="t.yaml", spec_fingerprint="x", cloud="sandbox", local_state="observed",
                changes=[change])
    return plan, change


def test_text_and_markdown_plans_show_the_skips(tmp_path: Path) -> None:
    plan, change = plan_for(tmp_path, strict=False)
    assert change.action == NOOP and change.summary["skipped"] == 6
    for out in (render_text(plan, color=False), render_markdown(plan)):
        assert "staging[\"staging\"] has no changes, but 6 entries will not be seeded" in out
        assert "2 files, 3 B; 6 skipped (not seeded)" in out or "6 skipped (not seeded)" in out
        assert out.count("skipped, not seeded: ") == SKIPPED_SHOWN
        assert "... and 1 more skipped" in out
    text = render_text(plan, color=False)
    assert "skipped, not seeded: dangling: symlink to nothing" in text


def test_json_plan_keeps_the_count_and_reasons(tmp_path: Path) -> None:
    plan, change = plan_for(tmp_path, strict=False)
    data = change.to_dict() if hasattr(change, "to_dict") else change.__dict__
    assert data["summary"]["skipped"] == 6
    assert sum(n.startswith("skipped, not seeded: ") for n in data["notes"]) == SKIPPED_SHOWN


def test_strict_staging_turns_skips_into_an_error(tmp_path: Path) -> None:
    plan, change = plan_for(tmp_path, strict=True)
    assert change.action == ERROR and plan.has_errors
    assert "staging.strict is true and 6 staging entries would be skipped" in change.errors[0]
    text = render_text(plan, color=False)
    assert "staging.strict is true" in text and "skipped, not seeded: dangling" in text


def test_a_clean_tree_shows_nothing_extra(tmp_path: Path) -> None:
    staging = write_tree(tmp_path / "staging", {"ok.bin": b"1"})
    spec = load_spec_text(SPEC.format(staging=staging, strict=", strict: true", mount=tmp_path / "d1"), "t.yaml")
    ctx = Context(spec=spec, env=Env(environ={}), clients_factory=lambda: None)
    node = StagingNode("staging")
    change = node.diff(node.desired(ctx), node.read(ctx))
    assert change.action == NOOP and "skipped" not in change.summary and change.notes == []


def test_a_name_xml_cannot_carry_is_an_error_of_the_staging_node(tmp_path: Path) -> None:
    staging = write_tree(tmp_path / "staging", {"ok.bin": b"1"})
    with open(os.path.join(os.fsencode(staging), "bad\ufffe.bin".encode()), "wb") as fh:
        fh.write(b"x")
    with open(os.path.join(os.fsencode(staging), b"raw\xff.bin"), "wb") as fh:
        fh.write(b"y")
    spec = load_spec_text(SPEC.format(staging=staging, strict="", mount=tmp_path / "d1"), "t.yaml")
    ctx = Context(spec=spec, env=Env(environ={}), clients_factory=lambda: None)
    node = StagingNode("staging")
    before = listing(tmp_path)
    change = node.diff(node.desired(ctx), node.read(ctx))
    assert change.action == ERROR
    assert any("bad\\ufffe.bin" in e and "U+FFFE" in e for e in change.errors), change.errors
    assert any("raw\\xff.bin" in e and "not valid Unicode" in e for e in change.errors), change.errors
    plan = Plan(spec_name="t", spec_path="t.yaml", spec_fingerprint="x", cloud="sandbox", local_state="observed",
                changes=[change])
    for out in (render_text(plan, color=False), render_markdown(plan)):
        assert "bad\\ufffe.bin" in out and "\ufffe" not in out
        out.encode("utf-8")  # printable anywhere: no lone surrogate reached the output
    assert listing(tmp_path) == before


def test_a_loop_windows_reports_as_winerror_1921_is_a_loop(tmp_path: Path, monkeypatch) -> None:
    """Windows reports a loop of symbolic links as ERROR_CANT_RESOLVE_FILENAME (1921), errno EINVAL,
    not ELOOP: it is skipped as a loop (a warning), not an unreadable file (an error). Issue 26."""
    import errno

    root = write_tree(tmp_path / "staging", {"ok.bin": b"1"})
    os.symlink(root / "loop-b", root / "loop-a")
    os.symlink(root / "loop-a", root / "loop-b")
    real_stat = os.stat

    def windows_stat(path, *args, **kw):  # noqa: ANN001, ANN202
        if str(path).endswith(("loop-a", "loop-b")) and kw.get("follow_symlinks", True):
            exc = OSError(errno.EINVAL, "The name of the file cannot be resolved by the system", str(path))
            exc.winerror = 1921
            raise exc
        return real_stat(path, *args, **kw)

    monkeypatch.setattr(os, "stat", windows_stat)
    result = scan_staging(root, container="c1")
    assert [f.rel_path for f in result.files] == ["ok.bin"] and result.errors == ()
    assert {p.path: p.message for p in result.skipped} == {"loop-a": "symlink in a loop; skipped",
                                                           "loop-b": "symlink in a loop; skipped"}


# -- issue 23 and issue 26 item 3: mount points, drives inside staging, Windows junctions -----------

def test_a_folder_holding_a_drive_is_skipped_visibly(tmp_path: Path) -> None:
    from seedctl.drives import create_simulated_drive

    root = write_tree(tmp_path / "staging", {"ok.bin": b"1", "real/.seedctl/journal.jsonl": b"{}",
                                             "real/seed/x.bin": b"on a drive"})
    create_simulated_drive(root / "sim", "SIM-1", 1 << 20)
    write_tree(root / "sim", {"seed/y.bin": b"on a sandbox drive"})
    scan = scan_staging(root, container="seed")
    assert [f.rel_path for f in scan.files] == ["ok.bin"]
    skipped = {p.path: p.message for p in scan.skipped}
    assert "holds a seedctl drive (its journal .seedctl/journal.jsonl)" in skipped["real"]
    assert "holds a seedctl drive (its .seedctl-sandbox-drive.json)" in skipped["sim"]


def test_staging_that_is_a_drive_is_an_error(tmp_path: Path) -> None:
    from seedctl.drives import create_simulated_drive

    create_simulated_drive(tmp_path / "d", "SIM-1", 1 << 20)
    scan = scan_staging(tmp_path / "d", container="seed")
    assert not scan.files and scan.errors and "holds a seedctl drive" in scan.errors[0].message


def test_a_folder_swapped_for_a_link_during_the_walk_is_an_error(tmp_path: Path, monkeypatch) -> None:
    """The walk lists a folder, then opens each subfolder: one swapped for a link in between is
    never entered (O_NOFOLLOW), and the scan says so."""
    import seedctl.drives.placement.scan as scan_module

    root = write_tree(tmp_path / "staging", {"a/in.bin": b"1", "z.bin": b"2"})
    outside = write_tree(tmp_path / "outside", {"secret.bin": b"s"})
    real_scandir = scan_module._scandir

    class SwapAfterStat:
        """The entry for `a` is swapped for a link right after the walk has looked at it."""

        def __init__(self, entry: os.DirEntry) -> None:
            self.name, self.path, self._entry = entry.name, entry.path, entry

        def stat(self, *, follow_symlinks: bool = True):
            st = self._entry.stat(follow_symlinks=follow_symlinks)
            if self.name == "a":
                os.rename(root / "a", tmp_path / "a-moved")
                (root / "a").symlink_to(outside, target_is_directory=True)
            return st

    def swap_after_listing(target):
        return [SwapAfterStat(e) for e in real_scandir(target)]

    monkeypatch.setattr(scan_module, "_scandir", swap_after_listing)
    scan = scan_staging(root, container="seed")
    assert [f.rel_path for f in scan.files] == ["z.bin"]
    assert any(p.path == "a" and p.severity == "error" for p in scan.problems), scan.problems


def test_windows_junctions_in_staging_are_skipped_by_their_reparse_attribute(tmp_path: Path, monkeypatch) -> None:
    """The scan on Windows: a junction's lstat says "folder" (st_mode S_IFDIR); Windows'
    st_file_attributes carry FILE_ATTRIBUTE_REPARSE_POINT, and that is what the scan judges by."""
    from types import SimpleNamespace

    import seedctl.drives.placement.scan as scan_module
    from seedctl.safefs import Platform

    root = write_tree(tmp_path / "staging", {"ok.bin": b"1", "inside/in.bin": b"2"})
    outside = write_tree(tmp_path / "outside", {"secret.bin": b"s"})
    (root / "junction").symlink_to(outside, target_is_directory=True)

    class WindowsEntry:
        def __init__(self, entry: os.DirEntry) -> None:
            self.name, self.path, self._entry = entry.name, entry.path, entry

        def stat(self, *, follow_symlinks: bool = True):
            st = self._entry.stat(follow_symlinks=False)
            if self._entry.is_symlink():  # what os.lstat says on Windows of `mklink /J junction ..\outside`
                return SimpleNamespace(st_mode=0o40777, st_file_attributes=0x410, st_reparse_tag=0xA0000003,
                                       st_dev=st.st_dev, st_ino=st.st_ino, st_size=0, st_mtime_ns=0)
            return SimpleNamespace(st_mode=st.st_mode, st_dev=st.st_dev, st_ino=st.st_ino, st_size=st.st_size,
                                   st_mtime_ns=st.st_mtime_ns, st_reparse_tag=0,
                                   st_file_attributes=0x10 if self._entry.is_dir() else 0x20)

    real_scandir = scan_module._scandir
    monkeypatch.setattr(scan_module, "_scandir", lambda target: [WindowsEntry(e) for e in real_scandir(target)])
    windows = Platform(dir_fds=False, nofollow=0, reparse_points=True)
    scan = scan_staging(root, container="seed", platform=windows)
    assert [f.rel_path for f in scan.files] == ["inside/in.bin", "ok.bin"]
    assert [(p.path, p.message) for p in scan.skipped] == [
        ("junction", "is a junction or mount point (reparse point); not followed")]
    monkeypatch.undo()  # this machine's facts: the same entry is a symbolic link, skipped as such
    assert scan_staging(root, container="seed").skipped[0].message.startswith("symlink leaves the staging folder")
