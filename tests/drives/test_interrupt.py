"""Ctrl-C and SIGTERM stop a drive write at the next buffer (issue 12-8), within 2 s (issue 26): the
real CLI in a child process, real signals, then a resume that converges.

The third case runs the child with Windows' lock waits: before Python 3.14 Windows cannot interrupt
a lock wait without a timeout (CPython gh-74157, gh-80116), so apply's main thread used to run the
Ctrl-C handler only once the whole drive was written. The child blocks SIGINT in its main thread
for the duration of every `concurrent.futures.wait` (a signal arriving then is handled when the
wait returns, as on Windows); the shared wait loop (`seedctl.interrupt.wait_any`) must still stop
it within 2 s.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from seedctl.drives import read_drive_state, verify_drive

from worlds import _reap, make_world, spawn_apply

pytestmark = [pytest.mark.sandbox, pytest.mark.reliability]

WINDOWS_LIKE_WAITS = """
import concurrent.futures, signal, sys
real_wait = concurrent.futures.wait
def windows_like_wait(fs, timeout=None, return_when=concurrent.futures.ALL_COMPLETED):
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        return real_wait(fs, timeout=timeout, return_when=return_when)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
concurrent.futures.wait = windows_like_wait
from seedctl.cli import run
sys.argv[0] = "seedctl"
run()
"""


def _contention() -> float:
    """How many runnable tasks there are per core (1.0 at most one each), from the load average."""
    try:
        return max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))
    except (AttributeError, OSError):
        return 1.0


def spawn_windows_like_apply(world):  # noqa: ANN001, ANN201
    env = dict(world.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-c", WINDOWS_LIKE_WAITS, "apply", "--auto-approve", "--json",
                             "--parallelism", "2"], cwd=world.root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="POSIX signals sent to a child process "
                    "(Windows: tests/test_stop_wait.py and tests/windows/test_console.py cover the same loop)")
@pytest.mark.parametrize("sig, windows_like", [(signal.SIGINT, False), (signal.SIGTERM, False),
                                               (signal.SIGINT, True)],
                         ids=["SIGINT", "SIGTERM", "SIGINT-with-Windows-waits"])
def test_signal_stops_a_drive_write_exits_130_and_apply_resumes(sig, windows_like, tmp_path, sandbox):
    big = os.urandom(1 << 20) * 400  # 400 MiB: several seconds of copying and hashing
    world = make_world(tmp_path, sandbox, drives=1, capacity=2 << 30,
                       files={"a/small.txt": b"small\n", "big.vhd": big})
    serial = world.serials[0]
    proc = spawn_windows_like_apply(world) if windows_like else spawn_apply(world)
    # stderr read as it comes, with times: "Interrupted." is printed once the stop has landed (the
    # drive writer stopped and apply gave up), before the interpreter's own shutdown
    stderr_lines: list[tuple[float, str]] = []
    reader = threading.Thread(target=lambda: stderr_lines.extend((time.monotonic(), ln) for ln in proc.stderr),
                              daemon=True)
    reader.start()
    seen_after: list[int] = []
    signalled_at = None
    running: set[str] = set()  # nodes started and not yet done
    try:
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "node_start":
                running.add(event["address"])
            elif event.get("event") in ("node_done", "node_failed"):
                running.discard(event["address"])
            if event.get("event") != "drive_progress" or event.get("phase") != "copying":
                continue
            # Signalled while the drive is the only node at work: no other node finishing can wake
            # the main thread, only the wait loop's slices can.
            alone = all(address.startswith("drive[") for address in running)
            if signalled_at is None and event.get("current_file") == "big.vhd" and alone:
                os.kill(proc.pid, sig)
                signalled_at = time.monotonic(), event["bytes_done"]
            elif signalled_at is not None:
                seen_after.append(event["bytes_done"])
        proc.wait(timeout=60)  # a hang guard
        exited_in = time.monotonic() - signalled_at[0]
        reader.join(30)
    finally:
        _reap(proc)
    err = "".join(line for _, line in stderr_lines)
    landed = next((at for at, line in stderr_lines if line.startswith("Interrupted.")), None)
    assert signalled_at is not None, "apply never copied big.vhd"
    assert proc.returncode == 130 and landed is not None, err
    stopped_in = landed - signalled_at[0]
    print(f"{sig.name}: stopped {stopped_in:.2f} s after the signal, process exited after {exited_in:.2f} s")
    # 2 s on a machine with a core to spare; on a shared machine whose run queue is longer than its
    # cores every step is slower by about that factor, so the bound grows with it (the load-independent
    # proof that the stop landed mid-file is the byte bound below)
    bound = 2.0 * _contention()
    assert stopped_in < bound, f"the stop landed {stopped_in:.2f} s after {sig.name}, not within {bound:.1f} s"
    assert "Interrupted." in err and "run `seedctl apply` again to resume" in err
    # It stopped inside the file: at most a few buffers were read after the signal, and the big
    # file was never completed; the journal holds only complete files, and the big file in flight
    # (larger than a commit group: checkpointed, kept to be resumed; issue 22).
    # With Windows' waits the signal is handled only when the main thread's wait slice ends, and the
    # copy runs on meanwhile at the disk's pace: the bytes read then depend on the slice and the load,
    # and the 2 s bound above is the test. Otherwise the handler runs at once, and the copy stops within
    # a few buffers of it (more when the loaded machine is slow to schedule the main thread).
    if not windows_like:
        limit = 3 * (4 << 20) * _contention()
        assert all(done - signalled_at[1] <= limit for done in seen_after), (seen_after, signalled_at)
    state = read_drive_state(world.drive_path(serial))
    assert "big.vhd" not in state.completed and state.in_flight == ("big.vhd",)
    assert not list((world.drive_path(serial) / ".seedctl" / "tmp").iterdir())
    assert len(list((world.drive_path(serial) / ".seedctl" / "partial").iterdir())) == 1  # kept for the resume
    final = world.cli("apply", "--auto-approve")
    assert final.code == 0, final.out[-3000:] + final.err
    assert verify_drive(world.drive_path(serial)).ok
    assert set(read_drive_state(world.drive_path(serial)).completed) == {"a/small.txt", "big.vhd"}
