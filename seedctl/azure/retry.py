"""One retry policy around every Azure call seedctl makes.

The SDKs retry some failures themselves, but unevenly: track 2 does not retry a POST answered 429
without Retry-After, and the track-1 Import/Export client never retries POST or PATCH under
urllib3 2 (see ../shared/domain/sdk-spike.md). So seedctl wraps each logical operation in its own
capped exponential backoff for transient failures; operations are idempotent (every apply step
re-reads first), which makes an outer retry safe.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from seedctl.azure.errors import is_transient, translate_error

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8
    base_delay: float = 0.5
    max_delay: float = 20.0
    # SDK-level settings applied to every client (kept small: the outer loop does the rest)
    sdk_retry_total: int = 3
    sdk_backoff_factor: float = 0.4
    sdk_backoff_max: float = 10.0
    timeout: float = 120.0

    def delay(self, attempt: int) -> float:
        return min(self.max_delay, self.base_delay * (2 ** attempt)) * (0.5 + random.random() / 2)

    @classmethod
    def fast(cls) -> RetryPolicy:
        """For the sandbox: same shape, short delays."""
        return cls(attempts=12, base_delay=0.02, max_delay=0.3, sdk_retry_total=2,
                   sdk_backoff_factor=0.01, sdk_backoff_max=0.1, timeout=30.0)


def call_with_retry(fn: Callable[[], T], what: str, policy: RetryPolicy, *,
                    on_retry: Callable[[int, BaseException], None] | None = None,
                    scope: str | None = None) -> T:
    """Run `fn`, retrying transient failures; raise a translated AzureError otherwise."""
    for attempt in range(policy.attempts):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - classified below, re-raised translated
            if not is_transient(exc) or attempt == policy.attempts - 1:
                raise translate_error(exc, what, scope=scope) from exc
            if on_retry:
                on_retry(attempt + 1, exc)
            time.sleep(policy.delay(attempt))
    raise AssertionError("unreachable")


def read_or_none(fn: Callable[[], T], what: str, policy: RetryPolicy) -> T | None:
    """A read that answers None for a genuine 404 (the object does not exist) and raises for
    everything else: an authorization or network failure is never taken as 'absent'."""
    from seedctl.azure.errors import is_not_found

    def attempt() -> T | None:
        try:
            return fn()
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise

    return call_with_retry(attempt, what, policy)
