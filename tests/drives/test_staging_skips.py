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
