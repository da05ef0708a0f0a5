"""What every node kind shares: the four-function interface, the context it runs in, and the
attribute diff that tells a spec change from drift.

seedctl keeps no state file. What it last applied to an Azure object is recorded on the object
itself, in one tag (`APPLIED_TAG`) holding the managed attributes as compact JSON; a later plan
compares the object with that record to tell "someone changed this behind seedctl's back" (drift)
from "the spec changed".
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar

from seedctl.env import Env
from seedctl.plan import CREATE, DEFERRED, ERROR, NOOP, UPDATE, AttributeChange, Change
from seedctl.spec.model import SeedingSpec

APPLIED_TAG = "seedctl-applied"
MANAGED_TAG = "seedctl-spec"
TAG_VALUE_LIMIT = 256  # Azure's limit for a tag value


class Unobservable:
    """A node that cannot be observed from where seedctl runs (drive not attached, staging
    absent). Never the same as 'absent' or 'empty'."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"Unobservable({self.reason!r})"


Observation = dict[str, Any] | Unobservable | None
EventSink = Callable[[dict[str, Any]], None]


@dataclass
class Context:
    """Everything a node needs to read or change the world."""

    spec: SeedingSpec
    env: Env
    clients_factory: Callable[[], Any]
    local_state: str = "auto"  # "auto": observe what is here; "skip": never look; "require": must see it
    observations: dict[str, Observation] = field(default_factory=dict)
    events: EventSink = lambda event: None
    # shared scratch space for expensive results that several nodes use (the staging scan)
    cache: dict[str, Any] = field(default_factory=dict)
    apply_options: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _clients: Any = None

    @property
    def clients(self) -> Any:
        with self._lock:
            if self._clients is None:
                self._clients = self.clients_factory()
            return self._clients

    def emit(self, event: str, **data: Any) -> None:
        self.events({"event": event, **data})


class Node:
    """One object seedctl manages. Subclasses set `kind` and implement the four functions."""

    kind: ClassVar[str] = ""
    local: ClassVar[bool] = False  # observed on the copy computer (drives, staging), not in Azure
    # most reads are independent and run at once; a kind whose read uses an upstream observation
    # waits for its dependencies
    read_after_dependencies: ClassVar[bool] = False
    # a read that takes long (the staging scan: seconds at a million files) starts first, so that
    # the quick reads run beside it instead of ahead of it in the pool's queue
    long_read: ClassVar[bool] = False

    def __init__(self, name: str, depends_on: tuple[str, ...] = ()) -> None:
        self.name = name
        self.depends_on = depends_on

    @property
    def address(self) -> str:
        return f'{self.kind}["{self.name}"]'

    def read(self, ctx: Context) -> Observation:
        raise NotImplementedError

    def desired(self, ctx: Context) -> dict[str, Any]:
        """What the spec asks for, as plain values (upstream observations may be consulted)."""
        raise NotImplementedError

    def diff(self, desired: dict[str, Any], observed: Observation) -> Change:
        raise NotImplementedError

    def apply(self, change: Change, ctx: Context) -> Observation:
        raise NotImplementedError

    # helpers for subclasses -------------------------------------------------------------------
    def change(self, action: str, **kwargs: Any) -> Change:
        return Change(address=self.address, kind=self.kind, name=self.name, action=action,
                      depends_on=list(self.depends_on), **kwargs)

    def error(self, *messages: str, **kwargs: Any) -> Change:
        return self.change(ERROR, errors=list(messages), **kwargs)

    def deferred(self, observed: Unobservable, **kwargs: Any) -> Change:
        return self.change(DEFERRED, deferred_reason=observed.reason, **kwargs)


def applied_record(tags: Mapping[str, str] | None) -> dict[str, Any] | None:
    """What seedctl recorded as applied on an object, or None if it never applied it."""
    raw = (tags or {}).get(APPLIED_TAG)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def applied_tags(spec: SeedingSpec, managed: Mapping[str, Any]) -> dict[str, str]:
    """The spec's tags plus seedctl's own two: which spec manages it and what it applied."""
    record = json.dumps(dict(managed), sort_keys=True, separators=(",", ":"))
    if len(record) > TAG_VALUE_LIMIT:  # keep the tag valid; drift detection degrades to "unknown"
        record = "{}"
    return {**spec.azure.tags, MANAGED_TAG: spec.name[:TAG_VALUE_LIMIT], APPLIED_TAG: record}


def diff_attributes(desired: Mapping[str, Any], observed: Mapping[str, Any],
                    applied: Mapping[str, Any] | None, *, sensitive: frozenset[str] = frozenset()
                    ) -> list[AttributeChange]:
    """Attribute-level differences, in desired's key order (stable output)."""
    changes = []
    for key, want in desired.items():
        have = observed.get(key)
        if same_value(key, have, want):
            continue
        drift = applied is not None and key in applied and not same_value(key, applied[key], have)
        changes.append(AttributeChange(key, have, want, sensitive=key in sensitive, drift=drift))
    return changes


def diff_tags(desired: Mapping[str, str], observed: Mapping[str, str] | None) -> AttributeChange | None:
    """Tags are compared only on the keys seedctl sets; other people's tags are left alone."""
    observed = observed or {}
    wanted = {k: v for k, v in desired.items() if k != APPLIED_TAG}
    have = {k: observed.get(k) for k in wanted}
    if have == wanted:
        return None
    return AttributeChange("tags", {k: v for k, v in have.items() if v is not None}, wanted)


def normalize_location(location: str | None) -> str | None:
    """Azure answers "West US" where we sent "westus"; both name one region."""
    return location.replace(" ", "").lower() if location else location


# Values Azure treats as equal although their text differs. ARM compares location names and
# e-mail addresses without regard to letter case, and gives a region by its display name
# ("West US") as readily as by its name ("westus"). The job services rewrite what they store
# (issue 24): Data Box upper-cases a street ("164 TOWNSEND ST"), spells UPS "Ups", and the classic
# service answers a ship date as "9/29/2017 10:28:35 PM"; so address lines compare without regard
# to case and spacing, carriers by their letters, ship dates by the day.
LOCATION_KEYS = frozenset({"location"})
EMAIL_KEYS = frozenset({"email"})
ADDRESS_TEXT_KEYS = frozenset({"recipient", "street1", "street2", "city", "state_or_province", "postal_code",
                               "recipient_name", "street_address1", "street_address2"})
CARRIER_KEYS = frozenset({"carrier_name"})
DATE_KEYS = frozenset({"ship_date"})


def same_value(key: str, have: Any, want: Any) -> bool:
    """Whether an observed value and a wanted one mean the same to Azure.

    An empty string and an absent value are the same: Azure stores an optional text either way
    and may echo an empty one as absent (`streetAddress2: ""`), or the reverse.
    """
    if _blank(have) and _blank(want):
        return True
    if isinstance(have, Mapping) and isinstance(want, Mapping):
        return same_fields(have, want)
    if isinstance(have, str) and isinstance(want, str):
        if key in LOCATION_KEYS:
            return normalize_location(have) == normalize_location(want)
        if key in EMAIL_KEYS:
            return have.strip().lower() == want.strip().lower()
        if key in ADDRESS_TEXT_KEYS:
            return _folded(have) == _folded(want)
        if key in CARRIER_KEYS:
            return re.sub(r"[\s_-]+", "", have).lower() == re.sub(r"[\s_-]+", "", want).lower()
        if key in DATE_KEYS:
            day_have, day_want = _day(have), _day(want)
            if day_have is not None and day_want is not None:
                return day_have == day_want
    return _equal(have, want)


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


_US_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\b")


def _day(text: str) -> date | None:
    """The day a date or time names: ISO ("2026-11-26", "2026-11-26T10:00:00Z") or the classic
    service's US form ("11/26/2026 10:28:35 PM"); None when it is neither."""
    us = _US_DATE.match(text)
    if us:
        try:
            return date(int(us.group(3)), int(us.group(1)), int(us.group(2)))
        except ValueError:
            return None
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00")).date()
    except ValueError:
        try:
            return date.fromisoformat(text.strip()[:10])
        except ValueError:
            return None


def same_fields(have: Mapping[str, Any] | None, want: Mapping[str, Any] | None, *,
                unobserved: Collection[str] = ()) -> bool:
    """Whether two records (an address, a carrier) agree on every field that can be observed.

    `unobserved` names the fields the service does not give back on a read (secrets marked
    `x-ms-secret`, such as a Data Box carrier account number): comparing those would show a change
    on every plan, so they are left out rather than guessed.
    """
    have, want = have or {}, want or {}
    return all(same_value(k, have.get(k), want.get(k)) for k in set(have) | set(want) if k not in unobserved)


def _blank(value: Any) -> bool:
    return value is None or value == ""


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower() if _case_insensitive(a, b) else a == b
    return a == b


def _case_insensitive(a: str, b: str) -> bool:
    # Azure echoes enum-like values in its own casing ("Standard_LRS" / "standard_lrs").
    return " " not in a and " " not in b and a.replace("_", "").isalnum() and b.replace("_", "").isalnum()


def simple_diff(node: Node, desired: dict[str, Any], observed: Observation, *, can_create: bool = True,
                missing_message: str = "") -> Change:
    """The common create / update / no-op decision for Azure objects with tags."""
    if isinstance(observed, Unobservable):
        return node.deferred(observed)
    if observed is None:
        if not can_create:
            return node.error(missing_message or f"{node.address} does not exist and the spec does not let "
                                                 "seedctl create it")
        attrs = [AttributeChange(k, None, v) for k, v in desired.items() if k != "tags"]
        if desired.get("tags"):
            attrs.append(AttributeChange("tags", None, {k: v for k, v in desired["tags"].items()
                                                         if k != APPLIED_TAG}))
        return node.change(CREATE, attributes=attrs)
    managed = {k: v for k, v in desired.items() if k != "tags"}
    applied = applied_record(observed.get("tags"))
    attrs = diff_attributes(managed, observed, applied)
    tag_change = diff_tags(desired.get("tags", {}), observed.get("tags"))
    if tag_change:
        attrs.append(tag_change)
    return node.change(UPDATE if attrs else NOOP, attributes=attrs)
