"""Checks the schema cannot express: relations between fields, paths, and secrets.

They read the raw document (plain dicts and lists) defensively: a value of the wrong type was
already reported by the schema, so it is skipped here rather than reported twice.
"""

from __future__ import annotations

import ntpath
import os
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from seedctl.errors import SecretError
from seedctl.spec.model import DEFAULT_PROVIDER_FOR_API, SecretRef
from seedctl.spec.paths import field_path
from seedctl.spec.yamlread import Document


@dataclass
class Findings:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class _Ctx:
    def __init__(self, doc: Document, name: str, findings: Findings) -> None:
        self.doc, self.name, self.findings = doc, name, findings

    def where(self, path: tuple[Any, ...], key: bool = False) -> str:
        mark = self.doc.mark_for(path, key=key)
        return f"{self.name}:{mark.line}:{mark.column}" if mark else self.name

    def error(self, path: tuple[Any, ...], message: str, key: bool = False) -> None:
        self.findings.errors.append(f"{self.where(path, key)}: {field_path(path)}: {message}")

    def warn(self, path: tuple[Any, ...], message: str, key: bool = False) -> None:
        self.findings.warnings.append(f"{self.where(path, key)}: {field_path(path)}: {message}")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _drives(data: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    drives = data.get("drives")
    if not isinstance(drives, list):
        return []
    return [(i, d) for i, d in enumerate(drives) if isinstance(d, dict)]


# --- paths -----------------------------------------------------------------------------------

_WINDOWS = re.compile(r"^[A-Za-z]:|^\\\\|\\")
_SPEC_ROOT = "@spec-folder"  # stands for the spec's folder, so relative paths compare with each other


def canonical_path(path: str) -> tuple[str, str]:
    """(flavour, normalised path) for lexical comparison. Windows paths are compared case-blind.

    Nothing touches the file system: `plan` runs on CI runners that have neither staging nor drives.
    """
    if _WINDOWS.search(path):
        if re.fullmatch(r"[A-Za-z]:", path):
            path += "\\"  # "E:" as a mount point means the root of E:
        if not ntpath.isabs(path):
            path = ntpath.join("\\" + _SPEC_ROOT, path)
        return "windows", ntpath.normpath(path).lower()
    if path.startswith("~"):
        return "posix", posixpath.normpath(path)
    if not posixpath.isabs(path):
        path = posixpath.join("/" + _SPEC_ROOT, path)
    return "posix", posixpath.normpath(path)


def _inside(inner: tuple[str, str], outer: tuple[str, str]) -> bool:
    """inner is outer or below it (same flavour only)."""
    if inner[0] != outer[0]:
        return False
    sep = "\\" if inner[0] == "windows" else "/"
    a, b = inner[1], outer[1]
    return a == b or a.startswith(b.rstrip(sep) + sep)


def resolved_path(path: str, base_dir: str | None) -> tuple[str, str]:
    """canonical_path, then, for a POSIX path when the spec's folder is known, the path the OS would
    use: `~` expanded, relative paths taken from `base_dir`, symlinks resolved where they exist.

    So `./d1`, `/specs/d1`, `~/specs/d1` and a symlink to it compare equal. Only `realpath` looks
    at the disk; on a CI runner without the folders it is a lexical normalisation.
    """
    flavour, canonical = canonical_path(path)
    if flavour != "posix" or base_dir is None or os.name == "nt":
        return flavour, canonical
    try:
        full = os.path.expanduser(path)
        if not os.path.isabs(full):
            full = os.path.join(os.path.abspath(base_dir), full)
        return "posix", os.path.realpath(full)
    except (OSError, ValueError):  # a loop of symlinks, an odd byte: the lexical form will do
        return flavour, canonical


def _same_folder(a: str, b: str) -> bool:
    """Two existing folders that are one (a bind mount, a hard-linked path): same device and inode."""
    try:
        sa, sb = os.stat(a), os.stat(b)
    except (OSError, ValueError):
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def _nul_free(ctx: _Ctx, path: tuple[Any, ...], value: str) -> bool:
    if "\x00" in value:
        ctx.error(path, f"{value!r} contains a NUL character, which no file system path can hold; "
                        "remove it (a YAML \\0 escape or a generator bug)")
        return False
    return True


def _check_paths(ctx: _Ctx, data: dict[str, Any], base_dir: str | None) -> None:
    staging = _dict(data.get("staging")).get("path")
    if isinstance(staging, str) and not _nul_free(ctx, ("staging", "path"), staging):
        staging = None
    staging_c = resolved_path(staging, base_dir) if isinstance(staging, str) and staging else None
    seen: list[tuple[int, str, tuple[str, str]]] = []
    for i, drive in _drives(data):
        mount = drive.get("mount_point")
        if not isinstance(mount, str) or not mount:
            continue
        here = ("drives", i, "mount_point")
        if not _nul_free(ctx, here, mount):
            continue
        mount_c = resolved_path(mount, base_dir)
        if staging_c and _inside(mount_c, staging_c):
            ctx.error(here, f"{mount!r} is inside the staging folder {staging!r}; seedctl would copy the "
                            "drive onto itself. Mount drives outside the staging folder")
        elif staging_c and _inside(staging_c, mount_c):
            ctx.error(here, f"the staging folder {staging!r} is inside this drive's mount point {mount!r}; "
                            "the staging data must not live on a drive being prepared")
        for j, other_raw, other in seen:
            if other == mount_c or (mount_c[0] == "posix" and base_dir is not None
                                    and _same_folder(mount_c[1], other[1])):
                same = "" if other_raw == mount else f" ({other_raw!r}, the same folder named another way)"
                ctx.error(here, f"{mount!r} is also the mount point of drives[{j}]{same}; each drive needs "
                                "its own")
            elif _inside(mount_c, other) or _inside(other, mount_c):
                ctx.error(here, f"{mount!r} and drives[{j}]'s mount point are nested; mount each drive "
                                "in its own folder")
        seen.append((i, mount, mount_c))
    for key in ("include", "exclude"):
        globs = _dict(data.get("staging")).get(key)
        for k, glob in enumerate(globs if isinstance(globs, list) else []):
            if isinstance(glob, str):
                _nul_free(ctx, ("staging", key, k), glob)


# --- drives ----------------------------------------------------------------------------------

def _check_drives(ctx: _Ctx, data: dict[str, Any]) -> None:
    serials: dict[str, int] = {}
    for i, drive in _drives(data):
        serial = drive.get("serial")
        if isinstance(serial, str):
            # serial numbers are compared case-blind: the OS and the label may differ in case
            if serial.upper() in serials:
                ctx.error(("drives", i, "serial"), f"{serial!r} is also the serial of "
                                                   f"drives[{serials[serial.upper()]}]; serials must be unique")
            else:
                serials[serial.upper()] = i
        bitlocker = drive.get("bitlocker")
        if isinstance(bitlocker, dict) and bitlocker:
            here = ("drives", i, "bitlocker")
            has_key = "key" in bitlocker
            manage = bitlocker.get("manage")
            if has_key and manage is True:
                ctx.error(here, "give either key (the drive is already encrypted and unlocked) or "
                                "manage: true (seedctl encrypts it), not both")
            elif not has_key and manage is False:
                ctx.error(here, "manage: false and no key: seedctl needs the BitLocker recovery password "
                                "of a drive it does not encrypt; add key: {env: VARIABLE} or {file: PATH}")


# --- blob type -------------------------------------------------------------------------------

def _check_blob_type(ctx: _Ctx, data: dict[str, Any]) -> None:
    """Page blobs are the backup agent's seed, which it reads at <container>/<path relative to
    staging>: a prefix would put every blob where the agent does not look."""
    blob_type = _dict(data.get("staging")).get("blob_type", "page")
    prefix = _dict(data.get("container")).get("prefix")
    if blob_type == "page" and isinstance(prefix, str) and prefix.strip("/"):
        ctx.error(("container", "prefix"), f"{prefix!r} with staging.blob_type page: the backup agent reads its "
                                           "seed at <container>/<path relative to the staging folder>, so a prefix "
                                           "hides every blob from it. Remove container.prefix, or set "
                                           "staging.blob_type: block if this is not a backup agent's seed")


# --- job, shipment, providers ----------------------------------------------------------------

def _check_job(ctx: _Ctx, data: dict[str, Any]) -> None:
    job = data.get("import_job")
    shipment = data.get("shipment")
    if "shipment" in data and not isinstance(job, dict):
        ctx.error(("shipment",), "a shipment needs an import_job: the carrier and tracking number are "
                                 "entered on the job. Add the import_job block, or remove shipment", key=True)
    if isinstance(shipment, dict):
        count = shipment.get("drive_count")
        drives = data.get("drives")
        if isinstance(count, float) and count.is_integer():
            count = int(count)
        if isinstance(count, int) and not isinstance(count, bool) and isinstance(drives, list) and drives:
            if count > len(drives):
                ctx.error(("shipment", "drive_count"), f"says {count} drives are in the package, but the spec "
                                                       f"lists {len(drives)}")
            elif count < len(drives):
                ctx.warn(("shipment", "drive_count"), f"{count} of the {len(drives)} drives are in the package; "
                                                      "all drives of one job should travel in one package")
    api = _dict(job).get("api")
    country = _dict(_dict(job).get("return_address")).get("country_or_region")
    if api == "databox" and isinstance(country, str):
        from seedctl.spec.countries import country_problem

        problem = country_problem(country)
        if problem:
            ctx.error(("import_job", "return_address", "country_or_region"), problem)
    providers = data.get("providers")
    if isinstance(api, str) and api in DEFAULT_PROVIDER_FOR_API and isinstance(providers, list):
        needed = DEFAULT_PROVIDER_FOR_API[api]
        if not any(isinstance(p, str) and p.lower() == needed.lower() for p in providers):
            ctx.warn(("providers",), f"import_job.api is {api} but {needed} is not listed; job creation fails "
                                     "unless it is already registered on the subscription", key=True)


# --- secrets ---------------------------------------------------------------------------------

def secret_paths(data: dict[str, Any]) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Every secret reference in the raw document, with its path."""
    out = []
    for i, drive in _drives(data):
        key = _dict(drive.get("bitlocker")).get("key")
        if isinstance(key, dict):
            out.append((("drives", i, "bitlocker", "key"), key))
    return out


def check_secrets(doc: Document, name: str, base_dir: str, environ: Mapping[str, str] | None,
                  *, strict: bool) -> Findings:
    """Unresolvable secret references: warnings for `validate`, errors when `strict` (apply)."""
    findings = Findings()
    ctx = _Ctx(doc, name, findings)
    data = doc.data if isinstance(doc.data, dict) else {}
    for path, raw in secret_paths(data):
        env, file = raw.get("env"), raw.get("file")
        if not isinstance(env, (str, type(None))) or not isinstance(file, (str, type(None))):
            continue
        ref = SecretRef(env=env, file=file, base_dir=base_dir)
        try:
            _, warnings = ref.inspect(environ)
        except SecretError as exc:
            (ctx.error if strict else ctx.warn)(path, f"{exc} (needed when the import job is created)")
            continue
        for warning in warnings:
            ctx.warn(path, warning)
    return findings


def run_checks(doc: Document, name: str, base_dir: str | None = None) -> Findings:
    """The semantic checks. With `base_dir` (the spec's folder), paths are compared as the OS resolves
    them (see `resolved_path`); without it, lexically."""
    findings = Findings()
    if not isinstance(doc.data, dict):
        return findings
    ctx = _Ctx(doc, name, findings)
    _check_drives(ctx, doc.data)
    _check_paths(ctx, doc.data, base_dir)
    _check_job(ctx, doc.data)
    _check_blob_type(ctx, doc.data)
    return findings


# --- what only the computer validate runs on can tell (validate's extras) -------------------------

PLACEHOLDER_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"  # what `seedctl init` writes


def _local_path(path: str, base_dir: str) -> str | None:
    """`path` as this computer would open it, or None when it is written for another OS (a drive
    letter or UNC path seen on Linux): validate cannot look at it here."""
    flavour, _ = canonical_path(path)
    if (flavour == "windows") != (os.name == "nt"):
        return None
    full = os.path.expanduser(path)
    return os.path.normpath(full if os.path.isabs(full) else os.path.join(base_dir, full))


def local_checks(doc: Document, name: str, base_dir: str, *, local_state: str = "auto") -> Findings:
    """What a spec cannot say about itself: the starter spec's placeholder subscription id (an error:
    no Azure call can succeed with it), and, on this computer, a staging folder that is not there and
    a drive mount point with nothing mounted. Those two are warnings (validate also runs on CI
    runners, which have neither), errors with `local_state="require"` (the copy computer), not
    looked at with "skip"."""
    findings = Findings()
    ctx = _Ctx(doc, name, findings)
    data = doc.data if isinstance(doc.data, dict) else {}
    azure = _dict(data.get("azure"))
    sandbox = azure.get("cloud") == "sandbox"
    if azure.get("subscription_id") == PLACEHOLDER_SUBSCRIPTION and not sandbox:
        ctx.error(("azure", "subscription_id"), "is the starter spec's placeholder; put your subscription's id "
                                                "(`az account show --query id`)")
    if local_state == "skip":
        return findings
    local = ctx.error if local_state == "require" else ctx.warn
    staging = _dict(data.get("staging")).get("path")
    if isinstance(staging, str) and staging and "\x00" not in staging:
        where = _local_path(staging, base_dir)
        if where is not None and not os.path.isdir(where):
            local(("staging", "path"), f"the staging folder {where} is not here (not mounted, or a wrong path); "
                                       "plan and apply on this computer need it")
    for i, drive in _drives(data):
        mount = drive.get("mount_point")
        if not isinstance(mount, str) or not mount or "\x00" in mount:
            continue
        where = _local_path(mount, base_dir)
        if where is None:
            continue
        here = ("drives", i, "mount_point")
        serial = drive.get("serial", f"drives[{i}]")
        if not os.path.isdir(where):
            local(here, f"drive {serial} is not mounted: {where} does not exist on this computer")
        elif not sandbox and not os.path.ismount(where):
            local(here, f"drive {serial} is not mounted: nothing is mounted at {where} (it is a folder on this "
                        "computer's own disk); attach the drive and mount it there")
    return findings
