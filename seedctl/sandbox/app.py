"""The sandbox application: the routing table over the operations. HTTP details live in
server.py; the state every operation shares lives in state.py.

Layers, each importing only those below it: server / control_api → app (routing) → datacenter →
ops_* (operations) → state → store. The operation modules register nothing themselves: each
exposes `routes()` and its RENDERERS / FINALIZERS, and this module assembles them.
"""

from __future__ import annotations

from seedctl.sandbox import (
    ops_databox,
    ops_databox_service,
    ops_importexport,
    ops_locks,
    ops_operations,
    ops_resources,
    ops_storage,
)
from seedctl.sandbox.arm import ArmError, Request, Response, Route, check_api_version
from seedctl.sandbox.azurite import AccountsFile
from seedctl.sandbox.state import SandboxState
from seedctl.sandbox.store import Store

# Order matters: the generic by-id routes come last, after every specific provider's.
OPERATIONS = (ops_locks, ops_resources, ops_storage, ops_importexport, ops_databox, ops_databox_service,
              ops_operations)


class SandboxApp(SandboxState):
    def __init__(self, store: Store, accounts: AccountsFile, blob_endpoint: str, token: str,
                 directory: str) -> None:
        super().__init__(store, accounts, blob_endpoint, token, directory)
        self.routes: list[Route] = []
        for module in OPERATIONS:
            self.routes += module.routes()
            self.renderers.update(getattr(module, "RENDERERS", {}))
            self.finalizers.update(getattr(module, "FINALIZERS", {}))
        self.routes += ops_resources.generic_routes()

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
