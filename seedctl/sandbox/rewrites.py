"""How the services rewrite what they are sent, so that the sandbox answers as they do and seedctl's
comparisons meet the same values (issue 24, item 3). Each rewrite is one the official examples or
the recordings show; nothing is guessed beyond them (docs/sandbox.md, fidelity table):

- Data Box upper-cases `shippingAddress.streetAddress1` ("164 TOWNSEND ST", JobsGetCopyStuck.json,
  JobsGetWaitingForAction.json) and answers an address type not sent as "None" (the Azure CLI's
  recording, test_databox_custom_disk.yaml);
- Data Box spells the carrier UPS "Ups" in the packages it shows (the same examples);
- the classic Import/Export service answers `shipDate` in the US format "9/29/2017 10:28:35 PM"
  (ListJobsInResourceGroup.json, ListJobsInSubscription.json);
- spacing: runs of white space collapse to one, as the upper-cased examples show no other.
"""

from __future__ import annotations

import re
from datetime import date, datetime

# The carriers' names as Data Box writes them in a package (the key: the name folded to lower case).
DATABOX_CARRIERS = {"ups": "Ups"}


def spacing(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def databox_street(text: str) -> str:
    return spacing(text).upper()


def databox_carrier(name: str) -> str:
    return DATABOX_CARRIERS.get(spacing(name).lower(), name)


def classic_ship_date(value: str) -> str:
    """'2026-11-26' (what clients send) as the classic service answers it: '11/26/2026 12:00:00 AM'.
    A value that is not an ISO date or time is kept as sent."""
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = datetime.combine(date.fromisoformat(value), datetime.min.time())
        except ValueError:
            return value
    hour = when.hour % 12 or 12
    return f"{when.month}/{when.day}/{when.year} {hour}:{when.minute:02d}:{when.second:02d} " \
           f"{'AM' if when.hour < 12 else 'PM'}"
