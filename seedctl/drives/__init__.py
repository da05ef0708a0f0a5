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

from seedctl.drives.allocate import (
    Allocation,
    AllocationError,
    DriveAllocation,
    allocate,
    cost_on_drive,
    usable_bytes,
)
from seedctl.drives.encryption import BitLockerKey, EncryptionError, Encryptor, encryptor_for
from seedctl.drives.identity import DriveObservation, check_safe_to_write, inspect_drive
from seedctl.drives.journal import JournalError
from seedctl.drives.manifest import (
    DRIVE_HEADER_HASH,
    MANIFEST_FILE,
    MANIFEST_NAME,
    DriveManifest,
    ManifestBlob,
    ManifestBlock,
    ManifestError,
    manifest_hash,
    read_manifest,
    write_manifest,
)
from seedctl.drives.prepare import DriveState, PreparedDrive, prepare_drive, read_drive_state
from seedctl.drives.progress import LineProgress, ProgressCallback, ProgressEvent
from seedctl.drives.scan import ScanProblem, ScanResult, StagedFile, blob_name_problems, scan_staging
from seedctl.drives.simulated import create_simulated_drive
from seedctl.drives.verify import VerifyProblem, VerifyReport, verify_drive

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
