"""Progress of drive preparation: the event type, and the plain-line renderer.

The engine calls a `ProgressCallback` with `ProgressEvent`s (throttled to a few per second, plus
one at every phase change). `LineProgress` prints a line per drive every `interval` seconds when
there are no bars (CI logs, redirected stderr, NO_COLOR); on a terminal, apply draws bars through
its one console (`seedctl.render.bars.DriveBars`). Thread-safe: drives are prepared in parallel.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

PHASES = ("checking", "copying", "manifest", "verifying", "done", "failed")


@dataclass(frozen=True)
class ProgressEvent:
    serial: str
    phase: str  # one of PHASES
    bytes_done: int
    bytes_total: int
    files_done: int
    files_total: int
    current_file: str | None = None
    skipped_bytes: int = 0  # already on the drive (resumed), counted in bytes_done, not in the rate


ProgressCallback = Callable[[ProgressEvent], None]


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:,.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f}"


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    return f"{h}:{rem // 60:02d}:{rem % 60:02d}" if h else f"{rem // 60:02d}:{rem % 60:02d}"


class _Rate:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.start: float | None = None
        self.base = 0

    def update(self, event: ProgressEvent) -> tuple[float, float | None]:
        now = self.clock()
        if self.start is None:
            self.start, self.base = now, event.bytes_done
        elapsed = now - self.start
        moved = event.bytes_done - self.base
        rate = moved / elapsed if elapsed > 0 else 0.0
        eta = (event.bytes_total - event.bytes_done) / rate if rate > 0 else None
        return rate, eta


class LineProgress:
    """A line per drive at most every `interval` seconds, plus phase changes. For non-terminals."""

    def __init__(self, stream: IO[str], *, interval: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._last: dict[str, tuple[float, str]] = {}
        self._rates: dict[str, _Rate] = {}

    def __call__(self, event: ProgressEvent) -> None:
        with self._lock:
            rate, eta = self._rates.setdefault(event.serial, _Rate(self.clock)).update(event)
            now = self.clock()
            last_time, last_phase = self._last.get(event.serial, (None, None))
            if last_phase == event.phase and last_time is not None and now - last_time < self.interval:
                return
            self._last[event.serial] = (now, event.phase)
            pct = 100.0 * event.bytes_done / event.bytes_total if event.bytes_total else 100.0
            self.stream.write(
                f"drive {event.serial}: {event.phase} {pct:5.1f}% {_fmt_bytes(event.bytes_done)} of "
                f"{_fmt_bytes(event.bytes_total)}, {event.files_done:,}/{event.files_total:,} files, "
                f"{_fmt_bytes(rate)}/s, ETA {_fmt_eta(eta)}\n")
            self.stream.flush()
