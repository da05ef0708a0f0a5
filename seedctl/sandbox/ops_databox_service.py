"""Microsoft.DataBox's what-if operations, which check an order before it is placed and tell where
the disks go: `validateInputs` (and `validateAddress`) and `regionConfiguration`, at subscription
and resource-group scope. All are POST, synchronous, 200 (databox.json 2025-07-01: Service_*).

From the official description and its examples (ValidateInputs.json, ValidateAddressPost.json,
RegionConfiguration.json), and what they leave open marked "sandbox:":
- validateInputs: `validationCategory` JobCreationValidation; each request item answered in order
  with its `validationType`, a verdict (`status` Valid / Invalid / Skipped; for an address
  `validationStatus` Valid / Invalid / Ambiguous with `alternateAddresses`) and an `error` object
  (code "Success" on a pass, as the example shows); the overall `status` AllValidToProceed,
  InputsRevisitRequired or CertainInputValidationsSkipped.
  sandbox rules: an address is Invalid unless `country` is an ISO 3166-1 alpha-2 code (the
  description asks ISO codes where it says; the recording sent "US") and streetAddress1 is given;
  its alternate address is the address as the service would store it (rewrites.py: street upper
  case, addressType "None", streetAddress3 ""); SKU availability: DataBoxCustomerDisk with
  ImportToAzure in a region the sandbox has a datacenter for, and the country within that
  datacenter's commerce boundary (`COMMERCE_BOUNDARY`; the real westus answer listed ["US"]);
  order limit: fewer active customer-disk jobs in the subscription than the store setting
  `databox_order_limit` (default 50); data transfer details: every storage account exists.
  Ambiguous is never answered.
- regionConfiguration: one section per request section: `datacenterAddressResponse`
  (DatacenterAddressLocation: the sandbox's datacenter for `storageLocation`, with
  `supportedCarriersForReturnShipment`), `transportAvailabilityResponse` (customer-managed shipping
  for customer disks), `scheduleAvailabilityResponse` (the next 21 days, as the example's dates
  run), `deviceCapabilityResponse` (hardware encryption, as the example).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from seedctl.sandbox import catalog, ops_storage, rewrites
from seedctl.sandbox.arm import RG, SUB, ArmError, Request, Response, Route, require_rg, route
from seedctl.sandbox.ops_databox import ACCOUNT_ID_RE, FINAL, JOB_TYPE, NS, SKU
from seedctl.sandbox.ops_resources import require_registered

if TYPE_CHECKING:
    from seedctl.sandbox.state import SandboxState

DEVICE_TYPES = ("DataBox", "DataBoxDisk", "DataBoxHeavy", "DataBoxCustomerDisk")
ISO_ALPHA2 = re.compile(r"^[A-Z]{2}$")
EU = ("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
      "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "NO", "CH")
# sandbox: the countries whose customers may ship to each sandbox datacenter
COMMERCE_BOUNDARY = {"westus": ("US",), "eastus": ("US",), "westeurope": EU, "northeurope": EU,
                     "uksouth": ("GB",), "germanywestcentral": ("DE",), "australiaeast": ("AU",),
                     "japaneast": ("JP",), "centralindia": ("IN",)}
ORDER_LIMIT = 50


def _bad(message: str, target: str | None = None) -> ArmError:
    return ArmError(400, "InvalidParameter", message, target=target)


def _passed(target: str) -> dict[str, Any]:
    return {"code": "Success", "target": target, "details": [], "additionalInfo": []}


def _failed(code: str, message: str, target: str) -> dict[str, Any]:
    return {"code": code, "message": message, "target": target, "details": [], "additionalInfo": []}


def _region(value: Any, target: str) -> str:
    region = catalog.region_key(str(value or ""))
    if region is None:
        raise _bad(f"The location '{value}' is not a Data Box location.", target)
    return region


def _device(item: dict[str, Any], target: str) -> str:
    device = item.get("deviceType")
    if device not in DEVICE_TYPES:
        raise _bad(f"{target}.deviceType must be one of {', '.join(DEVICE_TYPES)}.", f"{target}.deviceType")
    return str(device)


# -- validateInputs -------------------------------------------------------------------------------
def check_address(address: Any, target: str) -> dict[str, Any]:
    """A ValidateAddress verdict (AddressValidationProperties)."""
    if not isinstance(address, dict):
        raise _bad(f"{target}.shippingAddress is required.", f"{target}.shippingAddress")
    country = str(address.get("country") or "")
    stored = {"streetAddress1": rewrites.databox_street(str(address.get("streetAddress1") or "")),
              "streetAddress2": rewrites.spacing(str(address.get("streetAddress2") or "")), "streetAddress3": "",
              "city": rewrites.spacing(str(address.get("city") or "")),
              "stateOrProvince": str(address.get("stateOrProvince") or ""), "country": country,
              "postalCode": str(address.get("postalCode") or ""), "addressType": "None"}
    if not stored["streetAddress1"]:
        verdict, error = "Invalid", _failed("InvalidAddress", "streetAddress1 is required.", "ShippingAddress")
    elif not ISO_ALPHA2.match(country):
        verdict, error = "Invalid", _failed(
            "InvalidCountry", f"The country '{country}' is not an ISO 3166-1 alpha-2 country code (such as US).",
            "ShippingAddress.country")
    else:
        verdict, error = "Valid", _passed("ShippingAddress")
    return {"validationType": "ValidateAddress", "validationStatus": verdict,
            "alternateAddresses": [stored] if verdict == "Valid" else [], "error": error}


def _sku_availability(item: dict[str, Any], target: str) -> dict[str, Any]:
    device = _device(item, target)
    region = _region(item.get("location"), f"{target}.location")
    country = str(item.get("country") or "")
    if item.get("transferType") not in ("ImportToAzure", "ExportFromAzure"):
        raise _bad(f"{target}.transferType must be ImportToAzure or ExportFromAzure.", f"{target}.transferType")
    dc_region = catalog.shipping_datacenter(region)
    if device != SKU or item["transferType"] != "ImportToAzure":
        error = _failed("SkuNotAvailable", f"The sandbox serves only {SKU} with ImportToAzure.", "Sku")
    elif country not in COMMERCE_BOUNDARY.get(dc_region, ()):
        error = _failed("CountryNotSupported", f"{SKU} orders from country '{country}' cannot ship to the datacenter "
                        f"of {region} ({', '.join(COMMERCE_BOUNDARY.get(dc_region, ()))} only).", "Country")
    else:
        error = _passed("Sku")
    return {"validationType": "ValidateSkuAvailability",
            "status": "Valid" if error["code"] == "Success" else "Invalid", "error": error}


def _order_limit(app: SandboxState, sub: str, item: dict[str, Any], target: str) -> dict[str, Any]:
    device = _device(item, target)
    limit = int(app.store.setting("databox_order_limit", ORDER_LIMIT))
    active = [r for r in app.store.list(JOB_TYPE, sub) if r.body["properties"]["status"] not in FINAL]
    if device == SKU and len(active) >= limit:
        error = _failed("OrderLimitExceeded", f"The subscription has {len(active)} active {SKU} orders; the limit "
                        f"is {limit}.", "Subscription")
    else:
        error = _passed("Subscription")
    return {"validationType": "ValidateCreateOrderLimit",
            "status": "Valid" if error["code"] == "Success" else "Invalid", "error": error}


def _transfer_details(app: SandboxState, item: dict[str, Any], target: str) -> dict[str, Any]:
    _device(item, target)
    missing = []
    for entry in item.get("dataImportDetails") or []:
        account_id = ((entry or {}).get("accountDetails") or {}).get("storageAccountId")
        m = ACCOUNT_ID_RE.match(account_id) if isinstance(account_id, str) else None
        row = app.store.get(ops_storage.account_id(m["sub"], m["rg"], m["name"])) if m else None
        if row is None:
            missing.append(str(account_id))
    error = (_failed("StorageAccountNotFound", f"Storage account(s) not found: {', '.join(missing)}.", "DataImportDetails")
             if missing else _passed("DataImportDetails"))
    return {"validationType": "ValidateDataTransferDetails", "status": "Invalid" if missing else "Valid",
            "error": error}


def _scoped(app: SandboxState, req: Request) -> str:
    """The subscription of a what-if call at subscription or group scope, checked as ARM checks it."""
    sub = req.params["sub"]
    if req.params.get("rg"):
        require_rg(app, sub, req.params["rg"])
    require_registered(app, sub, NS)
    _region(req.params["location"], "location")
    return sub


def validate_inputs(app: SandboxState, req: Request) -> Response:
    sub = _scoped(app, req)
    body = req.json()
    if body.get("validationCategory") != "JobCreationValidation":
        raise _bad("validationCategory must be JobCreationValidation.", "validationCategory")
    items = body.get("individualRequestDetails")
    if not isinstance(items, list) or not items:
        raise _bad("individualRequestDetails needs at least one validation.", "individualRequestDetails")
    answers = []
    for i, item in enumerate(items):
        t = f"individualRequestDetails[{i}]"
        kind = item.get("validationType") if isinstance(item, dict) else None
        if kind == "ValidateAddress":
            _device(item, t)
            answers.append(check_address(item.get("shippingAddress"), t))
        elif kind == "ValidateSkuAvailability":
            answers.append(_sku_availability(item, t))
        elif kind == "ValidateCreateOrderLimit":
            answers.append(_order_limit(app, sub, item, t))
        elif kind == "ValidateDataTransferDetails":
            answers.append(_transfer_details(app, item, t))
        elif kind in ("ValidateSubscriptionIsAllowedToCreateJob", "ValidatePreferences"):
            answers.append({"validationType": kind, "status": "Valid", "error": _passed("Subscription")})
        else:
            raise _bad(f"{t}.validationType '{kind}' is not a validation type.", f"{t}.validationType")
    verdicts = [a.get("status") or a.get("validationStatus") for a in answers]
    overall = ("InputsRevisitRequired" if any(v in ("Invalid", "Ambiguous") for v in verdicts)
               else "CertainInputValidationsSkipped" if "Skipped" in verdicts else "AllValidToProceed")
    return Response(200, {"properties": {"status": overall, "individualResponseDetails": answers}})


def validate_address(app: SandboxState, req: Request) -> Response:
    require_registered(app, req.params["sub"], NS)
    body = req.json()
    _device(body, "validateAddress")
    return Response(200, {"properties": check_address(body.get("shippingAddress"), "validateAddress")})


# -- regionConfiguration ------------------------------------------------------------------------
def datacenter_address(region: str) -> dict[str, Any]:
    """A DatacenterAddressLocationResponse for the sandbox's datacenter serving `region`."""
    dc_region = catalog.shipping_datacenter(region)
    dc = catalog.DATACENTERS[dc_region]
    return {"datacenterAddressType": "DatacenterAddressLocation",
            "contactPersonName": "Microsoft Azure Data Box Disk Import", "company": "Microsoft",
            "street1": dc["streetAddress1"], "street2": dc.get("streetAddress2", ""), "street3": "",
            "city": dc["city"], "state": dc["stateOrProvince"], "zip": dc["postalCode"],
            "country": dc["countryOrRegion"], "phone": dc["phone"], "phoneExtension": "",
            "addressType": "Commercial", "additionalShippingInformation": dc.get("additionalShippingInformation", ""),
            "supportedCarriersForReturnShipment": list(dc["supportedCarriers"]), "dataCenterAzureLocation": dc_region}


def region_configuration(app: SandboxState, req: Request) -> Response:
    _scoped(app, req)
    body = req.json()
    out: dict[str, Any] = {}
    address = body.get("datacenterAddressRequest")
    if address is not None:
        if not isinstance(address, dict) or address.get("skuName") not in DEVICE_TYPES:
            raise _bad("datacenterAddressRequest needs storageLocation and skuName.", "datacenterAddressRequest")
        out["datacenterAddressResponse"] = datacenter_address(_region(address.get("storageLocation"),
                                                                      "datacenterAddressRequest.storageLocation"))
    transport = body.get("transportAvailabilityRequest")
    if transport is not None:
        kinds = ["CustomerManaged"] if (transport or {}).get("skuName") == SKU else ["CustomerManaged", "MicrosoftManaged"]
        out["transportAvailabilityResponse"] = {"transportAvailabilityDetails": [{"shipmentType": k} for k in kinds]}
    schedule = body.get("scheduleAvailabilityRequest")
    if schedule is not None:
        _region((schedule or {}).get("storageLocation"), "scheduleAvailabilityRequest.storageLocation")
        today = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        out["scheduleAvailabilityResponse"] = {"availableDates": [
            (today + dt.timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%S+00:00") for n in range(1, 22)]}
    if body.get("deviceCapabilityRequest") is not None:
        out["deviceCapabilityResponse"] = {"deviceCapabilityDetails": [{"hardwareEncryption": "Enabled"}]}
    return Response(200, out)


def routes() -> list[Route]:
    from seedctl.sandbox.catalog import DATABOX_VERSIONS as v

    at = r"/providers/Microsoft\.DataBox/locations/(?P<location>[^/]+)"
    return [
        route("POST", SUB + at + r"/validateInputs", validate_inputs, v),
        route("POST", RG + at + r"/validateInputs", validate_inputs, v),
        route("POST", SUB + at + r"/validateAddress", validate_address, v),
        route("POST", SUB + at + r"/regionConfiguration", region_configuration, v),
        route("POST", RG + at + r"/regionConfiguration", region_configuration, v),
    ]
