"""The sandbox's running state, shared by every operation: the store, Azurite's account list and
blob clients, fault rules, the request log, and long-running-operation settling.

This is the layer the operations (`ops_*.py`) and the datacenter work on. It knows nothing of
routing: `app.py` builds the routing table on top of it, and fills `renderers` / `finalizers`
from the operation modules, so that settling and rendering reach a resource type's own code
without this module importing any of it.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import Any

from seedctl.sandbox.azurite import AccountsFile
from seedctl.sandbox.faults import FaultSet
from seedctl.sandbox.store import Row, Store

Renderer = Callable[["SandboxState", Row], dict[str, Any]]
Finalizer = Callable[["SandboxState", Row, bool], None]  # (state, row, succeeded)


class SandboxState:
    def __init__(self, store: Store, accounts: AccountsFile, blob_endpoint: str, token: str,
                 directory: str) -> None:
        self.store = store
        self.accounts = accounts
        self.blob_endpoint = blob_endpoint
        # the public blob endpoint and its refusals (seedctl/sandbox/data_access.py); the daemon
        # sets both, an in-process app without them serves the internal endpoint only
        self.blob_public_endpoint = blob_endpoint
        self.auth_rules: Any = None
        self.token = token
        self.directory = directory
        self.base_url = ""  # set by the server once it listens
        self.faults = FaultSet()
        self._log: collections.deque[tuple[str, str, int]] = collections.deque(maxlen=20000)
        self._log_lock = threading.Lock()
        self._blob_clients: dict[str, Any] = {}
        self._blob_lock = threading.Lock()
        self.renderers: dict[str, Renderer] = {}
        self.finalizers: dict[str, Finalizer] = {}
        # set by the daemon: stops it (POST /_sandbox/shutdown, how `sandbox down` stops it everywhere)
        self.on_shutdown: Callable[[], None] | None = None

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

    # -- resources ------------------------------------------------------------------------------
    def save(self, row: Row) -> None:
        """Write a row back (its id names subscription and resource group)."""
        parts = row.id.split("/")
        self.store.put(row.id, row.type, parts[2], parts[4] if len(parts) > 4 else None, row.body)

    def render(self, row: Row) -> dict[str, Any]:
        renderer = self.renderers.get(row.type)
        return renderer(self, row) if renderer else row.body

    def settle(self, resource_id: str) -> None:
        """Finish the operations on `resource_id` whose time has come (success or failure)."""
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
                    self.save(row)
                else:
                    self.store.delete(row.id)
            self.store.finish_operation(op.op_id)

    # -- Azurite --------------------------------------------------------------------------------
    def blob_service(self, account: str, key: str) -> Any:
        """A BlobServiceClient on Azurite for a sandbox storage account (cached per key)."""
        from azure.storage.blob import BlobServiceClient

        cache_key = f"{account}:{key}"
        with self._blob_lock:
            client = self._blob_clients.get(cache_key)
            if client is None:
                client = BlobServiceClient(f"{self.blob_endpoint}/{account}",
                                           credential={"account_name": account, "account_key": key},
                                           retry_total=2, retry_backoff_factor=0.1)
                self._blob_clients[cache_key] = client
        return client
