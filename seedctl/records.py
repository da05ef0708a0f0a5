"""The records seedctl keeps beside the spec, under `<spec folder>/.seedctl/`.

seedctl keeps no state file, but two things must outlive the drives' departure and the container's
deletion, so they are written next to the spec:

- a byte-exact copy of every drive's manifest (`manifests/<serial>.xml`): verify, destroy and the
  shipment check need it once the drive is packed or in a courier's van. A copy is trusted only
  when its MD5 equals the job's manifestHash for that drive.
- the verification record (`verified/<job>.json`): what `seedctl verify` found intact (a digest of
  the manifests it checked), and when `destroy` deleted the imported blobs.

This module sits below both the node kinds (`resources/`) and the lifecycle commands
(`lifecycle/`): it depends only on the drive layer's manifest name and the error type.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seedctl.drives import MANIFEST_NAME
from seedctl.errors import SeedctlError
from seedctl.private_files import write_private
from seedctl.safefs import CAP_MANIFEST, CAP_RECORD, read_regular

RECORDS_DIR = Path(".seedctl")
MANIFEST_DIR = RECORDS_DIR / "manifests"


def copy_path(base_dir: Path, serial: str) -> Path:
    return Path(base_dir) / MANIFEST_DIR / f"{serial}.xml"


def save_copy(base_dir: Path, serial: str, mount: Path) -> Path:
    """Keep a byte-exact copy of the drive's manifest beside the spec (atomic: temp file + rename),
    so verification still works once the drive is in a courier's van."""
    source = Path(mount) / MANIFEST_NAME
    target = copy_path(base_dir, serial)
    try:
        data = read_regular(source, what=f"drive {serial}'s manifest", cap=CAP_MANIFEST)
        if _read_or_none(target, "kept manifest copy", CAP_MANIFEST) == data:
            return target  # unchanged: a resumed apply rewrites nothing
        write_private(target, data)
    except OSError as exc:
        raise SeedctlError(f"cannot keep a copy of drive {serial}'s manifest in {target.parent}: "
                           f"{exc.strerror or exc}") from None
    return target


def read_copy(base_dir: Path, serial: str) -> bytes | None:
    """The kept copy of a drive's manifest, or None when there is none. Read with the one safe
    reader: a FIFO, a link or a device in its place is a DriveError naming it, never a hang."""
    return _read_or_none(copy_path(base_dir, serial), f"kept manifest copy of drive {serial}", CAP_MANIFEST)


def _read_or_none(path: Path, what: str, cap: int) -> bytes | None:
    try:
        return read_regular(path, what=what, cap=cap)
    except (FileNotFoundError, NotADirectoryError):
        return None


def md5_hex(data: bytes) -> str:
    """Upper-case hex MD5, as the job's manifestHash is written."""
    return hashlib.md5(data).hexdigest().upper()


# -- the verification record --------------------------------------------------------------------

@dataclass(frozen=True)
class VerifiedRecord:
    at: str
    digest: str
    files: int


def local_record_path(spec: Any) -> Path:
    return spec.base_dir / RECORDS_DIR / "verified" / f"{spec.import_job.name}.json"


def record_verified_locally(spec: Any, record: VerifiedRecord) -> None:
    """A second copy beside the spec: the container's metadata goes when destroy deletes the
    container, and a later `destroy --staging` must still know the data was verified."""
    payload = {"at": record.at, "digest": record.digest, "files": record.files}
    write_private(local_record_path(spec), (json.dumps(payload) + "\n").encode())


def record_destroyed_locally(spec: Any, at: str) -> None:
    """Note in the local record that `destroy` deleted the imported blobs on purpose, so `status`
    and `verify` do not later take their absence for a failed import."""
    path = local_record_path(spec)
    try:
        raw = json.loads(_read_record(spec) or b"")
    except (OSError, ValueError, SeedctlError):
        return  # nothing verified locally: destroy would have refused
    if not isinstance(raw, dict):
        return
    raw["destroyed_at"] = at
    write_private(path, (json.dumps(raw) + "\n").encode())


def read_destroyed(spec: Any) -> str | None:
    """When `destroy` deleted the imported blobs, if it did."""
    try:
        value = json.loads(_read_record(spec) or b"").get("destroyed_at")
    except (OSError, ValueError, AttributeError, SeedctlError):
        return None
    return value if isinstance(value, str) else None


def read_local_record(spec: Any) -> VerifiedRecord | None:
    try:
        raw = json.loads(_read_record(spec) or b"")
        return VerifiedRecord(raw["at"], raw["digest"], int(raw["files"]))
    except (OSError, ValueError, KeyError, TypeError, SeedctlError):
        return None


def _read_record(spec: Any) -> bytes | None:
    """The local verification record's bytes (None when absent), through the one safe reader."""
    return _read_or_none(local_record_path(spec), "verification record", CAP_RECORD)
