"""One retry policy around every Azure call seedctl makes, and the only one that retries.

The SDKs' own retry loops are switched off (`sdk_retry_total = 0` in every client): two nested
loops multiply (8 outer tries × 4 SDK tries was 32 requests and a minute of silence), and only the
outer loop can say what it is doing. The SDKs also retried unevenly: track 2 does not retry a POST
answered 429 without Retry-After (see ../shared/domain/sdk-spike.md). Operations are idempotent (every apply step
re-reads first), which makes the outer retry safe.

The budget (docs/troubleshooting.md, "Retries"): at most `attempts` tries of one operation, with
capped exponential backoff (honouring the service's Retry-After up to `max_delay`), and no new try
once `budget` seconds have passed since the first. Each retry logs one line, e.g.
"ARM 503 ServerBusy on create storage account x: retry 2/5 in 4 s".
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from seedctl.azure.errors import describe_failure, is_transient, translate_error

T = TypeVar("T")
log = logging.getLogger("seedctl.retry")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 20.0
    budget: float = 90.0  # seconds from the first try after which no new try starts
    # SDK-level retries: none (see the module docstring); kept as settings for the client factory
    sdk_retry_total: int = 0
    sdk_backoff_factor: float = 0.4
    sdk_backoff_max: float = 10.0
    timeout: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(self.max_delay, max(0.0, retry_after))
        return min(self.max_delay, self.base_delay * (2 ** attempt)) * (0.5 + random.random() / 2)

    @classmethod
    def fast(cls) -> RetryPolicy:
        """For the sandbox: same shape, short delays."""
        return cls(attempts=12, base_delay=0.02, max_delay=0.3, budget=30.0, sdk_retry_total=0,
                   sdk_backoff_factor=0.01, sdk_backoff_max=0.1, timeout=30.0)


def _retry_after(exc: BaseException) -> float | None:
    """The service's Retry-After (seconds form), if the failure carries one."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    try:
        value = headers.get("Retry-After") or headers.get("retry-after")
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def call_with_retry(fn: Callable[[], T], what: str, policy: RetryPolicy, *,
                    on_retry: Callable[[int, BaseException], None] | None = None,
                    scope: str | None = None, clock: Callable[[], float] = time.monotonic,
                    sleep: Callable[[float], None] = time.sleep) -> T:
    """Run `fn`, retrying transient failures within the policy's budget (one log line per retry);
    raise a translated AzureError otherwise."""
    started = clock()
    for attempt in range(policy.attempts):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - classified below, re-raised translated
            last = attempt == policy.attempts - 1
            pause = policy.delay(attempt, _retry_after(exc))
            if not is_transient(exc) or last or clock() - started + pause > policy.budget:
                raise translate_error(exc, what, scope=scope) from exc
            log.info("%s on %s: retry %d/%d in %s s", describe_failure(exc), what, attempt + 1,
                        policy.attempts - 1, f"{pause:.0f}" if pause >= 1 else f"{pause:.1f}")
            if on_retry:
                on_retry(attempt + 1, exc)
            sleep(pause)
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
