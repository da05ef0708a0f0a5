"""A 2 TB agent file's manifest entry (500,000 page ranges of 4 MiB) is read in bounded memory
(issue 22): a child process reads it and reports its own peak RSS and the time the read took. The
tree parser this replaced peaked at about 460 MiB on the same file; the streamed one at about 45 MiB.

Whole-process and slow-ish (a 52 MB manifest written, then read), so it runs with the reliability
suite (`pytest -m reliability`). The time is printed, not asserted: the machine is shared.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from seedctl.drives.formats.manifest import (
    MAX_PAGE_RANGE,
    PAGE_BLOB,
    DriveManifest,
    ManifestBlob,
    PageRanges,
    write_manifest,
)

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

RANGES = 500_000
LIMIT_MIB = 100

CHILD = textwrap.dedent("""
    import json, sys, time
    from seedctl.drives.formats.manifest import read_manifest

    def peak_kib():
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))

    started = time.perf_counter()
    manifest = read_manifest(sys.argv[1])
    seconds = time.perf_counter() - started
    blob = manifest.blobs[0]
    ranges = blob.page_ranges
    print(json.dumps({"seconds": seconds, "peak_kib": peak_kib(), "ranges": len(ranges),
                      "last": [ranges[-1].offset, ranges[-1].length, ranges[-1].md5_hex],
                      "length": blob.length, "crc64": blob.content_crc64}))
""")


@pytest.fixture(autouse=True)
def _only_in_the_reliability_suite(request: pytest.FixtureRequest) -> None:
    if "reliability" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("slow memory test: runs with `pytest -m reliability` (make reliability)")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
def test_half_a_million_page_ranges_in_bounded_memory(tmp_path: Path) -> None:
    ranges = PageRanges()
    for i in range(RANGES):
        # every other 4 MiB range listed (the zero ones left out), each with its own MD5
        ranges.append(2 * i * MAX_PAGE_RANGE, MAX_PAGE_RANGE, hashlib.md5(i.to_bytes(4, "little")).digest())
    length = 2 * RANGES * MAX_PAGE_RANGE
    blob = ManifestBlob("backup/server1/disk.BaseBlob", "\\seed\\server1\\disk.BaseBlob", length, (),
                        blob_type=PAGE_BLOB, page_ranges=ranges, content_crc64=2 ** 64 - 1)
    path = tmp_path / "DriveManifest.xml"
    write_manifest(DriveManifest("WD-1", (blob,)), path)
    del ranges, blob

    proc = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout)
    last = RANGES - 1
    assert got["ranges"] == RANGES and got["length"] == length and got["crc64"] == 2 ** 64 - 1
    assert got["last"] == [2 * last * MAX_PAGE_RANGE, MAX_PAGE_RANGE,
                           hashlib.md5(last.to_bytes(4, "little")).hexdigest().upper()]
    print(f"\n{RANGES:,} page ranges ({path.stat().st_size / 1e6:.0f} MB): read in {got['seconds']:.1f} s, "
          f"peak RSS {got['peak_kib'] / 1024:.0f} MiB")
    assert got["peak_kib"] / 1024 <= LIMIT_MIB, got
