"""Microsoft.Resources: resource providers, resource groups, and generic resources by id (the
Recovery Services vault is created and read this way)."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from seedctl.sandbox import catalog
from seedctl.sandbox.arm import (
    RG,
    SUB,
    ArmError,
    Request,
    Response,
    Route,
    check_api_version,
    check_tags,
    not_found,
    paged,
    require_rg,
    rg_id,
    route,
    start_operation,
)
from seedctl.sandbox.ops_locks import refuse_locked_delete

if TYPE_CHECKING:
    from seedctl.sandbox.state import SandboxState

RG_TYPE = "Microsoft.Resources/resourceGroups"
RG_NAME_RE = re.compile(r"^[-\w._()]{1,90}$")


# -- providers ----------------------------------------------------------------------------------
def provider_state(app: SandboxState, sub: str, ns: str) -> str:
    return app.store.provider_state(sub, ns, catalog.PROVIDERS[ns]["default"])


def require_registered(app: SandboxState, sub: str, ns: str) -> None:
    """ARM answers 409 MissingSubscriptionRegistration for a namespace the subscription has not
    registered; the SDKs then register it themselves (polling every 10 s)."""
    if provider_state(app, sub, ns) != "Registered":
        raise ArmError(409, "MissingSubscriptionRegistration",
                       f"The subscription is not registered to use namespace '{ns}'. See "
                       "https://aka.ms/rps-not-found for how to register subscriptions.")


def _provider_body(app: SandboxState, sub: str, ns: str) -> dict[str, Any]:
    types = [{"resourceType": t, "locations": sorted(catalog.REGIONS.values()),
              "apiVersions": sorted(v, reverse=True),
              "capabilities": "SupportsTags, SupportsLocation"}
             for t, v in catalog.PROVIDERS[ns]["types"].items()]
    return {"id": f"/subscriptions/{sub}/providers/{ns}", "namespace": ns,
            "registrationState": provider_state(app, sub, ns), "registrationPolicy": "RegistrationRequired",
            "resourceTypes": types}


def _namespace(req: Request) -> str:
    ns = catalog.provider_namespace(req.params["ns"])
    if ns is None:
        raise ArmError(404, "InvalidResourceNamespace",
                       f"The resource namespace '{req.params['ns']}' is invalid.")
    return ns


def get_provider(app: SandboxState, req: Request) -> Response:
    return Response(200, _provider_body(app, req.params["sub"], _namespace(req)))


def list_providers(app: SandboxState, req: Request) -> Response:
    return paged(req, [_provider_body(app, req.params["sub"], ns) for ns in catalog.PROVIDERS])


def register_provider(app: SandboxState, req: Request) -> Response:
    sub, ns = req.params["sub"], _namespace(req)
    if provider_state(app, sub, ns) != "Registered":
        delay = float(app.store.setting("registration_delay", 1.0))
        if delay <= 0:
            app.store.set_provider_state(sub, ns, "Registered", None)
        else:
            app.store.set_provider_state(sub, ns, "Registering", time.time() + delay)
    return Response(200, _provider_body(app, sub, ns))


def unregister_provider(app: SandboxState, req: Request) -> Response:
    sub, ns = req.params["sub"], _namespace(req)
    app.store.set_provider_state(sub, ns, "NotRegistered", None)
    return Response(200, _provider_body(app, sub, ns))


# -- resource groups ----------------------------------------------------------------------------
def _rg_body(row_body: dict[str, Any]) -> dict[str, Any]:
    return row_body


def put_rg(app: SandboxState, req: Request) -> Response:
    sub, name = req.params["sub"], req.params["rg"]
    if not RG_NAME_RE.match(name) or name.endswith("."):
        raise ArmError(400, "InvalidResourceGroupName",
                       f"The resource group name '{name}' is invalid. It can have up to 90 letters, "
                       "digits, underscores, hyphens, periods and parentheses, and cannot end in a period.")
    body = req.json()
    location = body.get("location")
    if not location:
        raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
    region = catalog.region_key(location)
    if region is None:
        raise ArmError(400, "LocationNotAvailableForResourceGroup",
                       f"The provided location '{location}' is not available for resource group.")
    tags = check_tags(body.get("tags"))
    existing = app.store.get(rg_id(sub, name))
    if existing is not None:
        if existing.body["location"] != region:
            raise ArmError(409, "InvalidResourceGroupLocation",
                           f"Invalid resource group location '{region}'. The Resource group already "
                           f"exists in location '{existing.body['location']}'.")
        out = dict(existing.body)
        if tags is not None:
            out["tags"] = tags
        else:
            out.pop("tags", None)
        app.store.put(existing.id, RG_TYPE, sub, name, out)
        return Response(200, out)
    out = {"id": rg_id(sub, name), "name": name, "type": RG_TYPE, "location": region,
           "properties": {"provisioningState": "Succeeded"}}
    if tags is not None:
        out["tags"] = tags
    app.store.put(out["id"], RG_TYPE, sub, name, out)
    return Response(201, out)


def get_rg(app: SandboxState, req: Request) -> Response:
    body = require_rg(app, req.params["sub"], req.params["rg"])
    return Response(200, body)


def head_rg(app: SandboxState, req: Request) -> Response:
    found = app.store.get(rg_id(req.params["sub"], req.params["rg"])) is not None
    return Response(204 if found else 404)


def patch_rg(app: SandboxState, req: Request) -> Response:
    sub, name = req.params["sub"], req.params["rg"]
    row = app.store.get(rg_id(sub, name))
    if row is None:
        require_rg(app, sub, name)
    assert row is not None
    body = req.json()
    if "tags" in body:
        tags = check_tags(body["tags"])
        row.body["tags"] = tags or {}
    app.store.put(row.id, RG_TYPE, sub, name, row.body)
    return Response(200, row.body)


def delete_rg(app: SandboxState, req: Request) -> Response:
    sub, name = req.params["sub"], req.params["rg"]
    row = app.store.get(rg_id(sub, name))
    if row is None:
        require_rg(app, sub, name)
    assert row is not None
    refuse_locked_delete(app, sub, row.id)  # a lock on the group or on anything in it
    # Children first, each through its own finalizer (storage accounts leave Azurite too).
    for child in app.store.list_under(row.id):
        finalize = app.finalizers.get(child.type)
        if finalize is not None:
            finalize(app, child, False)
    app.store.delete(row.id)
    headers = start_operation(app, req, row.id + "#deleted", "Microsoft.Resources", row.body["location"],
                              delay=0)
    return Response(202, None, {"Location": headers["Location"], **_retry(headers)})


def _retry(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k in ("x-ms-retry-after-ms", "Retry-After")}


def list_rgs(app: SandboxState, req: Request) -> Response:
    return paged(req, [r.body for r in app.store.list(RG_TYPE, req.params["sub"])])


# -- generic resources by id --------------------------------------------------------------------
def _generic_parts(app: SandboxState, req: Request) -> tuple[str, str, str, str]:
    sub, rg = req.params["sub"], req.params["rg"]
    ns = _namespace(req)
    rtype = f"{ns}/{req.params['type']}"
    known = {t.lower(): v for t, v in catalog.PROVIDERS[ns]["types"].items()}
    versions = known.get(req.params["type"].lower())
    if versions is None:
        raise ArmError(400, "InvalidResourceType",
                       f"The resource type '{req.params['type']}' could not be found in the namespace '{ns}'.")
    check_api_version(req, versions, f"resource type '{rtype}'")
    return sub, rg, ns, rtype


def _generic_id(req: Request, ns: str) -> str:
    return f"{rg_id(req.params['sub'], req.params['rg'])}/providers/{ns}/{req.params['type']}/{req.params['name']}"


def put_generic(app: SandboxState, req: Request) -> Response:
    sub, rg, ns, rtype = _generic_parts(app, req)
    require_rg(app, sub, rg)
    require_registered(app, sub, ns)
    body = req.json()
    location = body.get("location")
    region = catalog.region_key(location or "")
    if region is None:
        raise ArmError(400, "LocationRequired" if not location else "LocationNotAvailableForResourceType",
                       f"The location '{location}' is not available for resource type '{rtype}'.")
    tags = check_tags(body.get("tags"))
    rid = _generic_id(req, ns)
    existing = app.store.get(rid)
    props = dict(body.get("properties") or {})
    props["provisioningState"] = "Succeeded"
    out: dict[str, Any] = {"id": existing.id if existing else rid, "name": req.params["name"],
                           "type": rtype, "location": region, "properties": props}
    if tags is not None:
        out["tags"] = tags
    for key in ("sku", "identity", "kind"):
        if key in body:
            out[key] = body[key]
    if ns == "Microsoft.RecoveryServices":
        out.setdefault("sku", {"name": "RS0", "tier": "Standard"})
        out["etag"] = f'W/"datetime\'{time.strftime("%Y-%m-%dT%H%%3A%M%%3A%S")}\'"'
    app.store.put(out["id"], rtype, sub, rg, out)
    return Response(200 if existing else 201, out)


def get_generic(app: SandboxState, req: Request) -> Response:
    sub, rg, ns, rtype = _generic_parts(app, req)
    require_rg(app, sub, rg)
    row = app.store.get(_generic_id(req, ns))
    if row is None:
        raise not_found(rtype, req.params["name"], rg)
    return Response(200, row.body)


def patch_generic(app: SandboxState, req: Request) -> Response:
    sub, rg, ns, rtype = _generic_parts(app, req)
    require_rg(app, sub, rg)
    row = app.store.get(_generic_id(req, ns))
    if row is None:
        raise not_found(rtype, req.params["name"], rg)
    body = req.json()
    if "tags" in body:
        row.body["tags"] = check_tags(body["tags"]) or {}
    if isinstance(body.get("properties"), dict):
        row.body["properties"].update(body["properties"])
        row.body["properties"]["provisioningState"] = "Succeeded"
    if "sku" in body:
        row.body["sku"] = body["sku"]
    app.store.put(row.id, rtype, sub, rg, row.body)
    return Response(200, row.body)


def delete_generic(app: SandboxState, req: Request) -> Response:
    sub, rg, ns, rtype = _generic_parts(app, req)
    require_rg(app, sub, rg)
    rid = _generic_id(req, ns)
    row = app.store.get(rid)
    if row is not None:
        refuse_locked_delete(app, sub, rid)
    if row is None or not app.store.delete(rid):
        return Response(204)
    # 202 + Location, as the vault description (Vaults_Delete: 202/204) and the generic one
    # (200/202/204) both allow; the operation is over at once
    headers = start_operation(app, req, rid + "#deleted", ns, row.body.get("location") or "westus", delay=0)
    return Response(202, None, {"Location": headers["Location"], **_retry(headers)})


def list_generic(app: SandboxState, req: Request) -> Response:
    sub, rg, ns, rtype = _generic_parts(app, req)
    require_rg(app, sub, rg)
    return paged(req, [r.body for r in app.store.list(rtype, sub, rg)])


def list_rg_resources(app: SandboxState, req: Request) -> Response:
    sub, rg = req.params["sub"], req.params["rg"]
    row = app.store.get(rg_id(sub, rg))
    if row is None:
        require_rg(app, sub, rg)
    items = []
    for child in app.store.list_under(rg_id(sub, rg)):
        body = app.render(child)
        if body.get("type", "").count("/") == 1:  # top-level resources only, as ARM lists them
            items.append({k: body[k] for k in ("id", "name", "type", "location", "tags", "sku", "kind")
                          if k in body})
    return paged(req, items)


def routes() -> list[Route]:
    v = catalog.RESOURCES_VERSIONS
    return [
        route("GET", SUB + r"/providers", list_providers, v),
        route("GET", SUB + r"/providers/(?P<ns>[^/]+)", get_provider, v),
        route("POST", SUB + r"/providers/(?P<ns>[^/]+)/register", register_provider, v),
        route("POST", SUB + r"/providers/(?P<ns>[^/]+)/unregister", unregister_provider, v),
        route("GET", SUB + r"/resourcegroups", list_rgs, v),
        route("PUT", RG, put_rg, v),
        route("GET", RG, get_rg, v),
        route("HEAD", RG, head_rg, v),
        route("PATCH", RG, patch_rg, v),
        route("DELETE", RG, delete_rg, v),
        route("GET", RG + r"/resources", list_rg_resources, v),
    ]


def generic_routes() -> list[Route]:
    """Generic top-level resources: installed after every specific provider's routes."""
    generic = RG + r"/providers/(?P<ns>[^/]+)/(?P<type>[^/]+)"
    return [
        route("PUT", generic + r"/(?P<name>[^/]+)", put_generic, None),
        route("GET", generic + r"/(?P<name>[^/]+)", get_generic, None),
        route("PATCH", generic + r"/(?P<name>[^/]+)", patch_generic, None),
        route("DELETE", generic + r"/(?P<name>[^/]+)", delete_generic, None),
        route("GET", generic, list_generic, None),
    ]
