"""The one factory that builds every Azure client for a spec's cloud.

All clients share a credential, the retry policy and (for the sandbox) the CA bundle, so that a
spec with `cloud: sandbox` reaches the local sandbox with no other configuration.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from seedctl.azure.clouds import Cloud, get_cloud
from seedctl.azure.credentials import StaticTokenCredential, default_credential
from seedctl.azure.retry import RetryPolicy
from seedctl.logs import http_hooks


@dataclass
class AzureClients:
    """Lazily built SDK clients for one subscription in one cloud."""

    cloud: Cloud
    subscription_id: str
    credential: Any
    policy: RetryPolicy
    ca_bundle: str | None = None
    blob_endpoint: str | None = None  # sandbox only: the public blob endpoint (HTTPS, keys and Entra ID)
    # sandbox only: other base URLs of the same accounts (the internal endpoint the simulated
    # datacenter writes its log URIs with), accepted wherever a blob URI is read
    blob_aliases: tuple[str, ...] = ()
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

    def _generated_kwargs(self) -> dict[str, Any]:
        """`_track2_kwargs` for a generated ARM client, with seedctl's policy list: the generated
        clients' own list would register a resource provider on a read that met 409
        MissingSubscriptionRegistration (a write in a read-only plan; seedctl registers providers
        only as a planned change)."""
        from seedctl.azure.arm_rest import arm_policies

        kwargs = self._track2_kwargs()
        hooks = {k: kwargs.pop(k) for k in ("raw_request_hook", "raw_response_hook") if k in kwargs}
        kwargs["policies"] = arm_policies(self.credential, self.cloud.scope,
                                          retry_total=self.policy.sdk_retry_total,
                                          retry_backoff_factor=self.policy.sdk_backoff_factor,
                                          retry_backoff_max=self.policy.sdk_backoff_max, hooks=hooks)
        return kwargs

    def _get(self, name: str, build: Any) -> Any:
        with self._lock:
            if name not in self._cache:
                self._cache[name] = build()
            return self._cache[name]

    @property
    def resource(self) -> Any:
        from azure.mgmt.resource.resources import ResourceManagementClient

        return self._get("resource", lambda: ResourceManagementClient(
            self.credential, self.subscription_id, **self._generated_kwargs()))

    @property
    def storage(self) -> Any:
        from azure.mgmt.storage import StorageManagementClient

        return self._get("storage", lambda: StorageManagementClient(
            self.credential, self.subscription_id, **self._generated_kwargs()))

    @property
    def databox(self) -> Any:
        from azure.mgmt.databox import DataBoxManagementClient

        return self._get("databox", lambda: DataBoxManagementClient(
            self.credential, self.subscription_id, **self._generated_kwargs()))

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

    def blob_client_options(self) -> dict[str, Any]:
        """Settings every BlobServiceClient gets: seedctl's retry settings, the sandbox CA, and the
        transport the ARM clients use (tests swap it)."""
        kwargs = self._track2_kwargs()
        options: dict[str, Any] = {"retry_total": self.policy.sdk_retry_total,
                                   "connection_timeout": kwargs["connection_timeout"],
                                   "read_timeout": kwargs["read_timeout"]}
        for key in ("connection_verify", "transport", "raw_request_hook", "raw_response_hook"):
            if key in kwargs:  # the hooks: each request at DEBUG (-v), seedctl.logs
                options[key] = kwargs[key]
        return options

    def blob_service(self, account_name: str, resource_group: str, endpoint: str | None = None, *,
                     probe_container: str | None = None) -> Any:
        """A BlobServiceClient for the account: Entra ID where the identity has data access or the
        account refuses shared keys, else the account key (azure/blob_access.py)."""
        return self.blob_access(account_name, resource_group, endpoint, probe_container=probe_container).client

    def blob_access(self, account_name: str, resource_group: str, endpoint: str | None = None, *,
                    probe_container: str | None = None) -> Any:
        from seedctl.azure.blob_access import describe, open_blob_access

        def build() -> Any:
            access = open_blob_access(self, account_name, resource_group, endpoint=endpoint,
                                      probe_container=probe_container)
            describe(access, account_name)
            return access

        return self._get(f"blob:{account_name}", build)


def build_clients(cloud_name: str, subscription_id: str, environ: Mapping[str, str], *,
                  tenant_id: str | None = None, policy: RetryPolicy | None = None) -> AzureClients:
    """Clients for `cloud_name` ("sandbox" reads the running sandbox's connection file)."""
    if cloud_name == "sandbox":
        from seedctl.sandbox.connection import load_connection

        conn = load_connection(environ=environ)
        cloud = Cloud("sandbox", conn.arm_endpoint, None, "")
        public = conn.blob_public_endpoint or conn.blob_endpoint
        return AzureClients(cloud, subscription_id, StaticTokenCredential(conn.token),
                            policy or RetryPolicy.fast(), ca_bundle=conn.ca_bundle,
                            blob_endpoint=public,
                            blob_aliases=(conn.blob_endpoint,) if public != conn.blob_endpoint else ())
    cloud = get_cloud(cloud_name)
    return AzureClients(cloud, subscription_id, default_credential(cloud.authority_host or "", tenant_id),
                        policy or RetryPolicy())
