"""`seedctl destroy`: after a verified import, delete the temporary copies — and nothing else.

What it may delete: the blobs named in the shipped manifests (exactly those), the container when
seedctl created it for this spec and nothing else is left in it, and with `--staging` the staging
files those manifests carried — each only when its content is proven imported: its MD5 equals the
whole-file MD5 of the manifest entry that verify confirmed in Azure (hashed when the clean-up is
planned, and its size and mtime checked again, or it is re-hashed, right before it is deleted). A
staging file rewritten under the same name and size is kept. What it never deletes: the vault,
the storage account, the import job (the service keeps it 90 days as the record of the import),
the service's copy logs, other blobs. It refuses while the job is active and when the data was not
verified (`seedctl verify` records a digest of what it checked; destroy recomputes it).

Like every seedctl change it is planned from the world as it is, so a second run finds nothing
left and does nothing.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from seedctl.azure.errors import is_not_found
from seedctl.errors import SeedctlError
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

PARALLEL = 8


@dataclass
class DestroyPlan:
    job_name: str
    container: str
    blobs: list[str] = field(default_factory=list)          # blob names in the container
    blob_bytes: int = 0
    delete_container: bool = False
    staging_files: list[Path] = field(default_factory=list)
    # what each staging file was proven to be: (size, mtime_ns, MD5 it must have, upper-case hex)
    staging_proof: dict[Path, tuple[int, int, str]] = field(default_factory=dict)
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


def plan_destroy(spec: Any, ctx: Any, *, staging: bool) -> DestroyPlan:
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
        _plan_staging(spec, plan, list(wanted.values()))
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


def file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        while chunk := fh.read(4 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest().upper()


def _plan_staging(spec: Any, plan: DestroyPlan, blobs: list[Any]) -> None:
    """Staging files proven imported, by content: absence of a difference in size is no proof."""
    root = spec.staging_root()

    def prove(blob: Any) -> tuple[Path, Any, str | None]:
        path = root / PurePosixPath(rel_path_of(blob))
        try:
            st = path.stat()
        except OSError:
            return path, None, None  # already gone (or never here): nothing to delete
        if st.st_size != blob.length:
            return path, st, f"{st.st_size:,} bytes, the drive held {blob.length:,} (changed)"
        if not blob.content_md5_hex:
            return path, st, "the manifest holds no whole-file MD5 for it, so its import cannot be proven"
        try:
            got = file_md5(path)
        except OSError as exc:
            return path, st, f"cannot be read ({exc.strerror or exc})"
        if got != blob.content_md5_hex.upper():
            return path, st, (f"its content differs from what was imported (MD5 {got}, the verified blob's "
                              f"{blob.content_md5_hex.upper()})")
        return path, st, None

    with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="destroy-hash") as pool:
        for (path, st, problem), blob in zip(pool.map(prove, blobs), blobs, strict=True):
            if st is None:
                continue
            if problem:
                plan.kept.append(f"staging file {path}: {problem}")
            else:
                plan.staging_files.append(path)
                plan.staging_proof[path] = (st.st_size, st.st_mtime_ns, blob.content_md5_hex.upper())
    plan.staging_files.sort()


def _still_proven(path: Path, proof: tuple[int, int, str] | None) -> str | None:
    """Right before deleting: the file is still the one hashed (same size and mtime), or it is
    re-hashed. Returns why it is kept, or None."""
    if proof is None:
        return "no proof of import recorded for it"
    size, mtime_ns, md5 = proof
    st = path.stat()
    if st.st_size == size and st.st_mtime_ns == mtime_ns:
        return None
    got = file_md5(path) if st.st_size == size else None
    if got == md5:
        return None
    return "it changed since the clean-up was planned; it no longer matches the imported blob"


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
        list(pool.map(delete, plan.blobs))
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
    root = spec.staging_root()
    for path in plan.staging_files:
        try:
            why = _still_proven(path, plan.staging_proof.get(path))
            if why:
                failures.append(f"kept {path}: {why}")
                continue
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            failures.append(f"cannot delete {path}: {exc.strerror or exc}")
            continue
        _prune_empty_dirs(path.parent, root)
    return failures


def _prune_empty_dirs(folder: Path, root: Path) -> None:
    """Remove folders the deletion emptied, up to (not including) the staging root."""
    try:
        folder.relative_to(root)
    except ValueError:
        return
    while folder != root:
        try:
            os.rmdir(folder)
        except OSError:
            return
        folder = folder.parent
