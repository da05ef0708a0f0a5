"""Where `verify`, `repair` and `destroy` learn what each drive carried: its manifest.

The drives leave the copy computer, so the manifest on a drive's root is gone when verification
matters. `DriveNode.apply` therefore keeps a byte-exact copy of every manifest it writes under
`<spec folder>/.seedctl/manifests/<serial>.xml` (`save_copy`). A copy is trusted only when its MD5
equals the job's `manifestHash` for that drive, which proves it is the manifest the service read.

Sources, in order (`load_manifests`): the local copy; the drive itself when still attached; the
service's backup of it under the diagnostics path (`backupDriveManifest`, `manifest_uri`).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seedctl.drives.manifest import MANIFEST_NAME, DriveManifest, ManifestError, read_manifest
from seedctl.errors import SeedctlError

MANIFEST_DIR = Path(".seedctl") / "manifests"


class ManifestUnavailable(SeedctlError):
    """No trustworthy copy of a shipped drive's manifest could be found."""


@dataclass(frozen=True)
class ShippedManifest:
    serial: str
    manifest: DriveManifest
    source: str  # "local copy", "drive", "service backup": said in reports so the user can judge


def copy_path(base_dir: Path, serial: str) -> Path:
    return Path(base_dir) / MANIFEST_DIR / f"{serial}.xml"


def save_copy(base_dir: Path, serial: str, mount: Path) -> Path:
    """Keep a byte-exact copy of the drive's manifest beside the spec (atomic: temp file + rename),
    so verification still works once the drive is in a courier's van."""
    source = Path(mount) / MANIFEST_NAME
    target = copy_path(base_dir, serial)
    try:
        data = source.read_bytes()
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() and target.read_bytes() == data:
            return target  # unchanged: a resumed apply rewrites nothing
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{serial}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        raise SeedctlError(f"cannot keep a copy of drive {serial}'s manifest in {target.parent}: "
                           f"{exc.strerror or exc}") from None
    return target


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest().upper()


def _parse(data: bytes, where: str) -> DriveManifest:
    # read_manifest reads from a path (and names it in errors), so hand it one
    with tempfile.TemporaryDirectory(prefix="seedctl-manifest-") as tmp:
        path = Path(tmp) / MANIFEST_NAME
        path.write_bytes(data)
        try:
            return read_manifest(path)
        except ManifestError as exc:
            raise ManifestUnavailable(f"{where}: {str(exc).replace(str(path), 'manifest')}") from None


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
                data = where.read_bytes() if isinstance(where, Path) else read_blob_uri(ctx, spec, where)
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
