"""The classic Import/Export REST operations (Microsoft.ImportExport, api-version 2016-11-01),
called through `arm_rest.ArmRestClient` with bodies in the REST shape (camelCase JSON).

Why not an SDK: azure-mgmt-storageimportexport 0.1.0 is track 1 (msrest, msrestazure and ADAL,
all end of life), and its only successor is a 2022 beta. The operations are few and synchronous
(no long-running operations in the 2016-11-01 description), so the calls are written out here,
one method per operationId of the official description.
"""

from __future__ import annotations

from typing import Any

from seedctl.azure.arm_rest import ArmRestClient

API_VERSION = "2016-11-01"
NAMESPACE = "Microsoft.ImportExport"


class _Jobs:
    def __init__(self, rest: ArmRestClient, subscription_id: str) -> None:
        self._rest, self._sub = rest, subscription_id

    def _path(self, resource_group: str, name: str | None = None) -> str:
        path = f"/subscriptions/{self._sub}/resourceGroups/{resource_group}/providers/{NAMESPACE}/jobs"
        return f"{path}/{name}" if name is not None else path

    def get(self, name: str, resource_group: str) -> dict[str, Any]:
        """Jobs_Get (200)."""
        return self._rest.call("GET", self._path(resource_group, name), API_VERSION)

    def create(self, name: str, resource_group: str, body: dict[str, Any]) -> dict[str, Any]:
        """Jobs_Create: PutJobParameters {location, tags, properties} (200 or 201)."""
        return self._rest.call("PUT", self._path(resource_group, name), API_VERSION, body)

    def update(self, name: str, resource_group: str, body: dict[str, Any]) -> dict[str, Any]:
        """Jobs_Update: UpdateJobParameters {tags, properties} (200)."""
        return self._rest.call("PATCH", self._path(resource_group, name), API_VERSION, body)

    def delete(self, name: str, resource_group: str) -> None:
        """Jobs_Delete (200)."""
        self._rest.call("DELETE", self._path(resource_group, name), API_VERSION)

    def list_by_resource_group(self, resource_group: str) -> list[dict[str, Any]]:
        """Jobs_ListByResourceGroup, every page."""
        return list(self._rest.list(self._path(resource_group), API_VERSION))

    def list_bitlocker_keys(self, name: str, resource_group: str) -> list[dict[str, Any]]:
        """BitLockerKeys_List: [{driveId, bitLockerKey}] (secrets: callers must not log them)."""
        answer = self._rest.call("POST", self._path(resource_group, name) + "/listBitLockerKeys", API_VERSION)
        return list((answer or {}).get("value") or [])


class _Locations:
    def __init__(self, rest: ArmRestClient) -> None:
        self._rest = rest

    def get(self, location: str) -> dict[str, Any]:
        """Locations_Get: a datacenter's shipping address and carriers (no subscription, so no
        provider registration is needed to read it)."""
        return self._rest.call("GET", f"/providers/{NAMESPACE}/locations/{location}", API_VERSION)

    def list(self) -> list[dict[str, Any]]:
        return list(self._rest.list(f"/providers/{NAMESPACE}/locations", API_VERSION))


class ImportExportClient:
    """`client.jobs.get(name, resource_group)` and so on, answering the service's JSON."""

    def __init__(self, rest: ArmRestClient, subscription_id: str) -> None:
        self.jobs = _Jobs(rest, subscription_id)
        self.locations = _Locations(rest)
