"""Sandbox datacenter benchmark: how long the simulated datacenter takes to import one drive of N
small files into Azurite (issue 17: 100k files in <= 5 minutes, cost linear in files).

    .venv/bin/python benchmarks/bench_datacenter.py [--files 1000 10000 100000] [--size 4096]
                                                    [--api importexport|databox] [--verbose-log]
                                                    [--keep DIR] [--json]

For each file count it starts a fresh sandbox in a temporary folder, creates a resource group, a
storage account and an import job through the ARM API (raw HTTPS, as the SDKs send it), makes a
simulated drive with N files of `--size` random bytes and a manifest written by
seedctl.drives.formats.manifest, registers it, and then times the one datacenter step that reads the drive
and imports its blobs (Received → Transferring for classic jobs, AtAzureDC → DataCopy for Data
Box). It prints files, seconds, milliseconds per file and files per second, then checks that every
blob arrived (one listing). These are figures, not a test: nothing is asserted about time.

Besides wall time it reports the CPU seconds that Azurite (node) and the sandbox daemon (Python)
spent in that step, per file, read from /proc: on a shared, loaded machine wall time mostly
measures the other tenants, while CPU time per file says what the import costs. On an idle machine
with two cores the step cannot take less than the larger of the two (Azurite is single-threaded).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _session(conn):  # noqa: ANN001, ANN202
    import requests

    http = requests.Session()
    http.trust_env = False
    http.verify = conn.ca_bundle
    http.headers["Authorization"] = f"Bearer {conn.token}"
    return http


def _wait(http, url: str) -> None:  # noqa: ANN001
    for _ in range(400):
        r = http.get(url)
        if r.status_code == 200 and r.json().get("properties", {}).get("provisioningState", "Succeeded") == "Succeeded":
            return
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not settle")


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_drive(folder: Path, serial: str, files: int, size: int) -> str:
    """N files of random bytes and the manifest seedctl writes for them → the manifest's MD5."""
    from seedctl.drives.formats.manifest import (
        MANIFEST_NAME,
        DriveManifest,
        ManifestBlob,
        make_block,
        write_manifest,
    )

    data_dir = folder / "data"
    blobs = []
    for i in range(files):
        sub = data_dir / f"d{i // 1000:04d}"
        if i % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        data = secrets.token_bytes(size)
        (sub / f"f{i:07d}.bin").write_bytes(data)
        md5 = hashlib.md5(data)
        blobs.append(ManifestBlob(blob_path=f"seed/d{i // 1000:04d}/f{i:07d}.bin",
                                  file_path=f"\\data\\d{i // 1000:04d}\\f{i:07d}.bin", length=size,
                                  blocks=(make_block(0, md5.digest(), size),),
                                  content_md5_hex=md5.hexdigest().upper()))
    return write_manifest(DriveManifest(drive_id=serial, blobs=tuple(blobs)), folder / MANIFEST_NAME)


def run_one(files: int, size: int, api: str, verbose: bool, keep: Path | None) -> dict:
    from seedctl.drives.disk.identity import create_simulated_drive
    from seedctl.sandbox import lifecycle
    from seedctl.sandbox.control import SandboxControl
    from seedctl.sandbox.simdrive import recovery_password

    work = Path(tempfile.mkdtemp(prefix="bench-dc-", dir=keep))
    conn, _ = lifecycle.up(work / "sandbox", parent_pid=os.getpid(), timeout=30)
    control = SandboxControl(conn)
    try:
        control.set_registration_delay(0)
        control.set_lro_delay(0)
        http = _session(conn)
        sub = str(uuid.uuid4())
        base = conn.arm_endpoint
        rg = f"/subscriptions/{sub}/resourceGroups/bench"
        http.put(f"{base}{rg}?api-version=2025-04-01", json={"location": "westus"}).raise_for_status()
        account = f"bench{sub.replace('-', '')[:16]}"
        account_id = f"{rg}/providers/Microsoft.Storage/storageAccounts/{account}"
        http.put(f"{base}{account_id}?api-version=2025-01-01",
                 json={"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": "westus"}).raise_for_status()
        _wait(http, f"{base}{account_id}?api-version=2025-01-01")
        serial, key = "BENCH0001", recovery_password()
        drive = work / "drive"
        create_simulated_drive(drive, serial, 10 ** 12)
        t0 = time.perf_counter()
        digest = make_drive(drive, serial, files, size)
        made = time.perf_counter() - t0
        control.register_drive(serial, str(drive), key)
        ns = "Microsoft.ImportExport" if api == "importexport" else "Microsoft.DataBox"
        http.post(f"{base}/subscriptions/{sub}/providers/{ns}/register?api-version=2025-04-01").raise_for_status()
        if api == "importexport":
            job = f"{rg}/providers/Microsoft.ImportExport/jobs/benchjob"
            http.put(f"{base}{job}?api-version=2016-11-01", json={"location": "westus", "properties": {
                "storageAccountId": account_id, "jobType": "Import", "logLevel": "Verbose" if verbose else "Error",
                "returnAddress": {"recipientName": "B", "streetAddress1": "1", "city": "c", "postalCode": "1",
                                  "countryOrRegion": "US", "phone": "1", "email": "a@b.c"},
                "returnShipping": {"carrierName": "FedEx", "carrierAccountNumber": "1"},
                "deliveryPackage": {"carrierName": "FedEx", "trackingNumber": "1"},
                "driveList": [{"driveId": serial, "bitLockerKey": key, "manifestFile": "\\DriveManifest.xml",
                               "manifestHash": digest}]}}).raise_for_status()
            http.patch(f"{base}{job}?api-version=2016-11-01", json={"properties": {"state": "Shipping"}}
                       ).raise_for_status()
            control.advance_job("bench", "benchjob", "Received", subscription=sub)
            step = "Transferring"
        else:
            job = f"{rg}/providers/Microsoft.DataBox/jobs/benchjob"
            http.put(f"{base}{job}?api-version=2025-07-01", json={
                "location": "westus", "sku": {"name": "DataBoxCustomerDisk"}, "properties": {
                    "transferType": "ImportToAzure", "details": {
                        "jobDetailsType": "DataBoxCustomerDisk",
                        "contactDetails": {"contactName": "B", "phone": "1", "emailList": ["a@b.c"]},
                        "dataImportDetails": [{"accountDetails": {"dataAccountType": "StorageAccount",
                                                                  "storageAccountId": account_id},
                                               "logCollectionLevel": "Verbose" if verbose else "Error"}],
                        "importDiskDetailsCollection": {serial: {"manifestFile": "\\DriveManifest.xml",
                                                                 "manifestHash": digest, "bitLockerKey": key}},
                        "returnToCustomerPackageDetails": {"carrierName": "FedEx"}}}}).raise_for_status()
            time.sleep(0.05)
            http.post(f"{base}{job}/markDevicesShipped?api-version=2025-07-01",
                      json={"deliverToDcPackageDetails": {"carrierName": "FedEx", "trackingId": "1"}}
                      ).raise_for_status()
            control.advance_job("bench", "benchjob", "AtAzureDC", subscription=sub)
            step = "DataCopy"
        state = json.loads((work / "sandbox" / "state.json").read_text())
        cpu0 = {k: _cpu(state[k]) for k in ("pid", "azurite_pid")}
        t0 = time.perf_counter()
        control.advance_job("bench", "benchjob", step, subscription=sub)
        seconds = time.perf_counter() - t0
        cpu = {k: _cpu(state[k]) - cpu0[k] for k in cpu0}
        keys = http.post(f"{base}{account_id}/listKeys?api-version=2025-01-01").json()["keys"]
        from azure.storage.blob import BlobServiceClient

        blob = BlobServiceClient(f"{conn.blob_endpoint}/{account}",
                                 credential={"account_name": account, "account_key": keys[0]["value"]})
        arrived = sum(1 for _ in blob.get_container_client("seed").list_blobs())
        return {"api": api, "files": files, "size": size, "verbose_log": verbose, "seconds": round(seconds, 2),
                "ms_per_file": round(seconds * 1000 / files, 3), "files_per_second": round(files / seconds, 1),
                "blobs_arrived": arrived, "drive_made_in_s": round(made, 1), "load_avg_1m": os.getloadavg()[0],
                "azurite_cpu_ms_per_file": round(cpu["azurite_pid"] * 1000 / files, 3),
                "daemon_cpu_ms_per_file": round(cpu["pid"] * 1000 / files, 3)}
    finally:
        lifecycle.down(work / "sandbox")
        if keep is None:
            import shutil

            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--api", choices=("importexport", "databox"), default="importexport")
    parser.add_argument("--verbose-log", action="store_true")
    parser.add_argument("--keep", type=Path, help="folder for the work (kept); default a temporary one, removed")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    for n in args.files:
        row = run_one(n, args.size, args.api, args.verbose_log, args.keep)
        rows.append(row)
        if not args.json:
            print(f"{row['api']:<12} {row['files']:>8} files of {row['size']} B: {row['seconds']:>8.2f} s, "
                  f"{row['ms_per_file']:.3f} ms/file, {row['files_per_second']:.0f} files/s, "
                  f"{row['blobs_arrived']} blobs arrived (load {row['load_avg_1m']:.2f}); CPU per file: "
                  f"Azurite {row['azurite_cpu_ms_per_file']:.2f} ms, sandbox {row['daemon_cpu_ms_per_file']:.2f} ms",
                  flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
    if len(rows) > 1 and not args.json:
        first, last = rows[0], rows[-1]
        print(f"per-file cost {first['ms_per_file']:.3f} → {last['ms_per_file']:.3f} ms "
              f"({last['files'] / first['files']:.0f} x the files): "
              f"{'linear' if last['ms_per_file'] <= first['ms_per_file'] * 1.5 else 'NOT linear'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
