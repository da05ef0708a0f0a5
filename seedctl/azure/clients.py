"""The one factory that builds every Azure client for a spec's cloud.

All clients share a credential, the retry policy and (for the sandbox) the CA bundle, so that a
spec with `cloud: sandbox` reaches the local sandbox with no other configuration.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from azure.core.exceptions import HttpResponseError

from seedctl.azure.clouds import Cloud, get_cloud
from seedctl.azure.credentials import StaticTokenCredential, default_credential
from seedctl.azure.redact import remember
from seedctl.azure.retry import RetryPolicy
from seedctl.errors import AzureError
from seedctl.logs import http_hooks


@dataclass
class AzureClients:
    """Lazily built SDK clients for one subscription in one cloud."""

    cloud: Cloud
    subscription_id: str
    credential: Any
    policy: RetryPolicy
    ca_bundle: str | None = None
    blob_endpoint: str | None = None  # sandbox only: Azurite's base URL
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    # re-entrant: building the blob client asks for the storage client
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def is_sandbox(self) -> bool:
        return self.cloud.name == "sandbox"

    def _track2_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "base_url": self.cloud.arm_endpoint,
            "credential_scopes": [self.cloud.scope],
            "retry_total": self.policy.sdk_retry_total,
            "retry_backoff_factor": self.policy.sdk_backoff_factor,
            "retry_backoff_max": self.policy.sdk_backoff_max,
            "connection_timeout": min(30.0, self.policy.timeout),
            "read_timeout": self.policy.timeout,
        }
        if self.ca_bundle:
            kwargs["connection_verify"] = self.ca_bundle
        if self.is_sandbox:
            kwargs["polling_interval"] = 0.05
        return {**kwargs, **http_hooks()}  # each request at DEBUG (-v), redacted: seedctl.logs

    def _get(self, name: str, build: Any) -> Any:
        with self._lock:
            if name not in self._cache:
                self._cache[name] = build()
            return self._cache[name]

    @property
    def resource(self) -> Any:
        from azure.mgmt.resource.resources import ResourceManagementClient

        return self._get("resource", lambda: ResourceManagementClient(
            self.credential, self.subscription_id, **self._track2_kwargs()))

    @property
    def storage(self) -> Any:
        from azure.mgmt.storage import StorageManagementClient

        return self._get("storage", lambda: StorageManagementClient(
            self.credential, self.subscription_id, **self._track2_kwargs()))

    @property
    def databox(self) -> Any:
        from azure.mgmt.databox import DataBoxManagementClient

        return self._get("databox", lambda: DataBoxManagementClient(
            self.credential, self.subscription_id, **self._track2_kwargs()))

    @property
    def arm(self) -> Any:
        """Plain ARM REST calls (classic Import/Export, management locks): see azure.arm_rest."""
        return self._get("arm", self._build_arm)

    def _build_arm(self) -> Any:
        from seedctl.azure.arm_rest import ArmRestClient

        kwargs = self._track2_kwargs()
        return ArmRestClient(self.cloud.arm_endpoint, self.credential, self.cloud.scope,
                             transport=kwargs.get("transport"), retry_total=self.policy.sdk_retry_total,
                             hooks={k: kwargs[k] for k in ("raw_request_hook", "raw_response_hook") if k in kwargs},
                             connection_verify=kwargs.get("connection_verify"),
                             connection_timeout=kwargs["connection_timeout"], read_timeout=kwargs["read_timeout"])

    @property
    def importexport(self) -> Any:
        from seedctl.azure.importexport import ImportExportClient

        return self._get("importexport", lambda: ImportExportClient(self.arm, self.subscription_id))

    def blob_account_url(self, account_name: str, observed_endpoint: str | None = None) -> str:
        if observed_endpoint:
            return observed_endpoint.rstrip("/")
        if self.blob_endpoint:
            return f"{self.blob_endpoint.rstrip('/')}/{account_name}"
        return f"https://{account_name}.blob.{self.cloud.storage_suffix}"

    def blob_service(self, account_name: str, resource_group: str, endpoint: str | None = None) -> Any:
        """A BlobServiceClient for the account: its key where listKeys is allowed (and always in
        the sandbox), otherwise the signed-in identity (needs Storage Blob Data Reader)."""
        from azure.storage.blob import BlobServiceClient

        def build() -> Any:
            url = self.blob_account_url(account_name, endpoint)
            credential: Any = self.credential
            try:
                key = first_listed_key(self.storage.storage_accounts.list_keys(resource_group, account_name))
                if key is not None:
                    remember(key)
                    credential = {"account_name": account_name, "account_key": key}
                elif self.is_sandbox:
                    raise AzureError(f"listKeys of storage account {account_name} returned no key")
                # else: no key listed (e.g. only Kerberos keys): the identity's data-plane role
            except HttpResponseError as exc:
                # Only "not allowed to list keys" means: use the identity's data-plane role instead.
                # Anything else (network, throttling, a missing account) is a real error.
                if exc.status_code != 403 or self.is_sandbox:
                    raise
            return BlobServiceClient(url, credential=credential, retry_total=self.policy.sdk_retry_total,
                                     **http_hooks())

        return self._get(f"blob:{account_name}", build)


def first_listed_key(listed: Any) -> str | None:
    """The first key value of a listKeys answer, or None: `keys` and each key's `value` are optional
    in the description, so a missing one is not a crash."""
    entries = dict(listed).get("keys") if listed is not None else None
    for entry in entries or ():
        value = dict(entry).get("value") if entry is not None else None
        if value:
            return str(value)
    return None


def build_clients(cloud_name: str, subscription_id: str, environ: Mapping[str, str], *,
                  tenant_id: str | None = None, policy: RetryPolicy | None = None) -> AzureClients:
    """Clients for `cloud_name` ("sandbox" reads the running sandbox's connection file)."""
    if cloud_name == "sandbox":
        from seedctl.sandbox.connection import load_connection

        conn = load_connection(environ=environ)
        cloud = Cloud("sandbox", conn.arm_endpoint, None, "")
        return AzureClients(cloud, subscription_id, StaticTokenCredential(conn.token),
                            policy or RetryPolicy.fast(), ca_bundle=conn.ca_bundle,
                            blob_endpoint=conn.blob_endpoint)
    cloud = get_cloud(cloud_name)
    return AzureClients(cloud, subscription_id, default_credential(cloud.authority_host or "", tenant_id),
                        policy or RetryPolicy())
