import io

from seedctl.drives import LineProgress, ProgressEvent
from seedctl.render.bars import DriveBars


def ev(done: int, phase: str = "copying") -> ProgressEvent:
    return ProgressEvent("WD-1", phase, done, 1000, done // 100, 10)


def test_line_progress_prints_periodically_and_on_phase_change() -> None:
    now = [0.0]
    out = io.StringIO()
    p = LineProgress(out, interval=10, clock=lambda: now[0])
    p(ev(0, "checking"))
    p(ev(100))
    now[0] = 5
    p(ev(500))  # within the interval: silent
    now[0] = 12
    p(ev(900))
    p(ev(1000, "done"))
    lines = out.getvalue().splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("drive WD-1: checking")
    assert "90.0%" in lines[2] and "9/10 files" in lines[2] and "ETA" in lines[2]
    assert lines[3].startswith("drive WD-1: done 100.0%")


def test_drive_bars_draw_bytes_in_binary_units() -> None:
    out = io.StringIO()
    with DriveBars(out) as bars:
        bars(ProgressEvent("WD-1", "copying", 3 << 20, 8 << 20, 3, 8))
        bars(ProgressEvent("WD-1", "done", 8 << 20, 8 << 20, 8, 8))
    assert "WD-1" in out.getvalue() and "MiB" in out.getvalue()
