"""verify decides by content and names its evidence (issue 14 item 7, issue 24 item 7): the blobs here
are committed through azure-storage-blob against Azurite under block ids other than the manifest's,
with and without a Content-MD5 (which is no evidence), with the right content and with a damaged one."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from azure.storage.blob import ContentSettings

from lifecycle.test_e2e import container, ship_and_import

BLOCK = 4 * 1024 * 1024


def recommit(cc: Any, name: str, data: bytes, *, ids: str = "other", md5: bool) -> None:
    """Upload `data` to `name` as blocks under ids of our own choosing ("other": not the manifest's
    MD5 ids; "manifest": exactly them), then set or clear the blob's Content-MD5."""
    blob = cc.get_blob_client(name)
    blob.delete_blob()
    block_ids = []
    for i, off in enumerate(range(0, len(data), BLOCK)):
        chunk = data[off:off + BLOCK]
        # (the SDK Base64-encodes the id it is given, as an SDK-based uploader's would be)
        if ids == "manifest":
            block_id = "MD5/" + base64.b64encode(hashlib.md5(chunk).digest()).decode()
        else:
            block_id = f"upload-{i:06d}"
        blob.stage_block(block_id, chunk)
        block_ids.append(block_id)
    from azure.storage.blob import BlobBlock

    blob.commit_block_list([BlobBlock(block_id=b) for b in block_ids])
    # Azurite, like Azure, keeps what the uploader says (or nothing) as a block blob's Content-MD5
    blob.set_http_headers(ContentSettings(content_md5=bytearray(hashlib.md5(data).digest()) if md5 else None))
    got = blob.get_blob_properties().content_settings.content_md5
    assert bool(got) is md5


def verdicts(ws: Any, *args: str) -> tuple[int, dict[str, dict[str, Any]], dict[str, Any]]:
    r = ws.run("verify", "--json", *args)
    report = json.loads(r.out)
    return r.rc, {f["blob_path"].split("/", 1)[1]: f for f in report["files"]}, report["summary"]


@pytest.mark.parametrize("workspace", ["importexport"], indirect=True)
def test_verdict_by_content_when_blocks_have_other_ids(workspace: Any) -> None:
    ws = workspace
    assert ws.run("apply", "--auto-approve").rc == 0
    ship_and_import(ws)
    cc = container(ws)
    staging = ws.staging()
    big = (staging / "big.bin").read_bytes()           # three blocks
    b = (staging / "sub" / "b.bin").read_bytes()       # one block
    c = (staging / "c.txt").read_bytes()

    rc, files, summary = verdicts(ws)
    assert rc == 0 and summary["evidence"] == {"block-ids": 4}

    # A Content-MD5 is settable metadata, which the service does not set from a manifest: it is no
    # evidence either way (issue 24 item 7).
    # right content, other ids, the right Content-MD5 (re-uploaded by hand): unverified
    recommit(cc, "big.bin", big, md5=True)
    # right content under the manifest's own ids, no Content-MD5: intact, by block ids
    recommit(cc, "sub/b.bin", b, ids="manifest", md5=False)
    # right content, other ids, no Content-MD5: nothing cheap can tell → unverified, not damaged
    recommit(cc, "c.txt", c, md5=False)
    # one byte changed, other ids, no Content-MD5: also unverified without --deep
    recommit(cc, "sub/c.txt", b"another C\n", md5=False)

    rc, files, summary = verdicts(ws)
    assert rc == 1
    assert (files["big.bin"]["status"], files["big.bin"]["evidence"]) == ("unverified", [])
    assert (files["sub/b.bin"]["status"], files["sub/b.bin"]["evidence"]) == ("ok", ["block-ids"]), files["sub/b.bin"]
    assert files["c.txt"]["status"] == "unverified" and "--deep" in files["c.txt"]["detail"]
    assert files["sub/c.txt"]["status"] == "unverified"
    assert summary["damaged"] == 0 and summary["unverified"] == 3
    text = ws.run("verify").out  # (one of the three is damaged, but nothing cheap can tell which)
    assert "NOT VERIFIED" in text and "seedctl verify --deep" in text and "3 unverified" in text
    assert "evidence: 1 by block ids" in text

    # --deep downloads and hashes: the right content passes whatever its ids, the changed byte fails;
    # the block ids that matched stay as evidence beside the download
    rc, files, summary = verdicts(ws, "--deep")
    assert rc == 1
    assert {k: (f["status"], f["evidence"]) for k, f in files.items()} == {
        "big.bin": ("ok", ["download"]), "sub/b.bin": ("ok", ["block-ids", "download"]),
        "c.txt": ("ok", ["download"]), "sub/c.txt": ("damaged", [])}
    assert summary["evidence"] == {"block-ids": 1, "download": 3}

    # a wrong Content-MD5 property on right content is not damage: unverified by the cheap check (other
    # block ids), intact by --deep
    recommit(cc, "sub/c.txt", b"another c\n", md5=False)
    cc.get_blob_client("sub/c.txt").set_http_headers(ContentSettings(content_md5=bytearray(16)))
    rc, files, _ = verdicts(ws)
    assert rc == 1 and (files["sub/c.txt"]["status"], files["sub/c.txt"]["evidence"]) == ("unverified", [])
    rc, files, _ = verdicts(ws, "--deep")
    assert rc == 0, files
    assert "other block ids" in files["sub/c.txt"]["detail"] and "the content is right" in files["sub/c.txt"]["detail"]


def test_deep_hashes_each_block_when_the_manifest_has_no_file_md5() -> None:
    from seedctl.drives.formats.manifest import make_block
    from seedctl.lifecycle.verify import _BlockHasher

    data = bytes(range(256)) * 100
    blocks = tuple(make_block(off, hashlib.md5(data[off:off + 1000]).digest(), len(data[off:off + 1000]))
                   for off in range(0, len(data), 1000))
    for chunking in (1, 333, 1000, 4096, len(data)):
        hasher = _BlockHasher(blocks)
        for off in range(0, len(data), chunking):
            hasher.update(data[off:off + chunking])
        assert hasher.bad is None and hasher.index == len(blocks)
    damaged = bytearray(data)
    damaged[12_345] ^= 1
    hasher = _BlockHasher(blocks)
    hasher.update(bytes(damaged))
    assert hasher.bad is not None and hasher.bad.offset == 12_000
