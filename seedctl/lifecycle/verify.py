"""`seedctl verify`: did every file on every drive arrive in the container, whole and unchanged?

Per blob of every shipped manifest: present; the same length and blob type; the same content. Each
file names the evidence its verdict rests on (`FileResult.evidence`, one or more words), in the
order of the issue 22 ladder — the cheap, service-side evidence first, the download last:

- `service-crc64` (content, no download): the CRC-64 the service computed while it imported the
  file, from the job's verbose copy log (2021-08-01, Data Box jobs with logCollectionLevel
  Verbose), equals the one seedctl recorded in the manifest's ClientData. A different one is damage;
  for a page blob of the right size it is doubt (unverified): whether the service's CRC-64 covers
  the unwritten parts is unpublished.
- `page-ranges` (listing, a page blob): the blob's written ranges (Get Page Ranges, read now) cover
  exactly the bytes the manifest's ranges list. Bytes listed but not written are damage (the blob
  reads zeros there); bytes written beyond the list leave the file unverified for `--deep` to read.
- `block-ids` (listing, a block blob): the committed block list (read now) has the manifest's block
  ids — "MD5/" + each block's MD5 — and sizes in order. The service is not documented to commit
  under the manifest's ids: blocks under other ids prove nothing either way, and leave the file
  unverified even beside a matching CRC-64 (that tells what was imported, not what is there now).
- `download` (`--deep`): the blob read and hashed now — a block blob whole (its MD5, or its blocks'
  MD5s) and its CRC-64; a page blob's listed ranges (MD5 each), any other written part (it must be
  zeros) and the CRC-64 of the whole blob. The strongest evidence: it overrides the others.

A file is `ok` with any content evidence, or with listing evidence the service gives no reason to
doubt; a page blob the service's logs name as failed needs content evidence. The blob's
Content-MD5 property is not evidence: anyone can set it, and the service sets none from a manifest.
`destroy` reads the words: listing (`block-ids`, `page-ranges`) and content (`service-crc64`,
`download`).

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

from seedctl.crc64 import crc64
from seedctl.drives import DATA_DIR, ManifestBlob, ManifestBlock
from seedctl.errors import SeedctlError
from seedctl.interrupt import results_in_turn
from seedctl.lifecycle import JSON_VERSION, pageblobs
from seedctl.lifecycle.manifests import ShippedManifest, load_manifests
from seedctl.lifecycle.status import DRIVE_FAILURES
from seedctl.lifecycle.storage import (
    LogFile,
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
    written_ranges,
)
from seedctl.resources.jobs import base as phases

OK, MISSING, LENGTH, CONTENT, UNVERIFIED = "ok", "missing", "wrong-length", "damaged", "unverified"
# the evidence a file's verdict rests on (FileResult.evidence)
BY_BLOCK_IDS, BY_PAGE_RANGES = "block-ids", "page-ranges"  # listing evidence, read from the service now
BY_SERVICE_CRC64, BY_DOWNLOAD = "service-crc64", "download"  # content evidence
BY_LENGTH = "empty"  # a file of no bytes: its length is all there is
LISTING_EVIDENCE = frozenset({BY_BLOCK_IDS, BY_PAGE_RANGES})
CONTENT_EVIDENCE = frozenset({BY_SERVICE_CRC64, BY_DOWNLOAD})
BLOCK_BLOB, PAGE_BLOB = "BlockBlob", "PageBlob"
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
    evidence: tuple[str, ...] = ()  # what the verdict rests on: BY_* words, cheapest first
    blob_type: str = BLOCK_BLOB  # what the manifest imports it as: BLOCK_BLOB or PAGE_BLOB

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def listing_evidence(self) -> bool:
        """Read from the service now: the blob's block ids or written page ranges (or it is empty)."""
        return bool(LISTING_EVIDENCE.intersection(self.evidence)) or BY_LENGTH in self.evidence

    @property
    def content_evidence(self) -> bool:
        """Its content checked: the service's CRC-64 at import, or a download now (or it is empty)."""
        return bool(CONTENT_EVIDENCE.intersection(self.evidence)) or BY_LENGTH in self.evidence

    def add_evidence(self, word: str) -> None:
        if word not in self.evidence:
            self.evidence = (*self.evidence, word)

    def reset(self) -> FileResult:
        self.status, self.detail, self.evidence = OK, "", ()
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
                        "evidence": self.evidence_counts(),
                        "without_content_evidence": sum(f.ok and not f.content_evidence for f in self.files),
                        "page_blobs_without_content_evidence": sum(
                            f.ok and f.blob_type == PAGE_BLOB and not f.content_evidence for f in self.files)},
            "digest": self.digest, "manifest_sources": self.manifest_sources, "drive_notes": self.drive_notes,
            "files": [{"blob_path": f.blob_path, "rel_path": f.rel_path, "drive": f.drive, "length": f.length,
                       "blob_type": f.blob_type, "status": f.status, "detail": f.detail, "service": f.service,
                       "evidence": list(f.evidence)}
                      for f in self.files],
        }

    def evidence_counts(self) -> dict[str, int]:
        """How many files each kind of evidence covers (a file counts once per word it has)."""
        counts: dict[str, int] = {}
        for f in self.files:
            for word in f.evidence:
                counts[word] = counts.get(word, 0) + 1
        return dict(sorted(counts.items()))


def rel_path_of(blob: ManifestBlob) -> str:
    """The staging-relative path of a manifest entry (its FilePath is \\seed\\a\\b.bin)."""
    parts = [p for p in PureWindowsPath(blob.file_path).parts if p not in ("\\", "/")]
    if parts and parts[0] == DATA_DIR:
        parts = parts[1:]
    return "/".join(parts)


def manifest_digest(manifests: list[ShippedManifest]) -> str:
    """What a verification covers: every blob's path, length and content hashes (for a page blob its
    recorded CRC-64 and a digest of its ranges; a block blob's entry is what it always was, so
    earlier verification records still match)."""
    items = sorted(_digest_item(b) for m in manifests for b in m.manifest.blobs)
    return hashlib.sha256(json.dumps(items, separators=(",", ":")).encode()).hexdigest()[:32]


def _digest_item(b: ManifestBlob) -> tuple[str, int, str, list[str]]:
    if b.is_page_blob:
        ranges = hashlib.sha256()
        for offset, length, md5 in b.page_ranges.raw():
            ranges.update(b"%d:%d:" % (offset, length) + md5)
        return (b.blob_path, b.length, f"page;crc64={b.content_crc64}", [ranges.hexdigest()])
    whole = b.content_md5_hex or ("" if b.content_crc64 is None else f"crc64={b.content_crc64}")
    return (b.blob_path, b.length, whole, [x.block_id for x in b.blocks])


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
    blob_type: str  # BLOCK_BLOB, PAGE_BLOB or AppendBlob


def listed_entry(props: Any) -> Listed:
    kind = getattr(props, "blob_type", None)
    return Listed(int(props.size), BLOCK_BLOB if kind is None else str(getattr(kind, "value", kind)))


def list_container(ctx: Any, cc: Any, prefix: str | None) -> dict[str, Listed]:
    """The container's blobs in one pass: one request per 5,000 blobs (the service's page size),
    each entry with the size and blob type that decide missing and mistyped files at once."""
    from azure.core.exceptions import ResourceNotFoundError

    def list_all() -> dict[str, Listed]:
        try:
            return {b.name: listed_entry(b) for b in cc.list_blobs(name_starts_with=prefix)}
        except ResourceNotFoundError:
            return {}

    return retry(ctx, list_all, f"list the blobs in container {cc.container_name}")


def decide_from_listing(blob: ManifestBlob, listed: Listed | None, result: FileResult) -> bool:
    """Decide a file from its container listing alone, when the listing is enough: missing, another
    length, another blob type, or empty. False: its content needs a look of its own."""
    result.blob_type = PAGE_BLOB if blob.is_page_blob else BLOCK_BLOB
    if listed is None:
        result.status, result.detail = MISSING, "not in the container"
        return True
    if listed.size != blob.length:
        result.status, result.detail = LENGTH, f"{listed.size:,} bytes, the drive held {blob.length:,}"
        return True
    if listed.blob_type != result.blob_type:
        result.status = CONTENT
        result.detail = (f"a {listed.blob_type}, but the manifest imports it as a {result.blob_type}"
                         + (" (the backup agent reads its seed as page blobs)" if blob.is_page_blob else ""))
        return True
    if blob.length == 0:
        result.evidence, result.detail = (BY_LENGTH,), "empty file"
        return True
    return False


# -- the evidence ---------------------------------------------------------------------------------
_RANK = {OK: 0, UNVERIFIED: 1, CONTENT: 2}


def _fail(result: FileResult, status: str, detail: str) -> None:
    """Record a finding: damage outranks doubt; findings of the same rank are all told."""
    if _RANK[status] > _RANK[result.status]:
        result.status, result.detail = status, detail
    elif _RANK[status] == _RANK[result.status]:
        result.detail = f"{result.detail}; {detail}" if result.detail else detail


def _check_service_crc(blob: ManifestBlob, logged: LogFile | None, result: FileResult) -> None:
    """Rung 1: the CRC-64 the service computed at import against the one seedctl recorded."""
    if logged is None or blob.content_crc64 is None:
        return
    if logged.size != blob.length or logged.crc64 != blob.content_crc64:
        finding = (f"the service's copy log has CRC-64 {logged.crc64} over {logged.size:,} bytes; seedctl recorded "
                   f"{blob.content_crc64} over {blob.length:,}")
        if blob.is_page_blob and logged.size == blob.length:
            # Whether the service's CRC-64 of a page blob covers its unwritten parts (as zeros) is
            # unpublished: a difference may be that, not damage. Reading the blob tells.
            _fail(result, UNVERIFIED, finding + " (for the whole blob, unwritten parts as zeros; whether the "
                                                "service's covers those is unpublished): run `seedctl verify --deep`")
        else:
            _fail(result, CONTENT, finding)
        return
    result.add_evidence(BY_SERVICE_CRC64)


def _check_block_ids(ctx: Any, client: Any, blob: ManifestBlob, result: FileResult) -> None:
    committed = retry(ctx, lambda: _committed_blocks(client), f"read the block list of {blob.blob_path}")
    same_ids = len(committed) == len(blob.blocks) and all(
        _same_id(wire, want.block_id) for (wire, _), want in zip(committed, blob.blocks, strict=False))
    if not same_ids:
        # Other ids say nothing about the content. A CRC-64 from the copy log does not settle it
        # either: it tells what was imported, and this list may be of a blob written since.
        _fail(result, UNVERIFIED, f"committed under other block ids than the manifest's ({len(committed)} "
                                  f"blocks, the manifest lists {len(blob.blocks)}): only its content can tell, run "
                                  "`seedctl verify --deep`")
        return
    for i, ((_, size), want) in enumerate(zip(committed, blob.blocks, strict=True)):
        if size != want.length:
            _fail(result, CONTENT, f"block {i} (offset {want.offset:,}) is {size:,} bytes, the drive's is "
                                   f"{want.length:,}")
            return
    result.add_evidence(BY_BLOCK_IDS)


def _check_page_ranges(ctx: Any, client: Any, blob: ManifestBlob, result: FileResult,
                       service_failed: str | None) -> pageblobs.RangeDiff:
    """Rung 2: the blob's written ranges against the manifest's."""
    got = written_ranges(ctx, client, blob.blob_path)
    diff = pageblobs.compare(list(pageblobs.manifest_intervals(blob.page_ranges)), got)
    if diff.missing_bytes:
        _fail(result, CONTENT, pageblobs.describe(diff))
    elif diff.extra_bytes:  # written since the import, or zeros the service chose to list: reading tells
        _fail(result, UNVERIFIED, pageblobs.describe(diff) + ": run `seedctl verify --deep` to read them")
    else:
        result.add_evidence(BY_PAGE_RANGES)
        if service_failed and not result.content_evidence:
            # the ranges are all there, but the service said the import failed: only content can tell
            _fail(result, UNVERIFIED, f"its page ranges are all written, but the service reported {service_failed} "
                                      "for it and no CRC-64 of it to compare: run `seedctl verify --deep`")
    return diff


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


def _download_block_blob(ctx: Any, client: Any, blob: ManifestBlob, result: FileResult) -> None:
    """Download and hash: the whole file against its MD5 (or each block against the manifest's block
    MD5s when it has none) and against its recorded CRC-64."""
    want = _file_md5(blob)

    def download() -> tuple[str, ManifestBlock | None, int]:
        # a retried download starts over, with fresh hashes
        whole, blocks, crc = hashlib.md5(), _BlockHasher(blob.blocks), 0
        for chunk in client.download_blob().chunks():
            whole.update(chunk)
            crc = crc64(chunk, crc)
            if not want:
                blocks.update(chunk)
        return whole.hexdigest().upper(), blocks.bad, crc

    actual, bad_block, crc = retry(ctx, download, f"download {blob.blob_path}")
    if want and actual != want.upper():
        result.status, result.detail = CONTENT, f"downloaded content MD5 {actual}, the file's is {want}"
    elif bad_block is not None:
        result.status = CONTENT
        result.detail = f"downloaded block at offset {bad_block.offset:,} differs from the drive's"
    elif blob.content_crc64 is not None and crc != blob.content_crc64:
        result.status = CONTENT
        result.detail = f"downloaded content CRC-64 {crc}, the file's is {blob.content_crc64}"
    else:
        result.add_evidence(BY_DOWNLOAD)
        result.detail = "downloaded " + ("MD5 matches the file's MD5" if want else "blocks match the manifest's MD5s")


def _download_page_blob(ctx: Any, client: Any, blob: ManifestBlob, result: FileResult,
                        diff: pageblobs.RangeDiff) -> None:
    """Rung 3 for a page blob: its listed ranges and any other written part read and checked."""
    got = pageblobs.download_check(lambda fn, what: retry(ctx, fn, what), client, blob, diff.extra)
    if got.bad is None and blob.content_crc64 is not None and got.crc64 != blob.content_crc64:
        got.bad = f"downloaded content CRC-64 {got.crc64}, the file's is {blob.content_crc64}"
    if got.bad is not None:
        result.status, result.detail = CONTENT, got.bad
        return
    result.add_evidence(BY_DOWNLOAD)
    result.detail = (f"downloaded page ranges match the manifest's MD5s ({len(blob.page_ranges):,} ranges, "
                     f"{got.bytes_read:,} bytes read; the rest is unwritten and reads as zeros)")


def check_blob(spec: Any, ctx: Any, cc: Any, blob: ManifestBlob, listed: Listed | None, result: FileResult,
               deep: bool, logged: LogFile | None = None, service_failed: str | None = None) -> None:
    """Decide one file, evidence by evidence: the listing; the service's CRC-64 (`logged`, from the
    verbose copy log); the blob's page ranges or block list, read now; with `deep`, a download, which
    overrides the others' verdict (the evidence that agreed is kept). `service_failed`: what the
    service's logs say went wrong with it."""
    if decide_from_listing(blob, listed, result):
        return
    client = cc.get_blob_client(_blob_name(spec, blob.blob_path))
    _check_service_crc(blob, logged, result)
    diff = None
    if blob.is_page_blob:
        diff = _check_page_ranges(ctx, client, blob, result, service_failed)
    else:
        _check_block_ids(ctx, client, blob, result)
    if not deep:
        if result.ok and not result.detail:
            result.detail = " and ".join(text for word, text in (
                (BY_PAGE_RANGES, "page ranges match the manifest"),
                (BY_BLOCK_IDS, "block ids (block MD5s) match the manifest"),
                (BY_SERVICE_CRC64, "the service's CRC-64 matches seedctl's")) if word in result.evidence)
        return
    cheap = "" if result.ok else result.detail
    result.status, result.detail = OK, ""
    if diff is not None:
        _download_page_blob(ctx, client, blob, result, diff)
    else:
        _download_block_blob(ctx, client, blob, result)
    if cheap and result.ok:
        result.detail += f" (the cheaper evidence said: {cheap}; the content is right)"


def _file_md5(blob: ManifestBlob) -> str | None:
    return blob.content_md5_hex or _md5_from_blocks(blob)


def _md5_from_blocks(blob: ManifestBlob) -> str | None:
    # a one-block file's block MD5 is its whole-file MD5
    return blob.blocks[0].md5_hex if len(blob.blocks) == 1 and blob.blocks[0].length == blob.length else None


# -- what the service said ------------------------------------------------------------------------
@dataclass
class ServiceFindings:
    per_blob: dict[str, str] = field(default_factory=dict)  # blob path → what went wrong (error logs)
    notes: list[str] = field(default_factory=list)  # per drive
    crc64: dict[str, LogFile] = field(default_factory=dict)  # blob path → its verbose-log entry


def _service_findings(spec: Any, ctx: Any, job: dict[str, Any]) -> ServiceFindings:
    """What the service said: per blob path (from the error logs and incomplete-blob list), per
    drive, and the CRC-64 of every file it imported (2021-08-01 verbose logs)."""
    found = ServiceFindings()
    per_blob, notes = found.per_blob, found.notes
    for drive in job["drives"]:
        serial, copy = drive["drive_id"], drive.get("copy_status")
        if copy in DRIVE_FAILURES:
            notes.append(f"drive {serial}: {copy} ({DRIVE_FAILURES[copy]})")
        uri = drive.get("error_log_uri")
        if uri:
            try:
                log = parse_drive_log(read_blob_uri(ctx, spec, uri))
            except SeedctlError as exc:
                notes.append(f"drive {serial}: its error log could not be read ({exc})")
            else:
                if log.status and log.status not in ("Completed", copy):
                    notes.append(f"drive {serial}: copy log status {log.status}")
                for entry in log.blobs:
                    per_blob[entry.blob_path] = f"{entry.status}" + (f" ({entry.detail})" if entry.detail else "")
        verbose = drive.get("verbose_log_uri")
        if verbose and verbose != uri:
            try:
                detail = parse_drive_log(read_blob_uri(ctx, spec, verbose))
            except SeedctlError as exc:
                notes.append(f"drive {serial}: its verbose log could not be read ({exc})")
            else:
                found.crc64.update((f.blob_path, f) for f in detail.files)
    if job.get("incomplete_blob_list_uri"):
        try:
            for path in parse_incomplete_list(read_blob_uri(ctx, spec, job["incomplete_blob_list_uri"])):
                per_blob.setdefault(path, "listed as incomplete by the service")
        except SeedctlError as exc:
            notes.append(f"the job's incomplete-blob list could not be read ({exc})")
    return found


def check_files(spec: Any, ctx: Any, cc: Any, checks: list[tuple[ManifestBlob, FileResult]],
                listing: dict[str, Listed], deep: bool, service: ServiceFindings | None = None) -> int:
    """Decide every file: from the listing where it can (missing, length, type, empty), and with
    requests of their own (a bounded number at a time, each retried) for the rest. Returns how many
    needed one."""
    service = service or ServiceFindings()
    remote: list[tuple[ManifestBlob, Listed | None, FileResult]] = []
    for blob, result in checks:
        result.blob_type = PAGE_BLOB if blob.is_page_blob else BLOCK_BLOB
        name_in = _blob_name(spec, blob.blob_path)
        if name_in is None:
            result.status, result.detail = MISSING, "the manifest sends it to another container"
            continue
        listed = listing.get(name_in)
        if decide_from_listing(blob, listed, result):
            continue
        remote.append((blob, listed, result))
    if remote:
        with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="verify") as pool:
            for _ in results_in_turn([
                    pool.submit(check_blob, spec, ctx, cc, blob, listed, result.reset(), deep,
                                service.crc64.get(blob.blob_path), service.per_blob.get(blob.blob_path))
                    for blob, listed, result in remote]):
                pass  # waits in slices (seedctl.interrupt): Ctrl-C lands within one on every platform
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
    service = _service_findings(spec, ctx, job)
    per_blob, notes = service.per_blob, service.notes
    cc = container_client(spec, ctx)
    listing = list_container(ctx, cc, f"{spec.container.prefix}/" if spec.container.prefix else None)
    checks: list[tuple[ManifestBlob, FileResult]] = []
    expected: set[str] = set()
    for m in manifests:
        for blob in m.manifest.blobs:
            result = FileResult(blob.blob_path, rel_path_of(blob), m.serial, blob.length)
            checks.append((blob, result))
            expected.add(blob.blob_path)
    check_files(spec, ctx, cc, checks, listing, deep, service)
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


_EVIDENCE_WORDS = {BY_SERVICE_CRC64: "the service's CRC-64", BY_PAGE_RANGES: "page ranges",
                   BY_BLOCK_IDS: "block ids", BY_DOWNLOAD: "download and hash", BY_LENGTH: "length (empty)"}


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
        if s["page_blobs_without_content_evidence"]:
            lines.append(f"Note: {s['page_blobs_without_content_evidence']:,} page blob(s) rest on their page ranges "
                         "alone, without a CRC-64 from the service's copy log or a download. `seedctl destroy "
                         "--staging` needs content evidence for page blobs: run `seedctl verify --deep` first (a "
                         "Data Box job with log_collection_level: Verbose gives the service's CRC-64 for free).")
    elif s["unverified"] and s["unverified"] == len(report.failed):
        lines.append("NOT VERIFIED: some files cannot be checked without reading them. Run "
                     "`seedctl verify --deep` to download and hash them.")
    else:
        lines.append("Verification FAILED. Send the missing and damaged files again with "
                     "`seedctl repair --out repair.yaml`"
                     + (" (run `seedctl verify --deep` first: the unverified ones may be intact)."
                        if s["unverified"] else "."))
    return "\n".join(lines) + "\n"
