"""SDK clients pointed at the test sandbox, as seedctl builds them: the real azure-mgmt-resource,
azure-mgmt-storage, azure-mgmt-databox and azure-storage-blob, and seedctl's own Import/Export
REST client (azure-mgmt-core's pipeline, api-version 2016-11-01), with short retry backoffs so
fault tests stay fast."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest
import requests


class StaticToken:
    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self.token, int(time.time()) + 3600)


@dataclass
class Clients:
    sandbox: Any
    sub: str
    rm: Any
    sm: Any
    ie: Any
    http: requests.Session

    @property
    def base(self) -> str:
        return self.sandbox.connection.arm_endpoint

    def url(self, path: str, version: str) -> str:
        return f"{self.base}{path}?api-version={version}"

    def blob(self, account_name: str) -> Any:
        from azure.storage.blob import BlobServiceClient

        key = self.sm.storage_accounts.list_keys(self.rg_of[account_name], account_name).keys_property[0].value
        endpoint = self.sm.storage_accounts.get_properties(self.rg_of[account_name], account_name) \
            .primary_endpoints.blob
        return BlobServiceClient(endpoint, credential={"account_name": account_name, "account_key": key},
                                 connection_verify=self.sandbox.connection.ca_bundle)

    rg_of: dict[str, str] = None  # type: ignore[assignment]

    def name(self, prefix: str) -> str:
        """A storage account name unique to this test (account names are global)."""
        return (prefix + self.sub.replace("-", ""))[:24]

    # Setup helpers ------------------------------------------------------------------------------
    def make_rg(self, name: str = "rg1", location: str = "westus") -> Any:
        return self.rm.resource_groups.create_or_update(name, {"location": location})

    def make_account(self, name: str, rg: str = "rg1", **kwargs: Any) -> Any:
        params = {"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": "westus",
                  "properties": {"minimumTlsVersion": "TLS1_2"}, **kwargs}
        account = self.sm.storage_accounts.begin_create(rg, name, params).result()
        self.rg_of[name] = rg
        return account

    def register(self, namespace: str) -> None:
        self.rm.providers.register(namespace)
        deadline = time.monotonic() + 5
        while self.rm.providers.get(namespace).registration_state != "Registered":
            assert time.monotonic() < deadline
            time.sleep(0.05)


def build_clients(sandbox: Any, sub: str, **track2: Any) -> Clients:
    from azure.mgmt.resource.resources import ResourceManagementClient
    from azure.mgmt.storage import StorageManagementClient

    from seedctl.azure.arm_rest import ArmRestClient
    from seedctl.azure.importexport import ImportExportClient

    conn = sandbox.connection
    cred = StaticToken(conn.token)
    kw = {"base_url": conn.arm_endpoint, "connection_verify": conn.ca_bundle,
          "retry_backoff_factor": 0.01, "retry_backoff_max": 0.05, **track2}
    rest = ArmRestClient(conn.arm_endpoint, cred, conn.arm_endpoint + "/.default", retry_total=3,
                         retry_backoff_factor=0.01, connection_verify=conn.ca_bundle)
    ie = ImportExportClient(rest, sub)
    ie.rest = rest  # tests reach the plain calls (paging with $top, status codes)
    http = requests.Session()
    http.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would override verify
    http.verify = conn.ca_bundle
    http.headers["Authorization"] = f"Bearer {conn.token}"
    c = Clients(sandbox, sub, ResourceManagementClient(cred, sub, **kw), StorageManagementClient(cred, sub, **kw),
                ie, http)
    c.rg_of = {}
    return c


@pytest.fixture
def make_clients(sandbox: Any) -> Any:
    """Clients for another (new) subscription."""
    import uuid

    return lambda: build_clients(sandbox, str(uuid.uuid4()))


@pytest.fixture
def clients(sandbox: Any, subscription_id: str) -> Any:
    sandbox.control.clear_faults()
    c = build_clients(sandbox, subscription_id)
    yield c
    sandbox.control.clear_faults()


@pytest.fixture
def setup(sandbox: Any, clients: Clients) -> tuple[Clients, Any]:
    """A resource group, a storage account and Microsoft.ImportExport registered (the datacenter tests)."""
    clients.make_rg()
    account = clients.make_account(clients.name("dc"))
    clients.register("Microsoft.ImportExport")
    return clients, account
