"""import_job["name"]: the Import/Export (or Data Box disk) job that ships the drives.

One node kind for both back ends (`resources/jobs/`): the node decides *what* must change and
whether the job's phase allows it; the back end knows *how* its API says it.

Before a job exists, every read asks the service what it thinks of the order (the back end's
`what_if`: Data Box validateInputs and regionConfiguration, the classic datacenter location), so a
refusal is a plan error before any drive is written, and again a fresh one right before the create.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from seedctl.errors import SeedctlError
from seedctl.plan import CREATE, NOOP, UPDATE, AttributeChange, Change
from seedctl.resources.base import (
    APPLIED_TAG,
    MANAGED_TAG,
    Context,
    Node,
    Observation,
    Unobservable,
    applied_record,
    same_fields,
)
from seedctl.resources.drive import content_changes, drive_work
from seedctl.resources.jobs import backend_for
from seedctl.resources.jobs import base as phases
from seedctl.resources.resource_group import normalize_location

MANIFEST_FILE = "\\DriveManifest.xml"
CREATED_TAG = "seedctl-created"
# fields the services may store in their own words (a standardized address): in the job's
# seedctl-applied tag, a digest of what seedctl sent ("<field>") and, when the service stored it
# otherwise than base.same_fields can tell, of what the service showed right after ("<field>.seen")
RECORDED = ("return_address", "return_shipping")
SEEN = ".seen"
# never in a digest: a secret (x-ms-secret on Data Box) does not go into a tag, even hashed
UNRECORDED_FIELDS = ("carrier_account_number",)


def sent_digest(value: dict[str, Any]) -> str:
    """A short digest of a field's values for the job's applied tag. Text is folded (case, spacing)
    first, so the rewrites base.same_value already understands do not change it."""
    kept = {k: " ".join(v.split()).casefold() if isinstance(v, str) else v for k, v in sorted(value.items())
            if k not in UNRECORDED_FIELDS and v not in (None, "")}
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:16]


def applied_job_tag(desired: dict[str, Any]) -> str:
    return json.dumps({key: sent_digest(desired[key]) for key in RECORDED}, sort_keys=True, separators=(",", ":"))


def _shown(have: dict[str, Any], want: dict[str, Any]) -> str:
    """The fields where the service's value differs from the spec's, as the service shows them."""
    differ = {k: v for k, v in have.items() if k not in UNRECORDED_FIELDS and not same_fields({k: v}, {k: want.get(k)})}
    return ", ".join(f"{k} {v!r}" for k, v in sorted(differ.items())) or "its own words"


def drive_address(serial: str) -> str:
    return f'drive["{serial}"]'


class ImportJobNode(Node):
    kind = "import_job"

    def __init__(self, name: str, resource_group: str, api: str, depends_on: tuple[str, ...]) -> None:
        super().__init__(name, depends_on)
        self.resource_group = resource_group
        self.api = api
        self.backend = backend_for(api)

    # -- read ----------------------------------------------------------------------------------
    @property
    def _what_if_key(self) -> str:
        return f"what_if:{self.address}"

    def read(self, ctx: Context) -> Observation:
        job = self.backend.get(ctx, self.resource_group, self.name)
        ctx.cache.pop(self._what_if_key, None)
        if job is None:
            other = self._job_in_other_backend(ctx)
            if other is not None:
                return {"other_api": other}
            ctx.cache[self._what_if_key] = self.backend.what_if(ctx, self._order(ctx),
                                                                account_exists=self._account_exists(ctx))
        return job

    def _account_exists(self, ctx: Context) -> bool:
        spec = ctx.spec
        address = f'storage_account["{spec.storage_account.name}"]'
        if address in ctx.observations:
            observed = ctx.observations[address]
            return isinstance(observed, dict) and not observed.get("name_taken")
        from seedctl.azure.retry import read_or_none

        clients = ctx.clients
        return read_or_none(lambda: clients.storage.storage_accounts.get_properties(
            spec.storage_resource_group, spec.storage_account.name),
            f"read storage account {spec.storage_account.name}", clients.policy) is not None

    def _job_in_other_backend(self, ctx: Context) -> str | None:
        """A job of this name made from this spec through the other API: switching back ends while
        it exists would silently create a second job, so the plan must say so."""
        other_api = "databox" if self.api == "importexport" else "importexport"
        # (the back end answers None when its provider is not registered: no jobs there)
        job = backend_for(other_api).get(ctx, self.resource_group, self.name)
        if job and job["tags"].get(MANAGED_TAG) == ctx.spec.name:
            return f"{other_api} ({job['state']})"
        return None

    # -- desired -------------------------------------------------------------------------------
    @staticmethod
    def _order(ctx: Context) -> dict[str, Any]:
        """What the order says apart from its drives: where, into which account, returned how."""
        spec = ctx.spec
        job = spec.import_job
        assert job is not None
        addr = job.return_address
        return {
            "location": normalize_location(spec.azure.location),
            "storage_account_id": (f"/subscriptions/{spec.azure.subscription_id}/resourceGroups/"
                                   f"{spec.storage_resource_group}/providers/Microsoft.Storage/storageAccounts/"
                                   f"{spec.storage_account.name}"),
            "return_address": {k: v for k, v in {
                "recipient": addr.recipient, "street1": addr.street1, "street2": addr.street2,
                "city": addr.city, "state_or_province": addr.state_or_province,
                "postal_code": addr.postal_code, "country_or_region": addr.country_or_region,
                "phone": addr.phone, "email": addr.email}.items() if v is not None},
            "return_shipping": {"carrier_name": job.return_shipping.carrier_name,
                                "carrier_account_number": job.return_shipping.carrier_account_number},
            "notification_emails": list(job.notification_emails),
        }

    def desired(self, ctx: Context) -> dict[str, Any]:
        spec = ctx.spec
        job = spec.import_job
        assert job is not None
        drives = []
        for d in spec.drives:
            obs = ctx.observations.get(drive_address(d.serial))
            ready = isinstance(obs, dict) and obs.get("complete")
            # A finished drive that this apply rewrites (staging changed) gets a new manifest: its
            # hash is known only after apply, and the job's drive list changes in the same plan.
            rewrite = bool(ready) and content_changes(drive_work(ctx, d))
            drives.append({"drive_id": d.serial, "manifest_file": MANIFEST_FILE,
                           "manifest_hash": obs.get("manifest_hash") if ready and not rewrite else None,  # type: ignore[union-attr]
                           "drive_header_hash": (obs.get("drive_header_hash") or "") if ready else "",  # type: ignore[union-attr]
                           "rewrite": rewrite})
        order = self._order(ctx)
        return {
            **order,
            "diagnostics_path": job.diagnostics_path,
            "log_level": job.log_level,
            "backup_drive_manifest": job.backup_drive_manifest,
            "drives": drives,
            "tags": {**spec.azure.tags, MANAGED_TAG: spec.name, APPLIED_TAG: applied_job_tag(order)},
            # the service's verdicts on the order, when the job does not exist yet (read)
            "what_if": ctx.cache.get(self._what_if_key),
        }

    # -- diff ----------------------------------------------------------------------------------
    def diff(self, desired: dict[str, Any], observed: Observation) -> Change:
        if isinstance(observed, Unobservable):
            return self.deferred(observed)
        if isinstance(observed, dict) and "other_api" in observed:
            return self.error(
                f"a job named {self.name} from this spec already exists through the {observed['other_api']} API; "
                f"the spec now says api: {self.api}. Switching back ends would create a second job for the "
                "same drives: keep the old api until that job is finished, or cancel it and choose a new job name")
        if observed is None:
            return self._create_change(desired)
        return self._update_change(desired, observed)

    def _create_change(self, desired: dict[str, Any]) -> Change:
        change = self._create_attributes(desired)
        verdicts = desired.get("what_if") or []
        change.notes.extend(v.line() for v in verdicts)
        change.summary["service_checks"] = [v.to_json() for v in verdicts]
        refused = [v for v in verdicts if v.ok is False]
        if refused:
            return self.error(*(f"the service refuses the order of import job {self.name}: {v.check}: {v.detail}"
                                for v in refused), attributes=change.attributes, notes=change.notes,
                              summary=change.summary)
        return change

    def _create_attributes(self, desired: dict[str, Any]) -> Change:
        attrs = [AttributeChange("api", None, self.api), AttributeChange("location", None, desired["location"]),
                 AttributeChange("storage_account_id", None, desired["storage_account_id"]),
                 AttributeChange("return_address", None, desired["return_address"]),
                 AttributeChange("return_shipping", None, desired["return_shipping"])]
        if self.api == "importexport":
            attrs += [AttributeChange("diagnostics_path", None, desired["diagnostics_path"]),
                      AttributeChange("log_level", None, desired["log_level"])]
        for i, d in enumerate(desired["drives"]):
            attrs.append(AttributeChange(f"drives[{i}].drive_id", None, d["drive_id"]))
            attrs.append(AttributeChange(f"drives[{i}].manifest_hash", None, d["manifest_hash"],
                                         known_after_apply=d["manifest_hash"] is None))
            attrs.append(AttributeChange(f"drives[{i}].bitlocker_key", None, "key", sensitive=True))
        attrs.append(AttributeChange("shipping_address", None, None, known_after_apply=True))
        return self.change(CREATE, attributes=attrs)

    def _update_change(self, desired: dict[str, Any], observed: dict[str, Any]) -> Change:
        phase = observed["phase"]
        owner = observed["tags"].get(MANAGED_TAG)
        if owner != desired["tags"][MANAGED_TAG]:
            return self.error(f"the job name {self.name} is already used by another job in resource group "
                              f"{self.resource_group} ({'spec ' + owner if owner else 'not created by seedctl'}, "
                              f"state {observed['state']}); choose another import_job.name")
        notes = [f"job state: {observed['state']}"]
        errors: list[str] = []
        attrs: list[AttributeChange] = []
        fields: list[str] = []
        if phase == phases.CANCELLED:
            return self.error(f"import job {self.name} was cancelled; a cancelled job cannot be reused — "
                              "choose a new import_job.name")
        if normalize_location(observed["location"]) != desired["location"]:
            errors.append(f"import job {self.name} is in {observed['location']}, the spec says "
                          f"{desired['location']}; a job cannot move")
        if (observed["storage_account_id"] or "").lower() != desired["storage_account_id"].lower():
            errors.append(f"import job {self.name} imports into {observed['storage_account_id']}; a job's storage "
                          "account cannot change")

        drive_diff = self._drive_differences(desired["drives"], observed["drives"])
        if drive_diff:
            attrs.extend(drive_diff)
            if self.api == "databox":
                # The Data Box API has no way to change a job's disks once it exists.
                errors.append(f"the disks of Data Box job {self.name} cannot change in state {observed['state']}: "
                              "a Data Box job's disks are fixed when it is created (changes: "
                              + ", ".join(a.name for a in drive_diff)
                              + "); restore the drives in the spec, or cancel the job and use a new import_job.name")
            elif phase in phases.DRIVES_EDITABLE:
                fields.append("drives")
            else:
                errors.append(f"the drive list of import job {self.name} cannot change in state {observed['state']}: "
                              "the drives have left the copy computer (changes: "
                              + ", ".join(a.name for a in drive_diff)
                              + "). Restore the drives in the spec, or use a new job for new drives")
        recorded = applied_record(observed.get("tags")) or {}
        for key in ("return_address", "return_shipping"):
            have = observed.get(key) or {}
            # equal as Azure means it, and only on what a GET gives back (issue 14)
            if same_fields(have, desired[key], unobserved=(observed.get("unobserved") or {}).get(key, ())):
                continue
            drift = False
            unobserved = (observed.get("unobserved") or {}).get(key, ())
            differing = {k for k in set(have) | set(desired[key])
                         if k not in unobserved and not same_fields({k: have.get(k)}, {k: desired[key].get(k)})}
            # a secret is never in the record, so a difference in one is judged as it is
            if recorded.get(key) == sent_digest(desired[key]) and not differing & set(UNRECORDED_FIELDS):
                # the spec asks what seedctl sent, and the service stores it its own way (a
                # standardized address): not a change while the service shows what it showed then
                seen = recorded.get(key + SEEN)
                if seen is None or seen == sent_digest(have):
                    notes.append(f"{key}: the service stores what seedctl sent as "
                                 f"{_shown(have, desired[key])} (unchanged since seedctl sent it)")
                    continue
                drift = True  # changed since: someone edited it outside seedctl
            attrs.append(AttributeChange(key, have or None, desired[key], drift=drift))
            if phase in phases.RETURN_EDITABLE:
                fields.append(key)
            else:
                errors.append(f"{key} of import job {self.name} cannot change in state {observed['state']}")
        if self.api == "importexport":
            for key in ("log_level", "backup_drive_manifest"):
                if observed.get(key) is not None and observed[key] != desired[key]:
                    attrs.append(AttributeChange(key, observed[key], desired[key]))
                    if phase in phases.DRIVES_EDITABLE:
                        fields.append(key)
                    else:
                        errors.append(f"{key} of import job {self.name} cannot change in state {observed['state']}")
        if errors:
            return self.error(*errors, attributes=attrs, notes=notes)
        change = self.change(UPDATE if attrs else NOOP, attributes=attrs, notes=notes)
        change.summary["fields"] = fields
        change.summary["phase"] = phase
        return change

    @staticmethod
    def _drive_differences(want: list[dict[str, Any]], have: list[dict[str, Any]]) -> list[AttributeChange]:
        have_by_id = {d["drive_id"]: d for d in have}
        want_ids = [d["drive_id"] for d in want]
        diffs: list[AttributeChange] = []
        for i, d in enumerate(want):
            h = have_by_id.get(d["drive_id"])
            if h is None:
                diffs.append(AttributeChange(f"drives[{i}].drive_id", None, d["drive_id"]))
            elif d["manifest_hash"] and (h.get("manifest_hash") or "").upper() != d["manifest_hash"].upper():
                diffs.append(AttributeChange(f"drives[{i}].manifest_hash", h.get("manifest_hash"), d["manifest_hash"]))
            elif d.get("rewrite"):
                diffs.append(AttributeChange(f"drives[{i}].manifest_hash", h.get("manifest_hash"), None,
                                             known_after_apply=True))
        for drive_id in have_by_id:
            if drive_id not in want_ids:
                diffs.append(AttributeChange(f"drive {drive_id}", drive_id, None))
        return diffs

    # -- apply ---------------------------------------------------------------------------------
    def record_seen(self, ctx: Context, desired: dict[str, Any], observed: dict[str, Any]) -> bool:
        """After a create or update: where the service stores a recorded field otherwise than
        same_fields can tell, record a digest of what it shows in the applied tag (one tags-only
        update), so a later edit outside seedctl still shows as drift. True when it wrote."""
        record = json.loads(applied_job_tag(desired))
        for key in RECORDED:
            have = observed.get(key) or {}
            unobserved = (observed.get("unobserved") or {}).get(key, ())
            if not same_fields(have, desired[key], unobserved=unobserved):
                record[key + SEEN] = sent_digest(have)
        if len(record) == len(RECORDED) or applied_record(observed.get("tags")) == record:
            return False
        tags = {**desired["tags"], APPLIED_TAG: json.dumps(record, sort_keys=True, separators=(",", ":"))}
        self.backend.update(ctx, self.resource_group, self.name, {**desired, "tags": tags}, [], {})
        return True

    def bitlocker_keys(self, ctx: Context) -> dict[str, str]:
        """Resolve every drive's key now, just before sending; held only for the call."""
        from seedctl.drives import encryptor_for

        keys = {}
        for d in ctx.spec.drives:
            key = encryptor_for(d.bitlocker, serial=d.serial).ensure(ctx.spec.mount_path(d), d.serial)
            keys[d.serial] = key.reveal()
        return keys

    def apply(self, change: Change, ctx: Context) -> Observation:
        desired = self.desired(ctx)
        observed = self.read(ctx)  # re-read right before acting: an earlier attempt may have created it
        change = self.diff(desired, observed)
        if change.action == NOOP:
            return observed
        if change.errors:
            raise SeedctlError("; ".join(change.errors))
        if change.action == CREATE or "drives" in change.summary.get("fields", []):
            missing = [d["drive_id"] for d in desired["drives"] if not d["manifest_hash"]]
            if missing:
                raise SeedctlError(f"import job {self.name} needs every drive prepared first; not ready: "
                                   + ", ".join(missing))
        keys = self.bitlocker_keys(ctx)
        if change.action == CREATE:
            # verify needs each manifest after the drives have shipped; a drive prepared by an
            # earlier, interrupted apply got no copy from DriveNode.apply, so make sure here.
            from seedctl.records import save_copy

            for d in ctx.spec.drives:
                save_copy(ctx.spec.base_dir, d.serial, ctx.spec.mount_path(d))
            created = ctx.env.now().replace(microsecond=0).isoformat()
            desired["tags"] = {**desired["tags"], CREATED_TAG: created}
            self.backend.create(ctx, self.resource_group, self.name, desired, keys)
        else:
            self.backend.update(ctx, self.resource_group, self.name, desired, change.summary.get("fields", []), keys)
        keys.clear()
        observed = self.read(ctx)
        if isinstance(observed, dict) and self.record_seen(ctx, desired, observed):
            observed = self.read(ctx)
        if isinstance(observed, dict):
            address = observed.get("shipping_address") or self.backend.shipping_address(ctx, ctx.spec.azure.location)
            ctx.emit("shipping_address", address=self.address, shipping_address=address)
        return observed
