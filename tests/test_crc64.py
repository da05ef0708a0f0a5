"""seedctl.crc64 (native) against the independent pure-Python reference and the service's values."""

from __future__ import annotations

import os

import pytest

from seedctl.crc64 import combine, crc64, header_value, zeros

from crc64_reference import crc64 as reference


def test_known_values_of_the_service() -> None:
    assert crc64(b"123456789") == 0xAE8B14860A799888  # the CRC-64/NVME check value
    assert crc64(b"") == 0  # what the published verbose log shows for a 0-byte file
    # recorded real answers (x-ms-content-crc64): Put Blob "Hello World", Put Page of 512 x "a"
    assert header_value(crc64(b"Hello World")) == "YeJLfssylmU="
    assert header_value(crc64(b"a" * 512)) == "u661BimQ84c="


@pytest.mark.parametrize("size", [1, 511, 512, 4096, 100_003])
def test_matches_the_reference_and_chains(size: int) -> None:
    data = os.urandom(size)
    assert crc64(data) == reference(data)
    assert crc64(memoryview(data)[size // 3:], crc64(data[: size // 3])) == reference(data)


def test_combine_and_zeros() -> None:
    a, b = os.urandom(7000), os.urandom(1 << 13)
    assert combine(crc64(a), crc64(b), len(b)) == reference(a + b)
    assert combine(crc64(a), 0, 0) == crc64(a)
    for n in (0, 1, 512, 65_536, 65_537, 3 * 1024 * 1024 + 512):
        assert zeros(n) == reference(bytes(n)), n
    # a sparse file's CRC composed from its parts, the gap never read
    gap = 5 * 1024 * 1024 + 512
    assert combine(combine(crc64(a), zeros(gap), gap), crc64(b), len(b)) == crc64(a + bytes(gap) + b)
    with pytest.raises(ValueError):
        zeros(-1)
