"""vault["name"]: the Recovery Services vault the offline backup belongs to.

Read and created through the generic resources-by-id API (no extra SDK package for one GET/PUT).
"""

from __future__ import annotations

from typing import Any

from seedctl.azure.retry import call_with_retry, read_or_none
from seedctl.plan import Change
from seedctl.resources.base import Context, Node, Observation, applied_tags, simple_diff
from seedctl.resources.resource_group import normalize_location

VAULT_API_VERSION = "2024-04-01"


class VaultNode(Node):
    kind = "vault"

    def __init__(self, name: str, resource_group: str, can_create: bool, depends_on: tuple[str, ...]) -> None:
        super().__init__(name, depends_on)
        self.resource_group = resource_group
        self.can_create = can_create

    def resource_id(self, ctx: Context) -> str:
        return (f"/subscriptions/{ctx.spec.azure.subscription_id}/resourceGroups/{self.resource_group}"
                f"/providers/Microsoft.RecoveryServices/vaults/{self.name}")

    def read(self, ctx: Context) -> Observation:
        clients = ctx.clients
        vault = read_or_none(lambda: clients.resource.resources.get_by_id(
            self.resource_id(ctx), api_version=VAULT_API_VERSION), f"read vault {self.name}", clients.policy)
        if vault is None:
            return None
        return {"location": normalize_location(vault.location), "tags": dict(vault.tags or {})}

    def desired(self, ctx: Context) -> dict[str, Any]:
        return {"location": normalize_location(ctx.spec.azure.location),
                "tags": applied_tags(ctx.spec, {})}

    def diff(self, desired: dict[str, Any], observed: Observation) -> Change:
        if isinstance(observed, dict):
            # An existing vault is only checked, never changed: backups already depend on it.
            return simple_diff(self, {}, observed)
        return simple_diff(self, desired, observed, can_create=self.can_create,
                           missing_message=f"vault {self.name} does not exist in resource group "
                                           f"{self.resource_group}; create it, or set vault.create: true")

    def apply(self, change: Change, ctx: Context) -> Observation:
        clients = ctx.clients
        body = {"location": ctx.spec.azure.location, "tags": self.desired(ctx)["tags"],
                "sku": {"name": "Standard"}, "properties": {"publicNetworkAccess": "Enabled"}}
        call_with_retry(lambda: clients.resource.resources.begin_create_or_update_by_id(
            self.resource_id(ctx), api_version=VAULT_API_VERSION, parameters=body).result(),
            f"create vault {self.name}", clients.policy)
        return self.read(ctx)
