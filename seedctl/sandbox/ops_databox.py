"""Microsoft.DataBox jobs (SKU DataBoxCustomerDisk). Not built yet: see issue 9."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from seedctl.sandbox.app import SandboxApp

JOB_TYPE = "Microsoft.DataBox/jobs"


def install(app: SandboxApp) -> None:
    return None
