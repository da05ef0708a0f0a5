"""One unit system for every size seedctl shows people: binary IEC units (KiB, MiB, GiB, TiB), as
the drive tools (Disk Management, lsblk, manage-bde) show them. JSON always carries exact bytes.

Spec *input* accepts both (`2TB` is 2×10¹² bytes, as drives are labelled; `1.8TiB`), see
seedctl/spec/sizes.py; output is IEC only, so a plan, a progress bar and a status never disagree.
"""

from __future__ import annotations

_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB")

# attribute names whose integer values are byte counts (shown as sizes in text and markdown)
SIZE_NAMES = frozenset({"bytes", "size", "capacity", "free", "free_bytes", "bytes_written",
                        "written_bytes", "to_write_bytes", "total_bytes", "bytes_total", "bytes_done"})


def format_bytes(size: float) -> str:
    """1536 -> '1.5 KiB'; 157286406 -> '150.0 MiB'; under 1 KiB: '512 B'."""
    if size < 1024:
        return f"{int(size)} B"
    value = float(size)
    for unit in _UNITS:
        value /= 1024
        if value < 1024 or unit == _UNITS[-1]:
            return f"{value:,.1f} {unit}"
    raise AssertionError("unreachable")


def format_rate(bytes_per_second: float) -> str:
    return f"{format_bytes(bytes_per_second)}/s"


def is_size_name(name: str) -> bool:
    leaf = name.rsplit(".", 1)[-1]
    return leaf in SIZE_NAMES or leaf.endswith("_bytes")
