"""Classic back end: `Microsoft.ImportExport/jobs`, api-version 2016-11-01, through
`seedctl.azure.importexport` (the REST operations on azure-mgmt-core's pipeline; the track-1 SDK
and its msrest/msrestazure/ADAL stack are gone). Bodies are built and read in the REST shape
(camelCase JSON), like the Data Box back end, so this module is a readable map of the wire format.
"""

from __future__ import annotations

from typing import Any

from seedctl.azure.errors import is_not_found
from seedctl.azure.retry import call_with_retry, read_or_none
from seedctl.resources.jobs import base
from seedctl.resources.jobs.whatif import Verdict, address_line, return_carrier

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

# the datacenter address, in the same words for both back ends: ours -> the service's
SHIPPING_FIELDS = {"recipient_name": "recipientName", "street_address1": "streetAddress1",
                   "street_address2": "streetAddress2", "city": "city", "state_or_province": "stateOrProvince",
                   "postal_code": "postalCode", "country_or_region": "countryOrRegion", "phone": "phone"}

ADDRESS_FIELDS = {  # spec field -> service field (ReturnAddress)
    "recipient": "recipientName", "street1": "streetAddress1", "street2": "streetAddress2",
    "city": "city", "state_or_province": "stateOrProvince", "postal_code": "postalCode",
    "country_or_region": "countryOrRegion", "phone": "phone", "email": "email",
}
DRIVE_FIELDS = {  # normalized drive field -> DriveStatus field
    "drive_id": "driveId", "manifest_file": "manifestFile", "manifest_hash": "manifestHash",
    "drive_header_hash": "driveHeaderHash", "state": "state", "copy_status": "copyStatus",
    "percent_complete": "percentComplete", "bytes_succeeded": "bytesSucceeded",
    "error_log_uri": "errorLogUri", "verbose_log_uri": "verboseLogUri", "manifest_uri": "manifestUri",
}


def _dict(value: Any) -> dict[str, Any]:
    """A JSON object from the answer, or {} (every property is optional in the description, and
    an answer is untrusted input: a wrong type is treated as missing, not a crash)."""
    return value if isinstance(value, dict) else {}


def _package(pkg: Any) -> dict[str, Any] | None:
    pkg = _dict(pkg)
    if not pkg.get("trackingNumber"):
        return None
    return {"carrier_name": pkg.get("carrierName"), "tracking_number": pkg.get("trackingNumber"),
            "drive_count": pkg.get("driveCount"), "ship_date": pkg.get("shipDate")}


def _address(addr: Any, fields: dict[str, str]) -> dict[str, Any] | None:
    if not isinstance(addr, dict):
        return None
    return {ours: addr[theirs] for ours, theirs in fields.items() if addr.get(theirs) is not None}


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

    def normalize(self, job: dict[str, Any]) -> dict[str, Any]:
        job = _dict(job)
        p = _dict(job.get("properties"))  # optional in the description: an empty job, not a crash
        state = p.get("state") or "Creating"
        # the service's casing is its own ("completed" and "Completed" name one state)
        state = next((k for k in STATE_TO_PHASE if k.lower() == str(state).lower()), state)
        phase = STATE_TO_PHASE.get(state, base.FAILED)
        if p.get("cancelRequested") and phase in (base.CREATED, base.SHIPPING):
            phase = base.CANCELLED
        drives = [{ours: _dict(d).get(theirs) for ours, theirs in DRIVE_FIELDS.items()}
                  for d in p.get("driveList") or [] if isinstance(d, dict)]
        tags = dict(_dict(job.get("tags")))
        ship = _dict(p.get("returnShipping"))
        return {
            "api": self.api, "id": job.get("id"), "name": job.get("name"), "location": job.get("location"),
            "state": state, "phase": phase,
            "storage_account_id": p.get("storageAccountId"),
            "return_address": _address(p.get("returnAddress"), ADDRESS_FIELDS),
            "return_shipping": ({"carrier_name": ship.get("carrierName"),
                                 "carrier_account_number": ship.get("carrierAccountNumber")}
                                if ship else None),
            "diagnostics_path": p.get("diagnosticsPath"), "log_level": p.get("logLevel"),
            "backup_drive_manifest": bool(p.get("backupDriveManifest")),
            "drives": drives,
            "delivery_package": _package(p.get("deliveryPackage")),
            "return_package": _package(p.get("returnPackage")),
            "shipping_address": _address(p.get("shippingInformation"), SHIPPING_FIELDS),
            "percent_complete": p.get("percentComplete"),
            "incomplete_blob_list_uri": p.get("incompleteBlobListUri"),
            "cancel_requested": bool(p.get("cancelRequested")),
            "tags": tags,
            "created_at": tags.get("seedctl-created"),
            "unobserved": {},  # the classic GET gives every field back
        }

    # -- writes --------------------------------------------------------------------------------
    @staticmethod
    def _drive_list(desired: dict[str, Any], keys: dict[str, str]) -> list[dict[str, Any]]:
        return [{"driveId": d["drive_id"], "bitLockerKey": keys[d["drive_id"]],
                 "manifestFile": d["manifest_file"], "manifestHash": d["manifest_hash"],
                 "driveHeaderHash": d.get("drive_header_hash") or ""}
                for d in desired["drives"]]

    @staticmethod
    def _return(desired: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        addr = desired["return_address"]
        ship = desired["return_shipping"]
        return ({ADDRESS_FIELDS[k]: v for k, v in addr.items() if v is not None},
                {"carrierName": ship["carrier_name"], "carrierAccountNumber": ship["carrier_account_number"]})

    def create(self, ctx: Any, resource_group: str, name: str, desired: dict[str, Any],
               bitlocker_keys: dict[str, str]) -> None:
        return_address, return_shipping = self._return(desired)
        body = {"location": desired["location"], "tags": desired["tags"], "properties": {
            "storageAccountId": desired["storage_account_id"], "jobType": "Import",
            "returnAddress": return_address, "returnShipping": return_shipping,
            "diagnosticsPath": desired["diagnostics_path"], "logLevel": desired["log_level"],
            "backupDriveManifest": bool(desired["backup_drive_manifest"]),
            "driveList": self._drive_list(desired, bitlocker_keys)}}
        client = ctx.clients.importexport
        call_with_retry(lambda: client.jobs.create(name, resource_group, body),
                        f"create import job {name}", ctx.clients.policy)

    def update(self, ctx: Any, resource_group: str, name: str, desired: dict[str, Any],
               fields: list[str], bitlocker_keys: dict[str, str]) -> None:
        # `UpdateJobParameters.tags` replaces all of the job's tags: send the whole merged set, or
        # seedctl-created (status's two-week countdown) and the user's own tags are lost
        current = self.get(ctx, resource_group, name)
        props: dict[str, Any] = {}
        if "return_address" in fields or "return_shipping" in fields:
            props["returnAddress"], props["returnShipping"] = self._return(desired)
        if "log_level" in fields:
            props["logLevel"] = desired["log_level"]
        if "backup_drive_manifest" in fields:
            props["backupDriveManifest"] = bool(desired["backup_drive_manifest"])
        if "drives" in fields:
            props["driveList"] = self._drive_list(desired, bitlocker_keys)
        body: dict[str, Any] = {"tags": {**(current["tags"] if current else {}), **desired["tags"]}}
        if props:
            body["properties"] = props
        client = ctx.clients.importexport
        call_with_retry(lambda: client.jobs.update(name, resource_group, body),
                        f"update import job {name}", ctx.clients.policy)

    def mark_shipped(self, ctx: Any, resource_group: str, name: str, package: dict[str, Any]) -> None:
        # The 2016-11-01 model requires a drive count and a ship date; the spec may leave both out.
        ship_date = package.get("ship_date") or ctx.env.now().date().isoformat()
        pkg = {"carrierName": package["carrier_name"], "trackingNumber": package["tracking_number"],
               "driveCount": package.get("drive_count") or len(ctx.spec.drives), "shipDate": ship_date}
        current = self.get(ctx, resource_group, name)
        # `state: Shipping` tells the service the package has left; once it says so, only the
        # package details are corrected.
        props: dict[str, Any] = {"deliveryPackage": pkg}
        if current and current["state"] == "Creating":
            props["state"] = "Shipping"
        client = ctx.clients.importexport
        call_with_retry(lambda: client.jobs.update(name, resource_group, {"properties": props}),
                        f"enter shipping details on import job {name}", ctx.clients.policy)

    def cancel(self, ctx: Any, resource_group: str, name: str, reason: str) -> None:
        client = ctx.clients.importexport
        call_with_retry(lambda: client.jobs.update(name, resource_group, {"properties": {"cancelRequested": True}}),
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
        jobs = call_with_retry(lambda: client.jobs.list_by_resource_group(resource_group),
                               f"list import jobs in {resource_group}", ctx.clients.policy)
        return [self.normalize(j) for j in jobs]

    def what_if(self, ctx: Any, desired: dict[str, Any], *, account_exists: bool) -> list[Verdict]:
        """The classic service has no validation API; what it can say before a job exists is where
        the drives go (Locations_Get, no subscription, so no registration needed) and with which
        carriers that datacenter works."""
        location = desired["location"]
        address = self.shipping_address(ctx, location)
        if address is None:
            return [Verdict("datacenter address", False, f"the Import/Export service has no location {location}: "
                            "choose an azure.location it serves")]
        return [Verdict("datacenter address", True, address_line(address)),
                return_carrier(desired["return_shipping"]["carrier_name"], address.get("supported_carriers"),
                               f"the Import/Export datacenter for {location}")]

    def shipping_address(self, ctx: Any, location: str) -> dict[str, Any] | None:
        client = ctx.clients.importexport
        loc = read_or_none(lambda: client.locations.get(location.replace(" ", "").lower()),
                           f"read datacenter address for {location}", ctx.clients.policy)
        if loc is None:
            return None
        props = _dict(_dict(loc).get("properties"))
        out = _address(props, SHIPPING_FIELDS) or {}
        carriers = props.get("supportedCarriers")
        if isinstance(carriers, list):
            out["supported_carriers"] = [str(c) for c in carriers]
        return out
