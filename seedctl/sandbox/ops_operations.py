"""Polling endpoints of long-running operations (any provider namespace): the
`Azure-AsyncOperation` status resource and the `Location` operation result.

Data Box answers its operation results its own way (the Azure CLI's recordings of a customer-disk
job, 2023 and 2025): 202 while running; a create or update then answers 202 with Location = the
job's URL (the client GETs the job, 200); a delete answers 204 No Content. Other providers answer
the finished operation with 200 and the resource (or an empty 200 for a delete)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from seedctl.sandbox.arm import POLL_HEADERS, SUB, ArmError, Request, Response, Route, now_iso, route

if TYPE_CHECKING:
    from seedctl.sandbox.state import SandboxState

OPS = SUB + r"/providers/(?P<ns>[^/]+)/locations/(?P<loc>[^/]+)"
# providers whose finished operation answers 202 + Location of the resource (or 204 for a delete)
RESOURCE_LOCATION_STYLE = frozenset({"microsoft.databox"})


def _operation(app: SandboxState, req: Request):  # noqa: ANN202 - store.Operation
    op = app.store.get_operation(req.params["op"])
    if op is None:
        raise ArmError(404, "OperationNotFound", f"The operation '{req.params['op']}' was not found.")
    app.settle(op.resource_key)
    return op, time.time() >= op.ready_at


def async_operation(app: SandboxState, req: Request) -> Response:
    op, done = _operation(app, req)
    body = {"id": req.path, "name": op.op_id, "startTime": now_iso(),
            "status": (op.outcome if done else "InProgress")}
    if done and op.outcome == "Failed":
        body["error"] = op.error or {"code": "InternalServerError", "message": "The operation failed."}
    return Response(200, body, {} if done else dict(POLL_HEADERS))


def operation_result(app: SandboxState, req: Request) -> Response:
    op, done = _operation(app, req)
    if not done:
        return Response(202, None, {"Location": f"{req.base_url}{req.path}?api-version={req.api_version}",
                                    **POLL_HEADERS})
    if op.outcome == "Failed":
        err = op.error or {"code": "InternalServerError", "message": "The operation failed."}
        raise ArmError(400, err["code"], err["message"])
    row = app.store.get(op.resource_key)
    if req.params["ns"].lower() in RESOURCE_LOCATION_STYLE:
        if row is None:  # a delete: done, no content
            return Response(204)
        return Response(202, None, {"Location": f"{req.base_url}{row.id}?api-version={req.api_version}",
                                    **POLL_HEADERS})
    if row is None:  # a delete: nothing to return
        return Response(200)
    return Response(200, app.render(row))


def routes() -> list[Route]:
    return [
        route("GET", OPS + r"/asyncoperations/(?P<op>[^/]+)", async_operation, None),
        route("GET", OPS + r"/operationresults/(?P<op>[^/]+)", operation_result, None),
    ]
