"""What apply prints while it runs: per-node lines and drive progress for people, or one JSON
object per line (`--json`) for CI logs. Thread-safe: nodes report from worker threads.

One console for people. On a terminal the drive bars are rich's live display on stderr, and every
other line (node lines, the shipping address, notices, log records through seedctl.logs) is printed
*through that same console*, so it lands above the bars instead of inside them. (Writing node lines
to stdout while rich redrew stderr glued lines onto bars and cut them off.) Where the bars cannot
be drawn — not a terminal, NO_COLOR / --no-color, TERM=dumb — drives report as plain lines at a
bounded rate (one per drive every `progress_interval` seconds, plus phase changes), and the output
holds no escape codes at all.

Sizes and rates are binary IEC units (seedctl.units), as everywhere else.
"""

from __future__ import annotations

import json
import threading
from typing import IO, Any

from seedctl.env import Env

VERBS = {"create": ("Creating", "Creation"), "update": ("Modifying", "Modifications"),
         "replace": ("Replacing", "Replacement"), "delete": ("Destroying", "Destruction"),
         "deferred": ("Refreshing and applying", "Apply")}

_live_lock = threading.RLock()
_live: Reporter | None = None  # the reporter whose bars are on screen, if any


def print_above_bars(text: str, *, stream: IO[str] | None = None) -> bool:
    """Print `text` above the live bars when bars are showing (True), else do nothing (False).
    seedctl.logs routes log records through this."""
    with _live_lock:
        reporter = _live
        if reporter is None or reporter._console is None:
            return False
        if stream is not None and stream is not reporter.env.stderr and stream is not reporter.env.stdout:
            return False  # a stream of its own (a log file): not the screen
        reporter._console.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True)
        return True


def bars_possible(env: Env) -> bool:
    """Live bars need a terminal on stderr and escape codes allowed (no NO_COLOR, --no-color, TERM=dumb)."""
    if env.no_color or env.environ.get("NO_COLOR") or env.environ.get("TERM") == "dumb":
        return False
    return env.stderr_isatty


class Reporter:
    def __init__(self, env: Env, *, json_lines: bool = False, progress_interval: float = 10.0) -> None:
        self.env = env
        self.json_lines = json_lines
        self._lock = threading.Lock()
        self._progress: Any = None
        self._console: Any = None
        self._progress_interval = progress_interval
        self.shipping_address: dict[str, Any] | None = None  # the last one a job reported (for "Next steps")

    # -- lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> Reporter:
        global _live
        if self.json_lines:
            return self
        if bars_possible(self.env):
            from seedctl.render.bars import DriveBars

            self._progress = DriveBars(self.env.stderr)
            self._progress.__enter__()
            with _live_lock:
                self._console = self._progress.console
                _live = self
        else:
            from seedctl.drives import LineProgress

            self._progress = LineProgress(self.env.stderr, interval=self._progress_interval)
        return self

    def __exit__(self, *exc: object) -> None:
        global _live
        with _live_lock:
            if _live is self:
                _live = None
            self._console = None
        if self._progress is not None and hasattr(self._progress, "__exit__"):
            self._progress.__exit__(*exc)
        self._progress = None

    # -- events --------------------------------------------------------------------------------
    def event(self, event: dict[str, Any]) -> None:
        if event.get("event") == "shipping_address" and isinstance(event.get("shipping_address"), dict):
            self.shipping_address = event["shipping_address"]
        if self.json_lines:
            with self._lock:
                self.env.stdout.write(json.dumps(event, sort_keys=True, default=str) + "\n")
                self.env.stdout.flush()
            return
        kind = event.get("event")
        if kind == "drive_progress":
            self._drive_progress(event)
            return
        line = self._line(event)
        if line:
            self._print(line)

    def _print(self, text: str) -> None:
        with self._lock:
            # above the bars when the results stream is that same terminal; a redirected stdout
            # gets its lines as usual (the bars are on the terminal, nothing to interleave with)
            if self._console is not None and self.env.stdout_isatty and print_above_bars(text):
                return
            self.env.stdout.write(text + "\n")
            self.env.stdout.flush()

    def _drive_progress(self, event: dict[str, Any]) -> None:
        if self._progress is None:
            return
        from seedctl.drives import ProgressEvent

        fields = {k: event[k] for k in ProgressEvent.__dataclass_fields__ if k in event}
        if "serial" in fields and "phase" in fields:
            self._progress(ProgressEvent(**fields))

    def _line(self, event: dict[str, Any]) -> str | None:
        kind = event.get("event")
        address = event.get("address", "")
        if kind == "node_start":
            return f"{address}: {VERBS.get(event['action'], ('Applying',))[0]}..."
        if kind == "node_done":
            if event["status"] == "unchanged":
                return f"{address}: already as the spec says; nothing to do"
            noun = VERBS.get(event["action"], ("", "Apply"))[1]
            return f"{address}: {noun} complete after {event['seconds']:.1f}s"
        if kind == "node_failed":
            return f"{address}: FAILED: {event['error']}"
        if kind == "node_skipped":
            return f"{address}: skipped because {event['because']} did not complete"
        if kind == "shipping_address" and event.get("shipping_address"):
            from seedctl.render.ending import address_lines

            lines = [f"{address}: ship the drives to:"]  # and again under "Next steps", at the end
            lines.extend(f"    {line}" for line in address_lines(event["shipping_address"]))
            return "\n".join(lines)
        if kind == "message":
            return str(event.get("text", ""))
        return None

    def message(self, text: str) -> None:
        self.event({"event": "message", "text": text})
