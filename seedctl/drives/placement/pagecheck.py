"""Plan checks for `staging.blob_type: page`: can every staged file become a page blob, and does the
tree look like the backup agent's staging location?

Errors (the plan stops, naming the file):
- a size that is not a multiple of 512 bytes: a page blob is written in 512-byte pages, and the
  agent's files always are multiples (WAImportExport `/BlobType:PageBlob` refuses them too). The
  file is never padded: padding would change the length the agent reads. Data that is not a
  backup agent's seed belongs in `staging.blob_type: block`;
- a file over the page-blob limit, `MAX_PAGE_BLOB_LENGTH` (8 TiB; see docs/drives.md "Page blobs"
  for why 8 TiB and not the manifest format page's 1 TB). seedctl never splits a file.

Warnings (the plan goes on, naming the files):
- a file over 1 TiB: the 2017 manifest format page still says a page blob holds up to 1 TB;
  seedctl follows the service's 8 TiB limit, which no import has confirmed against the real service;
- files that do not look like the agent's output: a name not ending in `.BaseBlob` or `.AIBBlob`
  (the only names Microsoft documents for the staging location), or a file directly in the staging
  root (the agent writes into per-data-source folders). They are seeded all the same; a stray file
  in the staging location usually means the path is wrong (the agent's *cache* folder, a parent).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from seedctl.drives.formats.manifest import MAX_PAGE_BLOB_LENGTH, PAGE_SIZE
from seedctl.drives.tables.staged import StagedFile, columns

AGENT_SUFFIXES = (".baseblob", ".aibblob")  # compared case-blind: NTFS names are
FORMAT_PAGE_LIMIT = 1 << 40  # the manifest format page's "up to 1 TB" (2017)
MAX_LISTED = 50  # errors kept per kind (the count is exact); the plan shows the first few
NAMES_SHOWN = 5


@dataclass(frozen=True)
class PageCheck:
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def _names(rels: list[str], count: int) -> str:
    shown = ", ".join(rels[:NAMES_SHOWN])
    return shown + (f" and {count - NAMES_SHOWN:,} more" if count > NAMES_SHOWN else "")


def _gib(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB"


def check_page_files(files: Sequence[StagedFile]) -> PageCheck:
    """The checks above over a scan's files (a `StagedTable` is read through its packed columns)."""
    errors: list[str] = []
    unaligned = too_big = 0
    over_format: list[str] = []
    over_format_count = 0
    foreign: list[str] = []
    foreign_count = 0
    in_root: list[str] = []
    in_root_count = 0
    for rel, size, _ in columns(files):
        if size % PAGE_SIZE:
            unaligned += 1
            if unaligned <= MAX_LISTED:
                errors.append(f"{rel}: {size:,} bytes is not a multiple of {PAGE_SIZE}, so it cannot be a page blob "
                              "(the backup agent's files always are). seedctl never pads a file. If this is not a "
                              "backup agent's seed, set staging.blob_type: block")
        elif size > MAX_PAGE_BLOB_LENGTH:
            too_big += 1
            if too_big <= MAX_LISTED:
                errors.append(f"{rel}: {size:,} bytes ({_gib(size)}) is over the page-blob limit of "
                              f"{MAX_PAGE_BLOB_LENGTH:,} bytes (8 TiB); seedctl never splits a file")
        elif size > FORMAT_PAGE_LIMIT:
            over_format_count += 1
            if over_format_count <= NAMES_SHOWN:
                over_format.append(rel)
        if not rel.lower().endswith(AGENT_SUFFIXES):
            foreign_count += 1
            if foreign_count <= NAMES_SHOWN:
                foreign.append(rel)
        if "/" not in rel:
            in_root_count += 1
            if in_root_count <= NAMES_SHOWN:
                in_root.append(rel)
    for count, what in ((unaligned, "not a multiple of 512 bytes"), (too_big, "over the page-blob limit")):
        if count > MAX_LISTED:
            errors.append(f"... {count:,} files in all are {what}")
    warnings = []
    if over_format_count:
        warnings.append(f"{over_format_count:,} file(s) over 1 TiB: {_names(over_format, over_format_count)}. The "
                        "manifest format's page (2017) says a page blob holds up to 1 TB; seedctl follows the "
                        "service's page-blob limit of 8 TiB, which an import of a file this size has not been "
                        "confirmed against (see docs/drives.md)")
    if foreign_count:
        warnings.append(f"{foreign_count:,} file(s) do not look like the backup agent's output (*.BaseBlob, "
                        f"*.AIBBlob): {_names(foreign, foreign_count)}; they are seeded as page blobs all the same. "
                        "Check that staging.path is the agent's staging location")
    if in_root_count:
        warnings.append(f"{in_root_count:,} file(s) lie directly in the staging folder, not in a data source's "
                        f"folder: {_names(in_root, in_root_count)}; they are seeded all the same")
    return PageCheck(tuple(errors), tuple(warnings))
