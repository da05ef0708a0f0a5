"""Microsoft.DataBox jobs with SKU DataBoxCustomerDisk (the Import/Export service on the Data Box
resource), at the api-versions azure-mgmt-databox speaks (4.0.0 sends 2025-07-01).

Shapes follow, in this order of authority: the service's recorded answers (the Azure CLI's
recordings of a customer-disk job, Azure/azure-cli-extensions src/databox/azext_databox/tests/latest/
recordings/test_databox_custom_disk.yaml, 2023 and 2025, replayed in tests/databox/
test_databox_recording.py), the official REST description (specification/databox/resource-manager/
Microsoft.DataBox/DataBox/stable/2025-07-01/databox.json) and its examples, and the SDK's models;
what those leave open is the sandbox's own choice, marked "sandbox:" below.

Operations and the answers the recording shows:
- PUT jobs/{job}: **202 with a Location header only** (an operationResults URL, no body, no
  Azure-AsyncOperation). Polls answer 202 while the operation runs, then **202 with Location = the
  job's URL**; a GET of the job then answers 200. The job is readable at once (status
  DeviceOrdered); when the operation settles it becomes AwaitingShipmentDetails. The job's storage
  account gets the service's **DATABOX_SERVICE CanNotDelete lock** (ops_locks.py), which outlives
  the job. sandbox: a PUT on an existing job is 409 Conflict ("existing job cannot be updated with
  this API" says the description; the service's exact code is not published).
- GET jobs/{job}: `properties.details` **with or without** `$expand` (the recording's GET has no
  $expand); `$expand=details` adds copyProgress, jobStages, deliveryPackage, returnPackage,
  copyLogDetails and actions (the official examples). Never an `x-ms-secret` value (`bitLockerKey`,
  `returnToCustomerPackageDetails.carrierAccountNumber`: both live in the store's secret column).
  What the service adds is answered too: reverseTransportPreferenceUpdate, deliveryInfo.
  scheduledDateTime, sku.model (api-version 2025-02-01 and later), the default
  contactDetails.notificationPreference, addressType "None", dataExportDetails [],
  preferences.encryptionPreferences.doubleEncryption "Disabled", reverseShippingDetails {},
  logCollectionLevel "Error", enableManifestBackup false; and what it rewrites (rewrites.py).
  No datacenterAddress: neither recording nor any official example has it (regionConfiguration
  gives it, ops_databox_service.py).
- GET jobs (resource group / subscription): paged by `nextLink` (`$skipToken`); each item in the
  list shape of the 2025 recording (details with the stages and empty packages).
- PATCH jobs/{job}: 202 + Location, polled like a create; tags, contactDetails, shippingAddress,
  returnToCustomerPackageDetails, preferences, keyEncryptionKey. The disks cannot change.
- POST jobs/{job}/markDevicesShipped {deliverToDcPackageDetails{carrierName, trackingId}} → 204;
  DeviceOrdered/AwaitingShipmentDetails → ShippedToAzureDC (tracking correctable while shipped).
- POST jobs/{job}/cancel {reason} → 204, no headers, while `isCancellable`; status Cancelled with
  cancellationReason.
- DELETE jobs/{job}: 202 + Location while `isDeletable` (final states); polls answer 202, then
  **204** when the delete is done; 204 when absent, 409 otherwise.
- POST jobs/{job}/listCredentials: the customer-disk secrets (`diskSecrets[{diskSerialNumber,
  bitLockerKey}]`, `carrierAccountNumber`) — the only answer carrying them.
- Validation follows the description's `required` lists and what the service accepted, no more
  (docs/sandbox.md, fidelity table): shippingAddress and the carrier account are optional, any
  number of disks (≥ 1), manifestHash and bitLockerKey any non-empty text (the recorded create sent
  "xxxx" and "xxx" and was accepted).
- GET /providers/Microsoft.DataBox/operations.

Every call on jobs needs Microsoft.DataBox registered (409 MissingSubscriptionRegistration,
after which the SDK registers it itself and polls every 10 s: tests register first).
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
    start_operation,
)
from seedctl.sandbox.ops_locks import put_service_lock
from seedctl.sandbox.ops_resources import require_registered
from seedctl.sandbox.store import Row

if TYPE_CHECKING:
    from seedctl.sandbox.state import SandboxState

NS = "Microsoft.DataBox"
JOB_TYPE = "Microsoft.DataBox/jobs"
SKU = "DataBoxCustomerDisk"
# "The Base16-encoded MD5 hash of the manifest file" says the description; the service accepted
# "xxxx" at creation (the 2025 recording), so the sandbox checks nothing more than presence: a hash
# that is not the manifest's MD5 fails at the datacenter (ManifestCorrupted), not here.
JOB_NAME = re.compile(r"^[-\w.]{3,24}$")  # the description's jobName rule
ACCOUNT_ID_RE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
    r"Microsoft\.Storage/storageAccounts/(?P<name>[^/]+)$", re.IGNORECASE)
CONTACT_FIELDS = ("contactName", "phone", "phoneExtension", "mobile", "emailList", "notificationPreference")
ADDRESS_FIELDS = ("streetAddress1", "streetAddress2", "streetAddress3", "city", "stateOrProvince", "country",
                  "postalCode", "zipExtendedCode", "companyName", "addressType", "skipAddressValidation",
                  "taxIdentificationNumber")
UPDATABLE_DETAILS = ("contactDetails", "shippingAddress", "returnToCustomerPackageDetails", "preferences",
                     "keyEncryptionKey", "reverseShippingDetails")

# The customer-disk statuses in order (what `status` shows), and the stages `jobStages` lists.
NOT_SHIPPED = ("DeviceOrdered", "AwaitingShipmentDetails")
ORDER = ("DeviceOrdered", "AwaitingShipmentDetails", "ShippedToAzureDC", "AtAzureDC", "DataCopy", "Completed")
FINAL = ("Completed", "CompletedWithErrors", "CompletedWithWarnings", "Cancelled", "Aborted")
STAGE_NAMES = {"DeviceOrdered": "Ordered", "AwaitingShipmentDetails": "Awaiting shipment details",
               "ShippedToAzureDC": "Shipped to Azure datacenter", "AtAzureDC": "Received at Azure datacenter",
               "DataCopy": "Data copy in progress", "Completed": "Completed",
               "CompletedWithErrors": "Completed with errors", "Cancelled": "Cancelled"}
# sandbox: cancellable until the datacenter has the disks (the classic FAQ: Creating or Shipping),
# the same rule seedctl's phases use; deletable once final.
CANCELLABLE = NOT_SHIPPED + ("ShippedToAzureDC",)
RETURN_EDITABLE = NOT_SHIPPED + ("ShippedToAzureDC", "AtAzureDC", "DataCopy")
# What the service fills in when a create leaves it out (the 2025 recording's GET).
DEFAULT_NOTIFICATIONS = [{"stageName": s, "sendNotification": True}
                         for s in ("AtAzureDC", "DataCopy", "Created", "ShippedToCustomer")]
DEFAULT_PREFERENCES = {"encryptionPreferences": {"doubleEncryption": "Disabled"}}
NEVER_SCHEDULED = "0001-01-01T00:00:00+00:00"
EMPTY_PACKAGE = {"trackingUrl": "", "carrierName": "", "trackingId": ""}
# details only a GET with $expand=details shows (the recording's GET without it has none of them)
EXPANDED = ("copyProgress", "jobStages", "deliveryPackage", "returnPackage", "copyLogDetails", "actions")


def job_id(sub: str, rg: str, name: str) -> str:
    return f"{rg_id(sub, rg)}/providers/{JOB_TYPE}/{name}"


def _bad(message: str, target: str | None = None) -> ArmError:
    return ArmError(400, "InvalidParameter", message, target=target)


def _conflict(message: str) -> ArmError:
    return ArmError(409, "Conflict", message)


# -- validation ---------------------------------------------------------------------------------
def _contact(value: Any, target: str = "details.contactDetails") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(f"{target} is required.", target)
    missing = [f for f in ("contactName", "phone") if not value.get(f)]
    if missing:
        raise _bad(f"{target} is missing {', '.join(missing)}.", target)
    emails = value.get("emailList")
    if not isinstance(emails, list) or not emails or not all(isinstance(e, str) and "@" in e for e in emails):
        raise _bad(f"{target}.emailList needs at least one e-mail address.", f"{target}.emailList")
    unknown = set(value) - set(CONTACT_FIELDS)
    if unknown:
        raise _bad(f"{target} has unknown fields {', '.join(sorted(unknown))}.", target)
    contact = {k: v for k, v in value.items() if v is not None}
    contact.setdefault("notificationPreference", json_copy(DEFAULT_NOTIFICATIONS))
    return contact


def _shipping_address(value: Any, target: str = "details.shippingAddress") -> dict[str, Any]:
    # Optional in the description (JobDetails.shippingAddress); when given, ShippingAddress
    # requires streetAddress1 and country.
    if not isinstance(value, dict):
        raise _bad(f"{target} must be an object.", target)
    missing = [f for f in ("streetAddress1", "country") if not value.get(f)]
    if missing:
        raise _bad(f"{target} is missing {', '.join(missing)}.", target)
    unknown = set(value) - set(ADDRESS_FIELDS)
    if unknown:
        raise _bad(f"{target} has unknown fields {', '.join(sorted(unknown))}.", target)
    if value.get("addressType") not in (None, "None", "Residential", "Commercial"):
        raise _bad(f"{target}.addressType must be None, Residential or Commercial.", f"{target}.addressType")
    address = {k: v for k, v in value.items() if v is not None}
    address["streetAddress1"] = rewrites.databox_street(str(address["streetAddress1"]))
    address.setdefault("addressType", "None")
    return address


def _return_package(value: Any, target: str = "details.returnToCustomerPackageDetails") -> dict[str, str]:
    """DataBoxCustomerDiskJobDetails requires returnToCustomerPackageDetails; PackageCarrierDetails
    itself requires none of its fields. carrierAccountNumber is `x-ms-secret`: the caller keeps it
    in the secret column, never in the body GET renders."""
    if not isinstance(value, dict):
        raise _bad(f"{target} is required (the return shipment's carrier details).", target)
    out = {}
    for key in ("carrierName", "carrierAccountNumber", "trackingId"):
        if value.get(key) is not None:
            if not isinstance(value[key], str):
                raise _bad(f"{target}.{key} must be a string.", f"{target}.{key}")
            out[key] = value[key]
    return out


def _split_return(package: dict[str, str]) -> tuple[dict[str, str], str | None]:
    """(what GET may show, the secret carrier account number)."""
    shown = {k: v for k, v in package.items() if k != "carrierAccountNumber"}
    return shown, package.get("carrierAccountNumber")


def _disks(value: Any) -> dict[str, dict[str, str]]:
    """Validated disk collection, keys included (the caller keeps them out of the body)."""
    target = "details.importDiskDetailsCollection"
    # sandbox: at least one disk (an import job without a disk has nothing to import; the
    # description sets no bound, and the classic "up to ten drives" is not documented for Data Box).
    if not isinstance(value, dict) or not value:
        raise _bad("An import job needs importDiskDetailsCollection with at least one disk, keyed by serial "
                   "number.", target)
    out = {}
    for serial, disk in value.items():
        t = f"{target}['{serial}']"
        if not serial or not serial.strip() or " " in serial:
            raise _bad(f"The disk serial number '{serial}' is invalid.", t)
        if not isinstance(disk, dict):
            raise _bad(f"{t} must be an object.", t)
        for f in ("manifestFile", "manifestHash", "bitLockerKey"):
            if not disk.get(f) or not isinstance(disk[f], str):
                raise _bad(f"{t}.{f} is required.", f"{t}.{f}")
        out[serial] = {"manifestFile": disk["manifestFile"], "manifestHash": disk["manifestHash"],
                       "bitLockerKey": disk["bitLockerKey"]}
    return out


def _import_details(app: SandboxState, value: Any) -> list[dict[str, Any]]:
    target = "details.dataImportDetails"
    if not isinstance(value, list) or not value:
        raise _bad("An import job needs dataImportDetails with the storage account to import into.", target)
    out = []
    for i, item in enumerate(value):
        t = f"{target}[{i}]"
        account = item.get("accountDetails") if isinstance(item, dict) else None
        if not isinstance(account, dict):
            raise _bad(f"{t}.accountDetails is required.", f"{t}.accountDetails")
        if account.get("dataAccountType") != "StorageAccount":
            raise _bad(f"{t}.accountDetails.dataAccountType must be StorageAccount for customer disks "
                       "(managed disks are not a customer-disk target).", f"{t}.accountDetails.dataAccountType")
        _storage_account(app, account.get("storageAccountId"), f"{t}.accountDetails.storageAccountId")
        level = item.get("logCollectionLevel")
        if level not in (None, "Error", "Verbose"):
            raise _bad(f"{t}.logCollectionLevel must be Error or Verbose.", f"{t}.logCollectionLevel")
        entry: dict[str, Any] = {"accountDetails": {"dataAccountType": "StorageAccount",
                                                    "storageAccountId": account["storageAccountId"]}}
        entry["logCollectionLevel"] = level or "Error"
        out.append(entry)
    return out


def _storage_account(app: SandboxState, account_id: Any, target: str) -> None:
    m = ACCOUNT_ID_RE.match(account_id) if isinstance(account_id, str) else None
    if m is None:
        raise _bad(f"storageAccountId '{account_id}' is not a storage account resource id.", target)
    rid = ops_storage.account_id(m["sub"], m["rg"], m["name"])
    app.settle(rid)
    row = app.store.get(rid)
    if row is None or row.body["properties"].get("provisioningState") != "Succeeded":
        raise ArmError(400, "StorageAccountNotFound",
                       f"The storage account '{account_id}' does not exist or is not ready.", target=target)


# -- rendering ----------------------------------------------------------------------------------
def _stages(p: dict[str, Any]) -> list[dict[str, Any]]:
    status = p["status"]
    times: dict[str, str] = p.get("_stageTimes", {})
    path = list(ORDER[:-1])
    if status in ("Cancelled", "Aborted"):
        reached = [s for s in path if s in times]
        return [{"stageName": s, "displayName": STAGE_NAMES.get(s, s), "stageStatus": "Succeeded",
                 "stageTime": times[s]} for s in reached] + [
                {"stageName": status, "displayName": STAGE_NAMES.get(status, status), "stageStatus": "Succeeded",
                 "stageTime": times.get(status)}]
    last = status if status in FINAL else "Completed"
    stages = []
    for s in [*path, last]:
        entry: dict[str, Any] = {"stageName": s, "displayName": STAGE_NAMES.get(s, s)}
        if s == status:
            entry["stageStatus"] = "Succeeded" if s in FINAL else "InProgress"
        elif s in times:
            entry["stageStatus"] = "Succeeded"
        else:
            entry["stageStatus"] = "None"
        if s in times:
            entry["stageTime"] = times[s]
        stages.append(entry)
    return stages


def render_job(app: SandboxState, row: Row, *, expand: bool = True, listing: bool = False,
               api_version: str | None = None) -> dict[str, Any]:
    """The job as GET (or, with `listing`, a list) shows it: flags derived from the status, what
    the service adds, keys never included."""
    body = json_copy(row.body)
    p = body["properties"]
    status = p["status"]
    stored = p.pop("details")
    stage_times = p.pop("_stageTimes", {})
    details = {k: v for k, v in stored.items() if k not in EXPANDED}
    details["importDiskDetailsCollection"] = {
        serial: {k: v for k, v in disk.items() if k != "bitLockerKey"}
        for serial, disk in stored.get("importDiskDetailsCollection", {}).items()}
    # x-ms-secret: a job stored before the account moved to the secret column must not leak it
    details["returnToCustomerPackageDetails"] = {
        k: v for k, v in (stored.get("returnToCustomerPackageDetails") or {}).items() if k != "carrierAccountNumber"}
    details.setdefault("dataExportDetails", [])
    details.setdefault("preferences", json_copy(DEFAULT_PREFERENCES))
    details.setdefault("reverseShippingDetails", {})
    if expand or listing:
        details["copyProgress"] = stored.get("copyProgress", [])
        details["jobStages"] = _stages({"status": status, "_stageTimes": stage_times})
        details["deliveryPackage"] = stored.get("deliveryPackage") or dict(EMPTY_PACKAGE)
        details["returnPackage"] = stored.get("returnPackage") or dict(EMPTY_PACKAGE)
        details["copyLogDetails"] = stored.get("copyLogDetails", [])
        details["actions"] = stored.get("actions", [])
    if listing:  # the list's items (the 2025 recording of a list): a few more of the service's fields
        details["deviceErasureDetails"] = {"deviceErasureStatus": "None"}
        details["reverseShippingDetails"] = {"isUpdated": False, **details["reverseShippingDetails"]}
    p.update({"isCancellable": status in CANCELLABLE, "isCancellableWithoutFee": status in CANCELLABLE,
              "isDeletable": status in FINAL, "isShippingAddressEditable": status in RETURN_EDITABLE,
              "isPrepareToShipEnabled": False, "reverseShippingDetailsUpdate": "NotSupported",
              "reverseTransportPreferenceUpdate": "NotSupported", "allDevicesLost": False,
              "deliveryType": p.get("deliveryType") or "NonScheduled",
              "deliveryInfo": p.get("deliveryInfo") or {"scheduledDateTime": NEVER_SCHEDULED},
              "details": details})
    # the sku's model arrived with the later api-versions (2022-12-01 answers without it, 2025-02-01 with)
    body["sku"] = {"name": SKU, **({"model": SKU} if (api_version or "9999") >= "2025-02-01" else {})}
    return body


def _render(app: SandboxState, row: Row) -> dict[str, Any]:
    return render_job(app, row, expand=False)


def _finalize(app: SandboxState, row: Row, succeeded: bool) -> None:
    """A create settles: the order is placed and waits for the customer's shipment details."""
    if not succeeded:
        app.store.delete(row.id)
        return
    p = row.body["properties"]
    if p["status"] == "DeviceOrdered":
        p["status"] = "AwaitingShipmentDetails"
        p.setdefault("_stageTimes", {})["AwaitingShipmentDetails"] = now_iso()
        app.save(row)


# -- handlers -----------------------------------------------------------------------------------
def _params(req: Request) -> tuple[str, str, str]:
    return req.params["sub"], req.params["rg"], req.params["job"]


def find(app: SandboxState, req: Request) -> Row | None:
    """The job the request names (its pending operation settled first), or None."""
    sub, rg, name = _params(req)
    require_rg(app, sub, rg)
    require_registered(app, sub, NS)
    rid = job_id(sub, rg, name)
    app.settle(rid)
    return app.store.get(rid)


def load(app: SandboxState, req: Request) -> Row:
    row = find(app, req)
    if row is None:
        _, rg, name = _params(req)
        raise not_found(JOB_TYPE, name, rg)
    return row


def put_job(app: SandboxState, req: Request) -> Response:
    sub, rg, name = _params(req)
    require_rg(app, sub, rg)
    require_registered(app, sub, NS)
    if not JOB_NAME.match(name):
        raise _bad(f"The job name '{name}' is invalid: 3 to 24 letters, digits, '-', '_' or '.'.", "jobName")
    rid = job_id(sub, rg, name)
    app.settle(rid)
    existing = app.store.get(rid)
    if existing is not None:
        raise _conflict(f"The job '{name}' already exists in resource group '{rg}' (status "
                        f"'{existing.body['properties']['status']}'). An existing job cannot be changed with "
                        "this API; use the Update job API.")
    body = req.json()
    region = catalog.region_key(body.get("location") or "")
    if region is None:
        raise _bad(f"The location '{body.get('location')}' is not a Data Box location.", "location")
    tags = check_tags(body.get("tags"))
    sku = body.get("sku")
    if not isinstance(sku, dict) or not sku.get("name"):
        raise _bad("sku.name is required.", "sku.name")
    if sku["name"] != SKU:
        raise _bad(f"The sandbox serves only SKU {SKU} (customer disks); '{sku['name']}' is a Microsoft "
                   "device order.", "sku.name")
    p = body.get("properties")
    if not isinstance(p, dict):
        raise _bad("properties is required.", "properties")
    if p.get("transferType") != "ImportToAzure":
        raise _bad(f"transferType '{p.get('transferType')}' is not supported; the sandbox serves ImportToAzure.",
                   "properties.transferType")
    d = p.get("details")
    if not isinstance(d, dict):
        raise _bad("properties.details is required.", "properties.details")
    if d.get("jobDetailsType") != SKU:
        raise _bad(f"details.jobDetailsType must be {SKU}, as the SKU.", "details.jobDetailsType")
    contact = _contact(d.get("contactDetails"))
    address = _shipping_address(d["shippingAddress"]) if d.get("shippingAddress") is not None else None
    imports = _import_details(app, d.get("dataImportDetails"))
    if d.get("dataExportDetails"):
        raise _bad("An import job has no dataExportDetails.", "details.dataExportDetails")
    disks = _disks(d.get("importDiskDetailsCollection"))
    ret, carrier_account = _split_return(_return_package(d.get("returnToCustomerPackageDetails")))
    identity = body.get("identity") or {"type": "None"}
    if not isinstance(identity, dict) or identity.get("type") not in ("None", "SystemAssigned", "UserAssigned"):
        raise _bad("identity.type must be None, SystemAssigned or UserAssigned.", "identity.type")
    stamp = now_iso()
    details = {
        "jobDetailsType": SKU, "contactDetails": contact, "dataImportDetails": imports,
        "importDiskDetailsCollection": {s: {"manifestFile": v["manifestFile"], "manifestHash": v["manifestHash"]}
                                        for s, v in disks.items()},
        "returnToCustomerPackageDetails": ret, "enableManifestBackup": bool(d.get("enableManifestBackup", False)),
        "copyProgress": [], "copyLogDetails": [], "actions": [],
        "keyEncryptionKey": d.get("keyEncryptionKey") or {"kekType": "MicrosoftManaged"},
        "preferences": {**json_copy(DEFAULT_PREFERENCES), **(d.get("preferences") or {})},
        "dataExportDetails": [], "reverseShippingDetails": {},
        "deliveryPackage": dict(EMPTY_PACKAGE), "returnPackage": dict(EMPTY_PACKAGE),
    }
    if address is not None:
        details["shippingAddress"] = address
    out: dict[str, Any] = {
        "id": rid, "name": name, "type": JOB_TYPE, "location": region, "tags": tags or {},
        "sku": {"name": SKU}, "identity": identity,
        "properties": {"transferType": "ImportToAzure", "status": "DeviceOrdered", "startTime": stamp,
                       "deliveryType": "NonScheduled", "deliveryInfo": {"scheduledDateTime": NEVER_SCHEDULED},
                       "details": details, "_stageTimes": {"DeviceOrdered": stamp}},
        "systemData": {"createdBy": "sandbox", "createdByType": "User", "createdAt": stamp,
                       "lastModifiedBy": "sandbox", "lastModifiedByType": "User", "lastModifiedAt": stamp},
    }
    # the keys and the carrier account (both x-ms-secret) live in the secret column, never in the
    # body that GET renders; listCredentials is the one answer that carries them
    secret: dict[str, Any] = {"bitLockerKeys": {s: v["bitLockerKey"] for s, v in disks.items()}}
    if carrier_account is not None:
        secret["carrierAccountNumber"] = carrier_account
    app.store.put(rid, JOB_TYPE, sub, rg, out, secret)
    for entry in imports:  # the service's own lock on each storage account it imports into
        put_service_lock(app, entry["accountDetails"]["storageAccountId"])
    fail = app.faults.take(req.method, req.path, lro=True) is not None
    headers = start_operation(app, req, rid, NS, region, fail=fail, location_only=True,
                              error={"code": "JobCreationFailed",
                                     "message": f"The creation of job {name} failed (injected by the sandbox)."})
    return Response(202, None, headers)


def get_job(app: SandboxState, req: Request) -> Response:
    expand = (req.query.get("$expand") or "").lower()
    if expand not in ("", "details"):
        raise _bad(f"$expand '{req.query.get('$expand')}' is not supported; use 'details'.", "$expand")
    return Response(200, render_job(app, load(app, req), expand=expand == "details", api_version=req.api_version))


def patch_job(app: SandboxState, req: Request) -> Response:
    row = load(app, req)
    p = row.body["properties"]
    status = p["status"]
    body = req.json()
    unknown = set(body) - {"tags", "properties", "identity"}
    if unknown:
        raise _bad(f"Only tags, identity and properties.details can be updated, not {', '.join(sorted(unknown))}.")
    if body.get("properties") is not None and (not isinstance(body["properties"], dict)
                                               or set(body["properties"]) - {"details"}):
        raise _bad("Only properties.details can be updated.", "properties")
    d = (body.get("properties") or {}).get("details") or {}
    not_updatable = set(d) - set(UPDATABLE_DETAILS)
    if not_updatable:
        raise _bad(f"These details cannot be updated: {', '.join(sorted(not_updatable))} (a job's disks and "
                   "storage account are fixed when it is created).", "properties.details")
    if d and status not in RETURN_EDITABLE:
        raise _conflict(f"The job is in status '{status}'; its details can no longer be changed.")
    details = p["details"]
    if "tags" in body:
        row.body["tags"] = check_tags(body["tags"]) or {}
    if body.get("identity") is not None:
        row.body["identity"] = body["identity"]
    if d.get("contactDetails") is not None:
        details["contactDetails"] = _contact(d["contactDetails"], "properties.details.contactDetails")
    if d.get("shippingAddress") is not None:
        details["shippingAddress"] = _shipping_address(d["shippingAddress"], "properties.details.shippingAddress")
    secret = None
    if d.get("returnToCustomerPackageDetails") is not None:
        shown, account = _split_return(_return_package(
            d["returnToCustomerPackageDetails"], "properties.details.returnToCustomerPackageDetails"))
        details["returnToCustomerPackageDetails"] = shown
        secret = dict(row.secret)
        if account is not None:
            secret["carrierAccountNumber"] = account
        else:
            secret.pop("carrierAccountNumber", None)
    for key in ("preferences", "keyEncryptionKey", "reverseShippingDetails"):
        if d.get(key) is not None:
            details[key] = d[key]
    row.body["systemData"]["lastModifiedAt"] = now_iso()
    if secret is None:
        app.save(row)
    else:
        parts = row.id.split("/")
        app.store.put(row.id, JOB_TYPE, parts[2], parts[4], row.body, secret)
    headers = start_operation(app, req, row.id, NS, row.body["location"], location_only=True)
    return Response(202, None, headers)


def mark_shipped(app: SandboxState, req: Request) -> Response:
    row = load(app, req)
    p = row.body["properties"]
    package = req.json().get("deliverToDcPackageDetails")
    if not isinstance(package, dict) or not package.get("carrierName") or not package.get("trackingId"):
        raise _bad("deliverToDcPackageDetails needs carrierName and trackingId.", "deliverToDcPackageDetails")
    status = p["status"]
    if status not in NOT_SHIPPED + ("ShippedToAzureDC",):
        raise _conflict(f"The job is in status '{status}': the datacenter already has the disks (or the job is "
                        "over), so the shipment can no longer be entered.")
    details = p["details"]
    carrier = rewrites.databox_carrier(str(package["carrierName"]))  # "UPS" is answered "Ups"
    details["deliverToDcPackageDetails"] = {"carrierName": carrier, "trackingId": str(package["trackingId"])}
    details["deliveryPackage"] = {"carrierName": carrier, "trackingId": str(package["trackingId"]),
                                  "trackingUrl": ""}
    if status in NOT_SHIPPED:
        p["status"] = "ShippedToAzureDC"
        p.setdefault("_stageTimes", {})["ShippedToAzureDC"] = now_iso()
    app.save(row)
    return Response(204)


def cancel_job(app: SandboxState, req: Request) -> Response:
    row = load(app, req)
    reason = req.json().get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise _bad("reason is required.", "reason")
    p = row.body["properties"]
    if p["status"] not in CANCELLABLE:
        raise _conflict(f"The job is in status '{p['status']}' and cannot be cancelled (isCancellable is false).")
    p["status"] = "Cancelled"
    p["cancellationReason"] = reason
    p.setdefault("_stageTimes", {})["Cancelled"] = now_iso()
    app.save(row)
    return Response(204)


def delete_job(app: SandboxState, req: Request) -> Response:
    row = find(app, req)
    if row is None:
        return Response(204)
    status = row.body["properties"]["status"]
    if status not in FINAL:
        raise _conflict(f"The job is in status '{status}' and cannot be deleted (isDeletable is false): "
                        "cancel it first, or wait until it is completed.")
    app.store.delete(row.id)
    # the polls end with 204 once the job is gone (ops_operations); the storage account's
    # DATABOX_SERVICE lock stays (the 2023 and 2025 recordings list it after the delete)
    headers = start_operation(app, req, row.id, NS, row.body["location"], location_only=True)
    return Response(202, None, headers)


def list_jobs(app: SandboxState, req: Request) -> Response:
    sub, rg = req.params["sub"], req.params.get("rg")
    if rg is not None:
        require_rg(app, sub, rg)
    require_registered(app, sub, NS)
    for row in app.store.list(JOB_TYPE, sub, rg):
        app.settle(row.id)
    items = [render_job(app, r, expand=False, listing=True, api_version=req.api_version)
             for r in app.store.list(JOB_TYPE, sub, rg)]
    return paged(req, items)


def list_credentials(app: SandboxState, req: Request) -> Response:
    row = load(app, req)
    keys = row.secret.get("bitLockerKeys", {})
    secrets: dict[str, Any] = {
        "jobSecretsType": SKU,
        "diskSecrets": [{"diskSerialNumber": s, "bitLockerKey": k} for s, k in sorted(keys.items())]}
    if row.secret.get("carrierAccountNumber") is not None:
        secrets["carrierAccountNumber"] = row.secret["carrierAccountNumber"]
    return Response(200, {"value": [{"jobName": row.body["name"], "jobSecrets": secrets}]})


def list_operations(app: SandboxState, req: Request) -> Response:
    ops = [("Microsoft.DataBox/jobs/read", "List or get the Orders"),
           ("Microsoft.DataBox/jobs/write", "Create or update the Orders"),
           ("Microsoft.DataBox/jobs/delete", "Delete the Orders"),
           ("Microsoft.DataBox/jobs/cancel/action", "Cancels an order in progress."),
           ("Microsoft.DataBox/jobs/markDevicesShipped/action", "Marks the devices shipped"),
           ("Microsoft.DataBox/jobs/listCredentials/action", "Lists the unencrypted credentials related to the order.")]
    return Response(200, {"value": [{"name": n, "isDataAction": False,
                                     "display": {"provider": "Microsoft Data Box", "resource": "Orders",
                                                 "operation": d, "description": d}, "origin": "user"}
                                    for n, d in ops]})


RENDERERS = {JOB_TYPE.lower(): _render}
FINALIZERS = {JOB_TYPE.lower(): _finalize}


def routes() -> list[Route]:
    v = catalog.DATABOX_VERSIONS
    jobs = RG + r"/providers/Microsoft\.DataBox/jobs"
    job = jobs + r"/(?P<job>[^/]+)"
    return [
        route("GET", r"/providers/Microsoft\.DataBox/operations", list_operations, v),
        route("GET", SUB + r"/providers/Microsoft\.DataBox/jobs", list_jobs, v),
        route("GET", jobs, list_jobs, v),
        route("PUT", job, put_job, v),
        route("GET", job, get_job, v),
        route("PATCH", job, patch_job, v),
        route("DELETE", job, delete_job, v),
        route("POST", job + r"/markDevicesShipped", mark_shipped, v),
        route("POST", job + r"/cancel", cancel_job, v),
        route("POST", job + r"/listCredentials", list_credentials, v),
    ]
