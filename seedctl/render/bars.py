"""Drive progress bars on a terminal: a bar per drive and one for all of them, each with the
percentage, bytes, files, rate and time left, in IEC units like every other size seedctl shows.

The layout follows the terminal's width, read at every redraw: from 100 columns a drive is one
line; narrower, two (the words first, then the bar with the figures), so a 60-column terminal shows
everything without a line wrapping — a wrapped line breaks the live display's redraw and leaves
fragments behind. The console is exposed so that the reporter prints every other line through it
(above the bars).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from seedctl.units import format_bytes, format_rate

WIDE = 100  # columns from which a drive's bar and words share one line
RATE_WINDOW = 10.0  # seconds of progress the rate is measured over


@dataclass
class Row:
    label: str  # "drive WD-1234" or "all 3 drives"
    phase: str
    bytes_done: int
    bytes_total: int
    files_done: int
    files_total: int
    rate: float | None = None  # bytes per second
    eta: float | None = None  # seconds

    @property
    def fraction(self) -> float:
        if self.bytes_total:
            return min(1.0, self.bytes_done / self.bytes_total)
        return 1.0 if self.phase == "done" else 0.0


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60:02d}:{rest % 60:02d}"


def _figures(row: Row) -> tuple[str, str, str, str, str]:
    return (f"{100 * row.fraction:5.1f}%", f"{row.files_done:,}/{row.files_total:,} files",
            f"{format_bytes(row.bytes_done)}/{format_bytes(row.bytes_total)}",
            format_rate(row.rate) if row.rate else "-", _eta(row.eta))


def row_lines(row: Row, width: int, label_width: int) -> list[Any]:
    """The text lines of one row at `width` columns (rich Text, never longer than `width`)."""
    from rich.text import Text

    pct, files, size, rate, eta = _figures(row)
    phase = f"{row.phase:<9}"
    style = "bold" if row.label.startswith("all ") else ""

    def bar(columns: int) -> Any:
        # rich's bar glyph and theme styles, drawn here so that a bar is part of a line of text
        filled = row.fraction * columns
        whole = int(filled)
        segment = Text("━" * whole, style="bar.finished" if row.fraction >= 1 else "bar.complete")
        rest = columns - whole
        if rest and filled - whole >= 0.5:
            segment.append("╸", style="bar.complete")
            rest -= 1
        if rest:  # a thinner line for what is left: readable without colour too (a screen capture)
            segment.append("─" * rest, style="bar.back")
        return segment

    if width >= WIDE:
        words = f"{row.label:<{label_width}} {phase} "
        tail = f" {pct} {files:>17} {size:>21} {rate:>11} {eta:>7}"
        line = Text(words, style=style)
        line.append_text(bar(max(10, min(40, width - len(words) - len(tail) - 1))))
        line.append(tail)
        line.truncate(width, overflow="crop")
        return [line]
    head = Text(f"{row.label} {phase.rstrip()} {pct.strip()} {files}", style=style)
    head.truncate(width, overflow="ellipsis")
    tail = f" {size} {rate} {eta}"
    second = Text("    ")
    second.append_text(bar(max(5, width - 4 - len(tail) - 1)))
    second.append(tail)
    second.truncate(width, overflow="crop")
    return [head, second]


def board_lines(rows: list[Row], width: int) -> list[Any]:
    """Every drive's lines, then (with two drives or more) the overall row."""
    if not rows:
        return []
    shown = list(rows)
    if len(rows) > 1:
        shown.append(total_row(rows))
    label_width = max(len(r.label) for r in shown)
    return [line for row in shown for line in row_lines(row, width, label_width)]


def total_row(rows: list[Row]) -> Row:
    phases = {r.phase for r in rows}
    phase = ("failed" if "failed" in phases else "done" if phases == {"done"} else
             "copying" if "copying" in phases else sorted(phases)[0])
    done, total = sum(r.bytes_done for r in rows), sum(r.bytes_total for r in rows)
    rates = [r.rate for r in rows if r.rate]
    rate = sum(rates) if rates else None
    eta = max((r.eta for r in rows if r.eta is not None), default=None) if phase != "done" else 0.0
    return Row(f"all {len(rows)} drives", phase, done, total, sum(r.files_done for r in rows),
               sum(r.files_total for r in rows), rate, eta)


@dataclass
class _Drive:
    event: Any
    samples: deque = field(default_factory=lambda: deque(maxlen=256))  # (time, bytes copied this run)


class DriveBars:
    """A ProgressCallback drawing the board; use as a context manager."""

    def __init__(self, stream: IO[str], *, clock: Callable[[], float] = time.monotonic) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console(file=stream, force_terminal=True, highlight=False, soft_wrap=True)
        self._clock = clock
        self._drives: dict[str, _Drive] = {}
        self._lock = threading.Lock()
        # redirect_*=False: the streams seedctl writes to are passed in, not sys.stdout/sys.stderr
        self._live = Live(_Board(self), console=self.console, transient=False, refresh_per_second=8,
                          redirect_stdout=False, redirect_stderr=False)

    def __enter__(self) -> DriveBars:
        self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.stop()

    def __call__(self, event: Any) -> None:
        with self._lock:
            drive = self._drives.setdefault(event.serial, _Drive(event))
            drive.event = event
            drive.samples.append((self._clock(), event.bytes_done - event.skipped_bytes))

    def rows(self) -> list[Row]:
        with self._lock:
            return [self._row(serial, drive) for serial, drive in self._drives.items()]

    def _row(self, serial: str, drive: _Drive) -> Row:
        e = drive.event
        rate = eta = None
        now = self._clock()
        window = [(t, b) for t, b in drive.samples if now - t <= RATE_WINDOW] or list(drive.samples)[-1:]
        if len(window) >= 2 and window[-1][0] > window[0][0]:
            rate = (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0])
        if e.phase == "done":
            eta = 0.0
        elif rate and rate > 0:
            eta = max(0.0, e.bytes_total - e.bytes_done) / rate
        return Row(f"drive {serial}", e.phase, e.bytes_done, e.bytes_total, e.files_done, e.files_total,
                   rate if rate and rate > 0 else None, eta)


class _Board:
    """The live renderable: laid out for the console's width at every refresh."""

    def __init__(self, bars: DriveBars) -> None:
        self.bars = bars

    def __rich_console__(self, console: Any, options: Any) -> Any:
        yield from board_lines(self.bars.rows(), options.max_width)
