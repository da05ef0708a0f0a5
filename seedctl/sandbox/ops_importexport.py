"""Microsoft.ImportExport (2016-11-01, what seedctl's REST client sends, and
2021-01-01): jobs, locations and BitLocker keys, with the service's rules.

Rules enforced (official REST description and recorded traffic, ../shared/domain/importexport.md):
- an import job needs an existing storage account and 1-10 drives, each with driveId, bitLockerKey,
  manifestFile and a Base16 manifestHash (any length: the official 2016-11-01 example sends 64 hex
  digits; a hash that is not the manifest's MD5 fails at the datacenter); drive ids are unique;
- PUT answers 201 for a new job (state Creating, drives Specified) and 200 when it replaces a job
  still in Creating; a job past Creating cannot be replaced (409);
- GET/list never return bitLockerKey (only listBitLockerKeys does); location is echoed as the
  region's display name; shippingInformation is the region's datacenter address; a package's
  shipDate is answered in the service's US form ("9/29/2017 10:28:35 PM", the list examples);
- PATCH may set state only to Shipping (needs returnAddress and deliveryPackage, now or before),
  and only from Creating; deliveryPackage and driveList only before the drives are received;
  cancelRequested only before the drives are received;
- DELETE only in Creating, Completed or Closed (200, empty body); 204 when absent.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from seedctl.sandbox import catalog, ops_storage, rewrites
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
)
from seedctl.sandbox.ops_resources import require_registered
from seedctl.sandbox.store import Row

if TYPE_CHECKING:
    from seedctl.sandbox.state import SandboxState

NS = "Microsoft.ImportExport"
JOB_TYPE = "Microsoft.ImportExport/jobs"
BASE16 = re.compile(r"^(?:[0-9A-Fa-f]{2})+$")  # "Base16-encoded MD5"; no length is documented
ACCOUNT_ID_RE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
    r"Microsoft\.(Storage|ClassicStorage)/storageAccounts/(?P<name>[^/]+)$", re.IGNORECASE)
RETURN_ADDRESS_REQUIRED = ("recipientName", "streetAddress1", "city", "postalCode", "countryOrRegion",
                           "phone", "email")
ADDRESS_FIELDS = RETURN_ADDRESS_REQUIRED + ("streetAddress2", "stateOrProvince")
JOB_STATES = ("Creating", "Shipping", "Received", "Transferring", "Packaging", "Completed", "Closed")
BEFORE_RECEIVED = ("Creating", "Shipping")
DELETABLE = ("Creating", "Completed", "Closed", "ClosedWithErrors")
DRIVE_OUT_FIELDS = ("driveId", "manifestFile", "manifestHash", "driveHeaderHash", "state", "copyStatus",
                    "percentComplete", "verboseLogUri", "errorLogUri", "manifestUri", "bytesSucceeded")


def job_id(sub: str, rg: str, name: str) -> str:
    return f"{rg_id(sub, rg)}/providers/{JOB_TYPE}/{name}"


def _bad(message: str, target: str | None = None) -> ArmError:
    return ArmError(400, "InvalidParameter", message, target=target)


def _conflict(message: str) -> ArmError:
    return ArmError(409, "Conflict", message)


# -- validation ---------------------------------------------------------------------------------
def _address(value: Any, target: str, required: tuple[str, ...]) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _bad(f"{target} must be an object.", target)
    missing = [f for f in required if not value.get(f)]
    if missing:
        raise _bad(f"{target} is missing {', '.join(missing)}.", target)
    unknown = set(value) - set(ADDRESS_FIELDS)
    if unknown:
        raise _bad(f"{target} has unknown fields {', '.join(sorted(unknown))}.", target)
    return {k: str(v) for k, v in value.items() if v is not None}


def _return_shipping(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not value.get("carrierName") or not value.get("carrierAccountNumber"):
        raise _bad("returnShipping needs carrierName and carrierAccountNumber.", "returnShipping")
    return {"carrierName": str(value["carrierName"]), "carrierAccountNumber": str(value["carrierAccountNumber"])}


def _package(value: Any, target: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not value.get("carrierName") or not value.get("trackingNumber"):
        raise _bad(f"{target} needs carrierName and trackingNumber.", target)
    out: dict[str, Any] = {"carrierName": str(value["carrierName"]),
                           "trackingNumber": str(value["trackingNumber"])}
    if value.get("driveCount") is not None:
        if not isinstance(value["driveCount"], int) or value["driveCount"] < 0:
            raise _bad(f"{target}.driveCount must be a non-negative integer.", f"{target}.driveCount")
        out["driveCount"] = value["driveCount"]
    if value.get("shipDate"):
        # answered in the service's US form, "9/29/2017 10:28:35 PM" (ListJobsInResourceGroup.json)
        out["shipDate"] = rewrites.classic_ship_date(str(value["shipDate"]))
    return out


def _drives(value: Any, existing: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Validated drive list (keys kept internally). On PATCH a known drive may omit its key."""
    if not isinstance(value, list) or not 1 <= len(value) <= 10:
        raise _bad("An import job needs a driveList of 1 to 10 drives.", "driveList")
    seen: set[str] = set()
    out = []
    for i, drive in enumerate(value):
        target = f"driveList[{i}]"
        if not isinstance(drive, dict):
            raise _bad(f"{target} must be an object.", target)
        drive_id = drive.get("driveId")
        if not drive_id or not isinstance(drive_id, str) or " " in drive_id:
            raise _bad(f"{target}.driveId is required (the drive's serial number, without spaces).",
                       f"{target}.driveId")
        if drive_id in seen:
            raise _bad(f"Drive {drive_id} is listed twice.", f"{target}.driveId")
        seen.add(drive_id)
        previous = (existing or {}).get(drive_id, {})
        key = drive.get("bitLockerKey") or previous.get("bitLockerKey")
        if not key:
            raise _bad(f"{target}.bitLockerKey is required.", f"{target}.bitLockerKey")
        manifest = drive.get("manifestFile") or previous.get("manifestFile")
        if not manifest:
            raise _bad(f"{target}.manifestFile is required.", f"{target}.manifestFile")
        manifest_hash = drive.get("manifestHash") or previous.get("manifestHash")
        if not manifest_hash or not BASE16.match(manifest_hash):
            raise _bad(f"{target}.manifestHash must be Base16 (the hex MD5 of the manifest file).",
                       f"{target}.manifestHash")
        out.append({**previous, "driveId": drive_id, "bitLockerKey": key, "manifestFile": manifest,
                    "manifestHash": manifest_hash.upper(),
                    "driveHeaderHash": drive.get("driveHeaderHash", previous.get("driveHeaderHash", "")),
                    "state": previous.get("state", "Specified")})
    return out


def _storage_account(app: SandboxState, account_id: Any) -> None:
    m = ACCOUNT_ID_RE.match(account_id or "") if isinstance(account_id, str) else None
    if m is None:
        raise _bad(f"storageAccountId '{account_id}' is not a storage account resource id.", "storageAccountId")
    rid = ops_storage.account_id(m["sub"], m["rg"], m["name"])
    app.settle(rid)
    row = app.store.get(rid)
    if row is None or row.body["properties"].get("provisioningState") != "Succeeded":
        raise ArmError(400, "StorageAccountNotFound",
                       f"The storage account '{account_id}' does not exist or is not ready.",
                       target="storageAccountId")


# -- rendering ----------------------------------------------------------------------------------
def render_job(app: SandboxState, row: Row, version: str = "2016-11-01") -> dict[str, Any]:
    body = json_copy(row.body)
    body["properties"]["driveList"] = [{k: d[k] for k in DRIVE_OUT_FIELDS if k in d}
                                       for d in body["properties"].get("driveList", [])]
    if not body["properties"]["driveList"]:
        del body["properties"]["driveList"]
    if version < "2020-08-01":
        body.pop("systemData", None)
    return body


def _render(app: SandboxState, row: Row) -> dict[str, Any]:
    return render_job(app, row)


# -- handlers -----------------------------------------------------------------------------------
def _params(req: Request) -> tuple[str, str, str]:
    return req.params["sub"], req.params["rg"], req.params["job"]


def _find(app: SandboxState, req: Request) -> Row | None:
    """The job the request names, or None (the resource group and registration must exist)."""
    sub, rg, name = _params(req)
    require_rg(app, sub, rg)
    require_registered(app, sub, NS)
    return app.store.get(job_id(sub, rg, name))


def _load(app: SandboxState, req: Request) -> Row:
    row = _find(app, req)
    if row is None:
        _, rg, name = _params(req)
        raise not_found(JOB_TYPE, name, rg)
    return row


def put_job(app: SandboxState, req: Request) -> Response:
    sub, rg, name = _params(req)
    require_rg(app, sub, rg)
    require_registered(app, sub, NS)
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,63}$", name):
        raise _bad(f"The job name '{name}' is invalid.", "jobName")
    body = req.json()
    region = catalog.region_key(body.get("location") or "")
    if region is None:
        raise _bad(f"The location '{body.get('location')}' is not an Import/Export location.", "location")
    tags = check_tags(body.get("tags"))
    p = body.get("properties")
    if not isinstance(p, dict):
        raise _bad("properties is required.", "properties")
    job_type = p.get("jobType") or "Import"
    if job_type not in ("Import", "Export"):
        raise _bad(f"jobType '{job_type}' is invalid; use Import or Export.", "jobType")
    _storage_account(app, p.get("storageAccountId"))
    rid = job_id(sub, rg, name)
    existing = app.store.get(rid)
    if existing is not None and existing.body["properties"]["state"] != "Creating":
        raise _conflict(f"The job '{name}' already exists in resource group '{rg}' and is in state "
                        f"'{existing.body['properties']['state']}'; it can no longer be replaced.")
    props: dict[str, Any] = {"storageAccountId": p["storageAccountId"], "jobType": job_type}
    if job_type == "Import":
        props["driveList"] = _drives(p.get("driveList"))
    else:
        if not isinstance(p.get("export"), dict):
            raise _bad("An export job needs the export blob list.", "export")
        props["export"] = p["export"]
    if p.get("returnAddress") is not None:
        props["returnAddress"] = _address(p["returnAddress"], "returnAddress", RETURN_ADDRESS_REQUIRED)
    if p.get("returnShipping") is not None:
        props["returnShipping"] = _return_shipping(p["returnShipping"])
    if p.get("deliveryPackage") is not None:
        props["deliveryPackage"] = _package(p["deliveryPackage"], "deliveryPackage")
    dc = dict(catalog.DATACENTERS[catalog.shipping_datacenter(region)])
    props["shippingInformation"] = {k: dc[k] for k in ADDRESS_FIELDS if k in dc and k != "email"}
    props["shippingInformation"]["additionalInformation"] = dc.get("additionalShippingInformation", "")
    log_level = p.get("logLevel") or "Error"
    if log_level not in ("Error", "Verbose"):
        raise _bad("logLevel must be Error or Verbose.", "logLevel")
    props.update({"diagnosticsPath": p.get("diagnosticsPath") or "waimportexport", "logLevel": log_level,
                  "backupDriveManifest": bool(p.get("backupDriveManifest", False)),
                  "cancelRequested": False, "state": "Creating", "provisioningState": "Succeeded",
                  "encryptionKey": {"kekType": "MicrosoftManaged"}})
    stamp = now_iso()
    out: dict[str, Any] = {"id": existing.id if existing else rid, "name": name, "type": JOB_TYPE,
                           "location": catalog.REGIONS[region], "properties": props,
                           "identity": {"type": "None"},
                           "systemData": {"createdBy": "sandbox", "createdByType": "User",
                                          "createdAt": stamp, "lastModifiedBy": "sandbox",
                                          "lastModifiedByType": "User", "lastModifiedAt": stamp}}
    if tags is not None:
        out["tags"] = tags
    row = Row(out["id"], JOB_TYPE.lower(), out, {})
    app.store.put(out["id"], JOB_TYPE, sub, rg, out)
    return Response(200 if existing else 201, render_job(app, row, req.api_version or ""))


def get_job(app: SandboxState, req: Request) -> Response:
    return Response(200, render_job(app, _load(app, req), req.api_version or ""))


def patch_job(app: SandboxState, req: Request) -> Response:
    row = _load(app, req)
    props = row.body["properties"]
    state = props["state"]
    body = req.json()
    allowed = {"tags", "properties"}
    if set(body) - allowed:
        raise _bad(f"Only tags and properties can be updated, not {', '.join(sorted(set(body) - allowed))}.")
    p = body.get("properties") or {}
    updatable = {"state", "cancelRequested", "returnAddress", "returnShipping", "deliveryPackage",
                 "logLevel", "backupDriveManifest", "driveList"}
    unknown = set(p) - updatable
    if unknown:
        raise _bad(f"These properties cannot be updated: {', '.join(sorted(unknown))}.")
    if state in ("Completed", "Closed", "ClosedWithErrors") and set(p) - {"state"}:
        raise _conflict(f"The job is in state '{state}' and can no longer be changed.")
    new = json_copy(props)
    if "tags" in body:
        row.body["tags"] = check_tags(body["tags"]) or {}
    if p.get("returnAddress") is not None:
        if state not in BEFORE_RECEIVED + ("Received", "Transferring"):
            raise _conflict(f"returnAddress cannot change in state '{state}'.")
        new["returnAddress"] = _address(p["returnAddress"], "returnAddress", RETURN_ADDRESS_REQUIRED)
    if p.get("returnShipping") is not None:
        if state not in BEFORE_RECEIVED + ("Received", "Transferring"):
            raise _conflict(f"returnShipping cannot change in state '{state}'.")
        new["returnShipping"] = _return_shipping(p["returnShipping"])
    if p.get("deliveryPackage") is not None:
        if state not in BEFORE_RECEIVED:
            raise _conflict(f"deliveryPackage cannot change after the drives are received (state '{state}').")
        new["deliveryPackage"] = _package(p["deliveryPackage"], "deliveryPackage")
    if p.get("driveList") is not None:
        if state not in BEFORE_RECEIVED:
            raise _conflict(f"driveList cannot change after the drives are received (state '{state}').")
        known = {d["driveId"]: d for d in props.get("driveList", [])}
        new["driveList"] = _drives(p["driveList"], known)
    if p.get("logLevel") is not None:
        if p["logLevel"] not in ("Error", "Verbose"):
            raise _bad("logLevel must be Error or Verbose.", "logLevel")
        new["logLevel"] = p["logLevel"]
    if p.get("backupDriveManifest") is not None:
        new["backupDriveManifest"] = bool(p["backupDriveManifest"])
    if p.get("cancelRequested"):
        if state not in BEFORE_RECEIVED:
            raise _conflict(f"The job cannot be cancelled after the drives are received (state '{state}').")
        new["cancelRequested"] = True
    target = p.get("state")
    if target:  # "" is a harmless no-op, as the real service treats it
        if target != "Shipping":
            raise _bad(f"state can only be set to 'Shipping', not '{target}'.", "state")
        if state not in ("Creating", "Shipping"):
            raise _conflict(f"The job is in state '{state}'; it can only be marked Shipping from Creating.")
        if new.get("cancelRequested"):
            raise _conflict("The job has been cancelled.")
        if not new.get("returnAddress") or not new.get("deliveryPackage"):
            raise _bad("Setting state to Shipping needs returnAddress and deliveryPackage "
                       "(in this request or before).", "state")
        new["state"] = "Shipping"
    row.body["properties"] = new
    row.body.setdefault("systemData", {})["lastModifiedAt"] = now_iso()
    app.save(row)
    return Response(200, render_job(app, row, req.api_version or ""))


def delete_job(app: SandboxState, req: Request) -> Response:
    row = _find(app, req)
    if row is None:
        return Response(204)
    state = row.body["properties"]["state"]
    if state not in DELETABLE:
        raise _conflict(f"The job is in state '{state}'; only jobs in Creating or Completed can be deleted.")
    app.store.delete(row.id)
    return Response(200)


def list_jobs(app: SandboxState, req: Request) -> Response:
    sub, rg = req.params["sub"], req.params.get("rg")
    if rg is not None:
        require_rg(app, sub, rg)
    require_registered(app, sub, NS)
    rows = app.store.list(JOB_TYPE, sub, rg)
    flt = req.query.get("$filter")
    items = [render_job(app, r, req.api_version or "") for r in rows]
    if flt:
        m = re.match(r"^\s*(\w+)\s+eq\s+'([^']*)'\s*$", flt)
        if m is None:
            raise _bad(f"Unsupported $filter '{flt}' (the sandbox supports \"<property> eq '<value>'\").",
                       "$filter")
        key, value = m.groups()
        items = [i for i in items if str(i.get(key, i["properties"].get(key))) == value]
    return paged(req, items, max_top=100)


def list_keys(app: SandboxState, req: Request) -> Response:
    row = _load(app, req)
    return Response(200, {"value": [{"driveId": d["driveId"], "bitLockerKey": d["bitLockerKey"]}
                                    for d in row.body["properties"].get("driveList", [])]})


def _location_body(region: str) -> dict[str, Any]:
    dc = catalog.DATACENTERS[region]
    alternates = [f"/providers/{NS}/locations/{region}"]
    return {"id": f"/providers/{NS}/locations/{region}", "name": catalog.REGIONS[region],
            "type": f"{NS}/locations", "properties": {**dc, "alternateLocations": alternates}}


def list_locations(app: SandboxState, req: Request) -> Response:
    return Response(200, {"value": [_location_body(r) for r in catalog.DATACENTERS]})


def get_location(app: SandboxState, req: Request) -> Response:
    region = catalog.region_key(req.params["loc"])
    if region is None:
        raise ArmError(404, "LocationNotFound", f"The location '{req.params['loc']}' was not found.")
    if region not in catalog.DATACENTERS:
        body = _location_body(catalog.shipping_datacenter(region))
        body.update({"id": f"/providers/{NS}/locations/{region}", "name": catalog.REGIONS[region]})
        return Response(200, body)
    return Response(200, _location_body(region))


def list_operations(app: SandboxState, req: Request) -> Response:
    ops = [("Microsoft.ImportExport/locations/read", "Gets the locations"),
           ("Microsoft.ImportExport/jobs/write", "Creates or updates a job"),
           ("Microsoft.ImportExport/jobs/read", "Gets jobs"),
           ("Microsoft.ImportExport/jobs/delete", "Deletes a job"),
           ("Microsoft.ImportExport/jobs/listBitLockerKeys/action", "Gets the BitLocker keys of a job")]
    return Response(200, {"value": [{"name": n, "display": {"provider": "Microsoft Import/Export",
                                                             "resource": n.split("/")[1],
                                                             "operation": d, "description": d}}
                                    for n, d in ops]})


RENDERERS = {JOB_TYPE.lower(): _render}


def routes() -> list[Route]:
    v = catalog.IMPORTEXPORT_VERSIONS
    jobs = RG + r"/providers/Microsoft\.ImportExport/jobs"
    return [
        route("GET", r"/providers/Microsoft\.ImportExport/locations", list_locations, v),
        route("GET", r"/providers/Microsoft\.ImportExport/locations/(?P<loc>[^/]+)", get_location, v),
        route("GET", r"/providers/Microsoft\.ImportExport/operations", list_operations, v),
        route("GET", SUB + r"/providers/Microsoft\.ImportExport/jobs", list_jobs, v),
        route("GET", jobs, list_jobs, v),
        route("PUT", jobs + r"/(?P<job>[^/]+)", put_job, v),
        route("GET", jobs + r"/(?P<job>[^/]+)", get_job, v),
        route("PATCH", jobs + r"/(?P<job>[^/]+)", patch_job, v),
        route("DELETE", jobs + r"/(?P<job>[^/]+)", delete_job, v),
        route("POST", jobs + r"/(?P<job>[^/]+)/listBitLockerKeys", list_keys, v),
    ]
