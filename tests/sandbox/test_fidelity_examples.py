"""Every official example REQUEST for the operations seedctl calls is accepted by the sandbox, once
the example's ids are replaced by this test's (subscription, resource group, account, job); and
every answer validates against the operation's response schema in the same description, with no
x-ms-secret property in it (issue 14, "What to build").

An example is replayed as the description defines its operation: the path template of the
operation that lists the example in `x-ms-examples`, the path and query values and the body from
the example's `parameters`. Examples are replayed in a life-cycle order (create, read, list,
update, actions, delete), each in a fresh subscription.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from official import (
    BLOB,
    DATABOX,
    IE2016,
    IE2021,
    RESOURCES,
    STORAGE,
    VAULTS,
    available,
    document,
    example,
    secrets_in,
    validate,
)

pytestmark = pytest.mark.skipif(not available(), reason="official REST descriptions not found")

METHODS = ("get", "put", "post", "patch", "delete", "head")
ACCOUNT_ID = re.compile(r"/subscriptions/[^/\"]+/resourceGroups/[^/\"]+/providers/Microsoft\.(?:Classic)?Storage/"
                        r"storageAccounts/[^/\"]+", re.IGNORECASE)


def operation(file: str, name: str) -> tuple[str, str, dict[str, Any]]:
    """(method, path template, operation) of the operation that lists example `name`."""
    for path, item in document(file)["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op and any(ex["$ref"].endswith(f"/{name}.json") for ex in op.get("x-ms-examples", {}).values()):
                return method.upper(), path, op
    raise AssertionError(f"no operation of {file} lists the example {name}")


def _schema_name(file: str, op: dict[str, Any], status: int) -> str | None:
    response = op["responses"].get(str(status)) or {}
    ref = (response.get("schema") or {}).get("$ref", "")
    return ref.split("/")[-1] if ref.startswith("#/definitions/") else None


class Replayer:
    def __init__(self, clients: Any, ids: dict[str, str], account_id: str | None = None) -> None:
        self.clients, self.ids, self.account_id = clients, ids, account_id

    def replay(self, file: str, name: str, *, expect: tuple[int, ...] | None = None, secrets: bool = False) -> Any:
        method, template, op = operation(file, name)
        ex = example(file, name)
        params = dict(ex["parameters"])
        values = {k: self.ids.get(k, v) for k, v in params.items() if isinstance(v, str)}
        path = re.sub(r"\{([^}]+)\}", lambda m: values[m.group(1)], template)
        query = {k: v for k, v in values.items() if k == "api-version" or k.startswith("$")}
        body = next((v for k, v in params.items() if isinstance(v, dict)), None)
        if body is not None and self.account_id:
            body = json.loads(ACCOUNT_ID.sub(self.account_id, json.dumps(body)))
        url = f"{self.clients.base}{path}?" + "&".join(f"{k}={v}" for k, v in query.items())
        r = self.clients.http.request(method, url, json=body)
        allowed = expect or tuple(int(s) for s in ex["responses"] if s.isdigit())
        assert r.status_code in allowed and r.status_code < 400, (name, method, path, r.status_code, r.text[:500])
        if r.content:
            answer = r.json()
            schema = _schema_name(file, op, r.status_code)
            if schema:
                validate(answer, file, schema)
            if schema and not secrets:  # a credentials answer is where secrets belong
                assert secrets_in(answer, file, schema) == [], (name, secrets_in(answer, file, schema))
            return answer
        return None


def _world(clients: Any, *namespaces: str) -> tuple[str, str]:
    clients.make_rg()
    for ns in namespaces:
        clients.register(ns)
    account = clients.make_account(clients.name("ex"))
    return account.name, account.id


@pytest.mark.parametrize("file", [IE2016, IE2021])
def test_import_export_examples(clients, file):
    account, account_id = _world(clients, "Microsoft.ImportExport")
    ids = {"subscriptionId": clients.sub, "resourceGroupName": "rg1", "jobName": "exjob"}
    r = Replayer(clients, ids, account_id)
    created = r.replay(file, "CreateJob")
    assert created["properties"]["driveList"][0]["manifestHash"] == \
        "4228EC5D8E048CB9B515338C789314BE8D0B2FDBC7C7A0308E1C826242CDE74E"  # 64 hex digits, accepted
    for name in ("GetJob", "ListJobsInResourceGroup", "ListJobsInSubscription", "UpdateJob",
                 "ListBitLockerKeys", "GetLocation", "ListLocations", "ListOperations", "DeleteJob"):
        r.replay(file, name)


def test_storage_examples(clients):
    account, account_id = _world(clients)
    name = clients.name("ey")
    ids = {"subscriptionId": clients.sub, "resourceGroupName": "rg1", "accountName": name, "containerName": "excont"}
    r = Replayer(clients, ids)
    r.replay(STORAGE, "StorageAccountCheckNameAvailability")
    r.replay(STORAGE, "StorageAccountCreate", expect=(200, 202))
    for _ in range(200):  # the create is long-running
        props = clients.http.get(clients.url(f"/subscriptions/{clients.sub}/resourceGroups/rg1/providers/"
                                             f"Microsoft.Storage/storageAccounts/{name}", "2023-05-01")).json()
        if props["properties"]["provisioningState"] == "Succeeded":
            break
        time.sleep(0.05)
    for example_name in ("StorageAccountGetProperties", "StorageAccountListByResourceGroup", "StorageAccountListKeys"):
        r.replay(STORAGE, example_name)
    for example_name in ("BlobContainersPut", "BlobContainersGet", "BlobContainersList", "BlobContainersDelete"):
        r.replay(BLOB, example_name)
    r.replay(STORAGE, "StorageAccountDelete")


def test_resources_and_vault_examples(clients):
    # the examples name a fictional provider (Microsoft.TestRP1): a real one stands in
    ids = {"subscriptionId": clients.sub, "resourceGroupName": "rg1", "vaultName": "exvault",
           "resourceProviderNamespace": "Microsoft.ImportExport"}
    r = Replayer(clients, ids)
    for example_name in ("CreateResourceGroup", "GetProvider", "GetProviders"):
        r.replay(RESOURCES, example_name)
    for example_name in ("PUTVault", "GETVault", "DeleteVault"):
        r.replay(VAULTS, example_name)


def test_data_box_examples_on_a_customer_disk_job(clients):
    """The Data Box examples of the operations seedctl calls on a job (get, list, update, mark
    shipped, credentials, cancel, delete), on a customer-disk job. The create examples order
    Microsoft devices (SKU DataBox), which the sandbox does not serve: no customer-disk create
    example is published (docs/sandbox.md, fidelity table)."""
    account, account_id = _world(clients, "Microsoft.DataBox")
    job = f"/subscriptions/{clients.sub}/resourceGroups/rg1/providers/Microsoft.DataBox/jobs/TestJobName1"
    body = {"location": "westus", "sku": {"name": "DataBoxCustomerDisk"}, "properties": {
        "transferType": "ImportToAzure", "details": {
            "jobDetailsType": "DataBoxCustomerDisk",
            "contactDetails": {"contactName": "A", "phone": "1", "emailList": ["a@b.c"]},
            "dataImportDetails": [{"accountDetails": {"dataAccountType": "StorageAccount",
                                                      "storageAccountId": account_id}}],
            "importDiskDetailsCollection": {"D1": {"manifestFile": "\\DriveManifest.xml",
                                                   "manifestHash": "0" * 32, "bitLockerKey": "1-2-3"}},
            "returnToCustomerPackageDetails": {"carrierName": "FedEx", "carrierAccountNumber": "77"}}}}
    assert clients.http.put(clients.url(job, "2025-07-01"), json=body).status_code == 202
    ids = {"subscriptionId": clients.sub, "resourceGroupName": "rg1", "jobName": "TestJobName1"}
    r = Replayer(clients, ids, account_id)
    got = r.replay(DATABOX, "JobsGet")
    validate(got["properties"]["details"], DATABOX, "DataBoxCustomerDiskJobDetails")
    for name in ("JobsList", "JobsListByResourceGroup"):
        r.replay(DATABOX, name)
    for name in ("JobsPatch", "JobsPatchCmk", "JobsPatchSystemAssignedToUserAssigned"):
        r.replay(DATABOX, name)
    r.replay(DATABOX, "MarkDevicesShipped")
    creds = r.replay(DATABOX, "JobsListCredentials", secrets=True)
    assert creds["value"][0]["jobSecrets"]["carrierAccountNumber"] == "77"
    r.replay(DATABOX, "JobsCancelPost")
    r.replay(DATABOX, "JobsDelete")


def test_data_box_create_examples_are_device_orders_the_sandbox_refuses(clients):
    """Stated, not hidden: the published create examples are refused (400, target sku.name)."""
    account, account_id = _world(clients, "Microsoft.DataBox")
    ids = {"subscriptionId": clients.sub, "resourceGroupName": "rg1", "jobName": "TestJobName1"}
    ex = example(DATABOX, "JobsCreate")
    assert ex["parameters"]["jobResource"]["sku"]["name"] == "DataBox"
    method, template, _ = operation(DATABOX, "JobsCreate")
    path = re.sub(r"\{([^}]+)\}", lambda m: ids[m.group(1)], template)
    r = clients.http.put(clients.url(path, "2025-07-01"), json=ex["parameters"]["jobResource"])
    assert r.status_code == 400 and r.json()["error"]["target"] == "sku.name"
