"""shipment["job"]: the carrier and tracking number of the package that carries the drives.

Entering them tells the service the drives are on their way; it must happen within two weeks of
the job's creation or the job may be deleted (status warns about that deadline).
"""

from __future__ import annotations

from typing import Any

from seedctl.plan import CREATE, NOOP, UPDATE, AttributeChange, Change
from seedctl.resources.base import Context, Node, Observation, Unobservable
from seedctl.resources.jobs import backend_for
from seedctl.resources.jobs import base as phases


class ShipmentNode(Node):
    kind = "shipment"

    def __init__(self, job_name: str, resource_group: str, api: str, depends_on: tuple[str, ...]) -> None:
        super().__init__(job_name, depends_on)
        self.resource_group = resource_group
        self.backend = backend_for(api)

    def read(self, ctx: Context) -> Observation:
        job = self.backend.get(ctx, self.resource_group, self.name)
        if job is None:
            return None
        return {"state": job["state"], "phase": job["phase"], "delivery_package": job["delivery_package"]}

    def desired(self, ctx: Context) -> dict[str, Any]:
        s = ctx.spec.shipment
        assert s is not None
        # Data Box records no ship date of the customer's (it notes when the disks were marked
        # shipped), so a spec's ship_date is not compared there.
        ship_date = None if self.backend.api == "databox" else s.ship_date
        return {"carrier_name": s.carrier_name, "tracking_number": s.tracking_number,
                "ship_date": ship_date, "drive_count": s.drive_count or len(ctx.spec.drives)}

    def diff(self, desired: dict[str, Any], observed: Observation) -> Change:
        if isinstance(observed, Unobservable):
            return self.deferred(observed)
        if observed is None or observed.get("delivery_package") is None:
            attrs = [AttributeChange(k, None, v) for k, v in desired.items() if v is not None]
            return self.change(CREATE, attributes=attrs)
        have = observed["delivery_package"]
        attrs = [AttributeChange(k, have.get(k), v) for k, v in desired.items()
                 if v is not None and str(have.get(k) or "") != str(v)]
        if not attrs:
            return self.change(NOOP)
        if observed["phase"] not in phases.SHIPMENT_EDITABLE:
            return self.error(f"shipping details of job {self.name} cannot change in state {observed['state']}: "
                              f"the datacenter already has the package (tracking {have.get('tracking_number')})",
                              attributes=attrs)
        return self.change(UPDATE, attributes=attrs)

    def apply(self, change: Change, ctx: Context) -> Observation:
        desired = self.desired(ctx)
        current = self.read(ctx)
        again = self.diff(desired, current)
        if again.action == NOOP:
            return current
        if again.errors:
            from seedctl.errors import SeedctlError

            raise SeedctlError("; ".join(again.errors))
        self.backend.mark_shipped(ctx, self.resource_group, self.name, desired)
        return self.read(ctx)
