"""`seedctl verify`: did every file on every drive arrive in the container, whole and unchanged?

Per blob of every shipped manifest: present; the same length; the same content. Content is
decided by the best evidence available, and each file names the evidence it was decided by:

- `content-md5`: the blob's Content-MD5 (read from the container listing, so it costs no request
  per blob) equals the file's MD5 in the manifest. A different Content-MD5 is damage.
- `block-ids`: no Content-MD5 to compare, so the committed block list is read: the manifest's
  block ids are "MD5/" + each block's MD5, so the same ids and sizes in order mean the same blocks.
  The service is not documented to commit blocks under the manifest's ids (the Data Box-era
  service documents CRC64 checks instead): blocks under other ids prove nothing either way, so
  such a file is `unverified`, not damaged, and `--deep` decides it.
- `download` (`--deep`): the blob is downloaded and hashed (whole file, or block by block when
  the manifest has no whole-file MD5); this overrides the cheaper evidence.

The service's copy logs and incomplete-blob list are read to say *why* a file is missing.

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
from typing import Any, NamedTuple

from seedctl.drives import DATA_DIR, ManifestBlob, ManifestBlock
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

OK, MISSING, LENGTH, CONTENT, UNVERIFIED = "ok", "missing", "wrong-length", "damaged", "unverified"
# the evidence a file's verdict rests on (FileResult.evidence)
BY_CONTENT_MD5, BY_BLOCK_IDS, BY_DOWNLOAD, BY_LENGTH = "content-md5", "block-ids", "download", "empty"
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
    evidence: str = ""  # what the verdict rests on: BY_CONTENT_MD5, BY_BLOCK_IDS, BY_DOWNLOAD, BY_LENGTH

    @property
    def ok(self) -> bool:
        return self.status == OK

    def reset(self) -> FileResult:
        self.status, self.detail, self.evidence = OK, "", ""
        return self


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
                        "unverified": sum(f.status == UNVERIFIED for f in self.files),
                        "bytes": sum(f.length for f in self.files), "extra_blobs": self.extra_blobs,
                        "evidence": self.evidence_counts()},
            "digest": self.digest, "manifest_sources": self.manifest_sources, "drive_notes": self.drive_notes,
            "files": [{"blob_path": f.blob_path, "rel_path": f.rel_path, "drive": f.drive, "length": f.length,
                       "status": f.status, "detail": f.detail, "service": f.service, "evidence": f.evidence}
                      for f in self.files],
        }

    def evidence_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for f in self.files:
            if f.evidence:
                counts[f.evidence] = counts.get(f.evidence, 0) + 1
        return dict(sorted(counts.items()))


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


class Listed(NamedTuple):
    """What verify keeps of a blob's listing entry (a BlobProperties holds far more; at 100,000
    blobs the difference is hundreds of megabytes)."""

    size: int
    content_md5_hex: str | None
    block_blob: bool


def listed_entry(props: Any) -> Listed:
    md5 = getattr(getattr(props, "content_settings", None), "content_md5", None)
    kind = getattr(props, "blob_type", None)
    return Listed(int(props.size), bytes(md5).hex().upper() if md5 else None,
                  kind is None or str(getattr(kind, "value", kind)) == "BlockBlob")


def list_container(ctx: Any, cc: Any, prefix: str | None) -> dict[str, Listed]:
    """The container's blobs in one pass: one request per 5,000 blobs (the service's page size),
    each entry with the size and Content-MD5 that decide most files without a request of their own."""
    from azure.core.exceptions import ResourceNotFoundError

    def list_all() -> dict[str, Listed]:
        try:
            return {b.name: listed_entry(b) for b in cc.list_blobs(name_starts_with=prefix)}
        except ResourceNotFoundError:
            return {}

    return retry(ctx, list_all, f"list the blobs in container {cc.container_name}")


def decide_from_listing(blob: ManifestBlob, listed: Listed | None, result: FileResult) -> bool:
    """Decide a file from its container listing alone (no request of its own), if the listing
    holds the evidence: presence, length, Content-MD5. False: a per-blob look is needed."""
    if listed is None:
        result.status, result.detail = MISSING, "not in the container"
        return True
    if listed.size != blob.length:
        result.status, result.detail = LENGTH, f"{listed.size:,} bytes, the drive held {blob.length:,}"
        return True
    if blob.length == 0:
        result.evidence, result.detail = BY_LENGTH, "empty file"
        return True
    md5_hex, want = listed.content_md5_hex, _file_md5(blob)
    if md5_hex and want:
        result.evidence = BY_CONTENT_MD5
        if md5_hex != want.upper():
            result.status, result.detail = CONTENT, f"Content-MD5 {md5_hex}, the file's MD5 is {want}"
        else:
            result.detail = "Content-MD5 matches the file's MD5"
        return True
    return False


def _check_block_ids(ctx: Any, client: Any, blob: ManifestBlob, result: FileResult) -> None:
    committed = retry(ctx, lambda: _committed_blocks(client), f"read the block list of {blob.blob_path}")
    same_ids = len(committed) == len(blob.blocks) and all(
        _same_id(wire, want.block_id) for (wire, _), want in zip(committed, blob.blocks, strict=False))
    if not same_ids:
        # other ids say nothing about the content: only a download can tell
        result.status = UNVERIFIED
        result.detail = (f"committed under other block ids than the manifest's ({len(committed)} blocks, the "
                         f"manifest lists {len(blob.blocks)}) and no Content-MD5 to compare: run "
                         "`seedctl verify --deep`")
        return
    result.evidence = BY_BLOCK_IDS
    for i, ((_, size), want) in enumerate(zip(committed, blob.blocks, strict=True)):
        if size != want.length:
            result.status = CONTENT
            result.detail = f"block {i} (offset {want.offset:,}) is {size:,} bytes, the drive's is {want.length:,}"
            return
    result.detail = "block ids (block MD5s) match the manifest"


class _BlockHasher:
    """The MD5 of each manifest block as the downloaded bytes stream past (blocks are contiguous
    from offset 0 in a block blob's manifest)."""

    def __init__(self, blocks: tuple[ManifestBlock, ...]) -> None:
        self.blocks, self.index, self.fill, self.md5 = blocks, 0, 0, hashlib.md5()
        self.bad: ManifestBlock | None = None

    def update(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        while self.index < len(self.blocks) and len(view):
            block = self.blocks[self.index]
            take = min(len(view), block.length - self.fill)
            self.md5.update(view[:take])
            self.fill += take
            view = view[take:]
            if self.fill == block.length:
                if self.bad is None and self.md5.hexdigest().upper() != block.md5_hex.upper():
                    self.bad = block
                self.index, self.fill, self.md5 = self.index + 1, 0, hashlib.md5()


def _check_download(ctx: Any, client: Any, blob: ManifestBlob, result: FileResult) -> None:
    """Download and hash: the whole file against its MD5, or each block against the manifest's
    block MD5s when the manifest has no whole-file MD5."""
    want = _file_md5(blob)

    def download() -> tuple[str, ManifestBlock | None]:
        # a retried download starts over, with fresh hashes
        whole, blocks = hashlib.md5(), _BlockHasher(blob.blocks)
        for chunk in client.download_blob().chunks():
            whole.update(chunk)
            if not want:
                blocks.update(chunk)
        return whole.hexdigest().upper(), blocks.bad

    actual, bad_block = retry(ctx, download, f"download {blob.blob_path}")
    result.evidence = BY_DOWNLOAD
    if want and actual != want.upper():
        result.status, result.detail = CONTENT, f"downloaded content MD5 {actual}, the file's is {want}"
    elif bad_block is not None:
        result.status = CONTENT
        result.detail = f"downloaded block at offset {bad_block.offset:,} differs from the drive's"
    else:
        result.detail = "downloaded MD5 matches the " + ("file's MD5" if want else "manifest's block MD5s")


def check_blob(spec: Any, ctx: Any, cc: Any, blob: ManifestBlob, listed: Listed | None, result: FileResult,
               deep: bool) -> None:
    """Decide one file: from the listing when it can, else from the block list; with `deep`,
    always by downloading it (the strongest evidence, which overrides the others)."""
    decided = decide_from_listing(blob, listed, result)
    if result.status in (MISSING, LENGTH) or result.evidence == BY_LENGTH:
        return
    client = cc.get_blob_client(_blob_name(spec, blob.blob_path))
    if deep:
        listed_verdict = result.detail if result.status == CONTENT else ""
        result.reset()
        _check_download(ctx, client, blob, result)
        if listed_verdict and result.ok:
            result.detail += f" (its {listed_verdict}: the property is wrong, the content is right)"
        return
    if decided:
        return
    if listed.block_blob and blob.blocks:
        _check_block_ids(ctx, client, blob, result)
        return
    result.status = UNVERIFIED
    result.detail = "no Content-MD5 and no block list to compare: run `seedctl verify --deep`"


def _file_md5(blob: ManifestBlob) -> str | None:
    return blob.content_md5_hex or _md5_from_blocks(blob)


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


def check_files(spec: Any, ctx: Any, cc: Any, checks: list[tuple[ManifestBlob, FileResult]],
                listing: dict[str, Listed], deep: bool) -> int:
    """Decide every file: from the listing where it can, and with requests of their own (a
    bounded number at a time, each retried) only for the rest. Returns how many needed one."""
    remote: list[tuple[ManifestBlob, Listed | None, FileResult]] = []
    for blob, result in checks:
        name_in = _blob_name(spec, blob.blob_path)
        if name_in is None:
            result.status, result.detail = MISSING, "the manifest sends it to another container"
            continue
        listed = listing.get(name_in)
        if not deep and decide_from_listing(blob, listed, result):
            continue
        remote.append((blob, listed, result))
    if remote:
        with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="verify") as pool:
            for f in [pool.submit(check_blob, spec, ctx, cc, blob, listed, result.reset(), deep)
                      for blob, listed, result in remote]:
                f.result()
    return len(remote)


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
    listing = list_container(ctx, cc, f"{spec.container.prefix}/" if spec.container.prefix else None)
    checks: list[tuple[ManifestBlob, FileResult]] = []
    expected: set[str] = set()
    for m in manifests:
        for blob in m.manifest.blobs:
            result = FileResult(blob.blob_path, rel_path_of(blob), m.serial, blob.length)
            checks.append((blob, result))
            expected.add(blob.blob_path)
    check_files(spec, ctx, cc, checks, listing, deep)
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


_EVIDENCE_WORDS = {BY_CONTENT_MD5: "Content-MD5", BY_BLOCK_IDS: "block ids", BY_DOWNLOAD: "download and hash",
                   BY_LENGTH: "length (empty)"}


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
    from seedctl.units import format_bytes

    lines.append(f"{s['files']:,} files ({format_bytes(s['bytes'])}): {s['ok']:,} ok, {s['missing']:,} missing, "
                 f"{s['wrong_length']:,} wrong length, {s['damaged']:,} damaged"
                 + (f", {s['unverified']:,} unverified" if s["unverified"] else "")
                 + (f"; {s['extra_blobs']:,} other blob(s) in the container (not this job's)" if s["extra_blobs"] else ""))
    if s["evidence"]:
        lines.append("evidence: " + ", ".join(f"{n:,} by {_EVIDENCE_WORDS.get(k, k)}" for k, n in s["evidence"].items()))
    if report.ok:
        lines.append(f"Verified: every file arrived intact (recorded on container {report.container}, "
                     f"{report.checked_at}).")
    elif s["unverified"] and s["unverified"] == len(report.failed):
        lines.append("NOT VERIFIED: some files cannot be checked without reading them. Run "
                     "`seedctl verify --deep` to download and hash them.")
    else:
        lines.append("Verification FAILED. Send the missing and damaged files again with "
                     "`seedctl repair --out repair.yaml`"
                     + (" (run `seedctl verify --deep` first: the unverified ones may be intact)."
                        if s["unverified"] else "."))
    return "\n".join(lines) + "\n"
