"""What apply prints while it runs: per-node lines and drive progress for people, or one JSON
object per line (`--json`) for CI logs. Thread-safe: nodes report from worker threads."""

from __future__ import annotations

import json
import threading
from typing import Any

from seedctl.env import Env

VERBS = {"create": ("Creating", "Creation"), "update": ("Modifying", "Modifications"),
         "replace": ("Replacing", "Replacement"), "delete": ("Destroying", "Destruction"),
         "deferred": ("Refreshing and applying", "Apply")}


class Reporter:
    def __init__(self, env: Env, *, json_lines: bool = False, progress_interval: float = 10.0) -> None:
        self.env = env
        self.json_lines = json_lines
        self._lock = threading.Lock()
        self._progress: Any = None
        self._progress_interval = progress_interval

    # -- lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> Reporter:
        if not self.json_lines:
            from seedctl.drives.progress import make_progress

            self._progress = make_progress(self.env.stderr, is_tty=self.env.stderr_isatty,
                                           interval=self._progress_interval)
            if hasattr(self._progress, "__enter__"):
                self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None and hasattr(self._progress, "__exit__"):
            self._progress.__exit__(*exc)
        self._progress = None

    # -- events --------------------------------------------------------------------------------
    def event(self, event: dict[str, Any]) -> None:
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
            with self._lock:
                self.env.stdout.write(line + "\n")
                self.env.stdout.flush()

    def _drive_progress(self, event: dict[str, Any]) -> None:
        if self._progress is None:
            return
        from seedctl.drives.progress import ProgressEvent

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
            addr = event["shipping_address"]
            lines = [f"{address}: ship the drives to:"]
            for key in ("recipient_name", "street_address1", "street_address2", "city", "state_or_province",
                        "postal_code", "country_or_region", "phone"):
                if addr.get(key):
                    lines.append(f"    {addr[key]}")
            return "\n".join(lines)
        if kind == "message":
            return str(event.get("text", ""))
        return None

    def message(self, text: str) -> None:
        self.event({"event": "message", "text": text})
