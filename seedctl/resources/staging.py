"""staging["staging"]: the folder the backup agent wrote the initial copy to. Read-only input.

Plan often runs on a CI runner without it: then the node is *deferred* (refreshed at apply), never
taken as empty.
"""

from __future__ import annotations

import threading
from typing import Any

from seedctl.errors import SeedctlError
from seedctl.plan import NOOP, Change
from seedctl.resources.base import Context, Node, Observation, Unobservable

SCAN_KEY = "staging.scan"
SKIPPED_KEPT = 50  # skipped entries kept in the observation (the JSON plan); the count is exact
SKIPPED_SHOWN = 5  # ... and shown as notes in text and markdown plans
_scan_lock = threading.Lock()


# The one staging node's address (graph.build_nodes names it "staging"); drives and the shipment
# read its observation to know whether staging was observed in this run.
STAGING_NAME = "staging"
STAGING_ADDRESS = f'staging["{STAGING_NAME}"]'


def local_state_skipped(ctx: Context) -> Unobservable | None:
    if ctx.local_state == "skip":
        return Unobservable("not observed here (--local-state=skip); the copy computer observes it")
    return None


def staging_scan(ctx: Context) -> Any:
    """The staging scan of this run (one walk per run, shared by every node that needs it)."""
    with _scan_lock:
        if SCAN_KEY not in ctx.cache:
            ctx.cache[SCAN_KEY] = fresh_scan(ctx)
        return ctx.cache[SCAN_KEY]


def fresh_scan(ctx: Context) -> Any:
    """A new walk of the staging tree, now: for a check right before an irreversible step (the
    shipment), which must never judge from the run's cached scan (issue 23: a file added or grown
    while apply wrote the drives was shipped without)."""
    from seedctl.drives import scan_staging

    spec = ctx.spec
    return scan_staging(spec.staging_root(), include=spec.staging.include, exclude=spec.staging.exclude,
                        container=spec.container.name, prefix=spec.container.prefix,
                        path_limits=windows_path_limits(spec),
                        # page blobs have their own size limit (drives/placement/pagecheck.py), not a block list's
                        **({} if spec.staging.blob_type == "block" else {"max_size": None}))


def windows_path_limits(spec: Any) -> Any:
    """MAX_PATH for the spec's paths as Windows spells them (issue 26): each drive's mount point and
    the staging folder (a UNC share too) when they are Windows paths — as written in the spec, so a
    plan on Linux of a Windows copy computer's spec checks them — besides the datacenter's limit."""
    from seedctl.drives import path_limits, windows_form

    def spelled(raw: str, resolved: Any) -> str:
        return raw if windows_form(raw) else str(resolved)

    return path_limits([(d.serial, spelled(d.mount_point, spec.mount_path(d))) for d in spec.drives],
                       spelled(spec.staging.path, spec.staging_root()))


# -- staging against what was shipped ---------------------------------------------------------------

Carried = dict[str, tuple[int, "int | None"]]  # blob path -> (size, staging mtime when known)


def carried_by_manifest(data: bytes, carried: Carried, where: str,
                        journal: dict[str, tuple[int, int]] | None = None) -> list[str]:
    """Add a manifest's blobs to `carried`; with the drive's journal, with the staging mtimes too.
    Returns the problem when the manifest cannot be read (it is untrusted input)."""
    from seedctl.drives import DATA_DIR, ManifestError, parse_manifest

    try:
        manifest = parse_manifest(data, where)
    except ManifestError as exc:
        return [f"{where}: {exc}"]
    for blob in manifest.blobs:
        parts = [p for p in blob.file_path.split("\\") if p]
        rel = "/".join(parts[1:] if parts and parts[0] == DATA_DIR else parts)
        known = (journal or {}).get(rel)
        carried[blob.blob_path] = (blob.length, known[1] if known and known[0] == blob.length else None)
    return []


def differences(files: Any, carried: Carried) -> tuple[list[str], list[str]]:
    """(staging files on no drive, staging files that differ from their copy) by size, and by mtime
    where the drive's journal recorded it."""
    missing, changed = [], []
    for f in files:
        have = carried.get(f.blob_path)
        if have is None:
            missing.append(f.rel_path)
        elif have[0] != f.size or (have[1] is not None and have[1] != f.mtime_ns):
            changed.append(f.rel_path)
    return missing, changed


def names(rels: list[str], limit: int = 5) -> str:
    return ", ".join(rels[:limit]) + (f" and {len(rels) - limit:,} more" if len(rels) > limit else "")


def shipped_differences(ctx: Context, files: Any) -> tuple[int, list[str]]:
    """Once the drives have left (the job is past the phase where its drive list can change),
    warnings naming the staging files that differ from what the shipped manifests carry: that data
    does not reach Azure with this job. Read from the manifest copies kept beside the spec, each
    trusted only when its MD5 is the job's manifest hash. Returns (how many files, the warnings)."""
    from seedctl.records import md5_hex, read_copy
    from seedctl.resources.jobs import base as phases

    if ctx.spec.import_job is None:
        return 0, []
    job = ctx.observations.get(f'import_job["{ctx.spec.import_job.name}"]')
    if not isinstance(job, dict) or job.get("phase") in (None, *phases.DRIVES_EDITABLE, phases.CANCELLED):
        return 0, []
    carried: Carried = {}
    unknown = []
    for d in job.get("drives") or []:
        serial, want = d.get("drive_id"), (d.get("manifest_hash") or "").upper()
        try:
            data = read_copy(ctx.spec.base_dir, serial) if serial else None
        except SeedctlError:
            data = None
        if data is None or md5_hex(data) != want or carried_by_manifest(data, carried, f"drive {serial}"):
            unknown.append(str(serial))
    if unknown:
        return 0, [f"warning: import job {job.get('name')} has shipped; the shipped manifest of drive(s) "
                f"{', '.join(unknown)} is not kept beside the spec, so staging cannot be compared with it"]
    missing, changed = differences(files, carried)
    out = []
    for what, rels in (("are on no shipped drive", missing), ("differ from the copy that was shipped", changed)):
        if rels:
            out.append(f"warning: {len(rels):,} staging file(s) {what} ({names(rels)}): import job "
                       f"{job.get('name')} has shipped without them; they reach Azure with the next incremental "
                       "backup, or with a follow-up seed")
    return len(missing) + len(changed), out


def skipped_notes(observed: dict[str, Any]) -> tuple[int, list[str]]:
    """(how many entries the scan skipped, notes naming the first few with their reason)."""
    count = observed.get("skipped_count", 0)
    lines = observed.get("skipped", [])[:SKIPPED_SHOWN]
    notes = [f"skipped, not seeded: {line}" for line in lines]
    if count > len(lines):
        notes.append(f"... and {count - len(lines):,} more skipped (the JSON plan lists the first {SKIPPED_KEPT})")
    return count, notes


def _listing_digest(files: Any) -> str:
    from seedctl.drives import listing_digest

    return listing_digest(files)


class StagingNode(Node):
    kind = "staging"
    local = True
    long_read = True  # one walk of the whole staging tree

    def read(self, ctx: Context) -> Observation:
        skipped = local_state_skipped(ctx)
        if skipped:
            return skipped
        root = ctx.spec.staging_root()
        if not root.is_dir():
            return Unobservable(f"staging folder {root} is not present here")
        scan = staging_scan(ctx)
        errors, warnings = [str(p) for p in scan.errors], []
        if ctx.spec.staging.blob_type != "block":  # page blobs: sizes, limit, the agent's layout
            from seedctl.drives import check_page_files

            pages = check_page_files(scan.files)
            errors += pages.errors
            warnings += pages.warnings
        return {
            "root": str(root),
            "files": len(scan.files),
            "bytes": scan.total_bytes,
            "listing": _listing_digest(scan.files),
            "errors": errors,
            "warnings": warnings + [str(p) for p in scan.problems if p.severity != "error" and not p.skipped],
            # entries left out of the seed: the count, and the first ones with their reason
            "skipped_count": len(scan.skipped),
            "skipped": [f"{p.path}: {p.message}" for p in scan.skipped[:SKIPPED_KEPT]],
        }

    def desired(self, ctx: Context) -> dict[str, Any]:
        # what the drives already hold: an empty staging folder is then a fault, never "nothing wanted"
        held = [obs.get("written_files", 0) for address, obs in ctx.observations.items()
                if address.startswith('drive["') and isinstance(obs, dict)]
        return {"drives_hold_files": sum(held), "strict": ctx.spec.staging.strict,
                # drives attached here make this the copy computer: the staging folder must be here too
                "drives_here": len(held) if ctx.local_state != "skip" else 0,
                # after shipment: staging files that the shipped drives do not carry as they are now
                "not_shipped": self._shipped(ctx)}

    def _shipped(self, ctx: Context) -> tuple[int, list[str]]:
        observed = ctx.observations.get(self.address)
        if not isinstance(observed, dict):
            return 0, []
        return shipped_differences(ctx, staging_scan(ctx).files)

    def diff(self, desired: dict[str, Any], observed: Observation) -> Change:
        if isinstance(observed, Unobservable):
            # An input, never changed: not seeing it here is not a change. The drives that need
            # its files are deferred (or fail at apply) on their own. But with drives attached here,
            # this is the copy computer and apply would fail: say so now (issue 15, fail early).
            if desired.get("drives_here"):
                return self.error(f"{observed.reason}, but {desired['drives_here']} of the spec's drives are "
                                  "attached here: mount or copy the staging folder (or fix staging.path) and plan "
                                  "again")
            return self.change(NOOP, deferred_reason=observed.reason)
        if observed is None:
            return self.error("staging folder not found")
        summary = {"files": observed["files"], "bytes": observed["bytes"]}
        skipped, skip_notes = skipped_notes(observed)
        if skipped:
            summary["skipped"] = skipped
        if skipped and desired.get("strict"):
            return self.error(f"staging.strict is true and {skipped:,} staging entr{'y' if skipped == 1 else 'ies'} "
                              "would be skipped; fix or remove them, or set staging.strict: false to seed "
                              "without them", summary=summary, notes=skip_notes)
        held = desired.get("drives_hold_files", 0)
        if not observed["files"] and held:
            return self.error(
                f"the staging folder {observed['root']} is empty, but the drives hold {held:,} file(s) seedctl "
                "wrote from it: an unmounted share or a missing disk looks like an empty folder. Mount it (or "
                "fix staging.path) and plan again; seedctl never empties a drive because staging looks empty",
                summary=summary)
        if observed["errors"]:
            shown = observed["errors"][:10]
            more = len(observed["errors"]) - len(shown)
            return self.error(*shown, *([f"... and {more} more"] if more else []), summary=summary,
                              notes=skip_notes)
        late, late_notes = desired.get("not_shipped", (0, []))
        if late:  # files this job will not seed: shown like skipped entries (never an error: the drives left)
            summary["skipped"] = skipped + late
        return self.change(NOOP, summary=summary, notes=list(late_notes) + skip_notes + observed["warnings"][:10])

    def apply(self, change: Change, ctx: Context) -> Observation:
        return self.read(ctx)  # an input: nothing to change
