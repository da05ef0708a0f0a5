"""shipment["job"]: the carrier and tracking number of the package that carries the drives.

Entering them tells the service the drives are on their way; it must happen within two weeks of
the job's creation or the job may be deleted (status warns about that deadline).

Recording a shipment is the point of no return (a rejected drive costs weeks and a courier round
trip), so right before it seedctl checks one invariant against fresh observations, never against
the plan (`check_shipment`): for every drive, what the job in Azure lists (drive id, manifest hash)
equals the DriveManifest.xml on that drive, the files on the drive still match it (re-hashed), and
the manifests together cover the staging tree. A drive that is no longer attached (packed) is
judged by the byte-exact manifest copy kept beside the spec. If anything fails, the shipment is
refused with the reason and what to do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seedctl.errors import ApplyError, DriveError, SeedctlError
from seedctl.plan import CREATE, NOOP, UPDATE, AttributeChange, Change
from seedctl.resources.base import Context, Node, Observation, Unobservable, same_value
from seedctl.resources.jobs import backend_for
from seedctl.resources.jobs import base as phases
from seedctl.resources.staging import Carried, carried_by_manifest


class ShipmentRefused(ApplyError):
    """The drives do not hold what the job says they hold; the package must not leave."""


class ShipmentNode(Node):
    kind = "shipment"

    def __init__(self, job_name: str, resource_group: str, api: str, depends_on: tuple[str, ...]) -> None:
        super().__init__(job_name, depends_on)
        self.resource_group = resource_group
        self.backend = backend_for(api)

    def read(self, ctx: Context) -> Observation:
        job = self.backend.get(ctx, self.resource_group, self.name)
        if job is None:
            return None
        return {"state": job["state"], "phase": job["phase"], "delivery_package": job["delivery_package"]}

    def desired(self, ctx: Context) -> dict[str, Any]:
        s = ctx.spec.shipment
        assert s is not None
        # Data Box records no ship date of the customer's (it notes when the disks were marked
        # shipped), so a spec's ship_date is not compared there.
        ship_date = None if self.backend.api == "databox" else s.ship_date
        return {"carrier_name": s.carrier_name, "tracking_number": s.tracking_number,
                "ship_date": ship_date, "drive_count": s.drive_count or len(ctx.spec.drives)}

    def diff(self, desired: dict[str, Any], observed: Observation) -> Change:
        if isinstance(observed, Unobservable):
            return self.deferred(observed)
        if observed is None or observed.get("delivery_package") is None:
            attrs = [AttributeChange(k, None, v) for k, v in desired.items() if v is not None]
            return self.change(CREATE, attributes=attrs,
                               notes=["checked right before it is recorded: each drive holds exactly the manifest "
                                      "the job lists, its files still match it, and the manifests cover staging"])
        have = observed["delivery_package"]
        # as Azure means them: "Ups" is UPS, "9/29/2017 10:28:35 PM" is 2017-09-29 (base.same_value)
        attrs = [AttributeChange(k, have.get(k), v) for k, v in desired.items()
                 if v is not None and not same_value(k, _text(have.get(k)), _text(v))]
        if not attrs:
            return self.change(NOOP)
        if observed["phase"] not in phases.SHIPMENT_EDITABLE:
            return self.error(f"shipping details of job {self.name} cannot change in state {observed['state']}: "
                              f"the datacenter already has the package (tracking {have.get('tracking_number')})",
                              attributes=attrs)
        return self.change(UPDATE, attributes=attrs)

    def apply(self, change: Change, ctx: Context) -> Observation:
        desired = self.desired(ctx)
        current = self.read(ctx)
        again = self.diff(desired, current)
        if again.action == NOOP:
            return current
        if again.errors:
            raise ApplyError("; ".join(again.errors))
        if again.action == CREATE:
            # only the first recording lets the drives go; correcting a tracking number does not
            check_shipment(ctx, self.backend, self.resource_group, self.name)
        self.backend.mark_shipped(ctx, self.resource_group, self.name, desired)
        return self.read(ctx)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# -- the shipment invariant ------------------------------------------------------------------------

def check_shipment(ctx: Context, backend: Any, resource_group: str, job_name: str) -> None:
    """Raise ShipmentRefused unless every drive holds exactly what the job in Azure lists and the
    drives together carry the staging tree. Reads everything afresh (the job, each drive's
    manifest and files, or the kept copy of a drive that is packed)."""
    job = backend.get(ctx, resource_group, job_name)
    if job is None:
        raise ShipmentRefused(f"import job {job_name} does not exist; the shipment was not recorded")
    problems = drive_problems(ctx, job)
    if problems:
        raise ShipmentRefused(
            f"shipment of import job {job_name} refused: the drives do not hold what the job lists, so the "
            "datacenter would reject them:\n" + "\n".join(f"  - {p}" for p in problems)
            + "\nNothing was recorded; the drives may stay packed while you fix this.")


def drive_problems(ctx: Context, job: dict[str, Any]) -> list[str]:
    """Every way the drives disagree with the job or with staging, each with what to do."""
    from seedctl.drives import MANIFEST_NAME, inspect_drive
    from seedctl.records import md5_hex, read_copy

    spec = ctx.spec
    listed = {d["drive_id"]: (d.get("manifest_hash") or "").upper() for d in job.get("drives") or []}
    problems = [f"the job lists drive {serial}, which is not in the spec: restore it in the spec"
                for serial in sorted(set(listed) - {d.serial for d in spec.drives})]
    carried: Carried = {}  # blob path -> (size, staging mtime when known)
    for drive in spec.drives:
        want = listed.get(drive.serial)
        if not want:
            problems.append(f"drive {drive.serial}: the job does not list it with a manifest hash; run "
                            "`seedctl apply` without the shipment block to bring the job up to date")
            continue
        mount = spec.mount_path(drive)
        seen = inspect_drive(mount, drive.serial, allow_simulated=spec.azure.cloud == "sandbox")
        if seen.attached or seen.is_simulated:
            problems += _attached_drive(drive.serial, Path(mount), want, carried, MANIFEST_NAME, md5_hex)
            continue
        try:
            copy = read_copy(spec.base_dir, drive.serial)
        except SeedctlError as exc:  # a FIFO, link or device in its place: refused, never waited on
            problems.append(f"drive {drive.serial} is not attached and its kept manifest cannot be used: {exc}")
            continue
        if copy is None:
            problems.append(f"drive {drive.serial} is not attached and no copy of its manifest is kept beside "
                            "the spec: attach the drive so its manifest can be checked")
        elif md5_hex(copy) != want:
            problems.append(f"drive {drive.serial} is not attached and its kept manifest (MD5 {md5_hex(copy)}) is "
                            f"not the one the job lists ({want}): attach the drive and run `seedctl apply`")
        else:
            problems += carried_by_manifest(copy, carried, f"kept manifest of drive {drive.serial}")
    problems += _staging_problems(ctx, carried)
    return problems


def _attached_drive(serial: str, mount: Path, want: str, carried: Carried,
                    manifest_name: str, md5_hex: Any) -> list[str]:
    from seedctl.drives import read_drive_state, verify_drive
    from seedctl.safefs import CAP_MANIFEST, read_regular

    try:  # the one safe reader: a link, FIFO or device in the manifest's place is refused, never read
        data = read_regular(mount / manifest_name, what=f"drive {serial}'s manifest", cap=CAP_MANIFEST)
    except FileNotFoundError:
        return [f"drive {serial}: it has no {manifest_name}; run `seedctl apply` to write it"]
    except (OSError, DriveError) as exc:
        return [f"drive {serial}: cannot read its {manifest_name} ({getattr(exc, 'strerror', None) or exc}); "
                "run `seedctl apply` to write it"]
    if md5_hex(data) != want:
        return [f"drive {serial}: its {manifest_name} has MD5 {md5_hex(data)} but the job lists {want}; run "
                "`seedctl plan` and `seedctl apply` without the shipment block, so the job lists what is on the "
                "drive (or move the edited manifest aside so apply rewrites it)"]
    report = verify_drive(mount)  # a shipment re-reads every byte against the manifest
    if not report.ok:
        shown = "; ".join(str(p) for p in report.problems[:5])
        more = f" and {len(report.problems) - 5} more" if len(report.problems) > 5 else ""
        return [f"drive {serial}: {len(report.problems)} problem(s) on the drive ({shown}{more}); run "
                "`seedctl apply --verify` to repair the drive before shipping"]
    try:
        state = read_drive_state(mount)
    except DriveError as exc:
        return [f"drive {serial}: {exc}"]
    return carried_by_manifest(data, carried, f"manifest on drive {serial}",
                               journal=state.completed if state else None)


def _staging_problems(ctx: Context, carried: Carried) -> list[str]:
    """The manifests must cover the staging tree (when staging is observed here), judged from a
    walk of staging made now, after every drive was re-read: never from the scan the plan (or this
    run) cached, which may be hours old by the end of the drives' re-hash (issue 23)."""
    from seedctl.resources.staging import STAGING_ADDRESS, differences, fresh_scan, names

    if not isinstance(ctx.observations.get(STAGING_ADDRESS), dict):
        return []  # not observable here: the drives are judged against the job alone
    root = ctx.spec.staging_root()
    if not root.is_dir():
        return [f"the staging folder {root} is gone since the plan; mount it (or fix staging.path) and apply again"]
    scan = fresh_scan(ctx)
    problems = []
    if scan.errors:
        problems.append(f"staging now has {len(scan.errors):,} problem(s) ({'; '.join(str(p) for p in scan.errors[:3])}"
                        f"{' ...' if len(scan.errors) > 3 else ''}); run `seedctl plan`")
    missing, changed = differences(scan.files, carried)
    for what, rels in (("are on no drive", missing), ("differ from the copy on the drive", changed)):
        if rels:
            problems.append(f"{len(rels)} staging file(s) {what} ({names(rels)}); run `seedctl apply` without the "
                            "shipment block (or put staging back as it was written)")
    return problems
