"""`seedctl destroy`: after a verified import, delete the temporary copies — and nothing else.

What it may delete: the blobs named in the shipped manifests (exactly those), the container when
seedctl created it for this spec and nothing else is left in it, and with `--staging` the staging
files those manifests carried. It refuses while the job is active and when the data was not
verified (`seedctl verify` records a digest of what it checked; destroy recomputes it).

A staging file is deleted only when its import is proven *now*, never from a stored record alone
(issue 23: the record is plain text in the container's metadata, and anyone who can write to the
storage account can forge it and the blob's Content-MD5):

- it is hashed, through the staging root's folder descriptors (`seedctl.safefs.Tree`: no link or
  junction is followed, so a folder swapped for a link to elsewhere is never entered), and its
  digest equals the manifest's whole-file digest (the CRC-64 seedctl records, or the MD5 of drives
  written by an earlier seedctl);
- a fresh verification (`lifecycle.verify.verify`, run by destroy itself, recording nothing) finds
  the blob intact on listing evidence taken now (`block-ids`, `page-ranges`) and, for a page blob,
  content evidence (`service-crc64`, or `download` with `--deep`); the blob's Content-MD5 alone
  never suffices;
- right before its unlink, through its folder descriptor, the file is still the one hashed (same
  device and inode, size, mtime and ctime, or it is hashed again), and the entry unlinked is that
  file (safefs compares its identity again at the unlink).

What it never deletes: the vault, the storage account, the import job (the service keeps it 90
days as the record of the import), the service's copy logs, other blobs.

Like every seedctl change it is planned from the world as it is, so a second run finds nothing
left and does nothing.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seedctl.azure.errors import is_not_found
from seedctl.errors import DriveError, SeedctlError
from seedctl.interrupt import results_in_turn
from seedctl.lifecycle.manifests import ShippedManifest, load_manifests
from seedctl.lifecycle.storage import (
    container_client,
    container_metadata,
    parse_verified,
    read_job,
    read_local_record,
    retry,
)
from seedctl.lifecycle.verify import manifest_digest, rel_path_of
from seedctl.resources.container import CREATED_BY_META
from seedctl.resources.jobs import base as phases
from seedctl.safefs import Tree, UnsafeEntry

PARALLEL = 8


@dataclass
class DestroyPlan:
    job_name: str
    container: str
    blobs: list[str] = field(default_factory=list)          # blob names in the container
    blob_bytes: int = 0
    delete_container: bool = False
    staging_files: list[Path] = field(default_factory=list)
    # what each staging file was proven to be when it was hashed (identity, size, times, digest)
    staging_proof: dict[Path, Proof] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)           # what stays, and why
    refusal: str | None = None
    verified_at: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.blobs or self.delete_container or self.staging_files)


def _ours(metadata: dict[str, str] | None, spec: Any) -> bool:
    value = {k.lower(): v for k, v in (metadata or {}).items()}.get(CREATED_BY_META)
    # container.py stores the spec name with '-' as '_' (metadata values are free text, but it
    # keeps them identifier-like)
    return value is not None and value == spec.name.replace("-", "_")[:60]


def plan_destroy(spec: Any, ctx: Any, *, staging: bool, deep: bool = False) -> DestroyPlan:
    job = read_job(spec, ctx)
    name = spec.import_job.name
    plan = DestroyPlan(name, spec.container.name)
    if job is not None and job["phase"] in phases.ACTIVE_PHASES:
        plan.refusal = (f"import job {name} is still active ({job['state']}): the data is not all imported yet. "
                        "Wait for it to complete (`seedctl status --watch`), then verify")
        return plan
    if job is not None and job["phase"] == phases.CANCELLED:
        plan.refusal = f"import job {name} was cancelled; there is no verified import to clean up"
        return plan
    manifests: list[ShippedManifest] = load_manifests(spec, ctx, job)
    metadata = container_metadata(spec, ctx)
    wanted = {}
    for m in manifests:
        for b in m.manifest.blobs:
            container, _, blob_name = b.blob_path.partition("/")
            if container == spec.container.name:
                wanted[blob_name] = b
    others = 0
    if metadata is not None:
        cc = container_client(spec, ctx)
        listing = retry(ctx, lambda: {b.name: int(b.size) for b in cc.list_blobs()},
                        f"list the blobs in container {spec.container.name}")
        plan.blobs = sorted(n for n in listing if n in wanted)
        plan.blob_bytes = sum(listing[n] for n in plan.blobs)
        others = len(listing) - len(plan.blobs)
        if _ours(metadata, spec) and others == 0:
            plan.delete_container = True
        elif _ours(metadata, spec):
            plan.kept.append(f"container {spec.container.name}: created by seedctl, but it holds {others} other "
                             "blob(s)")
        else:
            plan.kept.append(f"container {spec.container.name}: not created by this spec")
    if staging:
        _plan_staging(spec, ctx, plan, list(wanted.values()), deep=deep)
    plan.kept.extend([f"storage account {spec.storage_account.name}, the vault and the import job: never deleted "
                      "by destroy" + _account_locks(spec, ctx), "the service's copy logs in the diagnostics container"])
    if plan.empty:
        return plan
    digest = manifest_digest(manifests)
    records = [r for r in (parse_verified(metadata, name), read_local_record(spec)) if r is not None]
    good = [r for r in records if r.digest == digest]
    if not good:
        plan.refusal = (f"the data of import job {name} is not verified"
                        + (" (the recorded verification covered different files)" if records else "")
                        + ": run `seedctl verify` first; destroy deletes only data verify found intact")
        return plan
    plan.verified_at = good[0].at
    return plan


def _account_locks(spec: Any, ctx: Any) -> str:
    """What stands in the way of deleting the account later (not destroy's job): the Data Box
    service's DATABOX_SERVICE lock, which outlives the job. Informational: a failed read says nothing."""
    from seedctl.azure.locks import describe, locks_on
    from seedctl.errors import AzureError

    account_id = (f"/subscriptions/{spec.azure.subscription_id}/resourceGroups/{spec.storage_resource_group}"
                  f"/providers/Microsoft.Storage/storageAccounts/{spec.storage_account.name}")
    try:
        locks = locks_on(ctx.clients, account_id)
    except AzureError:
        return ""
    if not locks:
        return ""
    return (f" (the account is locked against deletion: {describe(locks)}; remove the lock first if you delete "
            "the account yourself, once the backup agent has made its first recovery point)")


@dataclass(frozen=True)
class Proof:
    """A staging file as it was when hashed: the identity, size and times its digest belongs to."""

    dev: int
    ino: int
    size: int
    mtime_ns: int
    ctime_ns: int
    digest: str  # what the manifest says the file's content is ("crc64:<n>" or "md5:<HEX>")

    def same(self, st: Any) -> bool:
        """Nothing has written to the file since (a write or a utime() changes its ctime, which no
        one but the clock sets)."""
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) == \
            (self.dev, self.ino, self.size, self.mtime_ns, self.ctime_ns)


def manifest_digest_of(blob: Any) -> str | None:
    """The whole-file digest the manifest records for a blob: the CRC-64 seedctl records
    (`seedctl:crc64=`), or the MD5 of drives written by an earlier seedctl (`seedctl:content-md5=`)."""
    if blob.content_crc64 is not None:
        return f"crc64:{blob.content_crc64}"
    if blob.content_md5_hex:
        return f"md5:{blob.content_md5_hex.upper()}"
    return None


def _hash_fd(fd: int, kind: str) -> str:
    """The digest of the open file's content, of the kind the manifest holds."""
    if kind == "crc64":
        from seedctl.crc64 import crc64

        crc = 0
        while chunk := os.read(fd, 4 * 1024 * 1024):
            crc = crc64(chunk, crc)
        return f"crc64:{crc}"
    digest = hashlib.md5()
    while chunk := os.read(fd, 4 * 1024 * 1024):
        digest.update(chunk)
    return f"md5:{digest.hexdigest().upper()}"


def _hash_in_tree(tree: Tree, rel: str, want: str) -> tuple[Proof | None, str | None]:
    """Hash the staging file `rel` through the tree (never a link, FIFO or device); (proof, why not)."""
    try:
        fd = tree.open(rel)
    except FileNotFoundError:
        return None, None
    except (DriveError, OSError) as exc:
        return None, f"not checked: {getattr(exc, 'strerror', None) or exc}"
    try:
        before = os.fstat(fd)
        got = _hash_fd(fd, want.split(":", 1)[0])
        after = os.fstat(fd)
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"
    finally:
        os.close(fd)
    proof = Proof(after.st_dev, after.st_ino, after.st_size, after.st_mtime_ns, after.st_ctime_ns, got)
    if not proof.same(before):
        return None, "it changed while it was hashed"
    if got != want:
        return None, f"its content differs from what was imported ({_shown(got)}, the manifest's {_shown(want)})"
    return proof, None


def _shown(digest: str) -> str:
    kind, _, value = digest.partition(":")
    return f"{'CRC-64' if kind == 'crc64' else 'MD5'} {value}"


# Verify's evidence words (docs: areas.md contract): listing evidence is taken now from the service;
# content evidence is the service's CRC-64 from its copy log, or a download. Content-MD5 is settable
# metadata and never enough on its own.
LISTING_EVIDENCE = frozenset({"block-ids", "page-ranges"})
CONTENT_EVIDENCE = frozenset({"service-crc64", "download"})


def evidence_words(evidence: Any) -> set[str]:
    """A FileResult's evidence as a set of words (a word, "a+b", or a collection of words)."""
    if not evidence:
        return set()
    if isinstance(evidence, str):
        return {w for w in evidence.replace(",", "+").replace(" ", "+").split("+") if w}
    return {str(w) for w in evidence}


def evidence_problem(result: Any, blob: Any) -> str | None:
    """Why a fresh verification's result does not prove the blob imported well enough to delete the
    staging copy (None when it does)."""
    if not result.ok:
        return f"the fresh verification found it {result.status}: {result.detail}"
    words = evidence_words(result.evidence)
    if "download" in words:
        return None  # read back from the service now and hashed: the strongest evidence there is
    if blob.length == 0 and "empty" in words:
        return None  # nothing to lose
    page = blob.blob_type == "PageBlob"
    shown = ", ".join(sorted(words)) or "nothing"
    if not words & LISTING_EVIDENCE:
        return (f"its fresh verification rests on {shown}, not on the service's listing of its blocks or "
                "pages (a Content-MD5 is settable by anyone who can write to the storage account); run "
                "`seedctl destroy --staging --deep` to download and hash it")
    if page and not words & CONTENT_EVIDENCE:
        return (f"it is a page blob and its fresh verification rests on {shown}: the page ranges say where "
                "data is, not what it is; run `seedctl destroy --staging --deep` to download and hash it")
    return None


def _plan_staging(spec: Any, ctx: Any, plan: DestroyPlan, blobs: list[Any], *, deep: bool) -> None:
    """Staging files proven imported, by content and by a verification made now (module docstring)."""
    root = spec.staging_root()
    try:
        tree = Tree(root, what=f"staging folder {root}")
    except DriveError as exc:
        plan.kept.append(f"staging files: {exc}")
        return
    with tree:
        candidates = _hashed_candidates(tree, plan, blobs)
        if not candidates:
            return
        from seedctl.lifecycle.verify import verify

        try:
            report = verify(spec, ctx, deep=deep, record=False)
        except SeedctlError as exc:
            why = (f"{len(candidates):,} staging file(s) match the manifests, but their import cannot be verified "
                   f"now ({exc}); destroy deletes staging files only on a verification made now, so they are kept")
            if plan.blobs or plan.delete_container:
                plan.kept.append(why)
            else:
                plan.refusal = why
            return
        results = {r.blob_path: r for r in report.files}
        for path, blob, proof in candidates:
            result = results.get(blob.blob_path)
            why = "the fresh verification did not cover it" if result is None else evidence_problem(result, blob)
            if why:
                plan.kept.append(f"staging file {path}: {why}")
                continue
            plan.staging_files.append(path)
            plan.staging_proof[path] = proof
    plan.staging_files.sort()


def _hashed_candidates(tree: Tree, plan: DestroyPlan, blobs: list[Any]) -> list[tuple[Path, Any, Proof]]:
    """The staging files whose content is what the manifest says (hashed through the tree)."""
    def prove(blob: Any) -> tuple[Path, Proof | None, str | None]:
        rel = rel_path_of(blob)
        path = tree.display(rel)
        try:
            st = tree.lstat(rel)
        except DriveError as exc:
            return Path(path), None, str(exc).split(": ", 1)[-1]
        if st is None:
            return Path(path), None, None  # already gone (or never here): nothing to delete
        if st.st_size != blob.length:
            return Path(path), None, f"{st.st_size:,} bytes, the drive held {blob.length:,} (changed)"
        want = manifest_digest_of(blob)
        if want is None:
            return Path(path), None, "the manifest holds no whole-file digest for it, so its import cannot be proven"
        proof, why = _hash_in_tree(tree, rel, want)
        return Path(path), proof, why

    found = []
    with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="destroy-hash") as pool:
        proved = [pool.submit(prove, blob) for blob in blobs]
        for _ in results_in_turn(proved):  # waits in slices: Ctrl-C lands on every platform
            pass
        for (path, proof, problem), blob in zip((f.result() for f in proved), blobs, strict=True):
            if problem:
                plan.kept.append(f"staging file {path}: {problem}")
            elif proof is not None:
                found.append((path, blob, proof))
    return found


def _still_proven(tree: Tree, rel: str, proof: Proof | None) -> Any:
    """The check right before the unlink, on the entry itself (through its folder descriptor): the
    file is still the one hashed (same identity, size and times), or hashed again with the same
    result. Returns a function for `Tree.unlink(unless=...)`."""
    def unless(st: Any) -> str | None:
        if proof is None:
            return "no proof of import recorded for it"
        if proof.same(st):
            return None
        if (st.st_dev, st.st_ino, st.st_size) != (proof.dev, proof.ino, proof.size):
            return "it was replaced since the clean-up was planned; it is not the file proven imported"
        again, why = _hash_in_tree(tree, rel, proof.digest)
        if again is None or (again.dev, again.ino) != (proof.dev, proof.ino):
            return why or "it changed since the clean-up was planned; it no longer matches the imported blob"
        return None
    return unless


def render_plan(plan: DestroyPlan) -> str:
    lines = [f"Clean-up plan for import job {plan.job_name}:"]
    if plan.blobs:
        lines.append(f"  - delete {len(plan.blobs):,} imported blob(s) ({plan.blob_bytes:,} bytes) from container "
                     f"{plan.container}")
        lines.extend(f"      {n}" for n in plan.blobs[:20])
        if len(plan.blobs) > 20:
            lines.append(f"      ... and {len(plan.blobs) - 20:,} more")
    if plan.delete_container:
        lines.append(f"  - delete container {plan.container} (created by seedctl, nothing else in it)")
    if plan.staging_files:
        lines.append(f"  - delete {len(plan.staging_files):,} staging file(s), each proven imported by content "
                     "(its MD5 equals the verified blob's)")
        lines.extend(f"      {p}" for p in plan.staging_files[:20])
        if len(plan.staging_files) > 20:
            lines.append(f"      ... and {len(plan.staging_files) - 20:,} more")
    if plan.verified_at:
        lines.append(f"  (verified {plan.verified_at})")
    lines.extend(f"  kept: {k}" for k in plan.kept)
    return "\n".join(lines) + "\n"


def execute(spec: Any, ctx: Any, plan: DestroyPlan) -> list[str]:
    """Carry the plan out; returns the failures (each naming what could not be deleted)."""
    failures: list[str] = []
    cc = container_client(spec, ctx)

    def delete(name: str) -> None:
        def call() -> None:
            try:
                cc.delete_blob(name, delete_snapshots="include")
            except Exception as exc:
                if not is_not_found(exc):  # already gone: the goal is met
                    raise

        try:
            retry(ctx, call, f"delete blob {plan.container}/{name}")
        except SeedctlError as exc:
            failures.append(str(exc))

    with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="destroy") as pool:
        for _ in results_in_turn([pool.submit(delete, name) for name in plan.blobs]):
            pass
    if plan.delete_container and not failures:
        # re-read right before: someone may have put something in it since the plan
        left = retry(ctx, lambda: [b.name for b in cc.list_blobs()], f"list container {plan.container}")
        if left:
            failures.append(f"container {plan.container} kept: {len(left)} blob(s) appeared since the plan")
        else:
            def drop() -> None:
                try:
                    # through the blob endpoint, not ARM: the Data Box service's lock on the account
                    # (management plane only) does not refuse it, and a data role is enough
                    cc.delete_container()
                except Exception as exc:
                    if not is_not_found(exc):
                        raise

            try:
                retry(ctx, drop, f"delete container {plan.container}")
            except SeedctlError as exc:
                failures.append(str(exc))
    if plan.staging_files:
        failures += _delete_staging(spec, plan)
    return failures


def _delete_staging(spec: Any, plan: DestroyPlan) -> list[str]:
    """Unlink each proven staging file through the staging root's folder descriptors, each checked
    again right before (`_still_proven`); prune the folders that became empty."""
    failures: list[str] = []
    root = spec.staging_root()
    try:
        tree = Tree(root, what=f"staging folder {root}")
    except DriveError as exc:
        return [f"staging files kept: {exc}"]
    with tree:
        for path in plan.staging_files:
            try:
                rel = Path(path).relative_to(root).as_posix()
            except ValueError:
                failures.append(f"kept {path}: not under the staging folder {root}")
                continue
            try:
                tree.unlink(rel, unless=_still_proven(tree, rel, plan.staging_proof.get(path)))
            except UnsafeEntry as exc:
                failures.append(f"kept {path}: {str(exc).split(': ', 1)[-1]}")
                continue
            except OSError as exc:
                failures.append(f"cannot delete {path}: {exc.strerror or exc}")
                continue
            _prune_empty_dirs(tree, rel)
    return failures


def _prune_empty_dirs(tree: Tree, rel: str) -> None:
    """Remove folders the deletion emptied, up to (not including) the staging root."""
    parts = rel.split("/")[:-1]
    while parts:
        if not tree.rmdir("/".join(parts)):
            return
        parts.pop()
