"""The drive bars (issue 25, item 8): a percentage, the file count, a bar for all drives, and a
layout that stays on its lines at 60 columns as at 120 (a wrapped line breaks the live redraw)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from seedctl.drives import ProgressEvent
from seedctl.render.bars import WIDE, DriveBars, Row, board_lines, total_row

MiB = 1 << 20


def _rows() -> list[Row]:
    return [Row("drive SIM-85838973-01", "copying", 13 * MiB, 55 * MiB, 90, 301, 36 * MiB, 1.5),
            Row("drive SIM-85838973-02", "done", 32 * MiB, 32 * MiB, 2, 2, 48 * MiB, 0.0)]


def _text(rows: list[Row], width: int) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    for line in board_lines(rows, width):
        console.print(line)
    return console.export_text().splitlines()


@pytest.mark.parametrize("width", [40, 60, 80, 99, 100, 120, 200])
def test_every_line_fits_the_terminal(width: int) -> None:
    lines = _text(_rows(), width)
    assert lines and all(len(line) <= width for line in lines), lines
    assert len(lines) == (3 if width >= WIDE else 6)  # two drives and the overall row


def test_sixty_columns_show_percentage_files_bytes_rate_and_the_overall_bar() -> None:
    lines = _text(_rows(), 60)
    assert lines[0] == "drive SIM-85838973-01 copying 23.6% 90/301 files"
    assert lines[1].startswith("    ━━━━╸─") and lines[1].endswith(" 13.0 MiB/55.0 MiB 36.0 MiB/s 00:01")
    assert lines[4] == "all 2 drives copying 51.7% 92/303 files"
    assert lines[5].endswith(" 45.0 MiB/87.0 MiB 84.0 MiB/s 00:01")


def test_one_line_per_drive_from_100_columns() -> None:
    lines = _text(_rows(), 120)
    assert lines[0].startswith("drive SIM-85838973-01 copying   ━━━━╸─")
    assert "23.6%" in lines[0] and "90/301 files" in lines[0] and "13.0 MiB/55.0 MiB" in lines[0]
    assert lines[2].startswith("all 2 drives") and "51.7%" in lines[2] and "92/303 files" in lines[2]


def test_the_overall_row_adds_the_drives_up() -> None:
    total = total_row(_rows())
    assert (total.bytes_done, total.bytes_total, total.files_done, total.files_total) == (45 * MiB, 87 * MiB, 92, 303)
    assert total.phase == "copying" and total.rate == 84 * MiB and total.eta == 1.5
    assert total_row([Row("a", "done", 1, 1, 1, 1), Row("b", "done", 2, 2, 1, 1)]).phase == "done"
    assert total_row([Row("a", "failed", 0, 1, 0, 1), Row("b", "done", 2, 2, 1, 1)]).phase == "failed"
    assert len(_text(_rows()[:1], 120)) == 1  # one drive: no overall row


def test_rate_and_time_left_come_from_the_last_seconds_of_progress() -> None:
    now = [0.0]
    bars = DriveBars(io.StringIO(), clock=lambda: now[0])
    bars(ProgressEvent("WD-1", "copying", 10 * MiB, 100 * MiB, 1, 10, skipped_bytes=10 * MiB))  # resumed
    now[0] = 2.0
    bars(ProgressEvent("WD-1", "copying", 30 * MiB, 100 * MiB, 3, 10, skipped_bytes=10 * MiB))
    (row,) = bars.rows()
    assert row.rate == 10 * MiB and row.eta == 7.0  # 20 MiB in 2 s; 70 MiB left
    assert row.fraction == 0.3


def test_drive_bars_draw_on_a_stream() -> None:
    out = io.StringIO()
    with DriveBars(out) as bars:
        bars(ProgressEvent("WD-1", "copying", 3 << 20, 8 << 20, 3, 8))
        bars(ProgressEvent("WD-2", "done", 8 << 20, 8 << 20, 8, 8))
    text = out.getvalue()
    assert "WD-1" in text and "all 2 drives" in text and "files" in text and "%" in text
