"""`seedctl estimate` (issue 25 item 1): drive counts, fill, copy time and the calendar from the
staging folder alone, against hand calculations on a 10 TB staging tree of sparse files."""

from __future__ import annotations

import io
import json
import os
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from seedctl.cli import main
from seedctl.env import Env
from seedctl.estimate import (
    ZeroCount,
    add_business_days,
    calendar,
    count_zeros,
    data_extents,
    describe_duration,
    fit_drives,
    measure_read_rate,
    open_staged,
    parse_rate,
)

from platforms import FIFOS, SYMLINKS

TB = 10**12
MiB = 1024 * 1024
FILE = 2_500_000_000_000  # 2.5 TB, a multiple of 512 like every page-blob file


def _run(argv: list[str], cwd: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = Env(stdout=out, stderr=err, environ={}, cwd=str(cwd),
              clock=lambda: datetime(2026, 12, 1, tzinfo=timezone.utc))
    return main(argv, env=env), out.getvalue(), err.getvalue()


def _sparse(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        try:
            handle.truncate(size)
        except OSError as exc:  # a filesystem without sparse files cannot hold the tree
            pytest.skip(f"cannot make a {size:,}-byte sparse file here: {exc}")


@pytest.fixture
def ten_tb(tmp_path: Path) -> Path:
    """Four 2.5 TB agent files (10 TB), sparse; one holds 1 MiB of data and 1 MiB of zeros written as data."""
    root = tmp_path / "staging"
    for name in ("MARS/a.BaseBlob", "MARS/b.AIBBlob", "MARS/c.AIBBlob", "MARS/d.AIBBlob"):
        _sparse(root / name, FILE)
    fd = os.open(root / "MARS/a.BaseBlob", os.O_WRONLY)
    try:
        os.pwrite(fd, os.urandom(MiB), 1 << 30)
        os.pwrite(fd, bytes(MiB), (1 << 30) + MiB)  # zeros, but written: the sample must find them
    finally:
        os.close(fd)
    fd = os.open(root / "MARS/b.AIBBlob", os.O_RDONLY)
    try:
        if data_extents(fd, FILE) == [(0, FILE)]:
            pytest.skip("this filesystem does not report holes (SEEK_HOLE)")
    finally:
        os.close(fd)
    return root


def test_ten_tb_tree_matches_the_hand_calculation(ten_tb: Path) -> None:
    code, out, err = _run(["estimate", "--staging", str(ten_tb), "--drive-size", "4TB", "--drive-size", "8TB",
                           "--drive-size", "10TB", "--throughput", "200MB/s", "-o", "json"], ten_tb.parent)
    assert code == 0, err
    data = json.loads(out)
    assert data["files"] == 4 and data["total_bytes"] == 10 * TB
    by_size = {d["capacity"]: d for d in data["drive_sizes"]}
    # by hand: a 4 TB drive keeps 1 % back (3.96 TB usable): one 2.5 TB file each, 62.5 % full
    assert by_size[4 * TB]["count"] == 4
    assert [d["fill_ratio"] for d in by_size[4 * TB]["drives"]] == pytest.approx([0.625] * 4, abs=1e-3)
    # 8 TB (7.92 usable): three files (7.5 TB) and one; 10 TB (9.9 usable): the same, 10 TB would not fit
    assert by_size[8 * TB]["count"] == 2
    assert [d["fill_ratio"] for d in by_size[8 * TB]["drives"]] == pytest.approx([0.9375, 0.3125], abs=1e-3)
    assert by_size[10 * TB]["count"] == 2
    assert [d["fill_ratio"] for d in by_size[10 * TB]["drives"]] == pytest.approx([0.75, 0.25], abs=1e-3)
    assert all(d["jobs"] == 1 for d in data["drive_sizes"])
    # the copy reads every byte: 10^13 bytes at 2*10^8 B/s = 50,000 s
    assert data["copy_seconds"] == 50_000.0
    assert describe_duration(50_000) == "13 h 54 min"
    # page data: holes exact, the written zeros found by the sample (of 2 MiB of data, about half)
    zeros = data["zeros"]
    assert zeros["hole_bytes"] == 10 * TB - 2 * MiB and zeros["data_bytes"] == 2 * MiB
    assert 0.3 * MiB < data["azure_bytes"] < 1.7 * MiB
    assert data["drive_bytes"] == 10 * TB  # zero runs are written to the drive as data
    # the calendar from 2026-12-01 (a Tuesday), copy done the same day
    steps = {s["what"].split(":")[0].split(";")[0]: (s["earliest"], s["latest"]) for s in data["calendar"]}
    assert steps["DEADLINE"] == ("2026-12-15", "2026-12-15")
    assert steps["pack and ship"] == ("2026-12-02", "2026-12-02")
    assert steps["delivered to the datacenter"] == ("2026-12-05", "2026-12-05")  # a Saturday
    assert steps["received"] == ("2026-12-07", "2026-12-09")  # 1-3 business days: Monday to Wednesday
    assert steps["imported into the storage account"] == ("2026-12-14", "2026-12-19")


def test_text_output_says_what_it_counted_and_why(ten_tb: Path) -> None:
    code, out, _ = _run(["estimate", "--staging", str(ten_tb), "--drive-size", "4TB", "--throughput", "200MB/s"],
                        ten_tb.parent)
    assert code == 0
    assert "4.0 TB (3.6 TiB): 4 drives, full: 62.5 %, 62.5 %, 62.5 %, 62.5 %" in out
    assert "Copy time: 13 h 54 min" in out and "(stated)" in out
    assert "SEEK_HOLE" in out and "page blobs keep only the pages" in out
    assert "at least 64 MiB" in out  # the reserve is explained where its effect shows
    assert "DEADLINE" in out and "2026-12-15" in out


def test_a_file_larger_than_a_drive_is_named(ten_tb: Path) -> None:
    fit = fit_drives([_F("MARS/a.BaseBlob", FILE)], 2 * TB)
    assert fit.error and "MARS/a.BaseBlob" in fit.error and "never split" in fit.error and fit.count == 0


def test_more_than_ten_drives_needs_more_than_one_job() -> None:
    files = [_F(f"f{i:02d}", 900_000_000_000) for i in range(12)]
    fit = fit_drives(files, TB)
    assert fit.count == 12 and fit.jobs == 2


class _F:
    def __init__(self, rel_path: str, size: int) -> None:
        self.rel_path, self.size, self.mtime_ns, self.blob_path = rel_path, size, 0, rel_path


def test_zeros_written_as_data_are_found_by_sampling(tmp_path: Path) -> None:
    # no holes at all (every byte written): the sample alone finds the zero half
    path = tmp_path / "x.bin"
    path.write_bytes(os.urandom(2 * MiB) + bytes(2 * MiB))
    count = count_zeros(tmp_path, [_F("x.bin", 4 * MiB)], samples=128)
    assert count.hole_bytes == 0 and count.samples == 128
    assert 0.35 < count.zero_bytes / (4 * MiB) < 0.65
    assert count_zeros(tmp_path, [_F("x.bin", 4 * MiB)], samples=0).zero_bytes == 0  # holes only


def test_block_blobs_count_every_byte() -> None:
    zc = ZeroCount(100, data_bytes=100, counted=False)
    assert zc.zero_bytes == 0 and zc.nonzero_bytes == 100 and "block blobs" in zc.method()


@SYMLINKS
def test_staged_files_are_opened_without_following_symlinks(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "f").write_bytes(b"x")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    os.close(open_staged(tmp_path, "real/f"))
    with pytest.raises(OSError):
        open_staged(tmp_path, "link/f")


def test_read_rate_is_measured_only_with_enough_data(tmp_path: Path) -> None:
    (tmp_path / "small").write_bytes(os.urandom(MiB))
    assert measure_read_rate(tmp_path, [_F("small", MiB)]) is None
    (tmp_path / "big").write_bytes(os.urandom(32 * MiB))
    ticks = iter(range(100))
    rate = measure_read_rate(tmp_path, [_F("big", 32 * MiB)], clock=lambda: float(next(ticks)) / 10)
    assert rate is not None and rate.source == "measured" and rate.bytes_per_second > 0


@pytest.mark.parametrize(("text", "rate"), [("200MB/s", 200e6), ("1.5GiB/s", 1.5 * 2**30), ("100MB", 100e6),
                                            ("5000000", 5e6)])
def test_throughput_parses(text: str, rate: float) -> None:
    assert parse_rate(text) == rate


def test_bad_throughput_and_missing_staging_are_clear_errors(tmp_path: Path) -> None:
    code, _, err = _run(["estimate", "--staging", str(tmp_path), "--throughput", "fast"], tmp_path)
    assert code == 1 and "--throughput 'fast'" in err and "200MB/s" in err
    code, _, err = _run(["estimate", "--staging", str(tmp_path / "nope")], tmp_path)
    assert code == 1 and "not here" in err
    code, _, err = _run(["estimate", "--staging", str(tmp_path), "--drive-size", "big"], tmp_path)
    assert code == 1 and "--drive-size 'big'" in err


def test_calendar_business_days_and_backup_interval() -> None:
    assert add_business_days(date(2026, 12, 4), 1) == date(2026, 12, 7)  # Friday + 1 = Monday
    steps = calendar(datetime(2026, 12, 1, tzinfo=timezone.utc), 3 * 86400, transit_days=1, backup_interval_days=7)
    dates = [s.earliest for s in steps]
    assert dates == sorted(dates)
    backup = next(s for s in steps if "first online backup" in s.what)
    imported = next(s for s in steps if s.what.startswith("imported"))
    assert (backup.latest - imported.latest).days == 7


def test_with_a_spec_the_spec_drives_are_sized_as_plan_would(tmp_path: Path) -> None:
    assert _run(["init", "--sandbox"], tmp_path)[0] == 0  # seed.yaml with two 128 MiB drives, sample staging
    code, out, err = _run(["estimate", "--throughput", "100MB/s", "-o", "json"], tmp_path)
    assert code == 0, err
    data = json.loads(out)
    spec_row, fewest = data["drive_sizes"]
    assert spec_row["label"] == "the spec's drives" and spec_row["error"] is None
    assert [d["name"] for d in spec_row["drives"]] == ["SANDBOX-DRIVE-01", "SANDBOX-DRIVE-02"]
    # 92 MiB of sample data; a 128 MiB drive keeps 64 MiB back (the minimum reserve): two drives
    assert fewest["capacity"] == 128 * MiB and fewest["count"] == 2
    (tmp_path / "nowhere").mkdir()
    code, _, err = _run(["estimate"], tmp_path / "nowhere")
    assert code == 1 and "seed.yaml" in err  # no spec and no --staging: says which spec it looked for


@FIFOS
def test_a_staged_file_swapped_for_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    """Issue 23: the estimate reads staging files through seedctl.safefs, never waiting on a FIFO."""
    os.mkfifo(tmp_path / "f")
    with pytest.raises(OSError, match="FIFO"):
        open_staged(tmp_path, "f")
