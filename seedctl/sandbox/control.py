"""SandboxControl: the Python face of the control API, usable from any process (tests, crash
tests running apply in subprocesses, `seedctl sandbox datacenter`)."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any

from seedctl.errors import SandboxError
from seedctl.sandbox.connection import SandboxConnection


class SandboxControl:
    def __init__(self, connection: SandboxConnection) -> None:
        self.connection = connection
        self._ssl = ssl.create_default_context(cafile=connection.ca_bundle)

    def _call(self, method: str, action: str, body: dict[str, Any] | None = None,
              timeout: float = 120.0) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.connection.arm_endpoint}/_sandbox/{action}", data=data,
                                     method=method,
                                     headers={"Authorization": f"Bearer {self.connection.token}",
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self._ssl, timeout=timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            try:
                err = json.loads(exc.read())["error"]
                message = f"{err['code']}: {err['message']}"
            except (ValueError, KeyError):
                message = str(exc)
            raise SandboxError(f"sandbox control {action} failed: {message}") from None
        except urllib.error.URLError as exc:
            raise SandboxError(f"cannot reach the sandbox at {self.connection.arm_endpoint} ({exc.reason}); "
                               "run `seedctl sandbox up`") from None
        return json.loads(raw) if raw else None

    def health(self) -> dict[str, Any]:
        return self._call("GET", "health")

    def inject_fault(self, kind: str, *, method: str | None = None, path_regex: str | None = None,
                     count: int | None = None, rate: float | None = None, seed: int | None = None,
                     retry_after: float | None = None, delay: float | None = None) -> dict[str, Any]:
        """Make matching requests fail: kind is "429", "500", "503", "reset" (connection dropped),
        "slow" (answer after `delay` s) or "lro_failed" (the next long-running operation ends
        Failed). Fires for the next `count` matches, with probability `rate`, or always."""
        rule = {"kind": kind, "method": method, "path_regex": path_regex, "count": count, "rate": rate,
                "seed": seed, "retry_after": retry_after, "delay": delay}
        return self._call("POST", "faults", {k: v for k, v in rule.items() if v is not None})

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "faults")["value"]

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def set_registration_delay(self, seconds: float) -> None:
        self._call("POST", "settings", {"registration_delay": seconds})

    def set_lro_delay(self, seconds: float) -> None:
        self._call("POST", "settings", {"lro_seconds": seconds})

    def set_databox_order_limit(self, limit: int) -> None:
        """How many active customer-disk jobs a subscription may have (validateInputs' order limit)."""
        self._call("POST", "settings", {"databox_order_limit": limit})

    def register_drive(self, serial: str, path: str, bitlocker_key: str) -> None:
        self._call("POST", "drives", {"serial": serial, "path": str(path), "bitlocker_key": bitlocker_key})

    def advance_job(self, resource_group: str, job_name: str, to_state: str | None = None, *,
                    subscription: str | None = None) -> dict[str, Any]:
        """Move an import job on, as the datacenter would: one step, or through to `to_state`.
        Returns the job as GET shows it."""
        return self._call("POST", "datacenter", {"resource_group": resource_group, "job_name": job_name,
                                                 "to_state": to_state, "subscription": subscription},
                          timeout=600.0)

    def set_data_role(self, account: str, granted: bool) -> None:
        """Whether the sandbox's signed-in identity holds a Storage Blob Data role on `account`
        (without one, an Entra ID request to its public endpoint is 403 AuthorizationPermissionMismatch)."""
        self._call("POST", "data-role", {"account": account, "granted": granted})

    def assign_policy(self, subscription: str, definition: str = "deny-shared-key", effect: str = "Deny") -> None:
        """Assign a built-in Azure Policy definition to a subscription (sandbox/policies.py)."""
        self._call("POST", "policies", {"subscription": subscription, "definition": definition, "effect": effect})

    def reset(self) -> None:
        self._call("POST", "reset")

    def shutdown(self, timeout: float = 10.0) -> None:
        """Ask the daemon to stop (it answers, then closes its servers and Azurite)."""
        self._call("POST", "shutdown", timeout=timeout)

    def request_log(self) -> list[tuple[str, str, int]]:
        return [tuple(e) for e in self._call("GET", "requests")["value"]]

    def clear_request_log(self) -> None:
        self._call("DELETE", "requests")
