"""storage_account["name"]: the general-purpose account the drives are imported into.

Shared key access (`allowSharedKeyAccess`): seedctl sends it whenever it creates an account, true
unless the spec says false. Never unset: the built-in policy "Storage accounts should prevent shared
key access" (2.0.0) denies an unset value as it denies true, so leaving it out helps nobody, and true
is what the import service has always had (Microsoft documents no requirement either way; see
docs/getting-started.md for the decision and its risk). On an existing account it is compared and
changed only when the spec sets it; Azure treats an unset value as true ("permits requests
authorized with Shared Key when the property value is null or true"), and so does the comparison.
"""

from __future__ import annotations

from typing import Any

from seedctl.azure.retry import call_with_retry, read_or_none
from seedctl.errors import AzureError
from seedctl.plan import CREATE, AttributeChange, Change
from seedctl.resources.base import (
    MANAGED_TAG,
    Context,
    Node,
    Observation,
    Unobservable,
    applied_tags,
    simple_diff,
)
from seedctl.resources.resource_group import normalize_location

# Import/Export writes block and page blobs into general-purpose accounts only.
IMPORTABLE_KINDS = ("Storage", "StorageV2")


KINDS = ("Storage", "StorageV2", "BlobStorage", "FileStorage", "BlockBlobStorage")
SHARED_KEY = "allow_shared_key_access"
NO_SHARED_KEY_NOTE = ("shared key access is off: seedctl reads and deletes blobs with your Entra ID sign-in (a "
                      "Storage Blob Data role); Microsoft does not document whether the import service needs "
                      "shared keys (docs/getting-started.md, \"Shared key access\")")


def _canonical_kind(kind: Any) -> Any:
    """The kind in its documented spelling: ARM compares enum values without regard to case."""
    text = str(getattr(kind, "value", kind)) if kind is not None else None
    return next((k for k in KINDS if text and k.lower() == text.lower()), text)


class StorageAccountNode(Node):
    kind = "storage_account"

    def __init__(self, name: str, resource_group: str, can_create: bool, depends_on: tuple[str, ...]) -> None:
        super().__init__(name, depends_on)
        self.resource_group = resource_group
        self.can_create = can_create

    def read(self, ctx: Context) -> Observation:
        clients = ctx.clients
        account = read_or_none(lambda: clients.storage.storage_accounts.get_properties(
            self.resource_group, self.name), f"read storage account {self.name}", clients.policy)
        if account is None:
            if not self.can_create:
                return None
            available = call_with_retry(
                lambda: clients.storage.storage_accounts.check_name_availability(
                    {"name": self.name, "type": "Microsoft.Storage/storageAccounts"}),
                f"check storage account name {self.name}", clients.policy)
            return None if available.name_available else {"name_taken": True,
                                                          "reason": str(available.reason or "")}
        endpoints = account.primary_endpoints
        return {
            "id": account.id,
            "kind": _canonical_kind(account.kind),
            "sku": account.sku.name if account.sku else None,
            "location": normalize_location(account.location),
            "tags": dict(account.tags or {}),
            "blob_endpoint": endpoints.blob if endpoints else None,
            "allow_shared_key_access": getattr(account, "allow_shared_key_access", None),
        }

    def desired(self, ctx: Context) -> dict[str, Any]:
        sa = ctx.spec.storage_account
        managed: dict[str, Any] = {"kind": sa.kind, "sku": sa.sku}
        if sa.allow_shared_key_access is not None:
            managed[SHARED_KEY] = sa.allow_shared_key_access
        return {**managed, "location": normalize_location(ctx.spec.azure.location),
                "tags": applied_tags(ctx.spec, managed)}

    def diff(self, desired: dict[str, Any], observed: Observation) -> Change:
        if isinstance(observed, dict) and observed.get("name_taken"):
            return self.error(f"storage account name {self.name} is already taken in Azure "
                              f"({observed.get('reason')}); names are global — choose another")
        if isinstance(observed, dict):
            problems = []
            if observed["kind"] not in IMPORTABLE_KINDS:
                problems.append(f"storage account {self.name} is of kind {observed['kind']}, which cannot hold an "
                                f"import; use a general-purpose account ({' or '.join(IMPORTABLE_KINDS)})")
            elif observed["kind"] == "StorageV2" and desired["kind"] == "Storage":
                problems.append(f"storage account {self.name} is StorageV2 and cannot be downgraded to Storage; "
                                "set storage_account.kind: StorageV2")
            if observed["location"] != desired["location"]:
                problems.append(f"storage account {self.name} is in {observed['location']}, the spec says "
                                f"{desired['location']}; an account cannot move")
            if problems:
                return self.error(*problems)
            # On an account seedctl did not create, only the spec's own attributes are compared;
            # seedctl's tags (its record of what it applied) are written only when it changes it.
            managed = {"kind": desired["kind"], "sku": desired["sku"]}
            if SHARED_KEY in desired:
                managed[SHARED_KEY] = desired[SHARED_KEY]
            if observed.get("tags", {}).get(MANAGED_TAG):
                managed["tags"] = desired["tags"]
            # an unset allowSharedKeyAccess permits shared keys, as true does
            seen = {**observed, SHARED_KEY: observed.get(SHARED_KEY) is not False}
            change = simple_diff(self, managed, seen)
            if observed.get(SHARED_KEY) is False and desired.get(SHARED_KEY) is not True:
                change.notes.append(NO_SHARED_KEY_NOTE)
            return change
        create = {**desired, SHARED_KEY: desired.get(SHARED_KEY, True)}
        change = simple_diff(self, create, observed, can_create=self.can_create,
                             missing_message=f"storage account {self.name} does not exist in resource group "
                                             f"{self.resource_group}; create it or set storage_account.create: true")
        if change.action == CREATE:
            change.attributes.append(AttributeChange("blob_endpoint", None, None, known_after_apply=True))
            if create[SHARED_KEY] is False:
                change.notes.append(NO_SHARED_KEY_NOTE)
        return change

    def apply(self, change: Change, ctx: Context) -> Observation:
        clients = ctx.clients
        desired = self.desired(ctx)
        observed = self.read(ctx)
        if isinstance(observed, Unobservable):
            raise AzureError(f"storage account {self.name} could not be read")
        if observed is None:
            params = {"sku": {"name": desired["sku"]}, "kind": desired["kind"], "location": ctx.spec.azure.location,
                      "tags": desired["tags"],
                      "properties": {"minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": False,
                                     "supportsHttpsTrafficOnly": True,
                                     # always sent: unset is denied by the shared-key policy (module docstring)
                                     "allowSharedKeyAccess": desired.get(SHARED_KEY, True)}}
            call_with_retry(lambda: clients.storage.storage_accounts.begin_create(
                self.resource_group, self.name, params).result(),
                f"create storage account {self.name}", clients.policy)
        else:
            params = {"sku": {"name": desired["sku"]}, "tags": {**observed.get("tags", {}), **desired["tags"]}}
            if observed["kind"] != desired["kind"]:
                params["kind"] = desired["kind"]
            if SHARED_KEY in desired and (observed.get(SHARED_KEY) is not False) != desired[SHARED_KEY]:
                params["properties"] = {"allowSharedKeyAccess": desired[SHARED_KEY]}
            call_with_retry(lambda: clients.storage.storage_accounts.update(self.resource_group, self.name, params),
                            f"update storage account {self.name}", clients.policy)
        return self.read(ctx)
