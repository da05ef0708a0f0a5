"""The end of a plan or an apply, where people look: every error and warning again, each with the
spec line it is about and what to do, and after an apply the next step of the physical procedure.

Pure text from plain data: the command layer (seedctl/commands/ending.py) gathers the problems,
the spec lines and the job; nothing here reads a file or Azure, so the renders are tested as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from seedctl.render._common import clean

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Problem:
    level: str  # ERROR or WARNING
    text: str   # the message as the node (or the spec check) wrote it
    subject: str = ""  # the node's address, or "" when the text names its own place (spec warnings)
    where: str = ""  # "seed.yaml:31", or "" when no spec line is known (a saved plan shown alone)
    fix: str = ""  # what to do, when the message itself does not say


# Messages written where no fix fits (a node's read reports facts); the fix is said here, once.
_FIXES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"wrong drive at (?P<mount>.+): serial (?P<seen>\S+), the spec says (?P<want>\S+)$"),
     "attach drive {want} at {mount}; or, if the drive there is the one you mean, set this drive's serial "
     "to {seen}"),
    (re.compile(r"drive (?P<serial>\S+) holds [\d,]+ bytes, the spec expects [\d,]+$"),
     "check that {serial} is the drive you bought; if it is, correct capacity: in the spec (or remove it: "
     "seedctl reads the size of an attached drive)"),
    (re.compile(r"drive (?P<serial>\S+) was prepared for '(?P<was>[^']*)', not '(?P<now>[^']*)'$"),
     "this drive holds another spec's seed: use another drive, or apply the spec {was} it belongs to"),
    (re.compile(r"^staging folder not found$"),
     "mount the staging location, or correct staging.path"),
)


def fix_for(text: str) -> str:
    """What to do about `text`, for the few messages that state a fact without the remedy."""
    for pattern, fix in _FIXES:
        match = pattern.search(text)
        if match:
            return fix.format(**match.groupdict())
    return ""


def merged(problems: list[Problem]) -> list[Problem]:
    """One line per distinct message: an allocation error every drive repeats is said once, naming
    them all."""
    seen: dict[tuple[str, str], Problem] = {}
    for p in problems:
        key = (p.level, p.text)
        if key in seen:
            first = seen[key]
            subject = ", ".join(s for s in (first.subject, p.subject) if s)
            where = first.where if first.where == p.where else ", ".join(w for w in (first.where, p.where) if w)
            seen[key] = Problem(p.level, p.text, subject, where, first.fix)
        else:
            seen[key] = p
    return list(seen.values())


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def problem_lines(problems: list[Problem], *, after: str = "plan") -> list[str]:
    """The closing block: errors first (with what to do), then warnings. Empty when there are none."""
    problems = merged(problems)
    errors = [p for p in problems if p.level == ERROR]
    warnings = [p for p in problems if p.level == WARNING]
    out: list[str] = []
    if errors:
        then = "plan again" if after == "plan" else "run apply again"
        out.append(f"{_plural(len(errors), 'error').capitalize()}: fix {'it' if len(errors) == 1 else 'them'}, "
                   f"then {then}:")
        out.extend(_item(p) for p in errors)
    if warnings:
        out.append(f"{_plural(len(warnings), 'warning').capitalize()}:")
        out.extend(_item(p) for p in warnings)
    return out


def _item(p: Problem) -> str:
    head = ": ".join(clean(part) for part in (p.where, p.subject) if part)
    first, *rest = (clean(line) for line in (p.text.splitlines() or [""]))
    lines = [f"  - {head + ': ' if head else ''}{first}"]
    lines.extend(f"    {line}" for line in rest)
    if p.fix:
        lines.append(f"    fix: {clean(p.fix)}")
    return "\n".join(lines)


# -- next steps after an apply --------------------------------------------------------------------

def address_lines(addr: dict[str, Any] | None) -> list[str]:
    """A postal address as it goes on a label: name, street, "city, state postcode", country, phone."""
    if not addr:
        return []

    def get(*keys: str) -> str:
        return next((str(addr[k]).strip() for k in keys if addr.get(k)), "")

    lines = [get("recipient_name", "recipient"), get("street_address1", "street1"),
             get("street_address2", "street2"), get("street_address3")]
    place = get("city")
    region = " ".join(part for part in (get("state_or_province"), get("postal_code")) if part)
    lines.append(", ".join(part for part in (place, region) if part))
    lines.append(get("country_or_region", "country"))
    phone = get("phone")
    if phone:
        lines.append(f"Phone: {phone}")
    # a Data Box datacenter may answer with an instruction instead of (or beside) a street address
    # (regionConfiguration's DatacenterAddressInstruction: "contact ... for the address")
    instruction = get("instruction")
    if instruction:
        lines.append(instruction)
    return [clean(line) for line in lines if line]


SHIPPING_DEADLINE = timedelta(days=14)  # the service's: tracking number within two weeks of creation


def next_steps(job: dict[str, Any] | None, *, spec_file: str, drives: list[str], shipped_address: Any = None,
               carrier: str | None = None, shipment_in_spec: bool = False, now: datetime | None = None,
               created: datetime | None = None) -> list[str]:
    """The "Next steps" block after an apply, from the import job as last read: where to ship, by when,
    the `shipment:` lines to paste, and what to watch. Empty when there is no job yet."""
    if not isinstance(job, dict):
        return []
    phase = job.get("phase")
    address = address_lines(job.get("shipping_address") or shipped_address)
    count = len(drives)
    out = ["Next steps"]
    if phase == "created" and not job.get("delivery_package"):
        due = created + SHIPPING_DEADLINE if created else None
        out += _wrap(f"1. Pack {'the drive' if count == 1 else f'the {count} drives'} ({', '.join(drives)}) in one "
                     f"package and ship {'it' if count == 1 else 'them'} to:")
        out.extend(f"       {line}" for line in (address or ["(the address is in `seedctl status`)"]))
        carriers = (job.get("shipping_address") or shipped_address or {}).get("supported_carriers")
        if carriers:
            out += _wrap(f"Carriers this datacenter takes: {', '.join(str(c) for c in carriers)}.", first="     ")
        by = (f"by {due:%Y-%m-%d %H:%M} UTC (two weeks after the job was created; later, the service may "
              "delete the job and not process the drives)" if due else
              "within two weeks of the job's creation (or the service may delete the job)")
        if shipment_in_spec:
            out += _wrap(f"2. {by[0].upper() + by[1:]}: the `shipment:` block is in {spec_file} already; "
                         "enter it: seedctl plan --out plan.json && seedctl apply plan.json")
        else:
            out += _wrap(f"2. {by[0].upper() + by[1:]}, add the carrier and tracking number to {spec_file} and "
                         "apply it:")
            today = f"{now:%Y-%m-%d}" if now else "YYYY-MM-DD"
            out.extend(f"       {line}" for line in (
                "shipment:",
                f"  carrier_name: {carrier or 'FedEx'}",
                '  tracking_number: "YOUR-TRACKING-NUMBER"',
                f'  ship_date: "{today}"          # the day the carrier takes the package',
                f"  drive_count: {count}"))
            out.append("     then: seedctl plan --out plan.json && seedctl apply plan.json")
        out += _wrap("3. Watch: seedctl status (exit 3 from three days before the deadline, 4 after it); "
                     "seedctl status --watch follows the job. Keep this folder: .seedctl/ holds the "
                     "manifest copies verify needs after the drives have left.")
        return out
    if phase in ("created", "shipping"):
        out += _wrap("1. The drives are on their way. Watch: seedctl status --watch (the datacenter logs them "
                     "in 1-3 business days after delivery, then copies in 7-10 days; no SLA).")
    elif phase in ("received", "transferring", "packaging"):
        out += _wrap("1. The datacenter has the drives. Watch: seedctl status --watch (7-10 days after receipt "
                     "is typical; no SLA).")
    elif phase in ("completed", "completed-with-errors"):
        out += _wrap("1. The import finished: seedctl verify checks every file against the drive manifests.")
    else:
        return []
    out += _wrap("2. Then: seedctl verify; once the backup agent's next scheduled backup has moved the data into "
                 "the vault, seedctl destroy --staging cleans up (docs: seedctl docs lifecycle).")
    return out


WIDTH = 100


def _wrap(text: str, *, first: str = "  ", rest: str = "     ") -> list[str]:
    """A numbered step folded at WIDTH columns, continuation lines under its text."""
    import textwrap

    return textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False,
                         break_long_words=False)
