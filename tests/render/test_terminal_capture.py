"""apply on a real pseudo-terminal, as a person sees it.

- tmux runs `seedctl apply` in a 60- and a 120-column terminal and `capture-pane` returns the
  screen and its scrollback as rendered: every node line must be whole, on a line of its own, never
  glued onto a progress bar or cut off; bars show a percentage, the file count and IEC units, fit
  the width, and an overall bar adds the drives up. With SEEDCTL_SAVE_CAPTURES=1 the screens are
  written to docs/captures/ (the committed ones are described in docs/commands.md).
- `script` runs it with NO_COLOR=1: not one escape code reaches the terminal.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from platforms import SHELL_STAND_INS
from worlds import make_world

pytestmark = [pytest.mark.sandbox, pytest.mark.slow, SHELL_STAND_INS]  # tmux / script(1) run a /bin/sh script

SEEDCTL = [sys.executable, "-m", "seedctl.cli"]
NODE_LINE = re.compile(r'^[a-z_]+(\["[^"]+"\])?: (Creating\.\.\.|Creation complete after [0-9.]+s|'
                       r'Modifying\.\.\.|Modifications complete after [0-9.]+s|'
                       r'Refreshing and applying\.\.\.|Apply complete after [0-9.]+s|'
                       r'already as the spec says; nothing to do|ship the drives to:)$')
BAR_CHARS = ("━", "╸", "╺", "─")


def _files(mib: int = 3) -> dict[str, bytes]:
    rng = __import__("random").Random(11)
    return {f"data/chunk-{i:02d}.bin": rng.randbytes(mib * 1024 * 1024 + i) for i in range(8)}


def _script(world, tmp_path: Path, extra_env: dict[str, str]) -> Path:
    env = {k: v for k, v in world.environ.items() if k.startswith(("SEEDCTL_", "PATH", "HOME", "PYTHON"))}
    env.update(extra_env)
    # COLUMNS/LINES reach tmux from the test process's environment (pytest exports them) and would
    # pin every program to 80x24 whatever the pane's size: a real terminal's shell does not export them
    lines = ["#!/bin/sh", "unset COLUMNS LINES", f"cd {shlex.quote(str(world.root))}"]
    lines += [f"export {k}={shlex.quote(v)}" for k, v in env.items()]
    lines += [f"{shlex.join(SEEDCTL)} apply --auto-approve", 'echo "SEEDCTL-EXIT=$?"']
    path = tmp_path / "run.sh"
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o755)
    return path


CAPTURES = Path(__file__).resolve().parents[2] / "docs" / "captures"


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
@pytest.mark.parametrize("columns", [60, 120])
def test_apply_on_a_terminal_keeps_node_lines_whole_and_above_the_bars(tmp_path, sandbox, columns):
    saving = bool(os.environ.get("SEEDCTL_SAVE_CAPTURES"))  # larger files: a copy slow enough to catch
    world = make_world(tmp_path / "w", sandbox, files=_files(24 if saving else 3),
                       capacity=(512 if saving else 256) * 1024 * 1024)
    script = _script(world, tmp_path, {"TERM": "xterm-256color", "NO_COLOR": ""})  # empty NO_COLOR = unset
    socket = f"seedctl-test-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-L", socket, "-f", os.devnull]
    subprocess.run([*tmux, "new-session", "-d", "-x", str(columns), "-y", "50", "-s", "apply",
                    f"{script}; sleep 600"], check=True, timeout=30)
    mid_copy = ""  # a frame with a bar part-way, kept for the docs (docs/captures/)
    try:
        deadline = time.monotonic() + 240
        screen = ""
        while time.monotonic() < deadline:
            screen = subprocess.run([*tmux, "capture-pane", "-p", "-J", "-S", "-", "-E", "-", "-t", "apply"],
                                    capture_output=True, text=True, timeout=30).stdout
            if "SEEDCTL-EXIT=" in screen:
                break
            if not mid_copy and re.search(r"copying .*?(?<![\d.])(?:[1-9]|[1-8]\d)\.\d%", screen):
                mid_copy = subprocess.run([*tmux, "capture-pane", "-p", "-t", "apply"], capture_output=True,
                                          text=True, timeout=30).stdout
            time.sleep(0.1)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, timeout=30)
    assert "SEEDCTL-EXIT=0" in screen, screen[-3000:]
    if saving:  # to refresh the committed captures
        CAPTURES.mkdir(exist_ok=True)
        (CAPTURES / f"apply-{columns}-columns.txt").write_text(screen.split("SEEDCTL-EXIT=")[0], encoding="utf-8")
        if mid_copy:
            (CAPTURES / f"apply-{columns}-columns-copying.txt").write_text(mid_copy, encoding="utf-8")
    lines = [line.rstrip() for line in screen.splitlines()]
    bars = [line for line in lines if any(c in line for c in BAR_CHARS) and not line.startswith("  ")
            or line.startswith("    ━") or line.startswith("    ─")]
    assert bars, "the drives' progress bars were drawn"
    wide = columns >= 100
    for bar in bars:
        # a drive's (or all drives') line: one line from 100 columns, else the bar under its words
        assert bar.startswith(("drive SIM-", "all ")) if wide else bar.startswith("    "), bar
        assert "MiB" in bar or "KiB" in bar, bar
        assert not re.search(r"\d (kB|MB|GB)\b", bar), f"decimal units in a bar: {bar!r}"
        assert len(bar) <= columns, f"a bar wider than the terminal: {bar!r}"
    words = [line for line in lines if re.match(r"(drive SIM-\S+|all \d+ drives) ", line)]
    assert words and all(re.search(r"\d+\.\d%", line) and re.search(r"\d+/\d+ files", line) for line in words), words
    assert any(line.startswith("all 2 drives") for line in words), "the overall bar"
    node_lines = [line for line in lines if re.search(r"(Creating\.\.\.|complete after|ship the drives to)", line)]
    assert node_lines
    broken = [line for line in node_lines if not NODE_LINE.match(line)]
    assert not broken, f"node lines glued to bars or cut off: {broken}"
    # between the plan and the summary, every line is a node line, an address line or a bar: nothing
    # is left over from a wrapped or overwritten bar
    body = lines[next(i for i, line in enumerate(lines) if line.startswith("Plan: ")) + 1:
                 next(i for i, line in enumerate(lines) if line.startswith("Apply complete"))]
    stray = [line for line in body if line.strip() and not (NODE_LINE.match(line) or line.startswith("    ")
                                                            or line in words)]
    assert not stray, f"stray fragments on the terminal: {stray}"
    planned = int(re.search(r"Plan: (\d+) to add", screen).group(1))
    assert sum("Creation complete after" in line for line in lines) == planned
    # the shipping address is one block of its own lines, not spread between bars
    start = next(i for i, line in enumerate(lines) if line.endswith("ship the drives to:"))
    block = lines[start + 1:start + 4]
    assert all(line.startswith("    ") and not any(c in line for c in BAR_CHARS) for line in block), block


@pytest.mark.skipif(shutil.which("script") is None, reason="needs script(1)")
def test_apply_with_no_color_prints_no_escape_codes(tmp_path, sandbox):
    world = make_world(tmp_path / "w", sandbox, files=_files())
    script = _script(world, tmp_path, {"TERM": "xterm-256color", "NO_COLOR": "1"})
    done = subprocess.run(["script", "-q", "-e", "-c", str(script), os.devnull], capture_output=True,
                          timeout=240, stdin=subprocess.DEVNULL)
    output = done.stdout.decode("utf-8", "replace")
    assert "SEEDCTL-EXIT=0" in output, output[-3000:]
    assert "\x1b" not in output, "escape codes with NO_COLOR set"
    assert "Creation complete after" in output
    # drive progress as plain lines, in IEC units
    progress = [line for line in output.splitlines() if line.startswith("drive SIM-")]
    assert progress and all("iB" in line for line in progress), progress
