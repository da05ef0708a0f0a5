"""The commented starter spec `seedctl init` writes. It validates as written; replace the values."""

from __future__ import annotations

from seedctl.spec.model import DEFAULT_PROVIDER_FOR_API

SCHEMA_MODELINE = "# yaml-language-server: $schema={schema}"

_AGENTS = """\
  # Which backup agent are you seeding from? It decides the job's back end:
  #   databox      MARS agent 2.0.9250.0 or later, DPM 2019 UR1 or later, MABS v3 UR1 or later.
  #                Creates a Microsoft.DataBox job (SKU DataBoxCustomerDisk); needs the
  #                Microsoft.DataBox resource provider.
  #   importexport Older agents. Creates a classic Microsoft.ImportExport job; needs the
  #                Microsoft.ImportExport resource provider. Microsoft documents this API as
  #                discontinued for those agents: upgrade the agent if you can."""

_DATABOX_FIELDS = """\
  # Data Box only: more addresses told about the job's progress, and the copy-log detail.
  notification_emails:
    - backup-team@example.com
  # Verbose: the copy log lists every file with the CRC-64 the service computed while importing it,
  # which `seedctl verify` checks against seedctl's own without downloading anything (and
  # `seedctl destroy --staging` needs for page blobs). Error: failures only.
  log_collection_level: Verbose     # Error or Verbose
  backup_drive_manifest: true       # keep a copy of each drive's manifest in the storage account"""

_CLASSIC_FIELDS = """\
  # Import/Export only: where copy logs go in the storage account, and their detail.
  diagnostics_path: waimportexport
  log_level: Error                  # Error or Verbose
  backup_drive_manifest: true       # keep a copy of each drive's manifest under diagnostics_path"""


def starter_spec(api: str = "databox", *, schema: str = "seeding-spec.schema.json") -> str:
    """A complete, valid, commented spec for the given job back end."""
    fields = _DATABOX_FIELDS if api == "databox" else _CLASSIC_FIELDS
    provider = DEFAULT_PROVIDER_FOR_API[api]
    return f"""\
{SCHEMA_MODELINE.format(schema=schema)}
#
# seedctl seeding spec: the offline seed of one server's initial backup, on 1 to 10 drives.
# Replace every value below with yours, then run `seedctl validate` and `seedctl plan`.
# Field reference: `seedctl schema` (your editor shows it as help through the line above).
version: 1
name: my-first-seed

azure:
  cloud: AzureCloud                 # AzureCloud, AzureUSGovernment, AzureChinaCloud or sandbox
  subscription_id: 00000000-0000-0000-0000-000000000000   # az account show --query id
  resource_group: rg-backup
  location: westus                  # the region of the vault and storage account

# Resource providers seedctl registers if needed. Default: the one the job's api needs.
providers:
  - {provider}

vault:                              # the Recovery Services vault the backup agent uses
  name: my-backup-vault
  create: false                     # true: seedctl creates it when missing

storage_account:                    # the same subscription as the vault; GPv1 or GPv2
  name: myseedstorage01             # 3-24 lowercase letters and digits, unique in Azure
  kind: StorageV2
  create: false

container:
  name: offline-seed                # the container you give the backup agent's wizard

staging:
  path: 'D:\\MARS-Staging'           # the agent's staging location, as the copy computer sees it

drives:                             # 1 to 10 drives; SATA, NTFS, BitLocker
  - serial: WD-WCC4N0000001         # the hardware serial, without spaces
    mount_point: 'E:\\'
    capacity: 4TB                   # optional: refuse a drive of another size
    bitlocker:
      # A drive already encrypted and unlocked: where to read its 48-digit recovery password.
      # Never write the password here: specs live in git.
      key: {{env: SEED_BITLOCKER_DRIVE1}}
  - serial: WD-WCC4N0000002
    mount_point: 'F:\\'
    capacity: 4TB
    bitlocker:
      manage: true                  # Windows only: seedctl turns BitLocker on and reads the key

import_job:
  name: my-seed-job                 # the import job name you give the backup agent's wizard
{_AGENTS}
  api: {api}
  return_address:                   # where the drives come back to; also the job's contact
    recipient: Your Name
    street1: 1 Example Street
    city: Redmond
    state_or_province: WA
    postal_code: "98052"            # quoted, so leading zeros survive
    country_or_region: US
    phone: "+1 425 555 0100"
    email: you@example.com
  return_shipping:
    carrier_name: FedEx             # Blue Dart, DHL, FedEx, TNT or UPS
    carrier_account_number: "000000000"
{fields}

# When the drives have left (within two weeks of the job's creation), uncomment and apply:
# shipment:
#   carrier_name: FedEx
#   tracking_number: "000000000000"
#   ship_date: 2026-01-31
#   drive_count: 2
"""


SANDBOX_SERIALS = ("SANDBOX-DRIVE-01", "SANDBOX-DRIVE-02")
SANDBOX_CAPACITY = "128MiB"


def sandbox_spec(api: str = "databox", *, schema: str = "seeding-spec.schema.json") -> str:
    """A spec that runs as written against the local sandbox (`seedctl init --sandbox`): cloud
    sandbox, everything created, a staging folder and drives beside the spec, key files that
    `seedctl sandbox drive -f` writes."""
    fields = _DATABOX_FIELDS if api == "databox" else _CLASSIC_FIELDS
    drives = "\n".join(f"""\
  - serial: {serial}
    mount_point: ./drives/{serial}   # a folder that plays the drive
    capacity: {SANDBOX_CAPACITY}
    bitlocker:
      key: {{file: ./keys/{serial}.key}}   # `seedctl sandbox drive -f` writes it (mode 0600)""" for serial in SANDBOX_SERIALS)
    return f"""\
{SCHEMA_MODELINE.format(schema=schema)}
#
# A seeding spec for the local sandbox (`seedctl sandbox up`): nothing leaves this computer.
# Relative paths are taken from this file's folder. For a real subscription start from
# `seedctl init` instead; field reference: `seedctl schema` or docs/spec-reference.md.
version: 1
name: sandbox-seed

azure:
  cloud: sandbox                    # the local ARM server and Azurite
  subscription_id: 00000000-0000-0000-0000-000000000000
  resource_group: seed-sandbox-rg
  location: westus

vault:
  name: seed-sandbox-vault
  create: true

storage_account:
  name: seedsandboxstore
  kind: StorageV2
  create: true

container:
  name: offline-seed

staging:
  path: ./staging                   # `seedctl init --sandbox` put sample data here: a backup agent's
                                    # staging shape (per data source a *.BaseBlob and a *.AIBBlob)

drives:                             # make them with: seedctl sandbox drive -f <this file>
{drives}

import_job:
  name: sandbox-seed-job
  api: {api}
  return_address:
    recipient: Sandbox User
    street1: 1 Sandbox Street
    city: Redmond
    state_or_province: WA
    postal_code: "98052"
    country_or_region: US
    phone: "+1 425 555 0100"
    email: you@example.com
  return_shipping:
    carrier_name: FedEx
    carrier_account_number: "000000000"
{fields}
"""
