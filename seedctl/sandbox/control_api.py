"""The control endpoints (/_sandbox/...) that tests and `seedctl sandbox` use: faults, settings,
drives, the simulated datacenter, reset, the request log and shutdown. Same bearer token as ARM."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from seedctl.sandbox.arm import ArmError, Response
from seedctl.sandbox.faults import FaultRule

if TYPE_CHECKING:
    from seedctl.sandbox.state import SandboxState

SETTINGS = {"registration_delay", "lro_seconds", "databox_order_limit"}


def handle(app: SandboxState, method: str, action: str, data: dict[str, Any]) -> Response:
    if (method, action) == ("GET", "health"):
        return Response(200, {"ok": True, "pid": os.getpid(), "arm_endpoint": app.base_url,
                              "blob_endpoint": app.blob_endpoint})
    if action == "faults":
        if method == "POST":
            rule = FaultRule.from_json(data)
            app.faults.add(rule)
            return Response(200, rule.to_json())
        if method == "DELETE":
            app.faults.clear()
            return Response(200, {})
        if method == "GET":
            return Response(200, {"value": [r.to_json() for r in app.faults.rules()]})
    if action == "settings" and method == "POST":
        unknown = set(data) - SETTINGS
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        for name, value in data.items():
            if float(value) < 0:
                raise ValueError(f"{name} must be >= 0")
            app.store.set_setting(name, float(value))
        return Response(200, {n: app.store.setting(n) for n in SETTINGS})
    if action == "drives" and method == "POST":
        app.store.register_drive(str(data["serial"]), str(data["path"]), str(data["bitlocker_key"]))
        return Response(200, {"serial": data["serial"], "path": data["path"]})
    if action == "datacenter" and method == "POST":
        from seedctl.sandbox.datacenter import advance_job

        # no resource group given: look in every group (str(None) once searched a group named "None")
        body = advance_job(app, data.get("subscription") or None, data.get("resource_group") or None,
                           str(data["job_name"]), data.get("to_state"))
        return Response(200, body)
    if action == "shutdown" and method == "POST":
        if app.on_shutdown is None:
            raise ArmError(409, "NotStoppable", "This sandbox was not started by its daemon; stop its process.")
        app.on_shutdown()  # the server finishes this answer, then stops
        return Response(202, {})
    if action == "data-role" and method == "POST":
        # whether the sandbox's identity holds a Storage Blob Data role on an account (data_access.py)
        if app.auth_rules is None:
            raise ValueError("this sandbox has no public blob endpoint (started by an older seedctl)")
        app.auth_rules.set("noDataRole", str(data["account"]), not bool(data.get("granted", True)))
        return Response(200, {"account": data["account"], "granted": bool(data.get("granted", True))})
    if action == "policies" and method == "POST":
        from seedctl.sandbox.policies import assign

        body = assign(app, str(data["subscription"]), str(data["definition"]), str(data.get("effect", "Deny")),
                      data.get("name"))
        return Response(200, body)
    if action == "reset" and method == "POST":
        reset(app)
        return Response(200, {})
    if action == "requests":
        if method == "GET":
            return Response(200, {"value": [list(e) for e in app.request_log()]})
        if method == "DELETE":
            app.clear_request_log()
            return Response(200, {})
    raise ArmError(404, "UnknownControlAction", f"No control action {method} /_sandbox/{action}.")


def reset(app: SandboxState) -> None:
    """Forget everything: resources, registrations, drives, settings, faults, the request log
    and every storage account's data in Azurite."""
    from seedctl.sandbox.ops_storage import ACCOUNT_TYPE, drop_account_data

    with app.store.lock:
        for row in app.store.list(ACCOUNT_TYPE):
            drop_account_data(app, row)
        app.store.reset()
        app.accounts.reset()
        if app.auth_rules is not None:
            app.auth_rules.reset()
    app.faults.clear()
    app.clear_request_log()
