"""Data Box (customer disk) test helpers: the real azure-mgmt-databox client as seedctl builds it
(`build_clients("sandbox", ...).databox`), a subscription of its own with a resource group, a
storage account and Microsoft.DataBox registered, and a valid job body to vary."""

from __future__ import annotations

import copy
import hashlib
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

API_VERSION = "2025-07-01"  # what azure-mgmt-databox 4.0.0 sends
KEY = "111111-222222-333333-444444-555555-666666-777777-888888"


@dataclass
class DataBoxEnv:
    sandbox: Any
    sub: str
    clients: Any  # seedctl.azure.clients.AzureClients
    rg: str
    account: str
    http: requests.Session

    @property
    def databox(self) -> Any:
        return self.clients.databox

    @property
    def account_id(self) -> str:
        return (f"/subscriptions/{self.sub}/resourceGroups/{self.rg}/providers/Microsoft.Storage/"
                f"storageAccounts/{self.account}")

    def url(self, path: str, version: str = API_VERSION) -> str:
        return f"{self.sandbox.connection.arm_endpoint}{path}?api-version={version}"

    def job_path(self, name: str) -> str:
        return f"/subscriptions/{self.sub}/resourceGroups/{self.rg}/providers/Microsoft.DataBox/jobs/{name}"

    def body(self, disks: dict[str, dict[str, str]] | None = None, **details: Any) -> dict[str, Any]:
        return job_body(self.account_id, disks, **details)

    def create(self, name: str, body: dict[str, Any] | None = None) -> Any:
        return self.databox.jobs.begin_create(self.rg, name, body or self.body()).result()

    def advance(self, name: str, to_state: str | None = None) -> dict[str, Any]:
        return self.sandbox.control.advance_job(self.rg, name, to_state, subscription=self.sub)

    def ship(self, name: str, tracking: str = "TRK-1") -> None:
        self.databox.jobs.mark_devices_shipped(
            name, self.rg, {"deliverToDcPackageDetails": {"carrierName": "FedEx", "trackingId": tracking}})


def job_body(account_id: str, disks: dict[str, dict[str, str]] | None = None, **details: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "location": "westus", "tags": {"purpose": "test"}, "sku": {"name": "DataBoxCustomerDisk"},
        "properties": {"transferType": "ImportToAzure", "details": {
            "jobDetailsType": "DataBoxCustomerDisk",
            "contactDetails": {"contactName": "Test Admin", "phone": "+1 425 555 0100",
                               "emailList": ["admin@example.com", "ops@example.com"]},
            "shippingAddress": {"streetAddress1": "1 Test Way", "city": "Redmond", "stateOrProvince": "WA",
                                "postalCode": "98052", "country": "US", "addressType": "Commercial"},
            "dataImportDetails": [{"accountDetails": {"dataAccountType": "StorageAccount",
                                                      "storageAccountId": account_id},
                                   "logCollectionLevel": "Verbose"}],
            "importDiskDetailsCollection": disks if disks is not None else {
                "DISK-01": {"manifestFile": "\\DriveManifest.xml", "manifestHash": "0" * 32, "bitLockerKey": KEY}},
            "returnToCustomerPackageDetails": {"carrierName": "FedEx", "carrierAccountNumber": "123456789"},
            "enableManifestBackup": False,
        }},
    }
    body["properties"]["details"].update(details)
    return body


def mutated(body: dict[str, Any], fn: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    fn(out)
    return out


def wait_registered(clients: Any, namespace: str) -> None:
    deadline = time.monotonic() + 5
    while clients.resource.providers.get(namespace).registration_state != "Registered":
        assert time.monotonic() < deadline, f"{namespace} did not register"
        time.sleep(0.05)


def make_env(sandbox: Any, *, register: bool = True) -> DataBoxEnv:
    from seedctl.azure.clients import build_clients

    sub = str(uuid.uuid4())
    clients = build_clients("sandbox", sub, sandbox.environ)
    rg, account = "rg-db", f"db{sub.replace('-', '')[:20]}"
    clients.resource.resource_groups.create_or_update(rg, {"location": "westus"})
    clients.storage.storage_accounts.begin_create(
        rg, account, {"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": "westus"}).result()
    if register:
        clients.resource.providers.register("Microsoft.DataBox")
        wait_registered(clients, "Microsoft.DataBox")
    http = requests.Session()
    http.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would override verify
    http.verify = sandbox.connection.ca_bundle
    http.headers["Authorization"] = f"Bearer {sandbox.connection.token}"
    return DataBoxEnv(sandbox, sub, clients, rg, account, http)


BLOCK = 64 * 1024  # small blocks so a few hundred KB make several blocks


def make_disk(env: DataBoxEnv, root: Path, serial: str, files: dict[str, bytes],
              container: str = "seed") -> tuple[Path, str, str]:
    """A simulated disk registered with the sandbox, filled with `files` and a manifest written by
    seedctl.drives.formats.manifest → (folder, BitLocker key, manifest hash)."""
    from seedctl.drives.formats.manifest import (
        MANIFEST_NAME,
        DriveManifest,
        ManifestBlob,
        make_block,
        write_manifest,
    )
    from seedctl.sandbox.simdrive import make_drive

    path, key_file = root / serial, root / f"{serial}.key"
    make_drive(env.sandbox.control, env.sandbox.dir, serial, path, 10 * 1024 * 1024, key_out=key_file)
    blobs = []
    for rel, data in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_bytes(data)
        blocks = tuple(make_block(off, hashlib.md5(data[off:off + BLOCK]).digest(), len(data[off:off + BLOCK]))
                       for off in range(0, len(data), BLOCK))
        blobs.append(ManifestBlob(blob_path=f"{container}/{rel}", file_path="\\" + rel.replace("/", "\\"),
                                  length=len(data), blocks=blocks,
                                  content_md5_hex=hashlib.md5(data).hexdigest().upper()))
    digest = write_manifest(DriveManifest(drive_id=serial, blobs=tuple(blobs)), path / MANIFEST_NAME)
    return path, key_file.read_text().strip(), digest


def disk_entry(key: str, manifest_hash: str) -> dict[str, str]:
    return {"manifestFile": "\\DriveManifest.xml", "manifestHash": manifest_hash, "bitLockerKey": key}


def blob_service(env: DataBoxEnv) -> Any:
    from azure.storage.blob import BlobServiceClient

    key = env.clients.storage.storage_accounts.list_keys(env.rg, env.account).keys_property[0].value
    endpoint = env.clients.storage.storage_accounts.get_properties(env.rg, env.account).primary_endpoints.blob
    return BlobServiceClient(endpoint, credential={"account_name": env.account, "account_key": key},
                             connection_verify=env.clients.ca_bundle)


def read_link(env: DataBoxEnv, link: str) -> bytes:
    """A copy-log link (`{blob endpoint}/{account}/{container}/{name}`) read from Azurite."""
    container, _, name = link.split(f"/{env.account}/", 1)[1].partition("/")
    return blob_service(env).get_blob_client(container, name).download_blob().readall()
