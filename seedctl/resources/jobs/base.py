"""The job back-end interface and the vocabulary both back ends are mapped to.

Every back end turns its service's job into one normalized dict (see `JobBackend.get`), with the
service's own state kept beside seedctl's phase, so plan, status, verify and clean-up never
depend on which API a spec uses.
"""

from __future__ import annotations

from typing import Any, Protocol

# seedctl's phases, in the order a job goes through them
CREATED = "created"            # job exists, drives not yet shipped (shipping details may be entered)
SHIPPING = "shipping"          # the package is on its way to the datacenter
RECEIVED = "received"
TRANSFERRING = "transferring"  # the datacenter is copying data into the storage account
PACKAGING = "packaging"        # drives are being packed for return
COMPLETED = "completed"
COMPLETED_WITH_ERRORS = "completed-with-errors"
CANCELLED = "cancelled"
FAILED = "failed"

PHASES = (CREATED, SHIPPING, RECEIVED, TRANSFERRING, PACKAGING, COMPLETED, COMPLETED_WITH_ERRORS,
          CANCELLED, FAILED)
FINAL_PHASES = frozenset({COMPLETED, COMPLETED_WITH_ERRORS, CANCELLED, FAILED})
# the drive list (which disks, their manifests and keys) can only change before the disks leave
DRIVES_EDITABLE = frozenset({CREATED})
# carrier and tracking number can be entered or corrected until the datacenter has the package
SHIPMENT_EDITABLE = frozenset({CREATED, SHIPPING})
# the return address and carrier matter until the disks are packed for return
RETURN_EDITABLE = frozenset({CREATED, SHIPPING, RECEIVED, TRANSFERRING})
CANCELLABLE = frozenset({CREATED, SHIPPING})
ACTIVE_PHASES = frozenset(PHASES) - FINAL_PHASES

# What a disk's state means to the operator. Every value of the classic `DriveState` enum
# (Microsoft.ImportExport 2016-11-01), in which both back ends report a disk (the Data Box back end
# maps its copy statuses onto these words), is placed on purpose; a test checks the SDK's enum.
DRIVE_WAITING = "waiting"            # listed in the job; not yet (or just) at the datacenter
DRIVE_NEVER_RECEIVED = "never-received"
DRIVE_COPYING = "copying"
DRIVE_DONE = "done"
DRIVE_DONE_WITH_INFO = "done-with-info"  # copied with errors, warnings or overwrites: see its error log
DRIVE_STATES = {
    "Specified": DRIVE_WAITING, "Received": DRIVE_WAITING,
    # the package arrived without it, or two weeks passed since shipping with no package
    "NeverReceived": DRIVE_NEVER_RECEIVED,
    "Transferring": DRIVE_COPYING,
    "Completed": DRIVE_DONE,
    "CompletedMoreInfo": DRIVE_DONE_WITH_INFO,
    # returned to the customer after its copy: what happened to its data is in its copy status
    "ShippedBack": DRIVE_DONE,
}


class JobBackend(Protocol):
    """One job API. All methods take the resource group and job name; dicts are normalized.

    Normalized job (from `get`): api, id, name, location, state (the service's own), phase
    (one of PHASES), storage_account_id, return_address, return_shipping, diagnostics_path,
    log_level, backup_drive_manifest, drives (list of {drive_id, manifest_file, manifest_hash,
    drive_header_hash, state, copy_status, percent_complete, bytes_succeeded, error_log_uri,
    verbose_log_uri, and for Data Box failure_code}), delivery_package, return_package, shipping_address, percent_complete,
    incomplete_blob_list_uri, cancel_requested, tags, created_at (ISO text or None), unobserved
    ({field: [sub-fields]} the service did not give back on this read, e.g. a secret; the plan
    leaves them out of its comparison).
    """

    api: str
    provider_namespace: str

    def get(self, ctx: Any, resource_group: str, name: str) -> dict[str, Any] | None: ...

    def create(self, ctx: Any, resource_group: str, name: str, desired: dict[str, Any],
               bitlocker_keys: dict[str, str]) -> None: ...

    def update(self, ctx: Any, resource_group: str, name: str, desired: dict[str, Any],
               fields: list[str], bitlocker_keys: dict[str, str]) -> None: ...

    def mark_shipped(self, ctx: Any, resource_group: str, name: str, package: dict[str, Any]) -> None: ...

    def cancel(self, ctx: Any, resource_group: str, name: str, reason: str) -> None: ...

    def delete(self, ctx: Any, resource_group: str, name: str) -> None: ...

    def list_jobs(self, ctx: Any, resource_group: str) -> list[dict[str, Any]]: ...

    def shipping_address(self, ctx: Any, location: str) -> dict[str, Any] | None: ...

    def what_if(self, ctx: Any, desired: dict[str, Any], *, account_exists: bool) -> list[Any]:
        """What the service says of a job not created yet (`whatif.Verdict`s): asked by plan before
        any drive is written; a refusal is a plan error."""
        ...


def provider_registered(ctx: Any, namespace: str) -> bool:
    """Whether the job API's provider is registered. A subscription without it has no such jobs,
    and asking for one would make the SDKs register the provider on their own (a write, in what
    must be a read-only refresh): so every job read checks this first. Cached once Registered."""
    from seedctl.azure.retry import read_or_none

    key = f"provider.registered:{namespace}"
    if ctx.cache.get(key):
        return True
    provider = read_or_none(lambda: ctx.clients.resource.providers.get(namespace),
                            f"read resource provider {namespace}", ctx.clients.policy)
    registered = provider is not None and str(provider.registration_state or "").lower() == "registered"
    if registered:
        ctx.cache[key] = True
    return registered
