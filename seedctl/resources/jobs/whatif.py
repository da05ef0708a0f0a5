"""The service's what-if before a job is created (issue 24, item 2): what each back end asks the
service about an order that does not exist yet, in one shape the import job node shows and judges.

A verdict is `ok` True (the service said yes), False (it said no: a plan error, because the job
would be refused or the return shipment would fail, hours after the drives were written) or None
(not decided: the check could not run, or the service's answer leaves it to you).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Verdict:
    check: str  # "address", "SKU availability", "order limit", "return carrier", "datacenter address", ...
    ok: bool | None
    detail: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        word = {True: "ok", False: "REFUSED", None: "not decided"}[self.ok]
        return f"service check, {self.check}: {word} ({self.detail})"


def same_carrier(a: str, b: str) -> bool:
    """Carrier names as Azure means them: "UPS", "Ups" and "ups" are one carrier."""
    fold = lambda s: re.sub(r"[\s_-]+", "", s).lower()  # noqa: E731
    return fold(a) == fold(b)


def return_carrier(carrier: str, supported: list[str] | None, where: str) -> Verdict:
    """Whether the datacenter returns drives with the spec's return carrier."""
    if not supported:
        return Verdict("return carrier", None, f"{where} lists no carriers; {carrier} is not checked")
    if any(same_carrier(carrier, s) for s in supported):
        return Verdict("return carrier", True, f"{carrier} is one of {', '.join(supported)}")
    return Verdict("return carrier", False,
                   f"{where} returns drives with {', '.join(supported)}, not {carrier}: set "
                   f"import_job.return_shipping.carrier_name to one of them (and its account number)")


def address_line(address: dict[str, Any] | None) -> str:
    """A shipping address (the normalized words of both back ends) on one line."""
    if not address:
        return ""
    keys = ("recipient_name", "street_address1", "street_address2", "city", "state_or_province", "postal_code",
            "country_or_region")
    return ", ".join(str(address[k]) for k in keys if address.get(k))
