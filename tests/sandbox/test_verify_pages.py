"""verify's evidence for page blobs (issue 22), against page blobs in Azurite written here with plain
azure-storage-blob calls (one Put Page per range, so Azurite lists them uncoalesced, as it would an
import): the service's CRC-64 (from a verbose-log entry), the blob's page ranges against the
manifest's, and with --deep the listed ranges and any other written part read and hashed."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace
from typing import Any

import pytest
from pagedrive import MIB, agent_bytes, page_blob_entry

from seedctl.azure.retry import RetryPolicy
from seedctl.drives.formats.manifest import PAGE_BLOB, ManifestBlob, PageRanges
from seedctl.lifecycle import pageblobs
from seedctl.lifecycle.storage import LogFile
from seedctl.lifecycle.verify import FileResult, ServiceFindings, check_files, list_container

from crc64_reference import crc64

DATA = agent_bytes(2 * MIB, seed=11)  # 256 KiB pieces, every third one zeros
STEP = 256 * 1024


@pytest.fixture
def world(setup: Any) -> SimpleNamespace:
    clients, account = setup
    cc = clients.blob(account.name).get_container_client("seed")
    cc.create_container()
    return SimpleNamespace(cc=cc, spec=SimpleNamespace(container=SimpleNamespace(name="seed")),
                           ctx=SimpleNamespace(clients=SimpleNamespace(policy=RetryPolicy.fast())))


def put(cc: Any, name: str, length: int, writes: list[tuple[int, bytes]]) -> None:
    client = cc.get_blob_client(name)
    client.create_page_blob(length)
    for offset, data in writes:
        client.upload_page(data, offset=offset, length=len(data))


def imported(cc: Any, name: str, blob: ManifestBlob, data: bytes) -> None:
    """The blob as the import service leaves it: each listed range written, nothing else."""
    put(cc, name, blob.length, [(o, data[o:o + n]) for o, n, _ in blob.page_ranges.raw()])


def run(w: SimpleNamespace, blob: ManifestBlob, *, deep: bool = False, logged: LogFile | None = None,
        failed: str | None = None) -> FileResult:
    result = FileResult(blob.blob_path, blob.blob_path, "D1", blob.length)
    service = ServiceFindings(per_blob={blob.blob_path: failed} if failed else {},
                              crc64={blob.blob_path: logged} if logged else {})
    listing = list_container(w.ctx, w.cc, None)
    check_files(w.spec, w.ctx, w.cc, [(blob, result)], listing, deep, service)
    return result


def test_an_imported_page_blob_passes_by_its_ranges_and_the_service_crc(world: SimpleNamespace) -> None:
    blob = page_blob_entry("a.BaseBlob", DATA, step=STEP)
    imported(world.cc, "a.BaseBlob", blob, DATA)
    r = run(world, blob)
    assert (r.status, r.evidence, r.blob_type) == ("ok", ("page-ranges",), "PageBlob"), r
    assert r.listing_evidence and not r.content_evidence
    r = run(world, blob, logged=LogFile("seed/a.BaseBlob", len(DATA), crc64(DATA), "PageBlob"))
    assert (r.status, r.evidence) == ("ok", ("service-crc64", "page-ranges")) and r.content_evidence, r
    assert r.detail == "page ranges match the manifest and the service's CRC-64 matches seedctl's"
    r = run(world, blob, deep=True)
    assert (r.status, r.evidence) == ("ok", ("page-ranges", "download")), r
    listed = sum(n for _, n, _ in blob.page_ranges.raw())
    assert f"{listed:,} bytes read" in r.detail  # only the listed ranges: the zero runs are never read


def test_a_listed_range_never_written_is_damage(world: SimpleNamespace) -> None:
    blob = page_blob_entry("b.BaseBlob", DATA, step=STEP)
    ranges = list(blob.page_ranges.raw())
    put(world.cc, "b.BaseBlob", blob.length, [(o, DATA[o:o + n]) for o, n, _ in ranges[:-1]])
    r = run(world, blob)
    last = ranges[-1]
    assert r.status == "damaged" and f"bytes {last[0]:,}-{last[0] + last[1] - 1:,}" in r.detail, r
    assert "never written" in r.detail and r.evidence == ()
    r = run(world, blob, deep=True)
    assert r.status == "damaged" and "differs from the drive's" in r.detail, r


@pytest.mark.parametrize("extra, deep_status", [(b"\x01" * 512, "damaged"), (bytes(512), "ok")])
def test_a_written_part_the_manifest_does_not_list(world: SimpleNamespace, extra: bytes, deep_status: str) -> None:
    blob = page_blob_entry("c.BaseBlob", DATA, step=STEP)
    zero_piece = STEP  # the second 256 KiB piece is all zeros: the manifest lists no range there
    assert DATA[zero_piece:zero_piece + STEP] == bytes(STEP)
    imported(world.cc, "c.BaseBlob", blob, DATA)
    world.cc.get_blob_client("c.BaseBlob").upload_page(extra, offset=zero_piece + 1024, length=512)
    r = run(world, blob, logged=LogFile("seed/c.BaseBlob", len(DATA), crc64(DATA)))
    # written since the import or not, the listing no longer matches: only reading tells
    assert r.status == "unverified" and "written where the manifest lists nothing" in r.detail, r
    assert "--deep" in r.detail and r.evidence == ("service-crc64",)
    r = run(world, blob, deep=True)
    assert r.status == deep_status, r
    if deep_status == "damaged":
        assert f"byte {zero_piece + 1024:,} is not zero" in r.detail
    else:
        assert r.evidence == ("download",) and "the content is right" in r.detail


def test_bytes_changed_inside_a_range_are_found_by_reading(world: SimpleNamespace) -> None:
    blob = page_blob_entry("d.BaseBlob", DATA, step=STEP)
    imported(world.cc, "d.BaseBlob", blob, DATA)
    offset = list(blob.page_ranges.raw())[1][0]
    world.cc.get_blob_client("d.BaseBlob").upload_page(b"\xee" * 512, offset=offset, length=512)
    assert run(world, blob).status == "ok"  # the same ranges are written: the listing cannot tell
    r = run(world, blob, deep=True)
    assert r.status == "damaged" and f"page range at offset {offset:,} differs" in r.detail, r


def test_the_service_crc_decides_against_seedctls(world: SimpleNamespace) -> None:
    blob = page_blob_entry("e.BaseBlob", DATA, step=STEP)
    imported(world.cc, "e.BaseBlob", blob, DATA)
    # a different CRC-64 over the whole size: doubt, not damage (whether the service's CRC-64 of a
    # page blob covers its unwritten zeros is unpublished); the download decides
    r = run(world, blob, logged=LogFile("seed/e.BaseBlob", len(DATA), crc64(DATA) ^ 1))
    assert r.status == "unverified" and "the service's copy log has CRC-64" in r.detail, r
    assert "unpublished" in r.detail and "--deep" in r.detail
    r = run(world, blob, deep=True, logged=LogFile("seed/e.BaseBlob", len(DATA), crc64(DATA) ^ 1))
    assert (r.status, r.evidence) == ("ok", ("page-ranges", "download")), r
    # over another size: damage
    r = run(world, blob, logged=LogFile("seed/e.BaseBlob", len(DATA) - 512, crc64(DATA)))
    assert r.status == "damaged", r
    # a manifest whose recorded CRC-64 is not its ranges' content: the download's CRC-64 tells
    wrong = ManifestBlob(blob.blob_path, blob.file_path, blob.length, (), blob_type=PAGE_BLOB,
                         page_ranges=blob.page_ranges, content_crc64=crc64(DATA) ^ 1)
    r = run(world, wrong, deep=True)
    assert r.status == "damaged" and "downloaded content CRC-64" in r.detail, r


def test_a_failure_the_service_reported_needs_content_evidence(world: SimpleNamespace) -> None:
    blob = page_blob_entry("f.BaseBlob", DATA, step=STEP)
    imported(world.cc, "f.BaseBlob", blob, DATA)
    r = run(world, blob, failed="CompletedWithErrors (PageRange offset 0: Corrupted)")
    assert r.status == "unverified" and "the service reported CompletedWithErrors" in r.detail, r
    assert r.evidence == ("page-ranges",)
    r = run(world, blob, failed="CompletedWithErrors", logged=LogFile("seed/f.BaseBlob", len(DATA), crc64(DATA)))
    assert r.status == "ok", r
    assert run(world, blob, failed="CompletedWithErrors", deep=True).status == "ok"


def test_the_wrong_blob_type_and_an_empty_page_blob(world: SimpleNamespace) -> None:
    blob = page_blob_entry("g.BaseBlob", DATA, step=STEP)
    world.cc.upload_blob("g.BaseBlob", DATA)  # a block blob where the agent needs a page blob
    r = run(world, blob)
    assert r.status == "damaged" and "a BlockBlob, but the manifest imports it as a PageBlob" in r.detail, r
    empty = ManifestBlob("seed/h.BaseBlob", "\\h.BaseBlob", 0, (), blob_type=PAGE_BLOB, page_ranges=PageRanges(),
                         content_crc64=0)
    put(world.cc, "h.BaseBlob", 0, [])
    assert run(world, empty).evidence == ("empty",)
    zeros = page_blob_entry("z.AIBBlob", bytes(1024 * 1024), step=STEP)
    put(world.cc, "z.AIBBlob", zeros.length, [])
    r = run(world, zeros, deep=True)
    assert (r.status, r.evidence) == ("ok", ("page-ranges", "download")) and "0 bytes read" in r.detail, r


# -- the interval arithmetic, against a set of bytes ----------------------------------------------
def _covered(intervals: list[tuple[int, int]]) -> set[int]:
    return {i for s, e in intervals for i in range(s, e)}


def test_interval_difference_and_coalescing_match_a_byte_set() -> None:
    import random

    rng = random.Random(3)
    for _ in range(300):
        def intervals() -> list[tuple[int, int]]:
            points = sorted(rng.sample(range(200), rng.randrange(0, 12) * 2))
            return [(points[i], points[i + 1]) for i in range(0, len(points), 2)]

        a, b = list(pageblobs.coalesce(intervals())), list(pageblobs.coalesce(intervals()))
        got = list(pageblobs.difference(a, b))
        assert _covered(got) == _covered(a) - _covered(b)
        assert all(s < e for s, e in got) and got == sorted(got)
        diff = pageblobs.compare(a, b)
        assert diff.missing_bytes == len(_covered(a) - _covered(b))
        assert diff.extra_bytes == len(_covered(b) - _covered(a))
    assert list(pageblobs.coalesce([(0, 512), (512, 1024), (2048, 2560)])) == [(0, 1024), (2048, 2560)]


def test_runs_group_adjacent_ranges_up_to_a_cap() -> None:
    md5 = hashlib.md5(b"").digest()
    ranges = PageRanges([(0, 512, md5), (512, 512, md5), (4096, 512, md5)])
    assert [(start, len(r)) for start, r in pageblobs.runs(ranges)] == [(0, 2), (4096, 1)]
    # a retried download re-reads at most a capped run, however long the adjacent ranges go on
    long = PageRanges((i * 512, 512, md5) for i in range(10))
    assert [(start, len(r)) for start, r in pageblobs.runs(long, cap=2048)] == [(0, 4), (2048, 4), (4096, 2)]
