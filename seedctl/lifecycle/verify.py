"""`seedctl verify`: did every file on every drive arrive in the container, whole and unchanged?

Per blob of every shipped manifest: present; the same length; the same content. Content is
checked without downloading (unless `--deep`): the committed block list must be the manifest's
block list — each block id is "MD5/" + the block's MD5, so equal ids and sizes in order mean equal
blocks — and the blob's Content-MD5, where set, must equal the manifest's whole-file MD5. The
service's copy logs and incomplete-blob list are read to say *why* a file is missing.

A passing verification is recorded in the container's metadata (storage.record_verified) with a
digest of exactly what was verified, so `destroy` can refuse to delete data nobody checked.
"""

from __future__ import annotations

import base64
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import PureWindowsPath
from typing import Any

from seedctl.drives.layout import DATA_DIR
from seedctl.drives.manifest import ManifestBlob
from seedctl.errors import SeedctlError
from seedctl.lifecycle import JSON_VERSION
from seedctl.lifecycle.manifests import ShippedManifest, load_manifests
from seedctl.lifecycle.status import DRIVE_FAILURES
from seedctl.lifecycle.storage import (
    VerifiedRecord,
    container_client,
    forget_verified,
    parse_drive_log,
    parse_incomplete_list,
    read_blob_uri,
    read_destroyed,
    read_job,
    record_verified,
    record_verified_locally,
    retry,
)
from seedctl.resources.jobs import base as phases

OK, MISSING, LENGTH, CONTENT = "ok", "missing", "wrong-length", "damaged"
VERIFIABLE_PHASES = frozenset({phases.COMPLETED, phases.COMPLETED_WITH_ERRORS, phases.FAILED})
PARALLEL = 8


@dataclass
class FileResult:
    blob_path: str
    rel_path: str   # staging-relative (what repair sends again)
    drive: str
    length: int
    status: str = OK
    detail: str = ""
    service: str = ""  # what the service's logs say about it

    @property
    def ok(self) -> bool:
        return self.status == OK


@dataclass
class VerifyReport:
    job_name: str
    job_state: str
    checked_at: str
    container: str
    files: list[FileResult]
    manifest_sources: dict[str, str]
    drive_notes: list[str] = field(default_factory=list)
    extra_blobs: int = 0
    digest: str = ""
    deep: bool = False

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if not f.ok]

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_json(self) -> dict[str, Any]:
        return {
            "version": JSON_VERSION, "job_name": self.job_name, "job_state": self.job_state,
            "checked_at": self.checked_at, "container": self.container, "ok": self.ok, "deep": self.deep,
            "summary": {"files": len(self.files), "ok": len(self.files) - len(self.failed),
                        "missing": sum(f.status == MISSING for f in self.files),
                        "wrong_length": sum(f.status == LENGTH for f in self.files),
                        "damaged": sum(f.status == CONTENT for f in self.files),
                        "bytes": sum(f.length for f in self.files), "extra_blobs": self.extra_blobs},
            "digest": self.digest, "manifest_sources": self.manifest_sources, "drive_notes": self.drive_notes,
            "files": [{"blob_path": f.blob_path, "rel_path": f.rel_path, "drive": f.drive, "length": f.length,
                       "status": f.status, "detail": f.detail, "service": f.service} for f in self.files],
        }


def rel_path_of(blob: ManifestBlob) -> str:
    """The staging-relative path of a manifest entry (its FilePath is \\seed\\a\\b.bin)."""
    parts = [p for p in PureWindowsPath(blob.file_path).parts if p not in ("\\", "/")]
    if parts and parts[0] == DATA_DIR:
        parts = parts[1:]
    return "/".join(parts)


def manifest_digest(manifests: list[ShippedManifest]) -> str:
    """What a verification covers: every blob's path, length and content hashes."""
    items = sorted((b.blob_path, b.length, b.content_md5_hex or "", [x.block_id for x in b.blocks])
                   for m in manifests for b in m.manifest.blobs)
    return hashlib.sha256(json.dumps(items, separators=(",", ":")).encode()).hexdigest()[:32]


def _blob_name(spec: Any, blob_path: str) -> str | None:
    container, _, name = blob_path.partition("/")
    return name if container == spec.container.name else None


def _committed_blocks(blob_client: Any) -> list[tuple[str, int]]:
    """The committed block list as it is on the wire (name, size). The SDK decodes block ids from
    Base64 to UTF-8 text, which fails for ids that are not Base64 of text (the Microsoft tool's
    own "MD5/..." ids sent as-is); `cls` hands back the undecoded list instead."""
    captured: dict[str, Any] = {}

    class _Nothing:
        committed_blocks = None
        uncommitted_blocks = None

    def keep(_response: Any, deserialized: Any, _headers: Any) -> Any:
        captured["list"] = deserialized
        return _Nothing()

    blob_client.get_block_list("committed", cls=keep)
    blocks = getattr(captured.get("list"), "committed_blocks", None) or []
    return [(b.name, int(b.size)) for b in blocks]


def _same_id(wire: str, manifest_id: str) -> bool:
    # the id on the wire is either the manifest's id itself (already Base64) or, when an SDK
    # staged it, Base64 of its text
    return wire == manifest_id or wire == base64.b64encode(manifest_id.encode()).decode()


def _check_blob(spec: Any, ctx: Any, cc: Any, blob: ManifestBlob, listed: Any, result: FileResult,
                deep: bool) -> None:
    if listed is None:
        result.status, result.detail = MISSING, "not in the container"
        return
    if int(listed.size) != blob.length:
        result.status, result.detail = LENGTH, f"{int(listed.size):,} bytes, the drive held {blob.length:,}"
        return
    name = _blob_name(spec, blob.blob_path)
    client = cc.get_blob_client(name)
    md5 = getattr(getattr(listed, "content_settings", None), "content_md5", None)
    md5_hex = bytes(md5).hex().upper() if md5 else None
    if md5_hex and blob.content_md5_hex and md5_hex != blob.content_md5_hex.upper():
        result.status, result.detail = CONTENT, f"Content-MD5 {md5_hex}, the file's MD5 is {blob.content_md5_hex}"
        return
    checked = []
    if getattr(listed, "blob_type", "BlockBlob") in ("BlockBlob", None) or str(listed.blob_type).endswith("BlockBlob"):
        committed = retry(ctx, lambda: _committed_blocks(client), f"read the block list of {blob.blob_path}")
        if committed or blob.blocks:
            if len(committed) != len(blob.blocks):
                result.status = CONTENT
                result.detail = f"{len(committed)} committed blocks, the manifest lists {len(blob.blocks)}"
                return
            for i, ((wire, size), want) in enumerate(zip(committed, blob.blocks, strict=True)):
                if size != want.length or not _same_id(wire, want.block_id):
                    result.status = CONTENT
                    result.detail = f"block {i} (offset {want.offset:,}) differs from the drive's"
                    return
            checked.append("block MD5s")
    if md5_hex and blob.content_md5_hex:
        checked.append("Content-MD5")
    if deep:
        digest = hashlib.md5()
        stream = retry(ctx, lambda: client.download_blob(), f"download {blob.blob_path}")
        for chunk in stream.chunks():
            digest.update(chunk)
        actual = digest.hexdigest().upper()
        expected = blob.content_md5_hex or _md5_from_blocks(blob)
        if expected and actual != expected.upper():
            result.status, result.detail = CONTENT, f"downloaded content MD5 {actual}, the file's is {expected}"
            return
        checked.append("downloaded MD5")
    if not checked and blob.length:
        result.status = CONTENT
        result.detail = "no block list or Content-MD5 to compare: run `seedctl verify --deep`"
        return
    result.detail = ", ".join(checked) if checked else "empty file"


def _md5_from_blocks(blob: ManifestBlob) -> str | None:
    # a one-block file's block MD5 is its whole-file MD5
    return blob.blocks[0].md5_hex if len(blob.blocks) == 1 and blob.blocks[0].length == blob.length else None


def _service_findings(spec: Any, ctx: Any, job: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """What the service said: per blob path (from the error logs and incomplete-blob list), and
    per drive."""
    per_blob: dict[str, str] = {}
    notes: list[str] = []
    for drive in job["drives"]:
        serial, copy = drive["drive_id"], drive.get("copy_status")
        if copy in DRIVE_FAILURES:
            notes.append(f"drive {serial}: {copy} ({DRIVE_FAILURES[copy]})")
        uri = drive.get("error_log_uri")
        if not uri:
            continue
        try:
            log = parse_drive_log(read_blob_uri(ctx, spec, uri))
        except SeedctlError as exc:
            notes.append(f"drive {serial}: its error log could not be read ({exc})")
            continue
        if log.status and log.status not in ("Completed", copy):
            notes.append(f"drive {serial}: copy log status {log.status}")
        for entry in log.blobs:
            per_blob[entry.blob_path] = f"{entry.status}" + (f" ({entry.detail})" if entry.detail else "")
    if job.get("incomplete_blob_list_uri"):
        try:
            for path in parse_incomplete_list(read_blob_uri(ctx, spec, job["incomplete_blob_list_uri"])):
                per_blob.setdefault(path, "listed as incomplete by the service")
        except SeedctlError as exc:
            notes.append(f"the job's incomplete-blob list could not be read ({exc})")
    return per_blob, notes


def verify(spec: Any, ctx: Any, *, deep: bool = False, record: bool = True) -> VerifyReport:
    job = read_job(spec, ctx)
    name = spec.import_job.name
    if job is None:
        raise SeedctlError(f"import job {name} does not exist (never created, or deleted by the service 90 days "
                           "after completion); nothing to verify against")
    if job["phase"] not in VERIFIABLE_PHASES:
        raise SeedctlError(f"import job {name} is {job['state']} (phase {job['phase']}): verify runs once the job "
                           "is completed. Follow it with `seedctl status --watch`")
    destroyed = read_destroyed(spec)
    if destroyed:
        # the blobs are gone on purpose; checking them now would only withdraw the good record
        raise SeedctlError(f"the blobs of import job {name} were verified and then deleted by `seedctl destroy` "
                           f"({destroyed}); there is nothing left to verify")
    manifests = load_manifests(spec, ctx, job)
    per_blob, notes = _service_findings(spec, ctx, job)
    cc = container_client(spec, ctx)
    prefix = f"{spec.container.prefix}/" if spec.container.prefix else None

    def list_blobs() -> dict[str, Any]:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return {b.name: b for b in cc.list_blobs(name_starts_with=prefix)}
        except ResourceNotFoundError:
            return {}

    listing = retry(ctx, list_blobs, f"list the blobs in container {spec.container.name}")
    checks: list[tuple[ManifestBlob, FileResult]] = []
    expected: set[str] = set()
    for m in manifests:
        for blob in m.manifest.blobs:
            result = FileResult(blob.blob_path, rel_path_of(blob), m.serial, blob.length)
            checks.append((blob, result))
            expected.add(blob.blob_path)
    with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="verify") as pool:
        futures = []
        for blob, result in checks:
            name_in = _blob_name(spec, blob.blob_path)
            if name_in is None:
                result.status, result.detail = MISSING, "the manifest sends it to another container"
                continue
            futures.append(pool.submit(_check_blob, spec, ctx, cc, blob, listing.get(name_in), result, deep))
        for f in futures:
            f.result()
    for _, result in checks:
        said = per_blob.get(result.blob_path)
        if said:
            result.service = said if not result.ok else f"{said} in the job's logs; now present and intact"
    report = VerifyReport(name, job["state"], ctx.env.now().replace(microsecond=0).isoformat(),
                          spec.container.name, [r for _, r in checks], {m.serial: m.source for m in manifests},
                          notes, sum(1 for n in listing if f"{spec.container.name}/{n}" not in expected),
                          manifest_digest(manifests), deep)
    if report.ok and record:
        done = VerifiedRecord(report.checked_at, report.digest, len(report.files))
        record_verified(spec, ctx, done)
        record_verified_locally(spec, done)
    elif record:
        forget_verified(spec, ctx)
    return report


def render_text(report: VerifyReport, *, all_files: bool = False) -> str:
    lines = [f"Verify import job {report.job_name} ({report.job_state}) against container {report.container}",
             "  manifests: " + ", ".join(f"{s} ({src})" for s, src in sorted(report.manifest_sources.items()))]
    lines.extend(f"  service: {n}" for n in report.drive_notes)
    lines.append("")
    shown = report.files if all_files else report.failed
    if shown:
        width = min(60, max(len(f.blob_path) for f in shown))
        for f in shown:
            mark = "ok " if f.ok else "✗  "
            lines.append(f"  {mark}{f.blob_path:<{width}}  {f.status:<12} {f.detail}")
            if f.service:
                lines.append(f"       service: {f.service}")
        lines.append("")
    s = report.to_json()["summary"]
    lines.append(f"{s['files']:,} files ({s['bytes']:,} bytes): {s['ok']:,} ok, {s['missing']:,} missing, "
                 f"{s['wrong_length']:,} wrong length, {s['damaged']:,} damaged"
                 + (f"; {s['extra_blobs']:,} other blob(s) in the container (not this job's)" if s["extra_blobs"] else ""))
    if report.ok:
        lines.append(f"Verified: every file arrived intact (recorded on container {report.container}, "
                     f"{report.checked_at}).")
    else:
        lines.append("Verification FAILED. Send the missing and damaged files again with "
                     "`seedctl repair --out repair.yaml`.")
    return "\n".join(lines) + "\n"
