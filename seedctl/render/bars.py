"""Drive progress bars on a terminal: one rich bar per drive (phase, bytes, rate, ETA), in IEC
units like every other size seedctl shows. The console is exposed so that the reporter prints
every other line through it (above the bars)."""

from __future__ import annotations

import threading
from typing import IO, Any

from seedctl.units import format_bytes, format_rate


def _columns() -> tuple[Any, ...]:
    from rich.progress import BarColumn, ProgressColumn, TextColumn, TimeRemainingColumn
    from rich.table import Column
    from rich.text import Text

    class SizeColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            total = format_bytes(task.total) if task.total is not None else "?"
            return Text(f"{format_bytes(task.completed)} / {total}", no_wrap=True)

    class RateColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text(format_rate(speed) if speed else "-", no_wrap=True)

    def fixed() -> Column:
        return Column(no_wrap=True)

    # no column wraps: a wrapped cell leaves a fragment of a bar on a line of its own
    return (TextColumn("drive {task.fields[serial]}", table_column=fixed()),
            TextColumn("{task.fields[phase]:<9}", table_column=fixed()), BarColumn(bar_width=30),
            SizeColumn(table_column=fixed()), RateColumn(table_column=fixed()),
            TimeRemainingColumn(table_column=fixed()))


class DriveBars:
    """A ProgressCallback drawing one bar per drive; use as a context manager."""

    def __init__(self, stream: IO[str]) -> None:
        from rich.console import Console
        from rich.progress import Progress

        self.console = Console(file=stream, force_terminal=True, highlight=False, soft_wrap=True)
        # redirect_*=False: the streams seedctl writes to are passed in, not sys.stdout/sys.stderr
        self._progress = Progress(*_columns(), console=self.console, transient=False,
                                  redirect_stdout=False, redirect_stderr=False, refresh_per_second=8)
        self._tasks: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> DriveBars:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def __call__(self, event: Any) -> None:
        with self._lock:
            task = self._tasks.get(event.serial)
            if task is None:
                task = self._progress.add_task("", total=event.bytes_total or None, serial=event.serial,
                                               phase=event.phase, completed=event.skipped_bytes)
                self._tasks[event.serial] = task
            self._progress.update(task, completed=event.bytes_done, total=event.bytes_total or None,
                                  phase=event.phase)
