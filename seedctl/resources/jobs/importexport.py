"""Classic back end: `Microsoft.ImportExport/jobs` through azure-mgmt-storageimportexport 0.1.0.

That package is the stable, msrest-based SDK (api-version 2016-11-01). The newer 1.0.0b2 is a
pre-release; staying on the stable one costs an msrest credential adapter (azure/credentials.py)
and seedctl's own retry loop for POST/PATCH, both of which seedctl has anyway.
"""

from __future__ import annotations

from typing import Any

from seedctl.azure.errors import is_not_found
from seedctl.azure.retry import call_with_retry, read_or_none
from seedctl.resources.jobs import base

# The job's `state` is free text in the 2016-11-01 description (no enum); these are the states the
# Import/Export documentation names (importexport-reference.md §3.4), each placed on purpose.
STATE_TO_PHASE = {
    "Creating": base.CREATED,
    "Shipping": base.SHIPPING,
    "Received": base.RECEIVED,
    "Transferring": base.TRANSFERRING,
    "Packaging": base.PACKAGING,
    "Completed": base.COMPLETED,
    "Closed": base.COMPLETED_WITH_ERRORS,  # returned, with errors
    "ClosedWithErrors": base.COMPLETED_WITH_ERRORS,  # not documented; older tools print it
    "Canceled": base.CANCELLED, "Cancelled": base.CANCELLED,  # the portal's word
    "Faulted": base.FAILED,  # a side state: the datacenter needs the customer to get in touch
}

# the datacenter address, in the same words for both back ends
SHIPPING_FIELDS = ("recipient_name", "street_address1", "street_address2", "city", "state_or_province",
                   "postal_code", "country_or_region", "phone")

ADDRESS_FIELDS = {  # spec field -> service field
    "recipient": "recipient_name", "street1": "street_address1", "street2": "street_address2",
    "city": "city", "state_or_province": "state_or_province", "postal_code": "postal_code",
    "country_or_region": "country_or_region", "phone": "phone", "email": "email",
}


def _package(pkg: Any) -> dict[str, Any] | None:
    if pkg is None or not getattr(pkg, "tracking_number", None):
        return None
    return {"carrier_name": pkg.carrier_name, "tracking_number": pkg.tracking_number,
            "drive_count": pkg.drive_count, "ship_date": pkg.ship_date}


def _address(addr: Any, fields: dict[str, str]) -> dict[str, Any] | None:
    if addr is None:
        return None
    return {ours: getattr(addr, theirs, None) for ours, theirs in fields.items()
            if getattr(addr, theirs, None) is not None}


class ImportExportBackend:
    api = "importexport"
    provider_namespace = "Microsoft.ImportExport"

    def get(self, ctx: Any, resource_group: str, name: str) -> dict[str, Any] | None:
        if not base.provider_registered(ctx, self.provider_namespace):
            return None
        client = ctx.clients.importexport
        job = read_or_none(lambda: client.jobs.get(name, resource_group), f"read import job {name}",
                           ctx.clients.policy)
        if job is None:
            return None
        return self.normalize(job)

    def normalize(self, job: Any) -> dict[str, Any]:
        from azure.mgmt.storageimportexport.models import JobDetails

        p = job.properties or JobDetails()  # optional in the description: an empty job, not a crash
        state = p.state or "Creating"
        # the service's casing is its own ("completed" and "Completed" name one state)
        state = next((k for k in STATE_TO_PHASE if k.lower() == state.lower()), state)
        phase = STATE_TO_PHASE.get(state, base.FAILED)
        if p.cancel_requested and phase in (base.CREATED, base.SHIPPING):
            phase = base.CANCELLED
        drives = [{
            "drive_id": d.drive_id, "manifest_file": d.manifest_file, "manifest_hash": d.manifest_hash,
            "drive_header_hash": d.drive_header_hash, "state": d.state, "copy_status": d.copy_status,
            "percent_complete": d.percent_complete, "bytes_succeeded": d.bytes_succeeded,
            "error_log_uri": d.error_log_uri, "verbose_log_uri": d.verbose_log_uri,
            "manifest_uri": d.manifest_uri,
        } for d in (p.drive_list or [])]
        ship = _address(p.shipping_information, {f: f for f in SHIPPING_FIELDS})
        tags = dict(job.tags or {})
        return {
            "api": self.api, "id": job.id, "name": job.name, "location": job.location,
            "state": state, "phase": phase,
            "storage_account_id": p.storage_account_id,
            "return_address": _address(p.return_address, ADDRESS_FIELDS),
            "return_shipping": ({"carrier_name": p.return_shipping.carrier_name,
                                 "carrier_account_number": p.return_shipping.carrier_account_number}
                                if p.return_shipping else None),
            "diagnostics_path": p.diagnostics_path, "log_level": p.log_level,
            "backup_drive_manifest": bool(p.backup_drive_manifest),
            "drives": drives,
            "delivery_package": _package(p.delivery_package),
            "return_package": _package(p.return_package),
            "shipping_address": ship,
            "percent_complete": p.percent_complete,
            "incomplete_blob_list_uri": p.incomplete_blob_list_uri,
            "cancel_requested": bool(p.cancel_requested),
            "tags": tags,
            "created_at": tags.get("seedctl-created"),
            "unobserved": {},  # the classic GET gives every field back
        }

    # -- writes --------------------------------------------------------------------------------
    @staticmethod
    def _drive_list(desired: dict[str, Any], keys: dict[str, str]) -> list[Any]:
        from azure.mgmt.storageimportexport.models import DriveStatus

        return [DriveStatus(drive_id=d["drive_id"], bit_locker_key=keys[d["drive_id"]],
                            manifest_file=d["manifest_file"], manifest_hash=d["manifest_hash"],
                            drive_header_hash=d.get("drive_header_hash") or "")
                for d in desired["drives"]]

    @staticmethod
    def _return(desired: dict[str, Any]) -> tuple[Any, Any]:
        from azure.mgmt.storageimportexport.models import ReturnAddress, ReturnShipping

        addr = desired["return_address"]
        ship = desired["return_shipping"]
        return (ReturnAddress(**{ADDRESS_FIELDS[k]: v for k, v in addr.items() if v is not None}),
                ReturnShipping(carrier_name=ship["carrier_name"],
                               carrier_account_number=ship["carrier_account_number"]))

    def create(self, ctx: Any, resource_group: str, name: str, desired: dict[str, Any],
               bitlocker_keys: dict[str, str]) -> None:
        from azure.mgmt.storageimportexport.models import JobDetails, PutJobParameters

        return_address, return_shipping = self._return(desired)
        body = PutJobParameters(location=desired["location"], tags=desired["tags"], properties=JobDetails(
            storage_account_id=desired["storage_account_id"], job_type="Import",
            return_address=return_address, return_shipping=return_shipping,
            diagnostics_path=desired["diagnostics_path"], log_level=desired["log_level"],
            backup_drive_manifest=desired["backup_drive_manifest"],
            drive_list=self._drive_list(desired, bitlocker_keys)))
        client = ctx.clients.importexport
        call_with_retry(lambda: client.jobs.create(name, resource_group, body),
                        f"create import job {name}", ctx.clients.policy)

    def update(self, ctx: Any, resource_group: str, name: str, desired: dict[str, Any],
               fields: list[str], bitlocker_keys: dict[str, str]) -> None:
        from azure.mgmt.storageimportexport.models import UpdateJobParameters

        # `UpdateJobParameters.tags` replaces all of the job's tags: send the whole merged set, or
        # seedctl-created (status's two-week countdown) and the user's own tags are lost
        current = self.get(ctx, resource_group, name)
        kwargs: dict[str, Any] = {"tags": {**(current["tags"] if current else {}), **desired["tags"]}}
        if "return_address" in fields or "return_shipping" in fields:
            kwargs["return_address"], kwargs["return_shipping"] = self._return(desired)
        if "log_level" in fields:
            kwargs["log_level"] = desired["log_level"]
        if "backup_drive_manifest" in fields:
            kwargs["backup_drive_manifest"] = desired["backup_drive_manifest"]
        if "drives" in fields:
            kwargs["drive_list"] = self._drive_list(desired, bitlocker_keys)
        client = ctx.clients.importexport
        call_with_retry(lambda: client.jobs.update(name, resource_group, UpdateJobParameters(**kwargs)),
                        f"update import job {name}", ctx.clients.policy)

    def mark_shipped(self, ctx: Any, resource_group: str, name: str, package: dict[str, Any]) -> None:
        from azure.mgmt.storageimportexport.models import PackageInfomation, UpdateJobParameters

        # The 2016-11-01 model requires a drive count and a ship date; the spec may leave both out.
        ship_date = package.get("ship_date") or ctx.env.now().date().isoformat()
        pkg = PackageInfomation(carrier_name=package["carrier_name"], tracking_number=package["tracking_number"],
                                drive_count=package.get("drive_count") or len(ctx.spec.drives), ship_date=ship_date)
        current = self.get(ctx, resource_group, name)
        # `state: Shipping` tells the service the package has left; once it says so, only the
        # package details are corrected.
        state = "Shipping" if current and current["state"] == "Creating" else None
        client = ctx.clients.importexport
        call_with_retry(lambda: client.jobs.update(name, resource_group, UpdateJobParameters(
            state=state, delivery_package=pkg)), f"enter shipping details on import job {name}",
            ctx.clients.policy)

    def cancel(self, ctx: Any, resource_group: str, name: str, reason: str) -> None:
        from azure.mgmt.storageimportexport.models import UpdateJobParameters

        client = ctx.clients.importexport
        call_with_retry(lambda: client.jobs.update(name, resource_group, UpdateJobParameters(cancel_requested=True)),
                        f"cancel import job {name}", ctx.clients.policy)

    def delete(self, ctx: Any, resource_group: str, name: str) -> None:
        client = ctx.clients.importexport

        def remove() -> None:
            try:
                client.jobs.delete(name, resource_group)
            except Exception as exc:
                if not is_not_found(exc):
                    raise

        call_with_retry(remove, f"delete import job {name}", ctx.clients.policy)

    def list_jobs(self, ctx: Any, resource_group: str) -> list[dict[str, Any]]:
        if not base.provider_registered(ctx, self.provider_namespace):
            return []
        client = ctx.clients.importexport
        jobs = call_with_retry(lambda: list(client.jobs.list_by_resource_group(resource_group)),
                               f"list import jobs in {resource_group}", ctx.clients.policy)
        return [self.normalize(j) for j in jobs]

    def shipping_address(self, ctx: Any, location: str) -> dict[str, Any] | None:
        client = ctx.clients.importexport
        loc = read_or_none(lambda: client.locations.get(location.replace(" ", "").lower()),
                           f"read datacenter address for {location}", ctx.clients.policy)
        if loc is None:
            return None
        fields = ["recipient_name", "street_address1", "street_address2", "city", "state_or_province",
                  "postal_code", "country_or_region", "phone", "supported_carriers"]
        return {f: getattr(loc, f, None) for f in fields if getattr(loc, f, None) is not None}
