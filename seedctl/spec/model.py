"""The typed, immutable seeding-spec model that the loader produces and everything else reads.

Only the loader (`seedctl.spec.loader`) builds these objects from YAML; every other module treats
them as read-only values. Secrets are held as references (`SecretRef`), never as values: the value
is resolved at the moment it is sent to Azure and is never stored on a model object.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from seedctl.errors import SecretError
from seedctl.spec.secretfile import read_secret_file

CLOUDS = ("AzureCloud", "AzureUSGovernment", "AzureChinaCloud", "sandbox")
JOB_APIS = ("importexport", "databox")
DEFAULT_PROVIDER_FOR_API = {"importexport": "Microsoft.ImportExport", "databox": "Microsoft.DataBox"}
# Carrier names as Azure spells them (reference §3.7); a datacenter's own list is authoritative
CARRIERS = ("Blue Dart", "DHL", "FedEx", "TNT", "UPS")


@dataclass(frozen=True)
class SecretRef:
    """A pointer to a secret: an environment variable or a file. Its repr never shows the value."""

    env: str | None = None
    file: str | None = None
    # the folder the spec file is in, so relative `file:` paths are relative to the spec
    base_dir: str = "."

    def describe(self) -> str:
        """A safe description of where the secret comes from (for messages)."""
        return f"env:{self.env}" if self.env else f"file:{self.file}"

    def resolve(self, environ: Mapping[str, str] | None = None) -> str:
        """Read the secret now. Raises SecretError naming the reference, never the value.

        `environ` defaults to the process environment; commands pass `Env.environ` so tests can
        supply their own.
        """
        from seedctl.azure.redact import remember

        value = self.inspect(environ)[0]
        remember(value)  # a secret read is a secret known: no message or log shows it (issue 15)
        return value

    def inspect(self, environ: Mapping[str, str] | None = None) -> tuple[str, list[str]]:
        """(the secret, warnings about how it is kept), e.g. a key file other users can read."""
        if self.env:
            value = (os.environ if environ is None else environ).get(self.env)
            if value is None or not value.strip():
                raise SecretError(f"secret env:{self.env} is not set; export {self.env} before running seedctl")
            return value.strip(), []
        if self.file:
            if "\x00" in self.file:
                raise SecretError(f"secret {self.describe()!r} has a NUL character in its path; "
                                  "no file can have that name")
            path = Path(self.file).expanduser()
            if not path.is_absolute():
                path = Path(self.base_dir) / path
            return read_secret_file(path, self.describe())
        raise SecretError("secret reference names neither env nor file")

    def is_resolvable(self, environ: Mapping[str, str] | None = None) -> bool:
        try:
            self.resolve(environ)
        except SecretError:
            return False
        return True

    def __repr__(self) -> str:  # never the value: the value is not even held here
        return f"SecretRef({self.describe()})"


@dataclass(frozen=True)
class AzureSettings:
    cloud: str
    subscription_id: str
    resource_group: str
    location: str
    tags: dict[str, str] = field(default_factory=dict)
    tenant_id: str | None = None


@dataclass(frozen=True)
class VaultSpec:
    """A Recovery Services vault. `create: false` means seedctl only checks that it exists."""

    name: str
    resource_group: str
    create: bool = False


@dataclass(frozen=True)
class StorageAccountSpec:
    name: str
    kind: str = "StorageV2"  # "Storage" (general purpose v1) or "StorageV2"
    sku: str = "Standard_LRS"
    create: bool = False
    resource_group: str | None = None  # defaults to azure.resource_group
    # allowSharedKeyAccess; None: not in the spec (true when seedctl creates the account, not
    # compared on an existing one). docs/getting-started.md says why the default is true.
    allow_shared_key_access: bool | None = None


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    prefix: str = ""  # virtual directory for the imported blobs, without leading/trailing '/'
    create: bool = True


@dataclass(frozen=True)
class StagingSpec:
    path: str
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    strict: bool = False  # entries the scan would skip are errors instead (staging.strict)
    blob_type: str = "page"  # "page" (the backup agent's seed) or "block" (general data sets)


@dataclass(frozen=True)
class BitLockerSpec:
    """Either a key for a drive that is already encrypted and unlocked, or manage=True."""

    key: SecretRef | None = None
    manage: bool = False


@dataclass(frozen=True)
class DriveSpec:
    serial: str  # the hardware serial number, without spaces (the job's DriveId)
    mount_point: str
    capacity: int | None = None  # bytes, when the spec states an expected capacity
    bitlocker: BitLockerSpec | None = None


@dataclass(frozen=True)
class Address:
    recipient: str
    street1: str
    city: str
    postal_code: str
    country_or_region: str
    phone: str
    email: str
    street2: str | None = None
    state_or_province: str | None = None


@dataclass(frozen=True)
class ReturnShipping:
    carrier_name: str
    carrier_account_number: str


@dataclass(frozen=True)
class ImportJobSpec:
    name: str
    return_address: Address
    return_shipping: ReturnShipping
    api: str = "importexport"  # "importexport" (Microsoft.ImportExport/jobs) or "databox"
    diagnostics_path: str = "waimportexport"
    log_level: str = "Error"  # "Error" or "Verbose"
    backup_drive_manifest: bool = False
    resource_group: str | None = None  # defaults to azure.resource_group
    # Data Box only: extra notification e-mails and the copy-log collection level
    notification_emails: tuple[str, ...] = ()
    log_collection_level: str | None = None


@dataclass(frozen=True)
class ShipmentSpec:
    carrier_name: str
    tracking_number: str
    ship_date: str | None = None  # ISO date, YYYY-MM-DD
    drive_count: int | None = None


@dataclass(frozen=True)
class SeedingSpec:
    version: int
    name: str
    azure: AzureSettings
    storage_account: StorageAccountSpec
    container: ContainerSpec
    staging: StagingSpec
    drives: tuple[DriveSpec, ...]
    providers: tuple[str, ...] = ()
    vault: VaultSpec | None = None
    import_job: ImportJobSpec | None = None
    shipment: ShipmentSpec | None = None
    # where the spec was read from (None for specs built in code); not part of the contract
    source_path: str | None = None

    @property
    def storage_resource_group(self) -> str:
        return self.storage_account.resource_group or self.azure.resource_group

    @property
    def job_resource_group(self) -> str:
        if self.import_job and self.import_job.resource_group:
            return self.import_job.resource_group
        return self.azure.resource_group

    @property
    def base_dir(self) -> Path:
        return Path(self.source_path).resolve().parent if self.source_path else Path.cwd()

    def staging_root(self) -> Path:
        """The staging folder, relative paths taken from the spec file's folder."""
        path = Path(self.staging.path).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    def mount_path(self, drive: DriveSpec) -> Path:
        path = Path(drive_root(drive.mount_point)).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    def secret_refs(self) -> list[tuple[str, SecretRef]]:
        """Every secret reference in the spec with its field path (for validation messages)."""
        refs = []
        for i, drive in enumerate(self.drives):
            if drive.bitlocker and drive.bitlocker.key:
                refs.append((f"drives[{i}].bitlocker.key", drive.bitlocker.key))
        return refs


def drive_root(mount_point: str) -> str:
    """`E:` is drive-relative on Windows (`E:seed` is "seed in E:'s current folder"); as a mount
    point it means the root of E:, so it becomes `E:\\`. Everything else is unchanged."""
    if len(mount_point) == 2 and mount_point[1] == ":" and mount_point[0].isascii() and mount_point[0].isalpha():
        return mount_point + "\\"
    return mount_point
