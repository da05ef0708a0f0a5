"""container["name"]: the blob container the imported data lands in.

Containers carry metadata, not tags; seedctl marks the ones it created so that clean-up deletes a
container only when seedctl made it.
"""

from __future__ import annotations

from typing import Any

from seedctl.azure.retry import call_with_retry, read_or_none
from seedctl.plan import CREATE, NOOP, AttributeChange, Change
from seedctl.resources.base import Context, Node, Observation, Unobservable

CREATED_BY_META = "seedctlcreatedby"  # metadata names must be C# identifiers


class ContainerNode(Node):
    kind = "container"
    read_after_dependencies = True  # no account, no container: skip the call

    def __init__(self, name: str, account: str, resource_group: str, can_create: bool,
                 depends_on: tuple[str, ...]) -> None:
        super().__init__(name, depends_on)
        self.account = account
        self.resource_group = resource_group
        self.can_create = can_create

    def read(self, ctx: Context) -> Observation:
        account_obs = ctx.observations.get(f'storage_account["{self.account}"]')
        if account_obs is None or (isinstance(account_obs, dict) and account_obs.get("name_taken")):
            return None  # no account yet, so no container: known without asking
        clients = ctx.clients
        container = read_or_none(lambda: clients.storage.blob_containers.get(
            self.resource_group, self.account, self.name), f"read container {self.account}/{self.name}",
            clients.policy)
        if container is None:
            return None
        return {"metadata": dict(container.metadata or {})}

    def desired(self, ctx: Context) -> dict[str, Any]:
        return {"exists": True}

    def diff(self, desired: dict[str, Any], observed: Observation) -> Change:
        if isinstance(observed, Unobservable):
            return self.deferred(observed)
        if observed is None:
            if not self.can_create:
                return self.error(f"container {self.name} does not exist in storage account {self.account}; "
                                  "create it or set container.create: true")
            return self.change(CREATE, attributes=[AttributeChange("name", None, self.name)])
        return self.change(NOOP)

    def apply(self, change: Change, ctx: Context) -> Observation:
        from azure.mgmt.storage.models import BlobContainer

        clients = ctx.clients
        body = BlobContainer(public_access="None", metadata={CREATED_BY_META: ctx.spec.name.replace("-", "_")[:60]})

        def create() -> Any:
            if self.read(ctx) is not None:  # created by an earlier, interrupted attempt
                return None
            return clients.storage.blob_containers.create(self.resource_group, self.account, self.name, body)

        call_with_retry(create, f"create container {self.account}/{self.name}", clients.policy)
        return self.read(ctx)
