"""Where `verify`, `repair` and `destroy` learn what each drive carried: its manifest.

The drives leave the copy computer, so the manifest on a drive's root is gone when verification
matters. `DriveNode.apply` therefore keeps a byte-exact copy of every manifest it writes under
`<spec folder>/.seedctl/manifests/<serial>.xml` (`seedctl.records.save_copy`). A copy is trusted only when its MD5
equals the job's `manifestHash` for that drive, which proves it is the manifest the service read.

Sources, in order (`load_manifests`): the local copy; the drive itself when still attached; the
service's backup of it under the diagnostics path (`backupDriveManifest`, `manifest_uri`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seedctl.drives import MANIFEST_NAME, DriveManifest, ManifestError, parse_manifest
from seedctl.errors import SeedctlError
from seedctl.records import MANIFEST_DIR, copy_path, save_copy
from seedctl.records import md5_hex as _md5
from seedctl.safefs import CAP_MANIFEST, read_regular

__all__ = ["MANIFEST_DIR", "ManifestUnavailable", "ShippedManifest", "copy_path", "load_manifests", "save_copy"]


class ManifestUnavailable(SeedctlError):
    """No trustworthy copy of a shipped drive's manifest could be found."""


@dataclass(frozen=True)
class ShippedManifest:
    serial: str
    manifest: DriveManifest
    source: str  # "local copy", "drive", "service backup": said in reports so the user can judge


def _parse(data: bytes, where: str) -> DriveManifest:
    try:
        return parse_manifest(data, "manifest")
    except ManifestError as exc:
        raise ManifestUnavailable(f"{where}: {exc}") from None


def load_manifests(spec: Any, ctx: Any, job: dict[str, Any] | None) -> list[ShippedManifest]:
    """The manifest of every drive in the job, each proven against the job's manifestHash.

    Without a job (the service deletes finished jobs after 90 days) the spec's drives are looked
    up without that proof."""
    if job is None:
        job = {"drives": [{"drive_id": d.serial} for d in spec.drives]}
    from seedctl.lifecycle.storage import read_blob_uri

    found: list[ShippedManifest] = []
    problems: list[str] = []
    mounts = {d.serial: spec.mount_path(d) for d in spec.drives}
    for drive in job["drives"]:
        serial = drive["drive_id"]
        want = (drive.get("manifest_hash") or "").upper()
        tried: list[str] = []
        candidates: list[tuple[str, Any]] = [("local copy", copy_path(spec.base_dir, serial))]
        if serial in mounts:
            candidates.append(("drive", mounts[serial] / MANIFEST_NAME))
        if drive.get("manifest_uri"):
            candidates.append(("service backup", drive["manifest_uri"]))
        chosen = None
        for source, where in candidates:
            try:
                data = (read_regular(where, what=f"{source} of drive {serial}'s manifest", cap=CAP_MANIFEST)
                        if isinstance(where, Path) else read_blob_uri(ctx, spec, where))
            except FileNotFoundError:
                tried.append(f"{source}: not found")
                continue
            except (OSError, SeedctlError) as exc:
                tried.append(f"{source}: {getattr(exc, 'strerror', None) or exc}")
                continue
            if want and _md5(data) != want:
                tried.append(f"{source}: differs from the manifest the job was given (hash {_md5(data)}, "
                             f"job has {want})")
                continue
            chosen = ShippedManifest(serial, _parse(data, f"{source} of drive {serial}"), source)
            break
        if chosen is None:
            problems.append(f"drive {serial}: " + "; ".join(tried))
        else:
            found.append(chosen)
    if problems:
        raise ManifestUnavailable(
            "cannot tell what was shipped: no trustworthy manifest for\n" + "\n".join(f"  - {p}" for p in problems)
            + f"\nseedctl keeps a copy of each manifest in {spec.base_dir / MANIFEST_DIR} when it prepares a "
              "drive; run this where the drives were prepared, attach the drive, or set "
              "import_job.backup_drive_manifest: true on future jobs")
    return found
