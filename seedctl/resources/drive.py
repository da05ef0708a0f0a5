"""drive["SERIAL"]: one SATA drive, filled with its share of the staging data and a manifest.

The drive itself holds its state (seedctl's journal and the manifest), so reading it tells what is
already written. Which files go on which drive is decided once per run for all drives
(`allocation`), from the staging scan and the drives' capacities; files already on a drive stay.
"""

from __future__ import annotations

import threading
from typing import Any

from seedctl.errors import DriveError
from seedctl.plan import CREATE, NOOP, UPDATE, AttributeChange, Change
from seedctl.plan import fingerprint as digest
from seedctl.resources.base import Context, Node, Observation, Unobservable
from seedctl.resources.jobs import base as phases
from seedctl.resources.staging import local_state_skipped, staging_scan
from seedctl.spec.model import DriveSpec

ALLOCATION_KEY = "drives.allocation"
_alloc_lock = threading.Lock()


def owner_id(ctx: Context) -> str:
    """Who a drive belongs to: the spec and its job, recorded in the drive's journal."""
    job = ctx.spec.import_job.name if ctx.spec.import_job else "-"
    return f"{ctx.spec.name}/{job}"


def allow_simulated(ctx: Context) -> bool:
    return ctx.spec.azure.cloud == "sandbox"


def journal_key(serial: str) -> str:
    return f"drive.journal:{serial}"


def allocation(ctx: Context) -> Any:
    """Allocation of the staging files to the spec's drives, or a string saying why it is unknown.

    Raises AllocationError (a DriveError) with figures when the data cannot fit.
    """
    with _alloc_lock:
        if ALLOCATION_KEY in ctx.cache:
            return ctx.cache[ALLOCATION_KEY]
        from seedctl.drives.allocate import allocate, usable_bytes

        result: Any
        staging = ctx.observations.get('staging["staging"]')
        if not isinstance(staging, dict):
            result = "the staging folder is not observed here"
        else:
            drives, pinned, unknown = [], {}, []
            for d in ctx.spec.drives:
                obs = ctx.observations.get(f'drive["{d.serial}"]')
                capacity = d.capacity or (obs.get("capacity") if isinstance(obs, dict) else None)
                if not capacity:
                    unknown.append(d.serial)
                    continue
                drives.append((d.serial, usable_bytes(capacity)))
                state = ctx.cache.get(journal_key(d.serial))
                if state is not None:
                    pinned[d.serial] = set(state.completed)
            if unknown:
                result = (f"capacity of drive(s) {', '.join(unknown)} unknown (not attached here and no "
                          "capacity in the spec)")
            else:
                try:
                    result = allocate(staging_scan(ctx).files, drives, pinned=pinned)
                except DriveError as exc:
                    result = exc
        ctx.cache[ALLOCATION_KEY] = result
        return result


class DriveNode(Node):
    kind = "drive"
    local = True

    def __init__(self, drive: DriveSpec, depends_on: tuple[str, ...]) -> None:
        super().__init__(drive.serial, depends_on)
        self.drive = drive

    def read(self, ctx: Context) -> Observation:
        from seedctl.drives import read_drive_state
        from seedctl.drives.identity import inspect_drive

        skipped = local_state_skipped(ctx)
        if skipped:
            return skipped
        mount = ctx.spec.mount_path(self.drive)
        obs = inspect_drive(mount, self.drive.serial, allow_simulated=allow_simulated(ctx))
        if not obs.attached and not obs.is_simulated:
            return Unobservable(f"drive {self.drive.serial} is not attached here ({mount})")
        problems = list(obs.problems)
        if obs.serial is not None and not obs.serial_matches:
            problems.append(f"wrong drive at {mount}: serial {obs.serial}, the spec says {self.drive.serial}")
        if self.drive.capacity and obs.capacity and obs.capacity < self.drive.capacity * 0.98:
            problems.append(f"drive {self.drive.serial} holds {obs.capacity:,} bytes, the spec expects "
                            f"{self.drive.capacity:,}")
        if obs.content == "foreign":
            problems.append(f"drive {self.drive.serial} holds data that is not seedctl's "
                            f"({', '.join(obs.foreign_entries)}); use an empty drive")
        if obs.content == "ours" and obs.owner_id != owner_id(ctx):
            problems.append(f"drive {self.drive.serial} was prepared for {obs.owner_id!r}, not {owner_id(ctx)!r}")
        state = None
        if obs.content == "ours":
            try:
                state = read_drive_state(mount)
            except DriveError as exc:
                problems.append(str(exc))
        ctx.cache[journal_key(self.drive.serial)] = state
        written = state.completed if state else {}
        complete = bool(state and state.manifest_current and state.manifest_hash)
        return {
            "mount_point": str(mount),
            "serial": obs.serial,
            "capacity": obs.capacity,
            "free_bytes": obs.free_bytes,
            "content": obs.content,
            "written_files": len(written),
            "written_bytes": sum(size for size, _ in written.values()),
            "written": digest(sorted((rel, size, mtime) for rel, (size, mtime) in written.items())),
            "in_flight": list(state.in_flight) if state else [],
            "complete": complete,
            "manifest_hash": state.manifest_hash if complete else None,
            "drive_header_hash": "",
            "problems": problems,
        }

    def desired(self, ctx: Context) -> dict[str, Any]:
        job = ctx.observations.get(f'import_job["{ctx.spec.import_job.name}"]') if ctx.spec.import_job else None
        if isinstance(job, dict) and job.get("phase") not in (None, *phases.DRIVES_EDITABLE):
            return {"frozen": f"shipped with import job {job['name']} (state {job['state']}); not rewritten"}
        observed = ctx.observations.get(self.address)
        in_job = isinstance(job, dict) and any(d.get("drive_id") == self.name and d.get("manifest_hash")
                                                for d in job.get("drives") or [])
        if in_job and isinstance(observed, Unobservable):
            # Packed for shipping before the tracking number was entered: the job already holds this
            # drive's manifest, so there is nothing left to do with the drive itself.
            return {"frozen": f"listed in import job {job['name']} and not attached here; nothing to write"}
        alloc = allocation(ctx)
        if isinstance(alloc, str):
            return {"unknown": alloc}
        if isinstance(alloc, Exception):
            return {"error": str(alloc)}
        mine = alloc.for_serial(self.name)
        state = ctx.cache.get(journal_key(self.name))
        written = dict(state.completed) if state else {}
        wanted = {f.rel_path for f in mine.files}
        to_write = [f for f in mine.files if written.get(f.rel_path) != (f.size, f.mtime_ns)]
        return {
            "files": len(mine.files),
            "bytes": mine.bytes,
            "cost": mine.cost,
            "to_write_files": len(to_write),
            "to_write_bytes": sum(f.size for f in to_write),
            "to_remove": sorted(set(written) - wanted),
        }

    def diff(self, desired: dict[str, Any], observed: Observation) -> Change:
        if "frozen" in desired:
            return self.change(NOOP, notes=[desired["frozen"]])
        if isinstance(observed, Unobservable):
            return self.deferred(observed)
        assert isinstance(observed, dict)
        if observed["problems"]:
            return self.error(*observed["problems"])
        if "error" in desired:
            return self.error(desired["error"])
        if "unknown" in desired:
            return self.change("deferred", deferred_reason=desired["unknown"])
        capacity = observed["capacity"] or 0
        summary = {"files": desired["files"], "bytes": desired["bytes"], "capacity": capacity,
                   "fill_ratio": round(desired["cost"] / capacity, 4) if capacity else None,
                   "to_write_files": desired["to_write_files"], "to_write_bytes": desired["to_write_bytes"]}
        pending = desired["to_write_files"] or desired["to_remove"]
        if not pending and observed["complete"]:
            return self.change(NOOP, summary=summary)
        attrs = []
        if desired["to_write_files"]:
            attrs.append(AttributeChange("files_written", observed["written_files"], desired["files"]))
            attrs.append(AttributeChange("bytes_written", observed["written_bytes"], desired["bytes"]))
        if desired["to_remove"]:
            attrs.append(AttributeChange("files_removed", None, len(desired["to_remove"])))
        attrs.append(AttributeChange("manifest_hash", observed["manifest_hash"], None, known_after_apply=True))
        action = CREATE if observed["content"] == "empty" else UPDATE
        notes = [] if action == CREATE else [
            f"resume: {desired['to_write_files']:,} of {desired['files']:,} files still to write"]
        return self.change(action, attributes=attrs, summary=summary, notes=notes)

    def apply(self, change: Change, ctx: Context) -> Observation:
        from seedctl.drives import prepare_drive

        alloc = allocation(ctx)
        if not hasattr(alloc, "for_serial"):
            raise DriveError(f"drive {self.name}: cannot allocate files: {alloc}")
        mine = alloc.for_serial(self.name)
        mount = ctx.spec.mount_path(self.drive)
        # Fail before hours of copying if the drive's BitLocker key cannot be had (on Windows with
        # manage: true this is also where encryption is switched on). The key itself is dropped.
        from seedctl.drives.encryption import encryptor_for

        encryptor_for(self.drive.bitlocker, serial=self.name).ensure(mount, self.name)

        def progress(event: Any) -> None:
            ctx.emit("drive_progress", address=self.address, **_event_fields(event))

        prepare_drive(mount, self.name, list(mine.files), ctx.spec.staging_root(), owner_id=owner_id(ctx),
                      progress=progress, verify=bool(ctx.apply_options.get("verify")),
                      allow_simulated=allow_simulated(ctx))
        from seedctl.lifecycle.manifests import save_copy

        save_copy(ctx.spec.base_dir, self.name, mount)  # verify needs it after the drive has shipped
        return self.read(ctx)


def _event_fields(event: Any) -> dict[str, Any]:
    if isinstance(event, dict):
        return event
    fields = getattr(event, "__dataclass_fields__", None)
    if fields:
        return {k: getattr(event, k) for k in fields}
    return {"detail": str(event)}
