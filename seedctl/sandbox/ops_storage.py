"""Microsoft.Storage: storage accounts (long-running create, keys Azurite accepts, endpoints that
point at Azurite) and blob containers, whose truth is Azurite itself, so a container created
through ARM exists in the data plane and one created in the data plane shows in ARM.

An account's `primaryEndpoints.blob` is the sandbox's public blob endpoint (HTTPS, keys and Entra
ID tokens); its `allowSharedKeyAccess` and `networkAcls` become the data-plane refusals there
(seedctl/sandbox/data_access.py). `allowSharedKeyAccess` is not set unless a request sets it ("not
set by default and does not return a value until you explicitly set it", shared-key-authorization-
prevent.md). A policy assignment made through the control API is enforced as Azure Policy enforces
it (sandbox/policies.py): a denied PUT or PATCH is 403 RequestDisallowedByPolicy."""

from __future__ import annotations

import base64
import re
import secrets
from typing import TYPE_CHECKING, Any

from seedctl.sandbox import catalog
from seedctl.sandbox.arm import (
    RG,
    SUB,
    ArmError,
    Request,
    Response,
    Route,
    check_tags,
    json_copy,
    not_found,
    now_iso,
    paged,
    require_rg,
    rg_id,
    route,
    start_operation,
)
from seedctl.sandbox.data_access import account_rules
from seedctl.sandbox.ops_locks import refuse_locked_delete
from seedctl.sandbox.ops_resources import require_registered
from seedctl.sandbox.policies import check_policies
from seedctl.sandbox.store import Row

if TYPE_CHECKING:
    from seedctl.sandbox.state import SandboxState

ACCOUNT_TYPE = "Microsoft.Storage/storageAccounts"
CONTAINER_TYPE = "Microsoft.Storage/storageAccounts/blobServices/containers"
ACCOUNT_NAME_RE = re.compile(r"^[a-z0-9]{3,24}$")
CONTAINER_NAME_RE = re.compile(r"^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$")
SKUS = {"Standard_LRS", "Standard_GRS", "Standard_RAGRS", "Standard_ZRS", "Premium_LRS", "Premium_ZRS",
        "Standard_GZRS", "Standard_RAGZRS"}
KINDS = {"Storage", "StorageV2", "BlobStorage", "FileStorage", "BlockBlobStorage"}
PUBLIC_ACCESS = {"None", "Container", "Blob"}


def account_id(sub: str, rg: str, name: str) -> str:
    return f"{rg_id(sub, rg)}/providers/{ACCOUNT_TYPE}/{name}"


def _new_key() -> str:
    return base64.b64encode(secrets.token_bytes(64)).decode("ascii")


def find_account(app: SandboxState, name: str) -> Row | None:
    """Account names are global: look across every subscription and group."""
    for row in app.store.list(ACCOUNT_TYPE):
        if row.body["name"] == name:
            return row
    return None


def render_account(app: SandboxState, row: Row) -> dict[str, Any]:
    body = dict(row.body)
    props = dict(body["properties"])
    # Computed at answer time: Azurite's port changes when the sandbox restarts.
    props["primaryEndpoints"] = {"blob": f"{app.blob_public_endpoint}/{body['name']}/"}
    body["properties"] = props
    return body


def finalize_account(app: SandboxState, row: Row, succeeded: bool) -> None:
    if succeeded:
        row.body["properties"]["provisioningState"] = "Succeeded"
        app.save(row)
        return
    drop_account_data(app, row)
    app.store.delete(row.id)


def drop_account_data(app: SandboxState, row: Row) -> None:
    """Empty the account in Azurite and forget it there, so a new account of that name is empty."""
    name = row.body["name"]
    try:
        service = app.blob_service(name, row.secret["key1"])
        for container in service.list_containers():
            service.delete_container(container.name)
    except Exception:  # noqa: BLE001 - Azurite may be down; the account is forgotten regardless
        pass
    app.accounts.remove(name)
    if app.auth_rules is not None:
        app.auth_rules.forget(name)


def apply_auth_rules(app: SandboxState, row: Row) -> None:
    """The data-plane refusals this account's properties call for (data_access.account_rules)."""
    if app.auth_rules is None:
        return
    for kind, on in account_rules(row.body["properties"]).items():
        app.auth_rules.set(kind, row.body["name"], on)


def sync_auth_rules(app: SandboxState) -> None:
    """At start: the rules follow the store (the rules file may be stale after a crash)."""
    if app.auth_rules is None:
        return
    roles = app.auth_rules.read()["noDataRole"]
    app.auth_rules.reset()
    for row in app.store.list(ACCOUNT_TYPE):
        apply_auth_rules(app, row)
        if row.body["name"] in roles:
            app.auth_rules.set("noDataRole", row.body["name"], True)


def _name_problem(name: str) -> str | None:
    if not ACCOUNT_NAME_RE.match(name):
        return (f"{name} is not a valid storage account name. Storage account name must be between 3 "
                "and 24 characters in length and use numbers and lower-case letters only.")
    return None


def _params(req: Request) -> tuple[str, str, str]:
    return req.params["sub"], req.params["rg"], req.params["account"]


def _sku(sku: Any) -> dict[str, str]:
    if not isinstance(sku, dict) or sku.get("name") not in SKUS:
        raise ArmError(400, "InvalidRequestPropertyValue" if isinstance(sku, dict) else "MissingRequiredProperty",
                       f"The value '{(sku or {}).get('name') if isinstance(sku, dict) else None}' is not "
                       f"allowed for property sku.name; use one of {', '.join(sorted(SKUS))}.",
                       target="sku.name")
    return {"name": sku["name"], "tier": "Premium" if sku["name"].startswith("Premium") else "Standard"}


def put_account(app: SandboxState, req: Request) -> Response:
    sub, rg, name = _params(req)
    require_rg(app, sub, rg)
    require_registered(app, sub, "Microsoft.Storage")
    problem = _name_problem(name)
    if problem:
        raise ArmError(400, "AccountNameInvalid", problem)
    body = req.json()
    sku = _sku(body.get("sku"))
    kind = body.get("kind")
    if kind not in KINDS:
        raise ArmError(400, "InvalidRequestPropertyValue",
                       f"The value '{kind}' is not allowed for property kind.", target="kind")
    region = catalog.region_key(body.get("location") or "")
    if region is None:
        raise ArmError(400, "LocationNotAvailableForResourceType",
                       f"The provided location '{body.get('location')}' is not available for resource "
                       f"type '{ACCOUNT_TYPE}'.")
    tags = check_tags(body.get("tags"))
    rid = account_id(sub, rg, name)
    taken = find_account(app, name)
    if taken is not None and taken.id.lower() != rid.lower():
        raise ArmError(409, "StorageAccountAlreadyTaken", f"The storage account named {name} is already taken.")
    req_props = body.get("properties") or {}
    if taken is not None:
        app.settle(taken.id)
        taken = app.store.get(taken.id)
    if taken is not None:
        # An existing account: PUT updates it and answers synchronously (a PUT during creation
        # answers the current state; the SDK then polls the resource until it settles).
        updated = json_copy(taken.body)
        _apply_update(updated, sku, kind, tags, req_props, replace_tags=True)
        check_policies(app, sub, updated)
        taken.body = updated
        app.save(taken)
        apply_auth_rules(app, taken)
        return Response(200, render_account(app, taken))
    created = now_iso()
    props: dict[str, Any] = {
        "provisioningState": "Creating", "creationTime": created, "primaryLocation": region,
        "statusOfPrimary": "available", "keyCreationTime": {"key1": created, "key2": created},
        "encryption": {"keySource": "Microsoft.Storage", "requireInfrastructureEncryption": False,
                       "services": {"blob": {"enabled": True, "keyType": "Account", "lastEnabledTime": created},
                                    "file": {"enabled": True, "keyType": "Account", "lastEnabledTime": created}}},
        "networkAcls": {"bypass": "AzureServices", "defaultAction": "Allow", "ipRules": [],
                        "virtualNetworkRules": []},
        "supportsHttpsTrafficOnly": True, "minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": False,
    }
    if kind in ("StorageV2", "BlobStorage"):
        props["accessTier"] = "Hot"
    out = {"id": rid, "name": name, "type": ACCOUNT_TYPE, "location": region, "sku": sku, "kind": kind,
           "properties": props}
    _apply_update(out, sku, kind, tags, req_props, replace_tags=True)
    check_policies(app, sub, out)
    secret = {"key1": _new_key(), "key2": _new_key()}
    app.store.put(rid, ACCOUNT_TYPE, sub, rg, out, secret)
    app.accounts.set(name, secret["key1"], secret["key2"])
    apply_auth_rules(app, Row(rid, ACCOUNT_TYPE.lower(), out, secret))
    fail = app.faults.take(req.method, req.path, lro=True) is not None
    headers = start_operation(app, req, rid, "Microsoft.Storage", region, fail=fail,
                              error={"code": "StorageAccountCreationFailed",
                                     "message": f"The creation of storage account {name} failed "
                                                "(injected by the sandbox)."})
    return Response(202, None, headers)


UPDATABLE = ("accessTier", "supportsHttpsTrafficOnly", "minimumTlsVersion", "allowBlobPublicAccess",
             "allowSharedKeyAccess", "isHnsEnabled", "largeFileSharesState", "networkAcls",
             "publicNetworkAccess", "defaultToOAuthAuthentication", "allowCrossTenantReplication",
             "dnsEndpointType", "encryption")


def _apply_update(out: dict[str, Any], sku: dict[str, str] | None, kind: str | None,
                  tags: dict[str, str] | None, props: dict[str, Any], *, replace_tags: bool) -> None:
    if sku is not None:
        out["sku"] = sku
    if kind is not None and kind != out.get("kind"):
        # Azure allows only the upgrade to general-purpose v2.
        if kind != "StorageV2" or out.get("kind") not in ("Storage", "BlobStorage"):
            raise ArmError(400, "InvalidAccountKindChange",
                           f"The account kind cannot change from {out.get('kind')} to {kind}.")
        out["kind"] = kind
        out["properties"].setdefault("accessTier", "Hot")
    if tags is not None:
        out["tags"] = tags
    elif replace_tags:
        out.pop("tags", None)
    for key in UPDATABLE:
        if key in props:
            out["properties"][key] = props[key]


def _existing_account(app: SandboxState, req: Request) -> Row:
    """The account the request names (its pending operation settled first), or ARM's 404."""
    sub, rg, name = _params(req)
    require_rg(app, sub, rg)
    rid = account_id(sub, rg, name)
    app.settle(rid)
    row = app.store.get(rid)
    if row is None:
        raise not_found(ACCOUNT_TYPE, name, rg)
    return row


def get_account(app: SandboxState, req: Request) -> Response:
    row = _existing_account(app, req)
    return Response(200, render_account(app, row))


def patch_account(app: SandboxState, req: Request) -> Response:
    row = _existing_account(app, req)
    body = req.json()
    sku = _sku(body["sku"]) if body.get("sku") is not None else None
    tags = check_tags(body["tags"]) if "tags" in body else None
    updated = json_copy(row.body)
    _apply_update(updated, sku, body.get("kind"), tags, body.get("properties") or {}, replace_tags=False)
    check_policies(app, req.params["sub"], updated)  # Azure Policy judges the account as it would be
    row.body = updated
    app.save(row)
    apply_auth_rules(app, row)
    return Response(200, render_account(app, row))


def delete_account(app: SandboxState, req: Request) -> Response:
    sub, rg, name = _params(req)
    require_rg(app, sub, rg)
    row = app.store.get(account_id(sub, rg, name))
    if row is None:
        return Response(204)
    refuse_locked_delete(app, sub, row.id)  # e.g. the Data Box service's DATABOX_SERVICE lock
    drop_account_data(app, row)
    app.store.delete(row.id)
    return Response(200)


def list_keys(app: SandboxState, req: Request) -> Response:
    row = _existing_account(app, req)
    created = row.body["properties"]["keyCreationTime"]
    keys = [{"keyName": k, "value": row.secret[k], "permissions": "Full", "creationTime": created[k]}
            for k in ("key1", "key2")]
    return Response(200, {"keys": keys})


def list_accounts(app: SandboxState, req: Request) -> Response:
    sub, rg = req.params["sub"], req.params.get("rg")
    if rg is not None:
        require_rg(app, sub, rg)
    rows = app.store.list(ACCOUNT_TYPE, sub, rg)
    for row in rows:
        app.settle(row.id)
    return paged(req, [render_account(app, r) for r in app.store.list(ACCOUNT_TYPE, sub, rg)])


def check_name(app: SandboxState, req: Request) -> Response:
    body = req.json()
    name = body.get("name")
    if not isinstance(name, str) or body.get("type") != ACCOUNT_TYPE:
        raise ArmError(400, "InvalidRequestContent",
                       f"checkNameAvailability needs a name and type '{ACCOUNT_TYPE}'.")
    problem = _name_problem(name)
    if problem:
        return Response(200, {"nameAvailable": False, "reason": "AccountNameInvalid", "message": problem})
    if find_account(app, name) is not None:
        return Response(200, {"nameAvailable": False, "reason": "AlreadyExists",
                              "message": f"The storage account named {name} is already taken."})
    return Response(200, {"nameAvailable": True})


# -- blob containers (backed by Azurite) ---------------------------------------------------------
def _ready_account(app: SandboxState, req: Request) -> Row:
    row = _existing_account(app, req)
    if row.body["properties"]["provisioningState"] != "Succeeded":
        raise ArmError(409, "StorageAccountIsNotProvisioned",
                       f"The storage account provisioning state must be 'Succeeded' before executing "
                       f"the operation (it is '{row.body['properties']['provisioningState']}').")
    return row


def _container_body(account: Row, name: str, props: Any) -> dict[str, Any]:
    access = {None: "None", "container": "Container", "blob": "Blob"}.get(props.public_access, "None")
    lease = props.lease
    out_props: dict[str, Any] = {
        "publicAccess": access,
        "leaseStatus": (lease.status or "unlocked").capitalize(),
        "leaseState": (lease.state or "available").capitalize(),
        "lastModifiedTime": props.last_modified.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "hasImmutabilityPolicy": False, "hasLegalHold": False, "deleted": False,
        "remainingRetentionDays": 0, "defaultEncryptionScope": "$account-encryption-key",
        "denyEncryptionScopeOverride": False,
    }
    if props.metadata:
        out_props["metadata"] = dict(props.metadata)
    return {"id": f"{account.id}/blobServices/default/containers/{name}", "name": name,
            "type": CONTAINER_TYPE, "etag": props.etag, "properties": out_props}


def _container_client(app: SandboxState, account: Row, name: str) -> Any:
    return app.blob_service(account.body["name"], account.secret["key1"]).get_container_client(name)


def _container_props(app: SandboxState, account: Row, name: str) -> Any | None:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return _container_client(app, account, name).get_container_properties()
    except ResourceNotFoundError:
        return None


def _check_container_name(name: str) -> None:
    if not CONTAINER_NAME_RE.match(name) and name != "$root":
        raise ArmError(400, "ContainerOperationFailure",
                       f"The specified container name '{name}' is invalid: use 3-63 lower-case letters, "
                       "digits and single hyphens, starting and ending with a letter or digit.")


def _container_input(body: dict[str, Any]) -> tuple[str | None, dict[str, str] | None]:
    props = body.get("properties") or {}
    access = props.get("publicAccess")
    if access is not None and access not in PUBLIC_ACCESS:
        raise ArmError(400, "InvalidRequestPropertyValue", f"publicAccess '{access}' is invalid.",
                       target="properties.publicAccess")
    metadata = props.get("metadata")
    if metadata is not None and (not isinstance(metadata, dict)
                                 or not all(isinstance(v, str) for v in metadata.values())):
        raise ArmError(400, "InvalidRequestPropertyValue", "metadata must map names to strings.",
                       target="properties.metadata")
    return access, metadata


def put_container(app: SandboxState, req: Request) -> Response:
    account = _ready_account(app, req)
    name = req.params["container"]
    _check_container_name(name)
    access, metadata = _container_input(req.json())
    client = _container_client(app, account, name)
    public = None if access in (None, "None") else access.lower()
    existed = _container_props(app, account, name) is not None
    if existed:
        client.set_container_metadata(metadata or {})
        if access is not None:
            client.set_container_access_policy({}, public_access=public)
    else:
        if public is not None and not account.body["properties"].get("allowBlobPublicAccess", False):
            raise ArmError(409, "PublicAccessNotPermitted",
                           "Public access is not permitted on this storage account.")
        client.create_container(metadata=metadata or None, public_access=public)
    props = _container_props(app, account, name)
    return Response(200 if existed else 201, _container_body(account, name, props))


def patch_container(app: SandboxState, req: Request) -> Response:
    account = _ready_account(app, req)
    name = req.params["container"]
    if _container_props(app, account, name) is None:
        raise ArmError(404, "ContainerNotFound", "The specified container does not exist.")
    access, metadata = _container_input(req.json())
    client = _container_client(app, account, name)
    if metadata is not None:
        client.set_container_metadata(metadata)
    if access is not None:
        client.set_container_access_policy({}, public_access=None if access == "None" else access.lower())
    return Response(200, _container_body(account, name, _container_props(app, account, name)))


def get_container(app: SandboxState, req: Request) -> Response:
    account = _ready_account(app, req)
    name = req.params["container"]
    props = _container_props(app, account, name)
    if props is None:
        raise ArmError(404, "ContainerNotFound", "The specified container does not exist.")
    return Response(200, _container_body(account, name, props))


def delete_container(app: SandboxState, req: Request) -> Response:
    from azure.core.exceptions import ResourceNotFoundError

    account = _ready_account(app, req)
    # through ARM a container is a child of the account: the account's locks apply (not so through
    # the blob endpoint: locks are management-plane only)
    refuse_locked_delete(app, req.params["sub"], f"{account.id}/blobServices/default/containers/{req.params['container']}")
    try:
        _container_client(app, account, req.params["container"]).delete_container()
    except ResourceNotFoundError:
        return Response(204)
    return Response(200)


def list_containers(app: SandboxState, req: Request) -> Response:
    account = _ready_account(app, req)
    service = app.blob_service(account.body["name"], account.secret["key1"])
    items = [_container_body(account, c.name, c) for c in service.list_containers(include_metadata=True)]
    return paged(req, items)


RENDERERS = {ACCOUNT_TYPE.lower(): render_account}
FINALIZERS = {ACCOUNT_TYPE.lower(): finalize_account}


def routes() -> list[Route]:
    v = catalog.STORAGE_VERSIONS
    acct = RG + r"/providers/Microsoft\.Storage/storageAccounts/(?P<account>[^/]+)"
    cont = acct + r"/blobServices/default/containers"
    return [
        route("POST", SUB + r"/providers/Microsoft\.Storage/checkNameAvailability", check_name, v),
        route("GET", SUB + r"/providers/Microsoft\.Storage/storageAccounts", list_accounts, v),
        route("GET", RG + r"/providers/Microsoft\.Storage/storageAccounts", list_accounts, v),
        route("PUT", acct, put_account, v),
        route("GET", acct, get_account, v),
        route("PATCH", acct, patch_account, v),
        route("DELETE", acct, delete_account, v),
        route("POST", acct + r"/listKeys", list_keys, v),
        route("GET", cont, list_containers, v),
        route("PUT", cont + r"/(?P<container>[^/]+)", put_container, v),
        route("GET", cont + r"/(?P<container>[^/]+)", get_container, v),
        route("PATCH", cont + r"/(?P<container>[^/]+)", patch_container, v),
        route("DELETE", cont + r"/(?P<container>[^/]+)", delete_container, v),
    ]
