"""Build the typed model from a document that passed the schema and the semantic checks."""

from __future__ import annotations

from typing import Any

from seedctl.spec.model import (
    DEFAULT_PROVIDER_FOR_API,
    Address,
    AzureSettings,
    BitLockerSpec,
    ContainerSpec,
    DriveSpec,
    ImportJobSpec,
    ReturnShipping,
    SecretRef,
    SeedingSpec,
    ShipmentSpec,
    StagingSpec,
    StorageAccountSpec,
    VaultSpec,
)
from seedctl.spec.sizes import parse_size


def _secret(raw: dict[str, Any], base_dir: str) -> SecretRef:
    return SecretRef(env=raw.get("env"), file=raw.get("file"), base_dir=base_dir)


def _drive(raw: dict[str, Any], base_dir: str) -> DriveSpec:
    bitlocker_raw = raw["bitlocker"]
    key = bitlocker_raw.get("key")
    bitlocker = BitLockerSpec(key=_secret(key, base_dir) if key else None,
                              manage=bool(bitlocker_raw.get("manage", False)))
    capacity = raw.get("capacity")
    return DriveSpec(serial=raw["serial"], mount_point=raw["mount_point"],
                     capacity=parse_size(capacity) if capacity is not None else None, bitlocker=bitlocker)


def _job(raw: dict[str, Any]) -> ImportJobSpec:
    addr = raw["return_address"]
    ship = raw["return_shipping"]
    api = raw["api"]
    databox = api == "databox"
    # One log level for consumers whichever back end: log_level mirrors log_collection_level on
    # Data Box jobs, so code that reads log_level keeps working.
    level = raw.get("log_collection_level", "Error") if databox else raw.get("log_level", "Error")
    return ImportJobSpec(
        name=raw["name"],
        api=api,
        resource_group=raw.get("resource_group"),
        return_address=Address(
            recipient=addr["recipient"], street1=addr["street1"], street2=addr.get("street2"),
            city=addr["city"], state_or_province=addr.get("state_or_province"),
            postal_code=addr["postal_code"], country_or_region=addr["country_or_region"],
            phone=addr["phone"], email=addr["email"],
        ),
        return_shipping=ReturnShipping(carrier_name=ship["carrier_name"],
                                       carrier_account_number=ship["carrier_account_number"]),
        diagnostics_path=raw.get("diagnostics_path", "waimportexport"),
        log_level=level,
        backup_drive_manifest=bool(raw.get("backup_drive_manifest", False)),
        notification_emails=tuple(raw.get("notification_emails", ())),
        log_collection_level=level if databox else None,
    )


def build_spec(data: dict[str, Any], *, base_dir: str, source_path: str | None) -> SeedingSpec:
    azure_raw = data["azure"]
    azure = AzureSettings(
        cloud=azure_raw["cloud"], subscription_id=azure_raw["subscription_id"].lower(),
        resource_group=azure_raw["resource_group"], location=azure_raw["location"],
        tags=dict(azure_raw.get("tags", {})), tenant_id=azure_raw.get("tenant_id"),
    )
    sa = data["storage_account"]
    container = data["container"]
    staging = data["staging"]
    vault_raw = data.get("vault")
    job_raw = data.get("import_job")
    shipment_raw = data.get("shipment")
    job = _job(job_raw) if job_raw else None
    if "providers" in data:
        providers = tuple(data["providers"])
    else:
        providers = (DEFAULT_PROVIDER_FOR_API[job.api],) if job else ()
    return SeedingSpec(
        version=int(data["version"]),  # JSON Schema accepts 1.0 for const 1
        name=data["name"],
        azure=azure,
        providers=providers,
        vault=VaultSpec(name=vault_raw["name"], resource_group=vault_raw.get("resource_group", azure.resource_group),
                        create=bool(vault_raw.get("create", False))) if vault_raw else None,
        storage_account=StorageAccountSpec(
            name=sa["name"], kind=sa.get("kind", "StorageV2"), sku=sa.get("sku", "Standard_LRS"),
            create=bool(sa.get("create", False)), resource_group=sa.get("resource_group"),
            allow_shared_key_access=sa.get("allow_shared_key_access"),
        ),
        container=ContainerSpec(name=container["name"], prefix=container.get("prefix", ""),
                                create=bool(container.get("create", True))),
        staging=StagingSpec(path=staging["path"], include=tuple(staging.get("include", ())),
                            exclude=tuple(staging.get("exclude", ())), strict=staging.get("strict") is True,
                            blob_type=staging.get("blob_type", "page")),
        drives=tuple(_drive(d, base_dir) for d in data["drives"]),
        import_job=job,
        shipment=ShipmentSpec(
            carrier_name=shipment_raw["carrier_name"], tracking_number=shipment_raw["tracking_number"],
            ship_date=shipment_raw.get("ship_date"),
            drive_count=int(shipment_raw["drive_count"]) if "drive_count" in shipment_raw else None,
        ) if shipment_raw else None,
        source_path=source_path,
    )
