"""Drive preparation: scan staging, allocate files to drives, prove drive identity, copy+hash in
one pass, write the Import/Export manifest and the on-drive journal, verify.

Public API for the plan/apply engine (everything else in this package is internal; see docs/drives.md):

    scan_staging(root, *, include=(), exclude=(), container, prefix="") -> ScanResult
    allocate(files, drives=[(serial, usable_bytes)], *, pinned=None) -> Allocation
    usable_bytes(capacity) -> int;  cost_on_drive(size) -> int
    inspect_drive(mount, expected_serial, *, allow_simulated) -> DriveObservation   (never raises)
    check_safe_to_write(mount, serial, *, owner_id, needed_bytes, staging_root, allow_simulated)
    read_drive_state(mount) -> DriveState | None                                     (cheap, read-only)
    prepare_drive(mount, serial, files, staging_root, *, owner_id, progress=None, verify=False,
                  allow_simulated=False) -> PreparedDrive
    verify_drive(mount) -> VerifyReport
    create_simulated_drive(path, serial, capacity)
    ProgressEvent, ProgressCallback, LineProgress(stream, interval=...)
    encryptor_for(drive_spec, ...) -> Encryptor;  BitLockerKey (repr never shows the key)
    read_manifest, write_manifest, manifest_hash, MANIFEST_NAME, MANIFEST_FILE, DRIVE_HEADER_HASH
"""

# `allocate` is bound here, not lazily: the name is also a submodule's, and importing the submodule
# would otherwise leave the package attribute pointing at the module instead of the function.
from seedctl.drives.allocate import allocate

# Everything else is imported on first use (PEP 562). A package that imports all its submodules in
# __init__ deadlocks threads that import two of them at once: the plan's reader threads import
# `seedctl.drives.scan` and `seedctl.drives.prepare` concurrently, and a thread holding one
# submodule's import lock while running this __init__ waits for the other's. It also made every
# `seedctl.drives.x` import pay for all of them at start-up.
_LAZY = {
    "Allocation": "allocate", "AllocationError": "allocate", "DriveAllocation": "allocate",
    "cost_on_drive": "allocate", "usable_bytes": "allocate",
    "BitLockerKey": "encryption", "EncryptionError": "encryption", "Encryptor": "encryption",
    "encryptor_for": "encryption",
    "DriveObservation": "identity", "check_safe_to_write": "identity", "inspect_drive": "identity",
    "JournalError": "journal",
    "DRIVE_HEADER_HASH": "manifest", "MANIFEST_FILE": "manifest", "MANIFEST_NAME": "manifest",
    "DriveManifest": "manifest", "ManifestBlob": "manifest", "ManifestBlock": "manifest",
    "ManifestError": "manifest", "manifest_hash": "manifest", "read_manifest": "manifest",
    "write_manifest": "manifest",
    "DriveState": "prepare", "PreparedDrive": "prepare", "prepare_drive": "prepare", "read_drive_state": "prepare",
    "LineProgress": "progress", "ProgressCallback": "progress", "ProgressEvent": "progress",
    "ScanProblem": "scan", "ScanResult": "scan", "blob_name_problems": "scan", "scan_staging": "scan",
    "StagedFile": "staged",
    "create_simulated_drive": "simulated",
    "VerifyProblem": "verify", "VerifyReport": "verify", "verify_drive": "verify",
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


__all__ = [
    "DRIVE_HEADER_HASH", "MANIFEST_FILE", "MANIFEST_NAME", "Allocation", "AllocationError", "BitLockerKey",
    "DriveAllocation", "DriveManifest", "DriveObservation", "DriveState", "EncryptionError", "Encryptor",
    "JournalError", "LineProgress", "ManifestBlob", "ManifestBlock", "ManifestError", "PreparedDrive",
    "ProgressCallback", "ProgressEvent", "ScanProblem", "ScanResult", "StagedFile",
    "VerifyProblem", "VerifyReport", "allocate", "blob_name_problems", "check_safe_to_write", "cost_on_drive",
    "create_simulated_drive", "encryptor_for", "inspect_drive", "manifest_hash",
    "prepare_drive", "read_drive_state", "read_manifest", "scan_staging", "usable_bytes", "verify_drive",
    "write_manifest",
]
