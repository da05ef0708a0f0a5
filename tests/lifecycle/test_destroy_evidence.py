"""destroy --staging: which fresh verification results prove an import well enough to delete the
staging copy (the evidence contract in the helpers' notes: listing evidence taken now, and for a page
blob content evidence; Content-MD5 is settable metadata and never enough)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from seedctl.lifecycle.destroy import evidence_problem, evidence_words, manifest_digest_of

from platforms import SYMLINKS


def result(evidence, status="ok", detail=""):
    return SimpleNamespace(ok=status == "ok", status=status, detail=detail, evidence=evidence)


BLOCK = SimpleNamespace(length=10, blob_type="BlockBlob")
PAGE = SimpleNamespace(length=4096, blob_type="PageBlob")
EMPTY = SimpleNamespace(length=0, blob_type="BlockBlob")


@pytest.mark.parametrize(("blob", "evidence"), [
    (BLOCK, "block-ids"), (BLOCK, "block-ids+service-crc64"), (BLOCK, ["block-ids", "content-md5"]),
    (BLOCK, "download"), (PAGE, "page-ranges+service-crc64"), (PAGE, ("page-ranges", "download")),
    (PAGE, "download"), (EMPTY, "empty"),
])
def test_enough_evidence(blob, evidence) -> None:
    assert evidence_problem(result(evidence), blob) is None


@pytest.mark.parametrize(("blob", "evidence", "says"), [
    (BLOCK, "content-md5", "Content-MD5 is settable"), (BLOCK, "", "rests on nothing"),
    (BLOCK, "service-crc64", "not on the service's listing"),
    (PAGE, "page-ranges", "page blob"), (PAGE, "page-ranges+content-md5", "page blob"),
    (PAGE, "content-md5", "not on the service's listing"), (BLOCK, "empty", "not on the service's listing"),
])
def test_not_enough_evidence(blob, evidence, says) -> None:
    problem = evidence_problem(result(evidence), blob)
    assert problem is not None and says.split()[-1] in problem and "--deep" in problem


def test_a_failed_file_is_never_proven() -> None:
    assert "damaged" in evidence_problem(result("download", "damaged", "MD5 differs"), BLOCK)


def test_evidence_words_accept_a_word_a_joined_word_or_a_collection() -> None:
    assert evidence_words("block-ids") == {"block-ids"}
    assert evidence_words("page-ranges+service-crc64") == {"page-ranges", "service-crc64"}
    assert evidence_words(["download"]) == {"download"} and evidence_words(None) == set()


def test_the_manifest_digest_is_the_crc64_or_the_older_md5() -> None:
    assert manifest_digest_of(SimpleNamespace(content_crc64=123, content_md5_hex="AB" * 16)) == "crc64:123"
    assert manifest_digest_of(SimpleNamespace(content_crc64=None, content_md5_hex="ab" * 16)) == "md5:" + "AB" * 16
    assert manifest_digest_of(SimpleNamespace(content_crc64=None, content_md5_hex=None)) is None


@SYMLINKS
def test_staging_files_are_hashed_through_the_tree_with_the_manifests_kind_of_digest(tmp_path) -> None:
    import hashlib

    from seedctl.crc64 import crc64
    from seedctl.lifecycle.destroy import _hash_in_tree
    from seedctl.safefs import Tree

    data = bytes(range(256)) * 50_000
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f.bin").write_bytes(data)
    (tmp_path / "link").symlink_to(tmp_path / "a")
    with Tree(tmp_path, what="staging") as tree:
        proof, why = _hash_in_tree(tree, "a/f.bin", f"crc64:{crc64(data)}")
        assert why is None and proof.size == len(data)
        _, why = _hash_in_tree(tree, "a/f.bin", "md5:" + hashlib.md5(data).hexdigest().upper())
        assert why is None
        _, why = _hash_in_tree(tree, "a/f.bin", "crc64:1")
        assert "differs from what was imported (CRC-64" in why
        proof, why = _hash_in_tree(tree, "link/f.bin", f"crc64:{crc64(data)}")
        assert proof is None and "symbolic link" in why
