"""The agent-shaped staging generator (issue 22) shared by the demo, `init --sandbox` and the tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from seedctl.agentdata import MIB, agent_layout, make_agent_staging, write_agent_file


def test_layout_is_per_data_source_base_and_aib_blobs_of_whole_pages() -> None:
    files = agent_layout(300 * 1000 * 1000, sources=3)
    assert len(files) == 6 and all(f.size % 512 == 0 and f.size > 0 for f in files)
    folders = {f.rel_path.split("/")[0] for f in files}
    assert len(folders) == 3
    for folder in folders:
        mine = sorted(f.rel_path.rsplit(".", 1)[1] for f in files if f.rel_path.startswith(folder + "/"))
        assert mine == ["AIBBlob", "BaseBlob"]
    assert sum(f.size for f in files) <= 300 * 1000 * 1000
    assert agent_layout(300 * 1000 * 1000, sources=3) == files  # deterministic for a seed
    assert agent_layout(300 * 1000 * 1000, sources=3, seed=7) != files


def test_files_have_long_zero_runs_and_are_sparse_where_they_can_be(tmp_path: Path) -> None:
    root = tmp_path / "staging"
    files = make_agent_staging(root, 40 * MIB, seed=3)
    for f in files:
        data = (root / f.rel_path).read_bytes()
        assert len(data) == f.size
        zero_pages = sum(data[i:i + 512] == bytes(512) for i in range(0, len(data), 512))
        if f.rel_path.endswith(".BaseBlob"):  # big enough to hold several runs
            assert 0.1 < zero_pages * 512 / len(data) < 0.45, (f, zero_pages)
            # a run of at least 1 MiB of zeros somewhere: the zero ranges a page-blob writer leaves out
            assert bytes(MIB) in data
    again = tmp_path / "again"
    make_agent_staging(again, 40 * MIB, seed=3)
    digest = lambda r: [hashlib.md5((r / f.rel_path).read_bytes()).hexdigest() for f in files]  # noqa: E731
    assert digest(root) == digest(again)


def test_zero_fraction_zero_writes_no_runs(tmp_path: Path) -> None:
    assert write_agent_file(tmp_path / "a.BaseBlob", 8 * MIB, seed=1, zero_fraction=0) == 0
    assert bytes(4096) not in (tmp_path / "a.BaseBlob").read_bytes()


def test_bad_sizes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="multiple of 512"):
        write_agent_file(tmp_path / "x.BaseBlob", 1000, seed=1)
    with pytest.raises(ValueError):
        agent_layout(-1)
    with pytest.raises(ValueError):
        agent_layout(1000, sources=0)
