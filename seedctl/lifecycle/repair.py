"""`seedctl repair`: a follow-up spec that sends again only what verify found missing or damaged,
as WAImportExport's RepairImport did — but as a new, reviewable job rather than a patched one
(a job's drive list is frozen once its drives have shipped).

The follow-up spec is the original with: a new spec and job name; no `shipment` (the new package
has its own tracking number); `staging.include` listing exactly the files to send; and placeholder
drives for the user to fill in. Everything else (account, container, prefix, return address) stays,
so the blobs land where the first job should have put them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from seedctl.errors import SeedctlError

PLACEHOLDER_SERIAL = "REPLACE-WITH-SERIAL-{n}"
PLACEHOLDER_MOUNT = "REPLACE-WITH-MOUNT-POINT-{n}"
PLACEHOLDER_KEY_ENV = "SEEDCTL_REPAIR_BITLOCKER_KEY_{n}"
JOB_NAME_MAX = 24
_REPAIR_SUFFIX = re.compile(r"-r(\d+)$")


@dataclass
class RepairSpec:
    text: str
    job_name: str
    files: list[str]   # staging-relative paths sent again
    bytes: int
    notes: list[str]


def escape_glob(path: str) -> str:
    """A staging include/exclude pattern that matches exactly this path (fnmatch syntax)."""
    return re.sub(r"([*?\[])", r"[\1]", path)


def next_name(name: str, limit: int) -> str:
    """sandbox-demo-job -> sandbox-demo-job-r1 -> sandbox-demo-job-r2, within `limit` characters."""
    m = _REPAIR_SUFFIX.search(name)
    base, n = (name[:m.start()], int(m.group(1)) + 1) if m else (name, 1)
    suffix = f"-r{n}"
    return base[:limit - len(suffix)].rstrip("-") + suffix


def build_repair_spec(spec: Any, report: Any, out_path: Path) -> RepairSpec:
    """The follow-up spec's YAML text for the failed files of a verify report."""
    if spec.source_path is None:
        raise SeedctlError("repair needs the spec file itself (to copy its settings)")
    data = yaml.safe_load(Path(spec.source_path).read_text(encoding="utf-8"))
    failed = report.failed
    wanted = sorted({f.rel_path for f in failed})
    total = sum(f.length for f in failed)
    notes: list[str] = []

    job_name = next_name(spec.import_job.name, JOB_NAME_MAX)
    data["name"] = next_name(spec.name, 64)
    data["import_job"]["name"] = job_name
    data.pop("shipment", None)

    staging = data["staging"]
    out_dir = Path(out_path).resolve().parent
    if out_dir != spec.base_dir.resolve() and not Path(staging["path"]).expanduser().is_absolute():
        staging["path"] = str(spec.staging_root())  # relative paths are taken from the spec's folder
    staging["include"] = [escape_glob(p) for p in wanted]
    # A pattern also matches a file's bare name, so "c.txt" would pull in every "*/c.txt": exclude
    # those by their exact (slashed) paths, which match nothing else.
    known = {f.rel_path for f in report.files}
    root = spec.staging_root()
    if root.is_dir():
        known |= {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    names = {PurePosixPath(p).name for p in wanted}
    extras = sorted(p for p in known - set(wanted) if "/" in p and PurePosixPath(p).name in names)
    if extras:
        staging["exclude"] = list(staging.get("exclude") or []) + [escape_glob(p) for p in extras]
    if root.is_dir():
        sizes = {f.rel_path: f.length for f in failed}
        for rel in wanted:
            path = root / PurePosixPath(rel)
            if not path.is_file():
                notes.append(f"{rel} is no longer in the staging folder {root}: restore it before applying")
            elif path.stat().st_size != sizes[rel]:
                notes.append(f"{rel} in the staging folder is {path.stat().st_size:,} bytes; the drive held "
                             f"{sizes[rel]:,} — it changed since it was shipped")
    else:
        notes.append(f"the staging folder {root} is not readable here; apply on the copy computer")

    capacities = [d.capacity for d in spec.drives if d.capacity]
    per_drive = min(capacities) if capacities else None
    count = max(1, math.ceil(total / (per_drive * 0.95))) if per_drive else 1
    drives = []
    for n in range(1, count + 1):
        drive: dict[str, Any] = {"serial": PLACEHOLDER_SERIAL.format(n=n), "mount_point": PLACEHOLDER_MOUNT.format(n=n)}
        if per_drive:
            drive["capacity"] = per_drive
        drive["bitlocker"] = {"key": {"env": PLACEHOLDER_KEY_ENV.format(n=n)}}
        drives.append(drive)
    data["drives"] = drives

    lines = [
        f"# Follow-up to {spec.name} (import job {spec.import_job.name}), written by `seedctl repair`",
        f"# on {report.checked_at}: {len(wanted)} file(s), {total:,} bytes that verify found missing or damaged.",
        "# Before `seedctl apply -f` this file:",
        "#   1. replace each drive's serial, mount_point and BitLocker key (placeholders below);",
        "#   2. after shipping, add a `shipment:` block with the new package's tracking number.",
        "# Files sent again (the blobs are overwritten in place):",
        *[f"#   {f.rel_path}  [{f.status}: {f.detail}]" for f in failed[:200]],
        *(["#   ..."] if len(failed) > 200 else []),
        *[f"# NOTE: {n}" for n in notes],
        "",
    ]
    text = "\n".join(lines) + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return RepairSpec(text, job_name, wanted, total, notes)
