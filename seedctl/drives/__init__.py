"""Drive preparation: scan staging, allocate files to drives, prove drive identity, copy+hash in
one pass, write the Import/Export manifest and the on-drive journal, verify.

Public API for the plan/apply engine (everything else in this package is internal):

    scan_staging(root, *, include, exclude, container, prefix) -> ScanResult
    allocate(files, drives, *, pinned=None) -> Allocation
    usable_bytes(capacity) -> int
    inspect_drive(mount, expected_serial, *, allow_simulated) -> DriveObservation
    check_safe_to_write(mount, serial, *, owner_id, needed_bytes, staging_root, allow_simulated)
    read_drive_state(mount) -> DriveState | None
    prepare_drive(mount, serial, files, staging_root, *, owner_id, progress=None, verify=False,
                  allow_simulated=False) -> PreparedDrive
    verify_drive(mount) -> VerifyReport
    create_simulated_drive(path, serial, capacity)
    ProgressEvent, ProgressCallback, make_progress(...)
    encryption: encryptor_for(...), BitLockerKey
    manifest: read_manifest, write_manifest, manifest_hash, MANIFEST_NAME, MANIFEST_FILE
See docs/drives.md.
"""

from seedctl.drives.identity import DriveObservation, check_safe_to_write, inspect_drive
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
from seedctl.drives.simulated import create_simulated_drive

__all__ = [
    "DRIVE_HEADER_HASH", "MANIFEST_FILE", "MANIFEST_NAME", "DriveManifest", "ManifestBlob", "ManifestBlock",
    "ManifestError", "manifest_hash", "read_manifest", "write_manifest",
    "DriveObservation", "check_safe_to_write", "inspect_drive", "create_simulated_drive",
]
