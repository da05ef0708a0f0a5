"""Fault injection: rules that make chosen requests fail, set by tests through the control API.

A rule matches on method and a regex over the request path; it fires for the next `count` matching
requests, or with probability `rate` (seeded, so a test is repeatable), or always when neither is
given. Rules live in memory: a restart of the sandbox clears them, as does `reset`.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

KINDS = ("403", "429", "500", "503", "reset", "slow", "lro_failed")


@dataclass
class FaultRule:
    kind: str
    method: str | None = None
    path_regex: str | None = None
    count: int | None = None
    rate: float | None = None
    seed: int | None = None
    retry_after: float | None = None
    delay: float | None = None
    fired: int = 0
    _pattern: re.Pattern[str] | None = field(default=None, repr=False)
    _rng: random.Random | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of {', '.join(KINDS)}")
        if self.rate is not None and not 0 <= self.rate <= 1:
            raise ValueError("rate must be between 0 and 1")
        if self.retry_after is not None and (self.retry_after < 0 or not float(self.retry_after).is_integer()):
            # Retry-After is whole seconds on the wire; urllib3 rejects anything else.
            raise ValueError("retry_after must be a whole number of seconds >= 0")
        if self.count is not None and self.count < 0:
            raise ValueError("count must be >= 0")
        self._pattern = re.compile(self.path_regex, re.IGNORECASE) if self.path_regex else None
        self._rng = random.Random(self.seed)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultRule:
        allowed = {"kind", "method", "path_regex", "count", "rate", "seed", "retry_after", "delay"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "method": self.method, "path_regex": self.path_regex,
                "count": self.count, "rate": self.rate, "seed": self.seed,
                "retry_after": self.retry_after, "delay": self.delay, "fired": self.fired}

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return not (self._pattern and not self._pattern.search(path))

    def should_fire(self) -> bool:
        """Consume one firing if this rule applies to a matching request now."""
        if self.count is not None and self.fired >= self.count:
            return False
        if self.rate is not None and self._rng is not None and self._rng.random() >= self.rate:
            return False
        self.fired += 1
        return True


class FaultSet:
    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def take(self, method: str, path: str, *, lro: bool = False) -> FaultRule | None:
        """The first rule that fires for this request: request-level kinds, or with `lro=True`
        the `lro_failed` kind (asked by handlers that start a long-running operation)."""
        with self._lock:
            for rule in self._rules:
                if (rule.kind == "lro_failed") != lro:
                    continue
                if rule.matches(method, path) and rule.should_fire():
                    return rule
        return None
