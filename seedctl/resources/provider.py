"""provider["Microsoft.ImportExport"]: the resource provider registered on the subscription."""

from __future__ import annotations

import os
import time
from typing import Any

from seedctl.azure.retry import call_with_retry, read_or_none
from seedctl.errors import AzureError
from seedctl.plan import NOOP, UPDATE, AttributeChange, Change
from seedctl.resources.base import Context, Node, Observation

REGISTERED = "Registered"


class ProviderNode(Node):
    kind = "provider"

    def read(self, ctx: Context) -> Observation:
        clients = ctx.clients
        provider = read_or_none(lambda: clients.resource.providers.get(self.name),
                                f"read resource provider {self.name}", clients.policy)
        if provider is None:
            return None
        state = provider.registration_state
        # ARM's casing of the state is its own ("registered" is Registered)
        if isinstance(state, str) and state.lower() == REGISTERED.lower():
            state = REGISTERED
        return {"registration_state": state}

    def desired(self, ctx: Context) -> dict[str, Any]:
        return {"registration_state": REGISTERED}

    def diff(self, desired: dict[str, Any], observed: Observation) -> Change:
        if observed is None:
            return self.error(f"resource provider {self.name} does not exist in this cloud; check the "
                              "namespace in `providers:`")
        state = observed["registration_state"]  # type: ignore[index]
        if state == REGISTERED:
            return self.change(NOOP)
        return self.change(UPDATE, attributes=[AttributeChange("registration_state", state, REGISTERED)])

    def apply(self, change: Change, ctx: Context) -> Observation:
        clients = ctx.clients
        call_with_retry(lambda: clients.resource.providers.register(self.name),
                        f"register resource provider {self.name}", clients.policy)
        timeout = float(ctx.apply_options.get("provider_timeout")
                        or os.environ.get("SEEDCTL_PROVIDER_TIMEOUT", "600"))
        deadline = time.monotonic() + timeout
        delay = 0.05 if clients.is_sandbox else 5.0
        while True:
            observed = self.read(ctx)
            if observed and observed["registration_state"] == REGISTERED:
                return observed
            if time.monotonic() > deadline:
                raise AzureError(f"resource provider {self.name} was still "
                                 f"{observed and observed['registration_state']} after {timeout:.0f} s; "
                                 "registration can take several minutes — run apply again later")
            time.sleep(delay)
            delay = min(delay * 2, 15.0)
