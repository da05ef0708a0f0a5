"""Microsoft.Authorization/locks (management locks, api-version 2016-09-01 as the Azure CLI sends):
create, read, list and delete at any scope, and the refusal every locked delete meets.

ARM's rules, as the sandbox applies them ("Lock your Azure resources", azure-resource-manager/
management/lock-resources.md): a lock applies to its scope and everything under it; locks apply
to the management plane only (requests to the ARM endpoint), never to the data plane (a blob or
container deleted through the blob endpoint); both levels, CanNotDelete and ReadOnly, refuse a
delete, answered 409 `ScopeLocked` with ARM's wording ("The scope '…' cannot perform delete
operation because following scope(s) are locked: '…'. Please remove the lock and try again.").
ReadOnly's refusal of writes is not modelled (docs/sandbox.md).

The Data Box service puts a CanNotDelete lock named `DATABOX_SERVICE` on the storage account of a
job when the job is created, and leaves it after the job is cancelled and deleted (the Azure CLI's
recordings, test_databox_custom_disk.yaml): `put_service_lock` is how ops_databox does the same.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from seedctl.sandbox.arm import SUB, ArmError, Request, Response, Route, paged, route

if TYPE_CHECKING:
    from seedctl.sandbox.state import SandboxState

LOCK_TYPE = "Microsoft.Authorization/locks"
LOCKS = "/providers/Microsoft.Authorization/locks"
LEVELS = ("CanNotDelete", "ReadOnly")
DATABOX_LOCK = "DATABOX_SERVICE"
DATABOX_NOTES = "Data Box Service to copy data from device to storage account."
_SCOPE = re.compile(r"^/subscriptions/(?P<sub>[^/]+)(?:/resourceGroups/(?P<rg>[^/]+))?", re.IGNORECASE)


def lock_id(scope: str, name: str) -> str:
    return f"{scope.rstrip('/')}{LOCKS}/{name}"


def _scope_of(lock: dict[str, Any]) -> str:
    return lock["id"][: lock["id"].lower().rindex(LOCKS.lower() + "/")]


def _under(path: str, scope: str) -> bool:
    path, scope = path.lower().rstrip("/"), scope.lower().rstrip("/")
    return path == scope or path.startswith(scope + "/")


def put_lock(app: SandboxState, scope: str, name: str, level: str, notes: str | None = None) -> dict[str, Any]:
    m = _SCOPE.match(scope)
    if m is None:
        raise ArmError(400, "InvalidScope", f"The scope '{scope}' is not a subscription, resource group or resource.")
    body: dict[str, Any] = {"properties": {"level": level}, "id": lock_id(scope, name), "type": LOCK_TYPE,
                            "name": name}
    if notes:
        body["properties"]["notes"] = notes
    app.store.put(body["id"], LOCK_TYPE, m["sub"], m["rg"], body)
    return body


def put_service_lock(app: SandboxState, resource_id: str) -> None:
    """The Data Box service's own lock on a job's storage account (kept if already there)."""
    if app.store.get(lock_id(resource_id, DATABOX_LOCK)) is None:
        put_lock(app, resource_id, DATABOX_LOCK, "CanNotDelete", DATABOX_NOTES)


def locks_in(app: SandboxState, sub: str) -> list[dict[str, Any]]:
    return [row.body for row in app.store.list(LOCK_TYPE, sub)]


def refuse_locked_delete(app: SandboxState, sub: str, resource_id: str) -> None:
    """409 ScopeLocked when a lock sits on `resource_id`, above it, or (a group) below it."""
    scopes = []
    for lock in locks_in(app, sub):
        scope = _scope_of(lock)
        if _under(resource_id, scope) or _under(scope, resource_id):
            scopes.append(scope)
    if scopes:
        listed = "','".join(dict.fromkeys(scopes))
        raise ArmError(409, "ScopeLocked",
                       f"The scope '{resource_id}' cannot perform delete operation because following scope(s) are "
                       f"locked: '{listed}'. Please remove the lock and try again.")


# -- handlers -----------------------------------------------------------------------------------
def _scope(req: Request) -> str:
    return req.params["scope"]


def put(app: SandboxState, req: Request) -> Response:
    props = req.json().get("properties")
    if not isinstance(props, dict) or props.get("level") not in LEVELS:
        raise ArmError(400, "InvalidLockLevel", "properties.level must be CanNotDelete or ReadOnly.",
                       target="properties.level")
    existed = app.store.get(lock_id(_scope(req), req.params["name"])) is not None
    body = put_lock(app, _scope(req), req.params["name"], props["level"], props.get("notes"))
    return Response(200 if existed else 201, body)


def get(app: SandboxState, req: Request) -> Response:
    row = app.store.get(lock_id(_scope(req), req.params["name"]))
    if row is None:
        raise ArmError(404, "LockNotFound", f"The lock '{req.params['name']}' could not be found.")
    return Response(200, row.body)


def delete(app: SandboxState, req: Request) -> Response:
    return Response(200 if app.store.delete(lock_id(_scope(req), req.params["name"])) else 204)


def list_at(app: SandboxState, req: Request) -> Response:
    """Locks at a scope and below it (list at subscription, resource group or resource)."""
    scope = _scope(req)
    sub = _SCOPE.match(scope)["sub"]  # type: ignore[index]
    return paged(req, [lock for lock in locks_in(app, sub) if _under(_scope_of(lock), scope)])


VERSIONS = frozenset({"2015-01-01", "2016-09-01", "2020-05-01"})


def routes() -> list[Route]:
    scope = r"(?P<scope>" + SUB + r"(?:/.+?)?)" + LOCKS.replace(".", r"\.")
    return [
        route("GET", scope, list_at, VERSIONS),
        route("PUT", scope + r"/(?P<name>[^/]+)", put, VERSIONS),
        route("GET", scope + r"/(?P<name>[^/]+)", get, VERSIONS),
        route("DELETE", scope + r"/(?P<name>[^/]+)", delete, VERSIONS),
    ]
