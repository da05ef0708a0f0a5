"""Plan checks for page blobs (drives/placement/pagecheck.py): sizes, the page-blob limit, and what
the backup agent's staging location looks like; on the sandbox, the plan's staging node shows them."""

from __future__ import annotations

import json
import os
from pathlib import Path

from seedctl.drives import check_page_files, scan_staging
from seedctl.drives.formats.manifest import MAX_PAGE_BLOB_LENGTH
from seedctl.drives.tables.staged import StagedFile

from .conftest import write_tree
from worlds import agent_files, make_world


def staged(rel: str, size: int) -> StagedFile:
    return StagedFile(rel, size, 1, f"backup/{rel}")


def test_the_agents_tree_passes_without_a_word() -> None:
    files = [staged(rel, len(data)) for rel, data in sorted(agent_files().items())]
    assert check_page_files(files) == check_page_files([])
    assert not check_page_files(files).errors and not check_page_files(files).warnings


def test_sizes_that_are_not_a_multiple_of_512_are_errors_naming_each_file() -> None:
    found = check_page_files([staged("DS-1/a.BaseBlob", 1000), staged("DS-1/b.BaseBlob", 1024),
                              staged("DS-2/c.AIBBlob", 513)])
    assert len(found.errors) == 2
    assert found.errors[0].startswith("DS-1/a.BaseBlob: 1,000 bytes is not a multiple of 512")
    assert "staging.blob_type: block" in found.errors[0] and found.errors[1].startswith("DS-2/c.AIBBlob: 513 bytes")


def test_many_unaligned_files_are_counted_not_all_listed() -> None:
    found = check_page_files([staged(f"DS-1/f{i:04d}.AIBBlob", 100) for i in range(120)])
    assert len(found.errors) == 51 and found.errors[-1] == "... 120 files in all are not a multiple of 512 bytes"


def test_the_page_blob_limit_and_the_manifest_pages_1_tb(tmp_path: Path) -> None:
    # sparse files: the scan only stats them
    root = tmp_path / "staging"
    (root / "DS-1").mkdir(parents=True)
    for name, size in (("over.BaseBlob", MAX_PAGE_BLOB_LENGTH + 512), ("big.BaseBlob", (1 << 40) + 512),
                       ("fine.BaseBlob", 1 << 30)):
        with open(root / "DS-1" / name, "wb") as fh:
            fh.truncate(size)
    scan = scan_staging(root, container="backup", max_size=None)
    assert not scan.errors and len(scan.files) == 3  # the block-list limit is not a page blob's
    found = check_page_files(scan.files)
    assert len(found.errors) == 1 and found.errors[0].startswith("DS-1/over.BaseBlob: 8,796,093,022,720 bytes")
    assert "over the page-blob limit" in found.errors[0] and "never splits" in found.errors[0]
    assert len(found.warnings) == 1 and "1 file(s) over 1 TiB: DS-1/big.BaseBlob" in found.warnings[0]
    as_blocks = scan_staging(root, container="backup")  # block blobs: 195 GiB a file at most
    assert {p.path for p in as_blocks.errors} == {"DS-1/over.BaseBlob", "DS-1/big.BaseBlob"}


def test_what_does_not_look_like_the_agents_output_is_a_warning() -> None:
    found = check_page_files([staged("DS-1/a.BaseBlob", 512), staged("DS-1/notes.txt", 512),
                              staged("stray.BaseBlob", 512), staged("DS-2/b.aibblob", 512)])
    assert not found.errors
    assert found.warnings == (
        "1 file(s) do not look like the backup agent's output (*.BaseBlob, *.AIBBlob): DS-1/notes.txt; they are "
        "seeded as page blobs all the same. Check that staging.path is the agent's staging location",
        "1 file(s) lie directly in the staging folder, not in a data source's folder: stray.BaseBlob; they are "
        "seeded all the same")


def test_the_plan_stops_on_a_file_that_cannot_be_a_page_blob_and_shows_the_warnings(tmp_path, sandbox) -> None:
    world = make_world(tmp_path, sandbox, blob_type="page")
    write_tree(world.staging(), {"DS-0003/odd.BaseBlob": b"\1" * 1000, "readme.txt": b"\2" * 512})
    plan = world.cli("plan")
    assert plan.code == 1, plan.out
    assert "DS-0003/odd.BaseBlob: 1,000 bytes is not a multiple of 512" in plan.out, plan.out
    assert "staging.blob_type: block" in plan.out
    os.remove(world.staging() / "DS-0003" / "odd.BaseBlob")
    plan = world.cli("plan", "--json")
    assert plan.code == 0, plan.out
    staging = next(c for c in json.loads(plan.out)["changes"] if c["address"].startswith("staging"))
    assert any("do not look like the backup agent's output" in n and "readme.txt" in n for n in staging["notes"])
