"""Plain ARM REST calls through azure-mgmt-core's pipeline, for the APIs seedctl calls without a
generated SDK client: classic Import/Export (2016-11-01) and management locks (2016-09-01).

The pipeline is the one the generated track-2 clients build, less one policy: the client never
registers a resource provider on its own (`ARMAutoResourceProviderRegistrationPolicy` is left
out, so it is not in `policies`, and ARMPipelineClient adds it only when `policies` is missing).
seedctl registers providers only as a planned change. The generated clients (resource, storage,
Data Box) get the same list (`arm_policies`) for the same reason.

Errors surface as azure-core's: `ResourceNotFoundError` for 404, `ClientAuthenticationError`
for 401, `ResourceExistsError` for 409, `HttpResponseError` otherwise, each with ARM's error
body parsed (`exc.error.code`), so `seedctl.azure.errors` translates them like any SDK error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    map_error,
)
from azure.core.pipeline import policies
from azure.core.rest import HttpRequest
from azure.mgmt.core import ARMPipelineClient
from azure.mgmt.core.exceptions import ARMErrorFormat
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy, ARMHttpLoggingPolicy

ERROR_MAP = {401: ClientAuthenticationError, 404: ResourceNotFoundError, 409: ResourceExistsError}
MAX_PAGES = 1000  # a nextLink chain longer than this is the service's bug, not a list to follow


def arm_policies(credential: Any, scope: str, *, retry_total: int = 0, retry_backoff_factor: float = 0.8,
                 retry_backoff_max: float = 120.0, hooks: dict[str, Any] | None = None) -> list[Any]:
    """The policies of a generated track-2 ARM client's pipeline, in its order, without
    `ARMAutoResourceProviderRegistrationPolicy`: given to the generated clients too (their
    `policies=` argument), so no client of seedctl's registers a provider as a side effect of a read
    that met 409 MissingSubscriptionRegistration. A fresh list per client."""
    return [
        policies.RequestIdPolicy(),
        policies.HeadersPolicy(),
        policies.UserAgentPolicy(sdk_moniker="seedctl"),
        policies.ProxyPolicy(),
        policies.ContentDecodePolicy(),
        policies.RedirectPolicy(),
        policies.RetryPolicy(retry_total=retry_total, retry_backoff_factor=retry_backoff_factor,
                             retry_backoff_max=retry_backoff_max),
        ARMChallengeAuthenticationPolicy(credential, scope),
        policies.CustomHookPolicy(**(hooks or {})),  # seedctl.logs: each request at DEBUG (-v)
        policies.DistributedTracingPolicy(),
        policies.SensitiveHeaderCleanupPolicy(),
        ARMHttpLoggingPolicy(),
    ]


class ArmRestClient:
    """GET/PUT/PATCH/POST/DELETE on ARM paths, JSON in and out."""

    def __init__(self, endpoint: str, credential: Any, scope: str, *, transport: Any = None,
                 retry_total: int = 0, retry_backoff_factor: float = 0.8, hooks: dict[str, Any] | None = None,
                 **connection: Any) -> None:
        pipeline_policies = arm_policies(credential, scope, retry_total=retry_total,
                                         retry_backoff_factor=retry_backoff_factor, hooks=hooks)
        kwargs: dict[str, Any] = {"policies": pipeline_policies}
        if transport is not None:
            kwargs["transport"] = transport
        self._client = ARMPipelineClient(base_url=endpoint, **kwargs)
        # per-request transport settings: connection_verify (the sandbox CA), timeouts
        self._connection = {k: v for k, v in connection.items() if v is not None}

    def call(self, method: str, path: str, api_version: str, body: Any = None,
             params: dict[str, str] | None = None) -> Any:
        """One request; the parsed JSON answer (None when the body is empty)."""
        url = path if path.startswith("https://") else self._client.format_url(path)
        query = {"api-version": api_version, **(params or {})}
        if "api-version=" in url:  # a nextLink carries its own query
            query = {}
        request = HttpRequest(method, url, params=query, json=body,
                              headers={"Accept": "application/json"})
        response = self._client.send_request(request, **self._connection)
        if response.status_code >= 400:
            map_error(status_code=response.status_code, response=response, error_map=ERROR_MAP)
            raise HttpResponseError(response=response, error_format=ARMErrorFormat)
        if not response.content:
            return None
        return response.json()

    def list(self, path: str, api_version: str, params: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a paged ARM list (`value` + `nextLink`)."""
        page = self.call("GET", path, api_version, params=params)
        for _ in range(MAX_PAGES):
            yield from (page or {}).get("value") or []
            link = (page or {}).get("nextLink")
            if not link:
                return
            page = self.call("GET", link, api_version)

    def close(self) -> None:
        self._client.close()
