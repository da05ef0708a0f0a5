"""The drive engine: scan staging, allocate files to drives, prove drive identity, copy and hash
in one pass, write the Import/Export manifest and the on-drive journal, verify.

Five groups, each importing only the groups listed before it (tests/drives/test_layers.py):

    formats/    what a drive holds: layout, manifest, journal
    tables/     the per-file tables planning and writing share: staged, drivetable
    disk/       which disk is this, and is it safe to write: probes, facts, requirements,
                encryption, simulated drives, identity
    placement/  what goes where: scan, allocate                    (beside disk/, never importing it)
    writing/    putting it there durably: prepare, copyengine, anchor, durability, progress, verify

Code outside this package imports only the names below, from `seedctl.drives` itself (see
docs/architecture.md):

    scan_staging(root, *, include=(), exclude=(), container, prefix="", path_limits=..., max_size=...) -> ScanResult
    path_limits(mount_points=[(serial, path)], staging=path) -> PathLimits;  windows_form(path)
    check_page_files(files) -> PageCheck(errors, warnings)       (staging.blob_type: page)
    allocate(files, drives=[(serial, usable_bytes)], *, pinned=None) -> Allocation
    usable_bytes(capacity) -> int;  cost_on_drive(size) -> int
    inspect_drive(mount, expected_serial, *, allow_simulated) -> DriveObservation   (never raises)
    check_safe_to_write(mount, serial, *, owner_id, needed_bytes, staging_root, allow_simulated)
    read_drive_state(mount) -> DriveState | None;  drive_state(mount, journal_state)  (read-only)
    prepare_drive(mount, serial, files, staging_root, *, owner_id, progress=None, verify=False,
                  allow_simulated=False, blob_type="block") -> PreparedDrive
    verify_drive(mount) -> VerifyReport;  read_journal(mount, ...)
    create_simulated_drive(path, serial, capacity)
    ProgressEvent, ProgressCallback, LineProgress(stream, interval=...)
    encryptor_for(drive_spec, ...) -> Encryptor;  BitLockerKey (repr never shows the key)
    read_manifest, parse_manifest, open_manifest, write_manifest, manifest_hash, local_name, MANIFEST_NAME,
    MANIFEST_FILE, DRIVE_HEADER_HASH, DriveManifest, ManifestBlob, ManifestBlock, ManifestError
    StagedFile, columns, listing_digest, DATA_DIR
"""

# The facade: the only names code outside this package imports (tests/drives/test_layers.py checks
# it). Each is imported on first use (PEP 562). A package that imports all its submodules in
# __init__ deadlocks threads that import two of them at once: the plan's reader threads import the
# scan and the preparation concurrently, and a thread holding one submodule's import lock while
# running this __init__ waits for the other's. It also made every import pay for all of them.
_LAZY = {
    # formats: what a drive holds
    "DATA_DIR": "formats.layout",
    "JournalError": "formats.journal", "read_journal": "formats.journal",
    "DRIVE_HEADER_HASH": "formats.manifest", "MANIFEST_FILE": "formats.manifest",
    "MANIFEST_NAME": "formats.manifest", "DriveManifest": "formats.manifest",
    "ManifestBlob": "formats.manifest", "ManifestBlock": "formats.manifest",
    "ManifestError": "formats.manifest", "local_name": "formats.manifest",
    "manifest_hash": "formats.manifest", "parse_manifest": "formats.manifest",
    "read_manifest": "formats.manifest", "write_manifest": "formats.manifest",
    "open_manifest": "formats.manifest_reader",
    # tables: the per-file tables planning and writing share
    "StagedFile": "tables.staged", "columns": "tables.staged", "listing_digest": "tables.staged",
    # disk: which disk is this, and is it safe to write
    "BitLockerKey": "disk.encryption", "EncryptionError": "disk.encryption", "Encryptor": "disk.encryption",
    "encryptor_for": "disk.encryption",
    "DriveObservation": "disk.identity", "check_safe_to_write": "disk.identity", "inspect_drive": "disk.identity",
    "create_simulated_drive": "disk.simulated",
    # placement: what goes where
    "ScanProblem": "placement.scan", "ScanResult": "placement.scan", "blob_name_problems": "placement.scan",
    "scan_staging": "placement.scan", "PageCheck": "placement.pagecheck", "check_page_files": "placement.pagecheck",
    "path_limits": "placement.winnames", "windows_form": "placement.winnames",
    "Allocation": "placement.allocate", "AllocationError": "placement.allocate",
    "DriveAllocation": "placement.allocate", "allocate": "placement.allocate",
    "cost_on_drive": "placement.allocate", "usable_bytes": "placement.allocate",
    # writing: putting it there durably
    "DriveState": "writing.prepare", "PreparedDrive": "writing.prepare", "drive_state": "writing.prepare",
    "prepare_drive": "writing.prepare", "read_drive_state": "writing.prepare", "PROGRESS_INTERVAL": "writing.prepare",
    "LineProgress": "writing.progress", "ProgressCallback": "writing.progress", "ProgressEvent": "writing.progress",
    "VerifyProblem": "writing.verify", "VerifyReport": "writing.verify", "verify_drive": "writing.verify",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'seedctl.drives' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"seedctl.drives.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = sorted(_LAZY)
