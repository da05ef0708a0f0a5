"""Simulated drives for the sandbox: a folder that the drive engine treats as a disk (marker owned
by seedctl.drives), plus a BitLocker-style recovery password that the sandbox's datacenter checks
against the key given in the import job."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from seedctl.drives import create_simulated_drive
from seedctl.errors import SandboxError
from seedctl.private_files import refuse_link_or_special, write_private
from seedctl.sandbox.control import SandboxControl

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15,
          "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40, "pi": 2**50}


def parse_size(text: str) -> int:
    """'2TB', '500GiB', '1000000' → bytes (decimal units as disk makers use them; *iB binary)."""
    m = _SIZE_RE.match(text)
    if not m:
        raise SandboxError(f"cannot read the size {text!r}; write e.g. 2TB, 500GiB or 1000000")
    unit = (m.group(2) or "").lower().rstrip("b")
    if unit not in _UNITS:
        raise SandboxError(f"unknown size unit in {text!r}")
    value = int(float(m.group(1)) * _UNITS[unit])
    if value <= 0:
        raise SandboxError("a drive's capacity must be positive")
    return value


def recovery_password() -> str:
    """A BitLocker recovery password: 48 digits in 8 groups of 6; like the real ones, each group
    is a multiple of 11 below 720896 (it encodes 16 bits of the key)."""
    return "-".join(f"{secrets.randbelow(65536) * 11:06d}" for _ in range(8))


def write_secret(path: Path, text: str) -> None:
    """0600 from the first byte, atomically; a symlink at `path` is refused, never followed."""
    write_private(path, (text + "\n").encode("ascii"), error=SandboxError)


def make_drive(control: SandboxControl, sandbox_dir: Path, serial: str, path: Path, capacity: int,
               key_out: Path | None) -> Path:
    """Create (or refresh) the simulated drive and register it; returns where the key was written.
    Re-running for the same serial keeps its key, so a drive already listed in a job stays valid."""
    path = path.expanduser().resolve()
    if key_out is not None:  # refused before anything is made, not after
        refuse_link_or_special(key_out.expanduser(), SandboxError)
    create_simulated_drive(path, serial, capacity)
    kept = sandbox_dir / "drives" / f"{serial}.key"
    key = kept.read_text(encoding="ascii").strip() if kept.exists() else recovery_password()
    write_secret(kept, key)
    control.register_drive(serial, str(path), key)
    if key_out is not None:
        write_secret(key_out.expanduser(), key)
        return key_out
    return kept
