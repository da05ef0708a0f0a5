"""Every official example response of every operation seedctl reads (issue 14, "conformance" and
"shape tolerance"), fed through the real SDK clients (canned transport) and seedctl's own read
path:

- as published, it parses into a sensible observation;
- made into the object seedctl would have created from the conformance spec (its tags, names and
  the spec's address written in; nothing else touched), the plan is "no changes";
- then with each optional field removed in turn (optional per the description's `required`
  lists), and each enum value and location in other letter cases (ARM compares those without
  regard to case): nothing raises, and the plan stays "no changes" — except where the removed
  field is one seedctl wrote or acts on (DECISIVE), for which only "nothing raises" holds. A field
  the description marks `x-ms-secret` is never decisive: a GET may leave it out.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from conformance.canned import SUB, CannedAdapter
from conformance.examples import (
    ACCOUNT,
    DATABOX,
    IMPORTEXPORT,
    JOB,
    JOB_PATH,
    RESOURCES,
    RG,
    SPECS,
    STORAGE,
    VAULTS,
    context,
    customer_disk,
    registered,
    require_specs,
    spec_text,
)
from conformance.schema_walk import Field, fields, load, replaced, response_schema, without
from seedctl.graph import build_nodes
from seedctl.lifecycle.status import build_report, render_text
from seedctl.plan import NOOP
from seedctl.resources.jobs import backend_for
from seedctl.resources.jobs import base as phases

ACCOUNT_ID = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Storage/storageAccounts/{ACCOUNT}"
ADDRESS = {"recipient": "Test Admin", "street1": "1 Test Way", "city": "Redmond", "state_or_province": "WA",
           "postal_code": "98052", "country_or_region": "US", "phone": "+1 425 555 0100", "email": "admin@example.com"}
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
RESOURCES_DESC = SPECS / "resources/resource-manager/Microsoft.Resources/resources/stable/2025-04-01/resources.json"


@dataclass
class Operation:
    """One operation seedctl calls, how its answer is routed, read and made seedctl's own."""

    name: str
    description: Path
    operation_id: str
    route: Callable[[CannedAdapter, Any], None]
    read: Callable[[Any], Any]  # ctx -> (observation, plan change or None)
    sensible: Callable[[Any, Any], None]  # (observation, example body) -> asserts
    own: Callable[[Any], Any] | None = None  # example body -> what seedctl would have created
    decisive: tuple[tuple[str, ...], ...] = ()  # path prefixes ("*" = any key/index)
    spec: dict[str, Any] = field(default_factory=dict)
    status: str = "200"

    def examples(self) -> list[tuple[str, Any]]:
        require_specs()
        _, _, refs = response_schema(self.description, self.operation_id, self.status)
        out = []
        for ref in refs:
            for folder in (self.description.parent, RESOURCES):
                path = (folder / ref).resolve()
                if path.is_file():
                    out.append((path.name, copy.deepcopy(load(path)["responses"][self.status]["body"])))
                    break
        return out


def node_of(ctx: Any, kind: str) -> Any:
    return next(n for n in build_nodes(ctx.spec) if n.kind == kind)


def read_node(kind: str, upstream: dict[str, Any] | None = None) -> Callable[[Any], Any]:
    def read(ctx: Any) -> Any:
        ctx.observations.update(upstream or {})
        node = node_of(ctx, kind)
        observed = node.read(ctx)
        ctx.observations[node.address] = observed
        return observed, node.diff(node.desired(ctx), observed)
    return read


def route(method: str, path: str) -> Callable[[CannedAdapter, Any], None]:
    return lambda adapter, body: adapter.add(method, path, body)


def _tags(body: dict[str, Any], **tags: str) -> dict[str, Any]:
    body["tags"] = {**(body.get("tags") or {}), **tags}
    return body


# -- what seedctl would have created ----------------------------------------------------------------
def own_provider(body: dict[str, Any]) -> dict[str, Any]:
    body["registrationState"] = "Registered"  # the state after apply
    return body


def own_group(body: dict[str, Any]) -> dict[str, Any]:
    body["location"] = "westus"
    return _tags(body, **{"seedctl-spec": "conformance", "seedctl-applied": "{}"})


def own_account(body: dict[str, Any]) -> dict[str, Any]:
    body["location"], body["kind"], body["sku"] = "westus", "StorageV2", {"name": "Standard_LRS", "tier": "Standard"}
    return body


def own_classic_job(body: dict[str, Any]) -> dict[str, Any]:
    body["name"] = JOB
    body["location"] = "West US"
    _tags(body, **{"seedctl-spec": "conformance"})
    p = body["properties"]
    p["storageAccountId"] = ACCOUNT_ID
    p["returnAddress"] = {"recipientName": ADDRESS["recipient"], "streetAddress1": ADDRESS["street1"],
                          "city": ADDRESS["city"], "stateOrProvince": ADDRESS["state_or_province"],
                          "postalCode": ADDRESS["postal_code"], "countryOrRegion": ADDRESS["country_or_region"],
                          "phone": ADDRESS["phone"], "email": ADDRESS["email"]}
    p["returnShipping"] = {"carrierName": "FedEx", "carrierAccountNumber": "123456789"}
    p["logLevel"], p["backupDriveManifest"] = "Error", False
    p["jobType"] = "Import"
    for drive in p.get("driveList") or []:
        drive["driveId"] = "DISK-01"
    if not p.get("driveList"):
        p["driveList"] = [{"driveId": "DISK-01", "manifestFile": "\\DriveManifest.xml", "manifestHash": "A" * 32}]
    return body


def own_databox_job(body: dict[str, Any]) -> dict[str, Any]:
    body = customer_disk(body, carrier_account_number="123456789")  # echoed here; its removal is tested
    details = body["properties"]["details"]
    details["contactDetails"] = {**details.get("contactDetails", {}), "contactName": ADDRESS["recipient"],
                                 "phone": ADDRESS["phone"], "emailList": [ADDRESS["email"]]}
    details["shippingAddress"] = {"streetAddress1": ADDRESS["street1"], "city": ADDRESS["city"],
                                  "stateOrProvince": ADDRESS["state_or_province"], "postalCode": ADDRESS["postal_code"],
                                  "country": ADDRESS["country_or_region"], "addressType": "Commercial"}
    details["dataImportDetails"] = [{"accountDetails": {"dataAccountType": "StorageAccount",
                                                        "storageAccountId": ACCOUNT_ID}}]
    details.pop("dataExportDetails", None)
    body["properties"]["transferType"] = "ImportToAzure"
    return body


# -- sensible observations -------------------------------------------------------------------------
def sensible_job(observed: Any, body: dict[str, Any]) -> None:
    assert isinstance(observed, dict) and observed["phase"] in phases.PHASES
    state = body["properties"].get("state") or body["properties"].get("status")
    assert observed["state"] == (state or observed["state"])
    assert observed["location"] == body["location"] and observed["id"] == body["id"]
    assert isinstance(observed["drives"], list) and isinstance(observed["tags"], dict)
    for d in observed["drives"]:
        assert d["state"] in phases.DRIVE_STATES, d


def sensible_located(observed: Any, body: dict[str, Any]) -> None:
    assert isinstance(observed, dict)
    assert observed["location"] == body["location"].replace(" ", "").lower()
    assert observed["tags"] == (body.get("tags") or {})


OPERATIONS = [
    Operation("provider", RESOURCES_DESC, "Providers_Get", route("GET", r"/subscriptions/[^/]+/providers/[^/]+"),
              read_node("provider"),
              lambda o, b: o == {"registration_state": b["registrationState"]} or pytest.fail(str(o)),
              own_provider, decisive=(("registrationState",),)),
    # ResourceGroups_Get has no official example; the create example answers the same ResourceGroup
    Operation("resource_group", RESOURCES_DESC, "ResourceGroups_CreateOrUpdate",
              route("GET", r"/subscriptions/[^/]+/resourcegroups/[^/]+"), read_node("resource_group"),
              sensible_located, own_group, decisive=(("location",), ("tags",), ("tags", "*"))),
    Operation("vault", VAULTS / "vaults.json", "Vaults_Get",
              route("GET", r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.RecoveryServices/vaults/[^/]+"),
              read_node("vault"), sensible_located, lambda b: b, decisive=(("location",),)),
    Operation("storage_account", STORAGE / "storage.json", "StorageAccounts_GetProperties",
              route("GET", r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.Storage/storageAccounts/[^/]+"),
              read_node("storage_account"),
              lambda o, b: (sensible_located(o, b), o["kind"] == b["kind"] or pytest.fail(str(o))),
              own_account, decisive=(("location",), ("kind",), ("sku",), ("sku", "name"), ("tags",), ("tags", "*"))),
    Operation("container", STORAGE / "blob.json", "BlobContainers_Get",
              route("GET", r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.Storage/storageAccounts/"
                           r"[^/]+/blobServices/default/containers/[^/]+"),
              read_node("container", {f'storage_account["{ACCOUNT}"]': {"kind": "StorageV2"}}),
              lambda o, b: o == {"metadata": b["properties"].get("metadata") or {}} or pytest.fail(str(o)),
              lambda b: b),
    Operation("importexport job", IMPORTEXPORT / "storageimportexport.json", "Jobs_Get",
              lambda a, b: (registered(a), a.add("GET", JOB_PATH["importexport"], b)),
              read_node("import_job"), sensible_job, own_classic_job,
              decisive=(("name",), ("location",), ("tags",), ("tags", "*"), ("properties", "storageAccountId"),
                        ("properties", "returnAddress"), ("properties", "returnAddress", "*"),
                        ("properties", "returnShipping"), ("properties", "returnShipping", "*"),
                        ("properties", "driveList"), ("properties", "driveList", "*"),
                        ("properties", "driveList", "*", "driveId"),
                        # the job's state decides what may change (a cancelled job cannot be reused)
                        ("properties", "cancelRequested"), ("properties", "state")),
              spec={"api": "importexport"}),
    Operation("databox job", DATABOX / "databox.json", "Jobs_Get",
              lambda a, b: (registered(a), a.add("GET", JOB_PATH["databox"], b)),
              read_node("import_job"), sensible_job, own_databox_job,
              decisive=(("name",), ("location",), ("tags",), ("tags", "*"), ("properties", "details"),
                        ("properties", "details", "jobDetailsType"),
                        ("properties", "details", "contactDetails"),
                        ("properties", "details", "contactDetails", "*"),
                        ("properties", "details", "shippingAddress"),
                        ("properties", "details", "shippingAddress", "*"),
                        ("properties", "details", "dataImportDetails"),
                        ("properties", "details", "dataImportDetails", "*"),
                        ("properties", "details", "dataImportDetails", "*", "*"),
                        ("properties", "details", "dataImportDetails", "*", "*", "*"),
                        ("properties", "details", "importDiskDetailsCollection"),
                        ("properties", "details", "importDiskDetailsCollection", "*"),
                        ("properties", "details", "returnToCustomerPackageDetails"),
                        ("properties", "details", "returnToCustomerPackageDetails", "carrierName"),
                        # the job's state decides what may change (a cancelled job cannot be reused)
                        ("properties", "status")),
              spec={"api": "databox"}),
]


def _decisive(op: Operation, f: Field) -> bool:
    if f.secret:
        return False
    # a decisive field, or one that holds a decisive field (removing it removes them too)
    return any(len(p) >= len(f.path) and all(a in ("*", b) for a, b in zip(p, f.path, strict=False))
               for p in op.decisive)


def _cases() -> Iterator[Any]:
    for op in OPERATIONS:
        yield pytest.param(op, id=op.name)


def _plan(op: Operation, body: Any, tmp_path: Path) -> tuple[Any, Any]:
    adapter = CannedAdapter()
    op.route(adapter, body)
    ctx = context(adapter, spec_text(op.spec.get("api", "importexport"), address=ADDRESS), tmp_path)
    observed, change = op.read(ctx)
    if op.spec.get("api") and isinstance(observed, dict) and "phase" in observed:
        # status reads the same observation: it must render whatever the service answered
        report = build_report(ctx.spec, observed, NOW)
        render_text(report)
        json.dumps(report.to_json())
    return observed, change


def _summary(change: Any) -> Any:
    return change.action, change.errors, [(a.name, a.before, a.after) for a in change.attributes]


@pytest.mark.parametrize("op", list(_cases()))
def test_every_official_example_reads_into_a_sensible_observation(op: Operation, tmp_path: Path) -> None:
    examples = op.examples()
    assert examples, f"no official example found for {op.operation_id}"
    for name, body in examples:
        observed, change = _plan(op, body, tmp_path)
        op.sensible(observed, body)
        assert change is not None, name


@pytest.mark.parametrize("op", list(_cases()))
def test_shape_tolerance_plan_after_apply_stays_no_changes(op: Operation, tmp_path: Path) -> None:
    file, schema, _ = response_schema(op.description, op.operation_id, op.status)
    checked = 0
    for name, example in op.examples():
        body = op.own(example) if op.own else example
        _, change = _plan(op, body, tmp_path)
        baseline = _summary(change)
        # no changes after apply; a job the example shows cancelled is rightly refused for reuse
        assert change.action == NOOP or "was cancelled" in " ".join(change.errors), (name, baseline)
        for f in fields(file, schema, body):
            if f.required and not f.secret:
                continue
            variant = without(body, f.path)
            _, change = _plan(op, variant, tmp_path)  # nothing raises
            checked += 1
            if not _decisive(op, f):
                assert _summary(change) == baseline, (name, "without", f.path, _summary(change))
        for f in fields(file, schema, body):
            value = _at(body, f.path)
            # enum values, locations and resource ids: ARM compares them without regard to case
            if isinstance(value, str) and (f.schema.get("enum") or f.path[-1] == "location"
                                           or value.lower().startswith("/subscriptions/")):
                for other in {value.lower(), value.upper()} - {value}:
                    _, change = _plan(op, replaced(body, f.path, other), tmp_path)
                    checked += 1
                    assert _summary(change) == baseline, (name, f.path, other, _summary(change))
    assert checked, "no variants were tried"


def _at(body: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        body = body[part]
    return body


# -- the other reads: lists, datacenter addresses, keys, name availability --------------------------
def test_job_lists_read_every_official_example(tmp_path: Path) -> None:
    for api, folder, op_id in (("importexport", IMPORTEXPORT / "storageimportexport.json", "Jobs_ListByResourceGroup"),
                               ("databox", DATABOX / "databox.json", "Jobs_ListByResourceGroup")):
        for name, body in Operation(api, folder, op_id, route("GET", ""), read_node("import_job"),
                                    sensible_job).examples():
            adapter = CannedAdapter()
            registered(adapter)
            adapter.add("GET", JOB_PATH[api].rsplit("/", 1)[0], body)
            ctx = context(adapter, spec_text(api), tmp_path)
            jobs = backend_for(api).list_jobs(ctx, RG)
            if api == "importexport":
                assert [j["name"] for j in jobs] == [j["name"] for j in body["value"]], name
                for job, raw in zip(jobs, body["value"], strict=True):
                    sensible_job(job, raw)
            else:
                # the official examples are Data Box device orders: not customer-disk jobs, not listed
                assert jobs == [], name
                # the same list made of customer-disk jobs is read in full (details come with a GET each)
                own = {"value": [customer_disk(j) | {"name": f"{JOB}{i}"} for i, j in enumerate(body["value"])]}
                adapter.add("GET", JOB_PATH[api].rsplit("/", 1)[0], own)
                for i, j in enumerate(own["value"]):
                    adapter.add("GET", JOB_PATH[api].rsplit("/", 1)[0] + f"/{JOB}{i}", j)
                jobs = backend_for(api).list_jobs(ctx, RG)
                assert [j["name"] for j in jobs] == [j["name"] for j in own["value"]], name
                assert all(j["drives"][0]["drive_id"] == "DISK-01" for j in jobs)


def test_datacenter_address_reads_the_official_location(tmp_path: Path) -> None:
    body = load(IMPORTEXPORT / "examples/GetLocation.json")["responses"]["200"]["body"]
    adapter = CannedAdapter()
    adapter.add("GET", r"/providers/Microsoft.ImportExport/locations/[^/]+", body)
    ctx = context(adapter, spec_text("importexport"), tmp_path)
    address = backend_for("importexport").shipping_address(ctx, "West US")
    assert address["city"] == "Santa Clara" and address["supported_carriers"] == ["FedEx"]
    assert adapter.seen[-1][1].split("?")[0].endswith("/locations/westus")


ACCOUNT_PATH = r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.Storage/storageAccounts/[^/]+"
LIST_KEYS = ACCOUNT_PATH + "/listKeys"
NO_DATA_ROLE = (b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthorizationPermissionMismatch</Code>'
                b"<Message>This request is not authorized to perform this operation using this permission.\n"
                b"RequestId:0\nTime:2025-01-01T00:00:00.0000000Z</Message></Error>")
NO_BLOBS = (b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint='
            b'"https://sto8596.blob.core.windows.net/" ContainerName="seed"><MaxResults>1</MaxResults><Blobs />'
            b"<NextMarker /></EnumerationResults>")


def _account(adapter: CannedAdapter, **properties: Any) -> None:
    """The official StorageAccountGetProperties answer (allowSharedKeyAccess unset, as there)."""
    body = load(STORAGE / "examples/StorageAccountGetProperties.json")["responses"]["200"]["body"]
    body["properties"].update(properties)
    adapter.add("GET", ACCOUNT_PATH, body)


def _entra_probe(adapter: CannedAdapter, allowed: bool) -> None:
    """The one blob listing seedctl tries with Entra ID: allowed, or no data role (403)."""
    if allowed:
        adapter.add("GET", r"/seed", NO_BLOBS)
    else:
        adapter.add("GET", r"/seed", NO_DATA_ROLE, status=403, **{"x-ms-error-code": "AuthorizationPermissionMismatch"})


def test_storage_keys_and_name_availability(tmp_path: Path) -> None:
    keys = load(STORAGE / "examples/StorageAccountListKeys.json")["responses"]["200"]["body"]
    available = load(STORAGE / "examples/StorageAccountCheckNameAvailability.json")["responses"]["200"]["body"]
    adapter = CannedAdapter()
    adapter.add("POST", LIST_KEYS, keys)
    adapter.add("POST", r"/subscriptions/[^/]+/providers/Microsoft.Storage/checkNameAvailability", available)
    text = spec_text("importexport").replace("name: seedstore", "name: seedstore\n  create: true")
    ctx = context(adapter, text, tmp_path)
    observed, change = read_node("storage_account")(ctx)
    assert observed is None and change.action == "create"  # 404 + the name is available
    taken = {"nameAvailable": False, "reason": "AlreadyExists", "message": "taken"}
    adapter.add("POST", r"/subscriptions/[^/]+/providers/Microsoft.Storage/checkNameAvailability", taken)
    observed, change = read_node("storage_account")(context(adapter, text, tmp_path))
    assert observed["name_taken"] and change.action == "error"


def test_blob_access_prefers_entra_id(tmp_path: Path) -> None:
    """Issue 24: Entra ID first; listKeys is never called when the identity has data access."""
    adapter = CannedAdapter()
    _account(adapter)
    _entra_probe(adapter, allowed=True)
    ctx = context(adapter, spec_text("importexport"), tmp_path)
    access = ctx.clients.blob_access(ACCOUNT, RG, probe_container="seed")
    assert access.method == "Entra ID" and getattr(access.client.credential, "account_name", None) is None
    assert access.client.url.startswith("https://sto8596.blob.core.windows.net")  # the account's own endpoint
    assert not [u for m, u in adapter.seen if "listKeys" in u]


def test_blob_access_falls_back_to_the_key_without_a_data_role(tmp_path: Path) -> None:
    keys = load(STORAGE / "examples/StorageAccountListKeys.json")["responses"]["200"]["body"]
    adapter = CannedAdapter()
    _account(adapter)
    _entra_probe(adapter, allowed=False)
    adapter.add("POST", LIST_KEYS, keys)
    ctx = context(adapter, spec_text("importexport"), tmp_path)
    access = ctx.clients.blob_access(ACCOUNT, RG, probe_container="seed")
    assert access.method == "account key" and access.client.credential.account_name == ACCOUNT


def test_blob_access_never_uses_a_key_the_account_refuses(tmp_path: Path) -> None:
    """allowSharedKeyAccess false: listKeys still answers on the real service, and a key would be
    refused with KeyBasedAuthenticationNotPermitted; Entra ID is the only way in."""
    keys = load(STORAGE / "examples/StorageAccountListKeys.json")["responses"]["200"]["body"]
    adapter = CannedAdapter()
    _account(adapter, allowSharedKeyAccess=False)
    _entra_probe(adapter, allowed=False)
    adapter.add("POST", LIST_KEYS, keys)
    ctx = context(adapter, spec_text("importexport"), tmp_path)
    access = ctx.clients.blob_access(ACCOUNT, RG, probe_container="seed")
    assert access.method == "Entra ID"
    assert not [u for m, u in adapter.seen if "listKeys" in u or u.split("?")[0].endswith("/seed")]


@pytest.mark.parametrize("answer", [{}, {"keys": []}, {"keys": [{"keyName": "key1", "permissions": "FULL"}]}])
def test_list_keys_without_a_key_value_falls_back_to_the_identity(tmp_path: Path, answer: dict) -> None:
    # `keys` and each key's `value` are optional in the description: a real answer without them must
    # not crash verify; the signed-in identity's data-plane role is used instead.
    adapter = CannedAdapter()
    _account(adapter)
    _entra_probe(adapter, allowed=False)
    adapter.add("POST", LIST_KEYS, answer)
    ctx = context(adapter, spec_text("importexport"), tmp_path)
    service = ctx.clients.blob_service(ACCOUNT, RG, probe_container="seed")
    assert getattr(service.credential, "account_name", None) is None
