"""staging["staging"]: the folder the backup agent wrote the initial copy to. Read-only input.

Plan often runs on a CI runner without it: then the node is *deferred* (refreshed at apply), never
taken as empty.
"""

from __future__ import annotations

import threading
from typing import Any

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
            from seedctl.drives import scan_staging

            spec = ctx.spec
            # page blobs have their own size limit (drives/placement/pagecheck.py), not a block list's
            limit = {} if spec.staging.blob_type == "block" else {"max_size": None}
            ctx.cache[SCAN_KEY] = scan_staging(spec.staging_root(), include=spec.staging.include,
                                               exclude=spec.staging.exclude, container=spec.container.name,
                                               prefix=spec.container.prefix, **limit)
        return ctx.cache[SCAN_KEY]


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
                "drives_here": len(held) if ctx.local_state != "skip" else 0}

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
        return self.change(NOOP, summary=summary, notes=skip_notes + observed["warnings"][:10])

    def apply(self, change: Change, ctx: Context) -> Observation:
        return self.read(ctx)  # an input: nothing to change
