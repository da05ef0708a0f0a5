"""The sandbox application: routes ARM requests to handlers, owns the store, faults, request log,
Azurite accounts and long-running-operation settling. HTTP details live in server.py."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from typing import Any

from seedctl.sandbox.arm import ArmError, Request, Response, Route, check_api_version
from seedctl.sandbox.azurite import AccountsFile
from seedctl.sandbox.faults import FaultSet
from seedctl.sandbox.store import Row, Store

Renderer = Callable[["SandboxApp", Row], dict[str, Any]]
Finalizer = Callable[["SandboxApp", Row, bool], None]  # (app, row, succeeded)


class SandboxApp:
    def __init__(self, store: Store, accounts: AccountsFile, blob_endpoint: str, token: str,
                 directory: str) -> None:
        self.store = store
        self.accounts = accounts
        self.blob_endpoint = blob_endpoint
        self.token = token
        self.directory = directory
        self.base_url = ""  # set by the server once it listens
        self.faults = FaultSet()
        self._log: collections.deque[tuple[str, str, int]] = collections.deque(maxlen=20000)
        self._log_lock = threading.Lock()
        self._blob_clients: dict[str, Any] = {}
        self.renderers: dict[str, Renderer] = {}
        self.finalizers: dict[str, Finalizer] = {}
        self.routes: list[Route] = []
        from seedctl.sandbox import ops_databox, ops_importexport, ops_operations, ops_resources, ops_storage

        for module in (ops_resources, ops_storage, ops_importexport, ops_databox, ops_operations):
            module.install(self)
        ops_resources.install_generic(self)

    # -- request log ----------------------------------------------------------------------------
    def log_request(self, method: str, path: str, status: int) -> None:
        with self._log_lock:
            self._log.append((method, path, status))

    def request_log(self) -> list[tuple[str, str, int]]:
        with self._log_lock:
            return list(self._log)

    def clear_request_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    # -- dispatch -------------------------------------------------------------------------------
    def dispatch(self, req: Request) -> Response:
        method_mismatch = False
        for r in self.routes:
            m = r.pattern.match(req.path)
            if not m:
                continue
            if req.method not in r.methods:
                method_mismatch = True
                continue
            req.params = {k: v for k, v in m.groupdict().items() if v is not None}
            check_api_version(req, r.api_versions, f"'{req.path}'")
            if r.locked:
                with self.store.lock:
                    return r.handler(self, req)
            return r.handler(self, req)
        if method_mismatch:
            raise ArmError(405, "MethodNotAllowed",
                           f"The requested method '{req.method}' is not allowed for '{req.path}'.")
        raise ArmError(404, "InvalidResourceType",
                       f"The sandbox has no resource at '{req.path}' (it serves only the operations "
                       "seedctl uses; see docs/sandbox.md).")

    # -- long-running operations ----------------------------------------------------------------
    def settle(self, resource_id: str) -> None:
        """Finish the operations on `resource_id` whose time has come (success or failure)."""
        import time

        for op in self.store.pending_operations(resource_id):
            if time.time() < op.ready_at:
                continue
            row = self.store.get(op.resource_key)
            if row is not None:
                finalize = self.finalizers.get(row.type)
                succeeded = op.outcome == "Succeeded"
                if finalize is not None:
                    finalize(self, row, succeeded)
                elif succeeded:
                    row.body.setdefault("properties", {})["provisioningState"] = "Succeeded"
                    self._save(row)
                else:
                    self.store.delete(row.id)
            self.store.finish_operation(op.op_id)

    def _save(self, row: Row) -> None:
        parts = row.id.split("/")
        self.store.put(row.id, row.type, parts[2], parts[4] if len(parts) > 4 else None, row.body)

    def render(self, row: Row) -> dict[str, Any]:
        renderer = self.renderers.get(row.type)
        return renderer(self, row) if renderer else row.body

    # -- Azurite --------------------------------------------------------------------------------
    def blob_service(self, account: str, key: str) -> Any:
        """A BlobServiceClient on Azurite for a sandbox storage account (cached per key)."""
        from azure.storage.blob import BlobServiceClient

        cache_key = f"{account}:{key}"
        client = self._blob_clients.get(cache_key)
        if client is None:
            client = BlobServiceClient(f"{self.blob_endpoint}/{account}",
                                       credential={"account_name": account, "account_key": key},
                                       retry_total=2, retry_backoff_factor=0.1)
            self._blob_clients[cache_key] = client
        return client
