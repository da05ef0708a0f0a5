"""`seedctl show drives` (issue 25, item 8): which file went to which drive, in text and JSON —
planned before the drives are written, from each drive's manifest once written, and from the
copy kept beside the spec once the drives have left."""

from __future__ import annotations

import json
import shutil

import pytest

from worlds import default_files, make_world

pytestmark = pytest.mark.sandbox


def _by_serial(result) -> dict:
    assert result.code == 0, result.err
    return {d["serial"]: d for d in json.loads(result.out)["drives"]}


def test_show_drives_before_after_and_once_shipped(tmp_path, sandbox):
    world = make_world(tmp_path, sandbox)
    staged = {f"seed/{rel}" for rel in default_files()}  # container "seed", no prefix
    planned = _by_serial(world.cli("show", "drives", "-o", "json"))
    assert {d["source"] for d in planned.values()} == {"planned"}
    assert {f["blob_path"] for d in planned.values() for f in d["files"]} == staged
    assert world.cli("apply", "--auto-approve").code == 0
    written = _by_serial(world.cli("show", "drives", "--json"))
    assert {d["source"] for d in written.values()} == {"drive"}
    # the same files on the same drives as planned, now with their place on the drive
    assert {s: sorted(f["blob_path"] for f in d["files"]) for s, d in written.items()} == \
        {s: sorted(f["blob_path"] for f in d["files"]) for s, d in planned.items()}
    assert all(f["file_path"].startswith("\\") for d in written.values() for f in d["files"])
    for serial in world.serials:  # packed and shipped: the kept manifest copies answer
        shutil.rmtree(world.drive_path(serial))
    shipped = _by_serial(world.cli("show", "drives", "-o", "json"))
    assert {d["source"] for d in shipped.values()} == {"copy"}
    assert shipped == {s: {**d, "source": "copy"} for s, d in written.items()}
    text = world.cli("show", "drives")
    assert text.code == 0
    for serial in world.serials:
        assert f"drive {serial}: written: the manifest copy kept in .seedctl/manifests" in text.out
    assert "  5.0 MiB  seed/backup/full-0001.vhd" in text.out


def test_show_drives_says_why_it_cannot_plan(tmp_path, sandbox):
    world = make_world(tmp_path, sandbox)
    world.edit_spec(lambda d: [drive.pop("capacity") for drive in d["drives"]])
    for serial in world.serials:
        shutil.rmtree(world.drive_path(serial))
    result = world.cli("show", "drives")
    assert result.code == 0 and "give every drive capacity:" in result.out
