"""Sizes written as integers (bytes) or with units: 2TB, 1.8TiB, 500GB, 512MB."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

UNITS = {
    "B": 1,
    "KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4, "PB": 1000**5,
    "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4, "PiB": 1024**5,
}
_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?) ?([KMGTP]i?B|B)")


def parse_size(value: int | str) -> int:
    """Bytes for a size; raises ValueError with a sentence when it is not one."""
    if isinstance(value, bool):
        raise ValueError("a size cannot be true or false")
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON Schema counts 2.0 as an integer, so the loader may hand us one
    if isinstance(value, int):
        if value < 1:
            raise ValueError("a size must be at least 1 byte")
        return value
    match = _SIZE.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"{value!r} is not a size such as 2TB, 1.8TiB, 500GB or an integer number of bytes")
    try:
        number = Decimal(match.group(1))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    size = int(number * UNITS[match.group(2)])  # drive vendors' fractions of a unit: round down
    if size < 1:
        raise ValueError(f"{value!r} is less than one byte")
    return size


def format_size(size: int) -> str:
    """Decimal units, as drives are labelled: 2000398934016 -> '2.0 TB'."""
    for unit in ("PB", "TB", "GB", "MB", "KB"):
        if size >= UNITS[unit]:
            return f"{size / UNITS[unit]:.1f} {unit}"
    return f"{size} B"
