"""The wait loop every platform shares (seedctl.interrupt.wait_any): a stop request is handled
within one wait slice even where a lock wait cannot be interrupted.

Windows before Python 3.14 cannot interrupt a lock wait without a timeout (CPython gh-74157,
gh-80116), so apply's main thread never ran the Ctrl-C handler until a whole drive was written.
Linux can interrupt such a wait, so to test the loop here the waiter is made Windows-like: SIGINT is
blocked in the main thread while a wait is in progress (a signal that arrives then is handled only
after the wait returns, as on Windows)."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait

import pytest

from seedctl.interrupt import CancelToken, stop_on_signals, stop_signals, wait_any

pytestmark = pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"),
                                reason="the Windows-like waiter blocks signals with pthread_sigmask (POSIX)")


def windows_like_wait(fs, timeout=None, return_when=FIRST_COMPLETED):  # noqa: ANN001, ANN201
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        return wait(fs, timeout=timeout, return_when=return_when)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def sigint_in(seconds: float) -> None:
    threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT)).start()


def finished_in(seconds: float) -> Future[None]:
    """A job already running (as a pool's would be: it cannot be cancelled) that ends in `seconds`."""
    future: Future[None] = Future()
    future.set_running_or_notify_cancel()
    threading.Timer(seconds, future.set_result, (None,)).start()
    return future


def test_wait_any_returns_what_is_done() -> None:
    done: Future[int] = Future()
    done.set_result(1)
    assert wait_any([done, Future()]) == {done}
    assert wait_any([]) == set()


def test_ctrl_c_lands_within_a_slice_although_waits_cannot_be_interrupted() -> None:
    token = CancelToken()
    writer = finished_in(6.0)  # a drive that takes 6 s more
    with pytest.raises(KeyboardInterrupt), stop_on_signals(token, console=False):
        sigint_in(0.3)
        started = time.monotonic()
        try:
            wait_any([writer], waiter=windows_like_wait)
        finally:
            stopped_after = time.monotonic() - started
            reason = token.reason
    assert stopped_after < 2.0, stopped_after
    assert reason == "SIGINT"


def test_the_windows_like_waiter_does_hold_a_signal_back() -> None:
    """The control: one wait without a timeout through the same waiter (what apply did) sees the
    signal only when the drive is done, so the test above would fail without the slices."""
    token = CancelToken()
    writer = finished_in(2.5)
    with pytest.raises(KeyboardInterrupt), stop_on_signals(token, console=False):
        sigint_in(0.2)
        started = time.monotonic()
        try:
            windows_like_wait([writer])
            time.sleep(0.5)  # the pending SIGINT is handled here, after the wait
        finally:
            held_back = time.monotonic() - started
    assert held_back >= 2.4, held_back


def test_the_stop_signals_here() -> None:
    found = stop_signals()
    assert found[0] == signal.SIGINT
    assert (signal.SIGTERM in found) == hasattr(signal, "SIGTERM")
    assert (getattr(signal, "SIGBREAK", None) in found) == hasattr(signal, "SIGBREAK")


def test_results_in_turn_yields_each_and_cancels_what_has_not_started_on_a_stop() -> None:
    """verify's blob checks and destroy's hashing and deletes wait through results_in_turn: results
    come as they finish, and a stop (here the first failure) cancels what has not started, so the
    pool's shutdown waits only for the checks already running."""
    from concurrent.futures import ThreadPoolExecutor

    from seedctl.interrupt import results_in_turn

    started: list[int] = []

    def work(n: int) -> int:
        started.append(n)
        if n == 1:
            raise ValueError("blob 1 failed")
        time.sleep(0.05)
        return n

    with ThreadPoolExecutor(max_workers=1) as pool:
        futures = [pool.submit(work, n) for n in range(50)]
        seen = []
        with pytest.raises(ValueError, match="blob 1 failed"):
            for value in results_in_turn(futures):
                seen.append(value)
    assert seen == [0]
    assert len(started) <= 3, started  # the other 47 were cancelled, never run
    assert sum(f.cancelled() for f in futures) >= 47
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert sorted(results_in_turn([pool.submit(lambda n=n: n * n) for n in range(6)])) == [0, 1, 4, 9, 16, 25]


def test_results_in_turn_lands_a_ctrl_c_within_a_slice() -> None:
    from seedctl.interrupt import results_in_turn

    token = CancelToken()
    slow = finished_in(6.0)
    with pytest.raises(KeyboardInterrupt), stop_on_signals(token, console=False):
        sigint_in(0.3)
        started = time.monotonic()
        try:
            list(results_in_turn([slow]))
        finally:
            stopped_after = time.monotonic() - started
    assert stopped_after < 2.0, stopped_after
