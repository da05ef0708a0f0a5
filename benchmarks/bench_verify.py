"""verify at scale: how many requests and how long `verify` takes for a container of many blobs,
and for one page blob of many ranges, against the local sandbox's Azurite (real azure-storage-blob client).

    .venv/bin/python benchmarks/bench_verify.py [--blobs 100000] [--other-ids 0.01] [--page-ranges 0]
                                                [--deep-sample 0] [--workdir DIR] [--json]

It commits `--blobs` small block blobs under the manifest's block ids (Put Block + Put Block List, as
the sandbox's datacenter imports them: no Content-MD5, which the service does not set from a
manifest) and, for a fraction `--other-ids` of them, uploads the blob with Put Blob instead (no
block list of the manifest's: verify leaves those unverified). With `--page-ranges R` it also writes
one page blob of R separate 512-byte ranges, 4 KiB apart (a fragmented page blob: R ranges in Get Page
Ranges). Then it runs verify's own listing and decision code (`seedctl.lifecycle.verify.list_container`
and `check_files`) over matching in-memory manifest entries and prints, per phase: requests sent
(counted on the wire by a pipeline hook), wall time and peak RSS. Expected: blobs/5,000 requests for the
listing, one per block blob (its block list), and one per page of Get Page Ranges for the page blob.

Prints figures; asserts nothing about time (the machine is shared). Results: docs/lifecycle.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import resource
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONTAINER = "bench"
PAGE = 5000  # the Blob service's largest list page


class Counter:
    def __init__(self) -> None:
        self.n = 0
        self._lock = threading.Lock()

    def __call__(self, request: Any) -> None:
        with self._lock:
            self.n += 1


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def start(workdir: Path) -> tuple[Any, Any]:
    """The sandbox, a storage account and its blob service client."""
    from seedctl.azure.clients import build_clients
    from seedctl.sandbox import lifecycle

    lifecycle.up(workdir, parent_pid=os.getpid(), timeout=60)
    environ = dict(os.environ, SEEDCTL_SANDBOX_DIR=str(workdir))
    clients = build_clients("sandbox", str(uuid.uuid4()), environ)
    SANDBOX_TLS["connection_verify"] = clients.ca_bundle  # the public blob endpoint is HTTPS
    rg, account = "bench-rg", f"bench{uuid.uuid4().hex[:12]}"
    clients.resource.resource_groups.create_or_update(rg, {"location": "westus"})
    clients.storage.storage_accounts.begin_create(
        rg, account, {"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": "westus"}).result()
    return clients, clients.blob_service(account, rg)


SANDBOX_TLS: dict[str, Any] = {}  # the sandbox CA for clients made here from the service's URL


def content(i: int) -> bytes:
    return f"blob {i:09d} ".encode() * 8


def upload(service: Any, blobs: int, other_ids: float, page_ranges: int) -> tuple[list[Any], float]:
    """Upload the blobs; return their manifest entries and the seconds it took."""
    from azure.storage.blob import BlobBlock, BlobServiceClient

    from seedctl.drives.formats.manifest import PAGE_BLOB, ManifestBlob, PageRanges, make_block

    # Azurite on a busy machine drops a connection now and then: the uploads retry (verify's own
    # requests below go through seedctl's retry policy)
    uploader = BlobServiceClient(service.url, credential=service.credential, retry_total=10, **SANDBOX_TLS)
    cc = uploader.get_container_client(CONTAINER)
    cc.create_container()
    every = max(1, round(1 / other_ids)) if other_ids > 0 else 0
    entries = []

    def put(i: int) -> None:
        data = content(i)
        name = f"set{i // 10000:02d}/file{i:07d}.bin"
        blob = cc.get_blob_client(name)
        block = make_block(0, hashlib.md5(data).digest(), len(data))
        if every and i % every == 0:
            blob.upload_blob(data)  # no block list of the manifest's ids
        else:
            blob.stage_block(block.block_id, data)  # the manifest's id, as the datacenter commits it
            blob.commit_block_list([BlobBlock(block_id=block.block_id)])
        entries.append(ManifestBlob(f"{CONTAINER}/{name}", "\\" + name.replace("/", "\\"), len(data), (block,),
                                    content_md5_hex=hashlib.md5(data).hexdigest().upper()))

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        for i, f in enumerate([pool.submit(put, i) for i in range(blobs)]):
            f.result()
            if i and i % 20000 == 0:
                print(f"  uploaded {i:,} blobs ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    if page_ranges:
        page = b"\x5a" * 512
        ranges = PageRanges((i * 4096, 512, hashlib.md5(page).digest()) for i in range(page_ranges))
        client = cc.get_blob_client("fragmented.BaseBlob")
        client.create_page_blob(page_ranges * 4096)

        def write(i: int) -> None:
            client.upload_page(page, offset=i * 4096, length=512)

        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(write, range(page_ranges)))
        entries.append(ManifestBlob(f"{CONTAINER}/fragmented.BaseBlob", "\\fragmented.BaseBlob", page_ranges * 4096,
                                    (), blob_type=PAGE_BLOB, page_ranges=ranges))
    return entries, time.monotonic() - started


def run(service: Any, entries: list[Any], deep_sample: int) -> dict[str, Any]:
    from azure.storage.blob import BlobServiceClient

    from seedctl.azure.retry import RetryPolicy
    from seedctl.lifecycle.verify import FileResult, check_files, list_container

    counter = Counter()
    counted = BlobServiceClient(service.url, credential=service.credential, raw_request_hook=counter, **SANDBOX_TLS)
    cc = counted.get_container_client(CONTAINER)
    ctx = SimpleNamespace(clients=SimpleNamespace(policy=RetryPolicy.fast()))
    spec = SimpleNamespace(container=SimpleNamespace(name=CONTAINER))
    out: dict[str, Any] = {"blobs": len(entries)}

    started = time.monotonic()
    listing = list_container(ctx, cc, None)
    out["listing"] = {"requests": counter.n, "seconds": round(time.monotonic() - started, 2),
                      "expected_requests": math.ceil(len(entries) / PAGE)}
    before = counter.n
    checks = [(b, FileResult(b.blob_path, b.file_path, "BENCH", b.length)) for b in entries]
    started = time.monotonic()
    remote = check_files(spec, ctx, cc, checks, listing, deep=False)
    evidence: dict[str, int] = {}
    for _, r in checks:
        key = "+".join(r.evidence) or r.status
        evidence[key] = evidence.get(key, 0) + 1
    out["decide"] = {"requests": counter.n - before, "per_blob_checks": remote,
                     "seconds": round(time.monotonic() - started, 2), "evidence": evidence,
                     "all_ok": all(r.ok for _, r in checks)}
    out["requests_total"] = counter.n
    out["requests_expected"] = out["listing"]["expected_requests"] + len(entries)
    if deep_sample:
        sample = checks[:deep_sample]
        before, started = counter.n, time.monotonic()
        for _, r in sample:
            r.reset()
        check_files(spec, ctx, cc, sample, listing, deep=True)
        out["deep_sample"] = {"blobs": len(sample), "requests": counter.n - before,
                              "seconds": round(time.monotonic() - started, 2),
                              "all_ok": all(r.ok for _, r in sample)}
    out["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blobs", type=int, default=100_000)
    parser.add_argument("--other-ids", type=float, default=0.01,
                        help="fraction of blobs uploaded whole (not under the manifest's block ids)")
    parser.add_argument("--page-ranges", type=int, default=0, help="also one page blob of this many ranges")
    parser.add_argument("--deep-sample", type=int, default=0, help="also verify this many blobs with --deep")
    parser.add_argument("--workdir", type=Path, help="sandbox folder (default: a temporary one)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from seedctl.sandbox import lifecycle

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-verify-"))
    try:
        _, service = start(workdir)
        entries, upload_s = upload(service, args.blobs, args.other_ids, args.page_ranges)
        result = run(service, entries, args.deep_sample)
        result["upload_seconds"] = round(upload_s, 1)
        result["load_average"] = os.getloadavg()[0]
    finally:
        lifecycle.down(workdir)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    lst, dec = result["listing"], result["decide"]
    print(f"verify at scale: {result['blobs']:,} blobs (Azurite, load average {result['load_average']:.2f})")
    print(f"  listing:  {lst['requests']:,} requests (expected {lst['expected_requests']:,} = blobs/{PAGE:,}), "
          f"{lst['seconds']:.2f} s")
    print(f"  decide:   {dec['requests']:,} requests for {dec['per_blob_checks']:,} blobs the listing could not "
          f"decide, {dec['seconds']:.2f} s; evidence {dec['evidence']}")
    print(f"  total:    {result['requests_total']:,} requests (expected {result['requests_expected']:,}: the "
          "listing, and one per blob)")
    if "deep_sample" in result:
        d = result["deep_sample"]
        print(f"  --deep:   {d['blobs']:,} blobs, {d['requests']:,} requests, {d['seconds']:.2f} s; all ok: {d['all_ok']}")
    print(f"  peak RSS: {result['peak_rss_mb']:.0f} MB; upload took {result['upload_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
