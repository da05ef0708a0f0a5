"""The official examples (Azure REST API specs, /work/shared/azure-rest-specs) and the seedctl
spec and context to read them with."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.canned import SUB, CannedAdapter, CannedClients
from seedctl.env import Env
from seedctl.planner import make_context
from seedctl.resources.base import Context
from seedctl.spec import load_spec_text

SPECS = Path(os.environ.get("SEEDCTL_AZURE_REST_SPECS", "/work/shared/azure-rest-specs")) / "specification"
DATABOX = SPECS / "databox/resource-manager/Microsoft.DataBox/stable/2025-07-01"
IMPORTEXPORT = SPECS / "storageimportexport/resource-manager/Microsoft.ImportExport/stable/2016-11-01"
STORAGE = SPECS / "storage/resource-manager/Microsoft.Storage/stable/2023-05-01"
RESOURCES = SPECS / "resources/resource-manager/Microsoft.Resources/stable/2025-04-01"
VAULTS = SPECS / "recoveryservices/resource-manager/Microsoft.RecoveryServices/stable/2024-04-01"

RG = "rg"
JOB = "seed-job"
ACCOUNT = "seedstore"
PROVIDERS = r"/subscriptions/[^/]+/providers/(?P<ns>[^/]+)"
JOB_PATH = {"importexport": rf"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.ImportExport/jobs/{JOB}",
            "databox": rf"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.DataBox/jobs/{JOB}"}


def require_specs() -> None:
    if not SPECS.is_dir():
        pytest.skip(f"the official API descriptions are not at {SPECS} (set SEEDCTL_AZURE_REST_SPECS)")


def example(folder: Path, name: str) -> dict[str, Any]:
    require_specs()
    return json.loads((folder / "examples" / name).read_text())


def response(folder: Path, name: str, status: str = "200") -> Any:
    return copy.deepcopy(example(folder, name)["responses"][status]["body"])


def customer_disk(body: dict[str, Any], *, disks: tuple[str, ...] = ("DISK-01",), spec_name: str = "conformance",
                  carrier_account_number: str | None = None) -> dict[str, Any]:
    """An official Data Box job example made into the customer-disk job seedctl would have created.

    Every official 2025-07-01 example is a Data Box *device* order; the customer-disk fields come
    from the description's own `DataBoxCustomerDiskJobDetails` (disks, return carrier, manifest
    backup). The GET leaves out `carrierAccountNumber` unless asked (x-ms-secret).
    """
    out = copy.deepcopy(body)
    out["name"] = JOB
    out["sku"] = {"name": "DataBoxCustomerDisk"}
    out["tags"] = {**(out.get("tags") or {}), "seedctl-spec": spec_name}
    details = out["properties"].setdefault("details", {})
    details["jobDetailsType"] = "DataBoxCustomerDisk"
    details["importDiskDetailsCollection"] = {s: {"manifestFile": "\\DriveManifest.xml", "manifestHash": "A" * 32}
                                              for s in disks}
    ret = {"carrierName": "FedEx"}
    if carrier_account_number is not None:
        ret["carrierAccountNumber"] = carrier_account_number
    details["returnToCustomerPackageDetails"] = ret
    return out


def spec_text(api: str, *, location: str = "westus", address: dict[str, Any] | None = None,
              drives: tuple[str, ...] = ("DISK-01",), account_number: str = "123456789",
              storage_account: str = ACCOUNT, storage_rg: str = RG, shipment: dict[str, Any] | None = None,
              name: str = "conformance") -> str:
    job: dict[str, Any] = {
        "name": JOB, "api": api,
        "return_address": address or {"recipient": "Test Admin", "street1": "1 Test Way", "city": "Redmond",
                                      "state_or_province": "WA", "postal_code": "98052",
                                      "country_or_region": "US", "phone": "+1 425 555 0100",
                                      "email": "admin@example.com"},
        "return_shipping": {"carrier_name": "FedEx", "carrier_account_number": account_number},
    }
    data: dict[str, Any] = {
        "version": 1, "name": name,
        "azure": {"cloud": "AzureCloud", "subscription_id": SUB, "resource_group": RG, "location": location},
        "vault": {"name": "seed-vault"},
        "storage_account": {"name": storage_account, **({"resource_group": storage_rg} if storage_rg != RG else {})},
        "container": {"name": "seed"},
        "staging": {"path": "./staging"},
        "drives": [{"serial": s, "mount_point": f"./drives/{s}", "capacity": "1GB",
                    "bitlocker": {"key": {"env": f"KEY_{i}"}}} for i, s in enumerate(drives)],
        "import_job": job,
    }
    if shipment:
        data["shipment"] = shipment
    return yaml.safe_dump(data, sort_keys=False)


_SPECS: dict[tuple[str, Path], Any] = {}


def context(adapter: CannedAdapter, text: str, base_dir: Path) -> Context:
    # a spec is only read here, never changed: one load per text (the shape tests make thousands)
    spec = _SPECS.get((text, base_dir))
    if spec is None:
        spec = _SPECS[(text, base_dir)] = load_spec_text(text, "conformance.yaml", base_dir=base_dir)
    clients = CannedClients(adapter)
    return make_context(spec, Env(environ={}), local_state="skip", clients_factory=lambda: clients)


def registered(adapter: CannedAdapter) -> None:
    """Every provider answers Registered (the job reads check registration first)."""
    body = response(RESOURCES, "GetProvider.json")
    body["registrationState"] = "Registered"
    adapter.add("GET", PROVIDERS, body)
