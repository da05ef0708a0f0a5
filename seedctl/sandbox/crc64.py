"""CRC-64 as Azure Storage computes it (the `crc64` of Data Box copy logs and of the storage
service's transactional CRC64): polynomial 0x9A6C9329AC4BC9B5 reflected, initial value and final
XOR all ones; the same parameters as CRC-64/NVME, whose check value for b"123456789" is
0xAE8B14860A799888. Pure Python, table-driven, about 10 MB/s: the sandbox computes it only for
verbose copy logs."""

from __future__ import annotations

MASK = 0xFFFFFFFFFFFFFFFF
POLY = 0x9A6C9329AC4BC9B5


def _table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ POLY if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _table()


def crc64(data: bytes, crc: int = 0) -> int:
    """The CRC-64 of `data`, continuing from an earlier result `crc` (0 for a fresh start)."""
    table = _TABLE
    crc ^= MASK
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ MASK
