"""Management locks (Microsoft.Authorization/locks, 2016-09-01) on a resource: read only, to say
what stands in the way of deleting it. seedctl never creates or removes a lock.

The Data Box service puts a CanNotDelete lock named DATABOX_SERVICE on the storage account of every
job it creates and leaves it there after the job (the Azure CLI's recordings, issue 24); locks
apply to management operations only, so blob and container deletions through the blob endpoint
(what `seedctl destroy` does) are not refused, but deleting the account through ARM is.
"""

from __future__ import annotations

from typing import Any

from seedctl.azure.retry import call_with_retry

API_VERSION = "2016-09-01"
DATABOX_LOCK = "DATABOX_SERVICE"


def locks_on(clients: Any, resource_id: str) -> list[dict[str, Any]]:
    """The locks ARM lists at a resource (ManagementLocks_ListAtResourceLevel)."""
    path = f"{resource_id}/providers/Microsoft.Authorization/locks"
    return call_with_retry(lambda: list(clients.arm.list(path, API_VERSION)),
                           f"read the locks on {resource_id.rsplit('/', 1)[-1]}", clients.policy)


def describe(locks: list[dict[str, Any]]) -> str:
    """'DATABOX_SERVICE (CanNotDelete, set by the Data Box service), keep (CanNotDelete)'."""
    parts = []
    for lock in locks:
        level = (lock.get("properties") or {}).get("level") or "lock"
        who = ", set by the Data Box service" if lock.get("name") == DATABOX_LOCK else ""
        parts.append(f"{lock.get('name')} ({level}{who})")
    return ", ".join(parts)
