"""Which file went to which drive (`seedctl show drives`): from each drive's manifest — the drive's
own when it is attached, else the copy kept beside the spec (`.seedctl/manifests/`, what was
shipped) — and, for drives not written yet, from the allocation plan would make (the spec's
`capacity:` and the staging folder)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seedctl.errors import SeedctlError

WRITTEN_ON_DRIVE, WRITTEN_COPY, PLANNED, UNKNOWN = "drive", "copy", "planned", "unknown"
_SOURCES = {WRITTEN_ON_DRIVE: "written: the manifest on the drive",
            WRITTEN_COPY: "written: the manifest copy kept in .seedctl/manifests (the drive is not here)",
            PLANNED: "not written yet: planned from staging and capacity:, as plan allocates",
            UNKNOWN: "not written yet"}


@dataclass(frozen=True)
class Placed:
    blob_path: str  # container/prefix/name: where it lands in Azure
    file_path: str  # on the drive, backslash form (\seed\a.bin); "" when only planned
    length: int


@dataclass
class DriveFiles:
    serial: str
    source: str  # WRITTEN_ON_DRIVE, WRITTEN_COPY, PLANNED or UNKNOWN
    files: list[Placed] = field(default_factory=list)
    note: str = ""

    @property
    def bytes(self) -> int:
        return sum(f.length for f in self.files)

    def to_json(self) -> dict[str, Any]:
        return {"serial": self.serial, "source": self.source, "files_count": len(self.files), "bytes": self.bytes,
                "note": self.note or None,
                "files": [{"blob_path": f.blob_path, "file_path": f.file_path or None, "bytes": f.length}
                          for f in self.files]}


def _from_manifest(serial: str, source: str, manifest: Any) -> DriveFiles:
    return DriveFiles(serial, source, [Placed(b.blob_path, b.file_path, b.length) for b in manifest.blobs])


def drive_map(spec: Any) -> list[DriveFiles]:
    """Every drive of the spec with the files it holds or will hold, in the spec's order."""
    from seedctl.drives import MANIFEST_NAME, ManifestError, parse_manifest, read_manifest
    from seedctl.errors import DriveError
    from seedctl.records import copy_path, read_copy

    out: list[DriveFiles] = []
    unwritten: list[Any] = []
    for drive in spec.drives:
        on_drive = Path(spec.mount_path(drive)) / MANIFEST_NAME
        try:
            if on_drive.is_file():
                out.append(_from_manifest(drive.serial, WRITTEN_ON_DRIVE, read_manifest(on_drive)))
                continue
            kept = read_copy(spec.base_dir, drive.serial)
            if kept is not None:
                out.append(_from_manifest(drive.serial, WRITTEN_COPY,
                                          parse_manifest(kept, copy_path(spec.base_dir, drive.serial))))
                continue
        except (ManifestError, DriveError) as exc:  # DriveError: a kept copy that is a FIFO, link or device
            out.append(DriveFiles(drive.serial, UNKNOWN, note=f"its manifest cannot be read: {exc}"))
            continue
        out.append(DriveFiles(drive.serial, UNKNOWN))
        unwritten.append(drive)
    if unwritten:
        _plan_unwritten(spec, out, unwritten)
    return out


def _plan_unwritten(spec: Any, out: list[DriveFiles], unwritten: list[Any]) -> None:
    """Fill in the drives not written yet with plan's allocation, when it can be made here."""
    from seedctl.drives import AllocationError, allocate, scan_staging, usable_bytes

    def say(note: str) -> None:
        for entry in out:
            if entry.source == UNKNOWN and not entry.note:
                entry.note = note

    if len(unwritten) != len(spec.drives):
        say("some drives are written already: `seedctl plan` shows what is left to write on this one")
        return
    if not all(d.capacity for d in spec.drives):
        say("give every drive capacity: in the spec (or attach them) to see the planned allocation")
        return
    root = spec.staging_root()
    if not root.is_dir():
        say(f"the staging folder {root} is not here")
        return
    scan = scan_staging(root, include=spec.staging.include, exclude=spec.staging.exclude,
                        container=spec.container.name, prefix=spec.container.prefix)
    try:
        allocation = allocate(scan.files, [(d.serial, usable_bytes(d.capacity)) for d in spec.drives])
    except AllocationError as exc:
        say(f"the staging data does not fit: {exc}")
        return
    by_serial = {entry.serial: entry for entry in out}
    for share in allocation.drives:
        entry = by_serial[share.serial]
        entry.source = PLANNED
        entry.files = [Placed(f.blob_path, "", f.size) for f in share.files]


def render_text(drives: list[DriveFiles]) -> str:
    from seedctl.render._common import clean
    from seedctl.units import format_bytes

    if not drives:
        raise SeedctlError("the spec lists no drives")
    lines = []
    for entry in drives:
        count = len(entry.files)
        head = f"drive {entry.serial}: {_SOURCES[entry.source]}"
        if entry.files:
            head += f"; {count:,} file{'s' if count != 1 else ''}, {format_bytes(entry.bytes)}"
        lines.append(clean(head))
        if entry.note:
            lines.append(f"  {clean(entry.note)}")
        width = max((len(format_bytes(f.length)) for f in entry.files), default=0)
        # the blob each file becomes (container/name); the path on the drive is in -o json
        lines.extend(f"  {format_bytes(f.length):>{width}}  {clean(f.blob_path)}" for f in entry.files)
        lines.append("")
    return "\n".join(lines)
