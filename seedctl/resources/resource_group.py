"""resource_group["name"]: the resource group that holds the vault, storage account and job."""

from __future__ import annotations

from typing import Any

from seedctl.azure.retry import call_with_retry, read_or_none
from seedctl.plan import AttributeChange, Change
from seedctl.resources.base import (  # noqa: F401  (normalize_location: imported from here by others)
    Context,
    Node,
    Observation,
    Unobservable,
    applied_tags,
    normalize_location,
    simple_diff,
)


class ResourceGroupNode(Node):
    kind = "resource_group"

    def read(self, ctx: Context) -> Observation:
        clients = ctx.clients
        group = read_or_none(lambda: clients.resource.resource_groups.get(self.name),
                             f"read resource group {self.name}", clients.policy)
        if group is None:
            return None
        return {"location": normalize_location(group.location), "tags": dict(group.tags or {})}

    def desired(self, ctx: Context) -> dict[str, Any]:
        spec = ctx.spec
        return {"location": normalize_location(spec.azure.location), "tags": applied_tags(spec, {})}

    def diff(self, desired: dict[str, Any], observed: Observation) -> Change:
        if isinstance(observed, dict) and observed.get("location") != desired["location"]:
            return self.error(
                f"resource group {self.name} exists in {observed.get('location')}, the spec says "
                f"{desired['location']}; a resource group cannot move — fix azure.location or use another group",
                attributes=[AttributeChange("location", observed.get("location"), desired["location"],
                                            forces_replacement=True)])
        if isinstance(observed, dict):
            # Tags on a group that seedctl did not create are someone else's: leave them alone.
            return simple_diff(self, {"location": desired["location"]}, observed)
        return simple_diff(self, desired, observed)

    def apply(self, change: Change, ctx: Context) -> Observation:
        clients = ctx.clients
        desired = self.desired(ctx)
        call_with_retry(lambda: clients.resource.resource_groups.create_or_update(
            self.name, {"location": ctx.spec.azure.location, "tags": desired["tags"]}),
            f"create resource group {self.name}", clients.policy)
        observed = self.read(ctx)
        assert not isinstance(observed, Unobservable)
        return observed
