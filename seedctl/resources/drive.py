"""drive["SERIAL"]: one SATA drive, filled with its share of the staging data and a manifest.

The drive itself holds its state (seedctl's journal and the manifest), so reading it tells what is
already written. Which files go on which drive is decided once per run for all drives
(`allocation`), from the staging scan and the drives' capacities; files already on a drive stay.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from itertools import islice
from pathlib import Path
from typing import Any

from seedctl.errors import DriveError
from seedctl.plan import CREATE, NOOP, UPDATE, AttributeChange, Change
from seedctl.resources.base import Context, Node, Observation, Unobservable
from seedctl.resources.jobs import base as phases
from seedctl.resources.staging import STAGING_ADDRESS, local_state_skipped, staging_scan
from seedctl.spec.model import DriveSpec

ALLOCATION_KEY = "drives.allocation"
# why "usable" is less than the capacity, wherever a figure depends on it
RESERVE_NOTE = ("A drive's usable space is its capacity less 1 % (at least 64 MiB), kept free for NTFS's own "
                "metadata (the MFT, its log and bitmap) so the volume never fills")
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
        from seedctl.drives import allocate, usable_bytes

        result: Any
        staging = ctx.observations.get(STAGING_ADDRESS)
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
                    pinned[d.serial] = state.completed  # its keys; no set copied from them
            if unknown:
                result = (f"capacity of drive(s) {', '.join(unknown)} unknown (not attached here and no "
                          "capacity in the spec)")
            else:
                try:
                    result = allocate(staging_scan(ctx).files, drives, pinned=pinned)
                except DriveError as exc:
                    result = DriveError(f"{exc}. {RESERVE_NOTE}; `seedctl estimate --drive-size SIZE` says how "
                                        "many drives of a size the staging data needs")
        ctx.cache[ALLOCATION_KEY] = result
        return result


def listed_in_job(ctx: Context, serial: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the job as observed, this drive's entry in its drive list) — either may be None."""
    if not ctx.spec.import_job:
        return None, None
    job = ctx.observations.get(f'import_job["{ctx.spec.import_job.name}"]')
    if not isinstance(job, dict) or "drives" not in job:
        return None, None
    entry = next((d for d in job.get("drives") or [] if d.get("drive_id") == serial and d.get("manifest_hash")),
                 None)
    return job, entry


def damaged_files(mount: Path, records: Mapping[str, Any]) -> list[str]:
    """Files the journal calls complete that are missing or changed on the drive: one lstat each,
    no data read (size and the drive copy's mtime as seedctl left them).

    Through the drive's root folder (seedctl.safefs.Tree): never following a link, so a link, FIFO,
    device, junction or folder where a file should be is damage (issue 23: `os.stat` followed a
    planted link to a file of the same size and mtime and the plan said "No changes"), and so is a
    file behind a folder that became a link or another filesystem. Only lstat is done here, never a
    write."""
    from seedctl.drives import DATA_DIR
    from seedctl.safefs import Tree, is_plain_file

    try:
        tree = Tree(mount, what=f"drive at {mount}")
    except DriveError:
        return sorted(records)  # the drive's root cannot be opened: nothing on it can be vouched for
    bad = []
    with tree:
        dev = tree.dev
        for rel, st in tree.lstat_each(records, prefix=DATA_DIR + "/"):
            if st is None or isinstance(st, Exception):  # absent, or a link or mount point on the way
                bad.append(rel)
                continue
            record = records[rel]
            if not is_plain_file(st) or st.st_dev != dev or st.st_size != record.size \
                    or st.st_mtime_ns != record.dst_mtime_ns:
                bad.append(rel)
    return sorted(bad)


def written_digest(written: Mapping[str, tuple[int, int]]) -> str:
    """A short digest of what a drive holds (rel path, size, mtime), in path order: the staging
    listing's digest over the journal's records, streamed (the canonical JSON of a sorted list of
    100k triples cost a list of tuples and megabytes of text per drive, and every drive is read at
    once)."""
    from seedctl.drives import StagedFile, listing_digest

    return listing_digest(StagedFile(rel, *written[rel], "") for rel in sorted(written))


def rehash_damaged(mount: Path, records: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Re-read the whole drive against its manifest (`apply --verify`, a shipment). Returns the
    files whose content no longer matches, and the problems that are not about one file."""
    from seedctl.drives import verify_drive

    report = verify_drive(mount)
    by_file_path = {r.file_path.lower(): rel for rel, r in records.items()}
    files, other = set(), []
    for problem in report.problems:
        rel = by_file_path.get(problem.file_path.lower())
        if rel is None:
            other.append(str(problem))
        else:
            files.add(rel)
    return sorted(files), other


def _names(rels: list[str], limit: int = 5) -> str:
    shown = ", ".join(rels[:limit])
    return shown + (f" and {len(rels) - limit:,} more" if len(rels) > limit else "")


def drive_work(ctx: Context, drive: DriveSpec) -> dict[str, Any]:
    """What the spec wants done to one drive, from the observations of this run (pure otherwise).

    Shared by the drive's diff and by the job's, which must know whether the drive's manifest is
    about to change (then the job's drive list changes with it, in the same plan)."""
    serial = drive.serial
    address = f'drive["{serial}"]'
    job, entry = listed_in_job(ctx, serial)
    if job is not None and job.get("phase") not in (None, *phases.DRIVES_EDITABLE):
        return {"frozen": f"shipped with import job {job['name']} (state {job['state']}); not rewritten"}
    observed = ctx.observations.get(address)
    if entry is not None and isinstance(observed, Unobservable):
        # Packed for shipping before the tracking number was entered: the job already holds this
        # drive's manifest, so there is nothing left to do with the drive itself.
        return {"frozen": f"listed in import job {job['name']} and not attached here; nothing to write"}  # type: ignore[index]
    alloc = allocation(ctx)
    if isinstance(alloc, str):
        return {"unknown": alloc}
    if isinstance(alloc, Exception):
        return {"error": str(alloc)}
    mine = alloc.for_serial(serial)
    state = ctx.cache.get(journal_key(serial))
    written = state.completed if state else {}  # read only here
    damaged = observed.get("damaged", []) if isinstance(observed, dict) else []
    # A fresh drive (nothing written, nothing damaged) needs no per-file work at all: its share is
    # written whole, and its first 20 names in scan (sorted) order are the 20 smallest. At a million
    # files a list of the share, a set of its names or a sort of them each cost tens of MB or seconds.
    if written:
        # the share's columns, not a StagedFile per file: a resumed drive of 100k files is compared
        # file by file, and the objects were most of that time
        to_write: list[tuple[str, int]] = []
        wanted = set()
        from seedctl.drives import columns

        for rel, size, mtime in columns(mine.files):
            wanted.add(rel)
            if written.get(rel) != (size, mtime):
                to_write.append((rel, size))
        write_files, write_bytes = len(to_write), sum(size for _, size in to_write)
        write_names = [rel for rel, _ in to_write[:20]]  # the share is in sorted order
        rewriting = {rel for rel, _ in to_write} if damaged else set()
    else:
        write_files, write_bytes = len(mine.files), mine.bytes
        write_names = [f.rel_path for f in islice(mine.files, 20)]
        wanted = {f.rel_path for f in mine.files} if damaged else set()
        rewriting = wanted
    staged = len(staging_scan(ctx).files)
    return {
        "files": len(mine.files),
        "bytes": mine.bytes,
        "cost": mine.cost,
        "to_write_files": write_files,
        "to_write_bytes": write_bytes,
        "to_write_names": write_names,
        "to_remove": sorted(set(written) - wanted),
        "repair": sorted(rel for rel in damaged if rel in wanted and rel not in rewriting),
        "staged_files": staged,
        "allow_deletions": bool(ctx.apply_options.get("allow_drive_deletions")),
        "listed_hash": entry.get("manifest_hash") if entry else None,
        "job": job["name"] if entry else None,
        "api": job.get("api") if entry else None,
        "blob_type": ctx.spec.staging.blob_type,
    }


def content_changes(work: dict[str, Any]) -> bool:
    """Whether preparing the drive will change what it carries (and so its manifest)."""
    return "files" in work and bool(work["to_write_files"] or work["to_remove"])


class DriveNode(Node):
    kind = "drive"
    local = True

    def __init__(self, drive: DriveSpec, depends_on: tuple[str, ...]) -> None:
        super().__init__(drive.serial, depends_on)
        self.drive = drive

    def read(self, ctx: Context) -> Observation:
        from seedctl.drives import drive_state, inspect_drive, read_journal

        skipped = local_state_skipped(ctx)
        if skipped:
            return skipped
        mount = ctx.spec.mount_path(self.drive)
        obs = inspect_drive(mount, self.drive.serial, allow_simulated=allow_simulated(ctx),
                            bitlocker=self.drive.bitlocker)  # drive requirements + key test (issue 16)
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
        records: Mapping[str, Any] = {}
        if obs.content == "ours":
            try:
                journal = read_journal(mount)  # once: state and records come from the same parse
                # files written as the other blob type are not complete: copied again (staging.blob_type)
                state = drive_state(mount, journal, blob_type=ctx.spec.staging.blob_type)
                records = journal.files if journal else {}
            except DriveError as exc:
                problems.append(str(exc))
        ctx.cache[journal_key(self.drive.serial)] = state
        written = state.completed if state else {}
        complete = bool(state and state.manifest_current and state.manifest_hash)
        # Every plan checks that what the journal calls written is still there as written (one
        # stat per file); `apply --verify` re-reads the hashes of a finished drive as well.
        damaged = damaged_files(mount, records) if records else []
        if complete and ctx.apply_options.get("verify"):
            rehashed, other = rehash_damaged(mount, records)
            damaged = sorted(set(damaged) | set(rehashed))
            if other and not damaged:
                complete = False  # the manifest itself is wrong: prepare rewrites it
        return {
            "mount_point": str(mount),
            "serial": obs.serial,
            "capacity": obs.capacity,
            "free_bytes": obs.free_bytes,
            "content": obs.content,
            "written_files": len(written),
            "written_bytes": sum(size for size, _ in written.values()),
            "written": written_digest(written),
            "in_flight": list(state.in_flight) if state else [],
            "other_type": state.other_type if state else 0,
            "complete": complete,
            "manifest_hash": state.manifest_hash if complete else None,
            "drive_header_hash": "",
            "damaged": damaged,
            "problems": problems,
            "warnings": list(obs.warnings),  # e.g. a USB bridge: shown with the planned change
        }

    def desired(self, ctx: Context) -> dict[str, Any]:
        return drive_work(ctx, self.drive)

    def diff(self, desired: dict[str, Any], observed: Observation) -> Change:
        if "frozen" in desired:
            return self.change(NOOP, notes=[desired["frozen"]])
        if isinstance(observed, Unobservable):
            return self._planned_unattached(desired, observed)
        assert isinstance(observed, dict)
        if observed["problems"]:
            return self.error(*observed["problems"])
        if "error" in desired:
            return self.error(desired["error"])
        if "unknown" in desired:
            return self.change("deferred", deferred_reason=desired["unknown"])
        written = observed["written_files"]
        if not desired["staged_files"]:
            if written:
                return self.error(
                    f"the staging folder holds no files, but drive {self.name} holds {written:,} file(s) seedctl "
                    "wrote: an unmounted share or a missing disk looks like an empty folder, and seedctl never "
                    "empties a drive because of it. Mount the staging share (or fix staging.path) and plan again")
            return self.error(f"nothing to write on drive {self.name}: the staging folder holds no files")
        if not desired["files"]:
            return self.error(
                f"drive {self.name} is not needed: the staging data ({desired['staged_files']:,} file(s)) fits on "
                "the drives before it, and a job must not list a drive that carries nothing. Remove it from the "
                "spec's drives (keep it for a later seed)")
        errors = self._guard_errors(desired)
        if errors:
            return self.error(*errors)
        capacity = observed["capacity"] or 0
        summary = {"files": desired["files"], "bytes": desired["bytes"], "capacity": capacity,
                   "fill_ratio": round(desired["cost"] / capacity, 4) if capacity else None,
                   "to_write_files": desired["to_write_files"], "to_write_bytes": desired["to_write_bytes"]}
        pending = desired["to_write_files"] or desired["to_remove"] or desired["repair"]
        if not pending and observed["complete"]:
            return self.change(NOOP, summary=summary)
        attrs = []
        notes: list[str] = list(observed.get("warnings", []))
        if desired["to_write_files"]:
            attrs.append(AttributeChange("files_written", observed["written_files"], desired["files"]))
            attrs.append(AttributeChange("bytes_written", observed["written_bytes"], desired["bytes"]))
        if desired["repair"]:
            attrs.append(AttributeChange("files_repaired", None, len(desired["repair"])))
            notes.append(f"repair: {len(desired['repair']):,} file(s) missing or changed on the drive since they "
                         f"were written ({_names(desired['repair'])}); rewritten from staging")
        if desired["to_remove"]:
            attrs.append(AttributeChange("files_deleted", len(desired["to_remove"]), None))
            summary["files_deleted"] = len(desired["to_remove"])
            notes.append(f"destroy: deletes {len(desired['to_remove']):,} file(s) from the drive that are no longer "
                         f"in staging ({_names(desired['to_remove'])}) — asked for with --allow-drive-deletions")
        attrs.append(AttributeChange("manifest_hash", observed["manifest_hash"], None, known_after_apply=True))
        if desired["listed_hash"] and content_changes(desired):
            notes.append(f"import job {desired['job']} lists this drive: its drive list is updated with the new "
                         "manifest in this apply")
        action = CREATE if observed["content"] == "empty" else UPDATE
        if action == UPDATE and desired["to_write_files"]:
            notes.insert(0, f"resume: {desired['to_write_files']:,} of {desired['files']:,} files still to write")
        if observed.get("other_type"):
            wanted = desired["blob_type"]
            notes.insert(0, f"{observed['other_type']:,} file(s) on the drive were written as "
                            f"{'block' if wanted == 'page' else 'page'} blobs (staging.blob_type changed, or an "
                            f"earlier seedctl wrote them): they are written again as {wanted} blobs")
        return self.change(action, attributes=attrs, summary=summary, notes=notes)

    def _planned_unattached(self, desired: dict[str, Any], observed: Unobservable) -> Change:
        """A drive that is not here (not bought yet, or on another computer) is refreshed at apply,
        but with `capacity:` in the spec its share of staging is known now: the plan says how full
        it will be, and that the data does not fit before anyone buys drives."""
        if "error" in desired:
            return self.error(desired["error"])
        if "files" not in desired or not self.drive.capacity:
            return self.deferred(observed)
        if not desired["files"]:
            return self.error(
                f"drive {self.name} is not needed: the staging data ({desired['staged_files']:,} file(s)) fits on "
                "the drives before it, and a job must not list a drive that carries nothing. Remove it from the "
                "spec's drives (keep it for a later seed)")
        capacity = self.drive.capacity
        summary = {"files": desired["files"], "bytes": desired["bytes"], "capacity": capacity,
                   "fill_ratio": round(desired["cost"] / capacity, 4),
                   "to_write_files": desired["to_write_files"], "to_write_bytes": desired["to_write_bytes"]}
        return self.deferred(observed, summary=summary, notes=[
            "planned from capacity: in the spec (the drive is not read here); apply reads it first"])

    def _guard_errors(self, desired: dict[str, Any]) -> list[str]:
        """Changes that need more than the spec: deleting written data, rewriting a listed drive."""
        errors = []
        removed = desired["to_remove"]
        if removed and not desired["allow_deletions"]:
            errors.append(
                f"{len(removed):,} file(s) seedctl wrote to drive {self.name} are no longer in staging "
                f"({_names(removed)}); deleting written data takes explicit intent. Put them back in staging, "
                "or apply with --allow-drive-deletions to delete them from the drive")
        if desired["listed_hash"] and content_changes(desired) and desired["api"] == "databox":
            what = []
            if desired["to_write_files"]:
                what.append(f"{desired['to_write_files']:,} new or changed file(s): "
                            f"{_names(desired['to_write_names'])}")
            if removed:
                what.append(f"{len(removed):,} removed: {_names(removed)}")
            errors.append(
                f"drive {self.name} is listed in Data Box job {desired['job']}, whose disks are fixed when the job is "
                f"created, and staging changed since the drive was written ({'; '.join(what)}). The drive is "
                "frozen: put staging back as it was, and the late data reaches Azure with the next incremental "
                "backup; or cancel the job and seed with a new import_job.name")
        return errors

    def apply(self, change: Change, ctx: Context) -> Observation:
        from seedctl.drives import prepare_drive

        alloc = allocation(ctx)
        if not hasattr(alloc, "for_serial"):
            raise DriveError(f"drive {self.name}: cannot allocate files: {alloc}")
        mine = alloc.for_serial(self.name)
        interval = progress_interval(ctx.env.environ)  # a bad value stops here, before the drive is touched
        mount = ctx.spec.mount_path(self.drive)
        observed = ctx.observations.get(self.address)
        repair = set(observed.get("damaged", [])) if isinstance(observed, dict) else set()
        # Fail before hours of copying if the drive's BitLocker key cannot be had (on Windows with
        # manage: true this is also where encryption is switched on). The key itself is dropped.
        from seedctl.drives import encryptor_for

        encryptor_for(self.drive.bitlocker, serial=self.name).ensure(mount, self.name)

        def progress(event: Any) -> None:
            ctx.emit("drive_progress", address=self.address, **_event_fields(event))

        prepare_drive(mount, self.name, mine.files, ctx.spec.staging_root(), owner_id=owner_id(ctx),
                      progress=progress, verify=bool(ctx.apply_options.get("verify")),
                      allow_simulated=allow_simulated(ctx), repair=repair, blob_type=ctx.spec.staging.blob_type,
                      progress_interval=interval)
        from seedctl.records import save_copy

        save_copy(ctx.spec.base_dir, self.name, mount)  # verify needs it after the drive has shipped
        return self.read(ctx)


def _event_fields(event: Any) -> dict[str, Any]:
    if isinstance(event, dict):
        return event
    fields = getattr(event, "__dataclass_fields__", None)
    if fields:
        return {k: getattr(event, k) for k in fields}
    return {"detail": str(event)}


PROGRESS_INTERVAL_VARIABLE = "SEEDCTL_PROGRESS_INTERVAL"


def progress_interval(environ: Mapping[str, str]) -> float | None:
    """Seconds between a drive's progress events while copying, from SEEDCTL_PROGRESS_INTERVAL
    (unset or empty: None, the engine's default PROGRESS_INTERVAL): a consumer of `apply --json`
    that wants every step, or a test that must stop a copy at a point inside a file on a fast
    machine. A value that is not a number of seconds from 0 to 60 stops the apply before any drive
    is touched."""
    from seedctl.drives import PROGRESS_INTERVAL

    raw = environ.get(PROGRESS_INTERVAL_VARIABLE, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 60.0:  # also refuses nan and inf
        raise DriveError(f"{PROGRESS_INTERVAL_VARIABLE}={raw[:40]!r} is not a number of seconds from 0 to 60; "
                         f"unset it (the default is {PROGRESS_INTERVAL:g}) or give one such as 0.05")
    return value
