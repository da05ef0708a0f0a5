"""A hand-built plan that exercises every renderer feature, and a huge one for truncation."""

from __future__ import annotations

from seedctl.plan import (
    CREATE,
    DEFERRED,
    DELETE,
    ERROR,
    NOOP,
    REPLACE,
    UPDATE,
    AttributeChange,
    Change,
    Plan,
)

# looks like a BitLocker recovery key; must never reach any output
SECRET = "482361-095172-330814-712283-604571-118844-259930-417206"
ACCOUNT_KEY = "c2VlZGN0bC10ZXN0LWFjY291bnQta2V5LWRvLW5vdC1sZWFr=="


def sample_plan() -> Plan:
    changes = [
        Change(
            address='provider["Microsoft.ImportExport"]', kind="provider", name="Microsoft.ImportExport",
            action=NOOP, observed_fingerprint="0f1e2d3c4b5a69788796a5b4"),
        Change(
            address='resource_group["rg-seed"]', kind="resource_group", name="rg-seed", action=NOOP,
            notes=["a no-op note that is not shown"], observed_fingerprint="1a2b3c4d5e6f7a8b9c0d1e2f"),
        Change(
            address='storage_account["stseed01"]', kind="storage_account", name="stseed01", action=CREATE,
            attributes=[
                AttributeChange("location", None, "westeurope"),
                AttributeChange("sku", None, "Standard_LRS"),
                AttributeChange("kind", None, "StorageV2"),
                # insertion order deliberately unsorted: output must sort keys
                AttributeChange("tags", None, {"team": "backup", "owner": "ops", "seedctl": "managed"}),
                AttributeChange("id", None, None, known_after_apply=True),
                AttributeChange("access_key", None, ACCOUNT_KEY, sensitive=True),
            ],
            depends_on=['resource_group["rg-seed"]']),
        Change(
            address='storage_account["stlegacy"]', kind="storage_account", name="stlegacy", action=UPDATE,
            attributes=[
                AttributeChange("sku", "Standard_GRS", "Standard_LRS", drift=True),
                AttributeChange("min_tls_version", "TLS1_0", "TLS1_2"),
                AttributeChange("allowed_networks", None, ["10.0.0.0/24", "10.1.0.0/24"]),
                AttributeChange("legacy_flag", "on", None),
            ],
            notes=["sku was changed outside seedctl since the last apply"],
            observed_fingerprint="2b3c4d5e6f7a8b9c0d1e2f3a"),
        Change(
            address='container["seed-data"]', kind="container", name="seed-data", action=REPLACE,
            attributes=[
                AttributeChange("storage_account", "stold", "stseed01", forces_replacement=True),
            ],
            observed_fingerprint="3c4d5e6f7a8b9c0d1e2f3a4b"),
        Change(
            address='container["obsolete"]', kind="container", name="obsolete", action=DELETE,
            attributes=[AttributeChange("public_access", "Blob", None)],
            observed_fingerprint="4d5e6f7a8b9c0d1e2f3a4b5c"),
        Change(
            address='staging["main"]', kind="staging", name="main", action=DEFERRED,
            deferred_reason="staging path \\\\fileserver\\backup\\staging is not reachable from here"),
        Change(
            address='drive["WD-WCC4N1234567"]', kind="drive", name="WD-WCC4N1234567", action=CREATE,
            attributes=[
                AttributeChange("serial", None, "WD-WCC4N1234567"),
                AttributeChange("bitlocker_key", None, SECRET, sensitive=True),
                AttributeChange("manifest_hash", None, None, known_after_apply=True),
            ],
            summary={"to_write_bytes": 1_650_000_000_000, "fill_ratio": 0.8249, "files": 12345,
                     "capacity": 2_000_398_934_016, "bytes": 1_650_000_000_000, "to_write_files": 12345,
                     "unknown_key": {"ignored": True}},
            notes=["drive is empty and will be initialised by seedctl"]),
        Change(
            address='drive["WD-WCC4N7654321"]', kind="drive", name="WD-WCC4N7654321", action=UPDATE,
            attributes=[
                AttributeChange("files", 998, 1000),
                AttributeChange("bitlocker_key", "old-key-000000000000", SECRET, sensitive=True),
            ],
            summary={"files": 1000, "bytes": 750_000_000_000, "fill_ratio": 0.375, "capacity": 2_000_398_934_016,
                     "to_write_files": 2, "to_write_bytes": 1_500_000_000}),
        Change(
            address='drive["WD-UNATTACHED0001"]', kind="drive", name="WD-UNATTACHED0001", action=DEFERRED,
            deferred_reason="drive not attached to this computer"),
        Change(
            address='import_job["fs-seed-2026-11"]', kind="import_job", name="fs-seed-2026-11", action=ERROR,
            attributes=[
                AttributeChange("drives[1].drive_id", None, "WD-WCC4N7654321"),
                AttributeChange("drive WD-OLD0000000", "WD-OLD0000000", None),
            ],
            errors=[
                "the drive list of import job fs-seed-2026-11 cannot change in state Transferring: the drives "
                "have left the copy computer (changes: drives[1].drive_id, drive WD-OLD0000000). Restore the "
                "drives in the spec, or use a new job for new drives",
                # a careless message that embeds the secret: it must still not leak
                f"drive WD-WCC4N7654321 rejected key {SECRET}\nsecond line of the message",
            ],
            summary={"phase": "transferring", "fields": []},
            depends_on=['drive["WD-WCC4N1234567"]', 'drive["WD-WCC4N7654321"]', 'container["seed-data"]']),
        Change(
            address='shipment["fs-seed-2026-11"]', kind="shipment", name="fs-seed-2026-11", action=NOOP,
            attributes=[AttributeChange("carrier_name", "FedEx", "FedEx", drift=True)],
            observed_fingerprint="5e6f7a8b9c0d1e2f3a4b5c6d"),
    ]
    return Plan(spec_name="fs-seed", spec_path="examples/seed.yaml", spec_fingerprint="9f8e7d6c5b4a39281706f5e4",
                cloud="AzureCloud", local_state="skipped", changes=changes, seedctl_version="0.1.0")


def empty_plan() -> Plan:
    changes = [Change(address=f'container["c{i}"]', kind="container", name=f"c{i}", action=NOOP,
                      observed_fingerprint="a" * 24) for i in range(3)]
    return Plan(spec_name="fs-seed", spec_path=None, spec_fingerprint="9f8e7d6c5b4a39281706f5e4",
                cloud="sandbox", local_state="observed", changes=changes, seedctl_version="0.1.0")


def huge_plan(nodes: int = 3000, errors: int = 0) -> Plan:
    changes = []
    for i in range(nodes):
        changes.append(Change(
            address=f'drive["SERIAL{i:06d}"]', kind="drive", name=f"SERIAL{i:06d}", action=CREATE,
            attributes=[AttributeChange("serial", None, f"SERIAL{i:06d}"),
                        AttributeChange("mount_point", None, f"/mnt/drive{i}"),
                        AttributeChange("bitlocker_key", None, SECRET, sensitive=True)],
            summary={"files": 1000 + i, "bytes": 10**12, "fill_ratio": 0.5, "capacity": 2 * 10**12}))
    for i in range(errors):
        changes.append(Change(address=f'import_job["job{i}"]', kind="import_job", name=f"job{i}", action=ERROR,
                              errors=[f"job{i} cannot change in state Transferring " + "x" * 200]))
    return Plan(spec_name="huge", spec_path="huge.yaml", spec_fingerprint="0" * 24, cloud="AzureCloud",
                local_state="observed", changes=changes, seedctl_version="0.1.0")

