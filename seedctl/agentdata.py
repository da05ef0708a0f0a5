"""An agent-shaped staging tree: what a backup agent (MARS, DPM, MABS) leaves in its staging
location for an offline seed, generated for the demo, `seedctl init --sandbox`, the tests and the
benchmarks. One generator, so they all exercise the same shape.

What is known of the real thing (docs/drives.md, ../shared/domain/azure-backup-seeding.md): a few
large files named `*.BaseBlob` and `*.AIBBlob`, sizes a multiple of 512 bytes, with long runs of
zeros; imported as page blobs. Folder names and the number of files per data source are not
documented: here each data source gets a folder of its own holding one large base blob and a
smaller `.AIBBlob`, named by a GUID drawn from the seed (the agent's real names are unknown).

The content is random bytes with zero runs of a few MiB in between (about a quarter of each file,
set by `zero_fraction`); the zero runs are left as holes in a sparse file where the file system
allows, so a tree of gigabytes costs little disk and time to make. Deterministic for a given seed.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from pathlib import Path

PAGE = 512
MIB = 1024 * 1024
BASE_SHARE = 0.8  # of a data source's bytes, in its base blob (the rest in its .AIBBlob)
_WRITE = 4 * MIB


@dataclass(frozen=True)
class AgentFile:
    rel_path: str  # staging-relative, "/"-separated
    size: int  # a multiple of 512


def agent_layout(total_bytes: int, *, sources: int = 2, seed: int = 2026) -> list[AgentFile]:
    """The files of a tree of about `total_bytes` (rounded down to 512-byte pages per file):
    `sources` data-source folders, each with one `<guid>.BaseBlob` and one `<guid>.AIBBlob`."""
    if total_bytes < 0 or sources < 1:
        raise ValueError("total_bytes must not be negative and sources must be at least 1")
    rng = random.Random(seed)
    per_source = total_bytes // sources
    files = []
    for _ in range(sources):
        folder, name = _guid(rng), _guid(rng)
        base = _pages(int(per_source * BASE_SHARE))
        files.append(AgentFile(f"{folder}/{name}.BaseBlob", base))
        files.append(AgentFile(f"{folder}/{name}.AIBBlob", _pages(per_source - base)))
    return files


def write_agent_file(path: Path, size: int, *, seed: int, zero_fraction: float = 0.25,
                     run_bytes: int = 8 * MIB) -> int:
    """Write one agent-shaped file: random data with zero runs (left as holes) making up about
    `zero_fraction` of it. A zero run is 1 to 1.5 times `run_bytes` (8 MiB: so each holds at least
    one 4 MiB-aligned page range of zeros, which a page-blob manifest leaves out), or less in a file
    too small for several such runs. Returns the bytes of zero runs written."""
    if size % PAGE:
        raise ValueError(f"{path}: an agent file's size is a multiple of {PAGE} bytes, not {size}")
    if not 0 <= zero_fraction < 1:
        raise ValueError(f"zero_fraction must be in [0, 1), not {zero_fraction}")
    rng = random.Random(seed)
    run = max(64 * 1024, min(run_bytes, int(size * zero_fraction / 2)))
    data_run = run * (1 - zero_fraction) / zero_fraction if zero_fraction else float(size)
    zeros = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        offset = 0
        while offset < size:
            # a data run, then a zero run, each a whole number of pages of varying length
            take = min(size - offset, max(PAGE, _pages(int(data_run * rng.uniform(0.5, 1.5)))))
            for done in range(0, take, _WRITE):
                fh.write(rng.randbytes(min(_WRITE, take - done)))
            offset += take
            gap = min(size - offset, _pages(int(run * rng.uniform(1.0, 1.5)))) if zero_fraction else 0
            if gap:
                fh.seek(gap, 1)  # a hole: reads as zeros
                offset += gap
                zeros += gap
        fh.truncate(size)
    return zeros


def make_agent_staging(root: Path, total_bytes: int, *, sources: int = 2, seed: int = 2026,
                       zero_fraction: float = 0.25) -> list[AgentFile]:
    """Write an agent-shaped tree under `root` (see the module docstring); returns its files."""
    files = agent_layout(total_bytes, sources=sources, seed=seed)
    for i, f in enumerate(files):
        write_agent_file(root / f.rel_path, f.size, seed=seed * 1000 + i, zero_fraction=zero_fraction)
    return files


def _pages(n: int) -> int:
    return n - n % PAGE


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
