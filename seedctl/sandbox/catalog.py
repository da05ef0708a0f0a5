"""Static facts the sandbox serves: resource providers and their api-versions, regions, and the
Import/Export datacenters (shipping addresses and carriers), modelled on the real answers."""

from __future__ import annotations

from typing import Any

RESOURCES_VERSIONS = frozenset({
    "2015-11-01", "2016-02-01", "2016-09-01", "2017-05-10", "2018-05-01", "2019-05-10", "2019-07-01",
    "2019-10-01", "2020-06-01", "2020-10-01", "2021-01-01", "2021-04-01", "2022-09-01", "2023-07-01",
    "2024-03-01", "2024-07-01", "2024-11-01", "2025-01-01", "2025-03-01", "2025-04-01",
})
STORAGE_VERSIONS = frozenset({
    "2021-09-01", "2022-09-01", "2023-01-01", "2023-04-01", "2023-05-01", "2024-01-01", "2025-01-01",
    "2025-06-01", "2025-08-01", "2026-09-01",
})
IMPORTEXPORT_VERSIONS = frozenset({"2016-11-01", "2020-08-01", "2021-01-01"})
DATABOX_VERSIONS = frozenset({"2022-12-01", "2023-03-01", "2023-12-01", "2024-02-01-preview",
                              "2024-03-01-preview", "2025-02-01", "2025-07-01"})

REGIONS: dict[str, str] = {
    "westus": "West US", "westus2": "West US 2", "westus3": "West US 3", "eastus": "East US",
    "eastus2": "East US 2", "centralus": "Central US", "northcentralus": "North Central US",
    "southcentralus": "South Central US", "westcentralus": "West Central US",
    "canadacentral": "Canada Central", "canadaeast": "Canada East", "brazilsouth": "Brazil South",
    "northeurope": "North Europe", "westeurope": "West Europe", "uksouth": "UK South",
    "ukwest": "UK West", "francecentral": "France Central", "germanywestcentral": "Germany West Central",
    "switzerlandnorth": "Switzerland North", "norwayeast": "Norway East", "swedencentral": "Sweden Central",
    "australiaeast": "Australia East", "australiasoutheast": "Australia Southeast",
    "japaneast": "Japan East", "japanwest": "Japan West", "koreacentral": "Korea Central",
    "southeastasia": "Southeast Asia", "eastasia": "East Asia", "centralindia": "Central India",
    "southindia": "South India", "southafricanorth": "South Africa North",
    "uaenorth": "UAE North",
}


def region_key(location: str) -> str | None:
    """'West US' or 'westus' → 'westus'; None when unknown."""
    key = location.replace(" ", "").lower()
    return key if key in REGIONS else None


# namespace → default registration state and resource types (with the versions we answer).
PROVIDERS: dict[str, dict[str, Any]] = {
    "Microsoft.Resources": {"default": "Registered", "types": {
        "resourceGroups": RESOURCES_VERSIONS, "subscriptions": RESOURCES_VERSIONS}},
    "Microsoft.Storage": {"default": "Registered", "types": {
        "storageAccounts": STORAGE_VERSIONS, "storageAccounts/blobServices/containers": STORAGE_VERSIONS,
        "checkNameAvailability": STORAGE_VERSIONS, "locations/asyncoperations": STORAGE_VERSIONS}},
    "Microsoft.RecoveryServices": {"default": "Registered", "types": {
        "vaults": frozenset({"2016-06-01", "2021-01-01", "2022-10-01", "2023-01-01", "2023-04-01",
                             "2023-06-01", "2024-01-01", "2024-04-01", "2024-10-01", "2025-01-01",
                             "2025-02-01"})}},
    "Microsoft.ImportExport": {"default": "NotRegistered", "types": {
        "jobs": IMPORTEXPORT_VERSIONS, "locations": IMPORTEXPORT_VERSIONS,
        "operations": IMPORTEXPORT_VERSIONS}},
    "Microsoft.DataBox": {"default": "NotRegistered", "types": {
        "jobs": DATABOX_VERSIONS, "locations": DATABOX_VERSIONS, "operations": DATABOX_VERSIONS}},
}


def provider_namespace(name: str) -> str | None:
    for ns in PROVIDERS:
        if ns.lower() == name.lower():
            return ns
    return None


def _dc(recipient: str, street: str, city: str, state: str, postal: str, country: str, phone: str,
        carriers: list[str], extra: str = "") -> dict[str, Any]:
    return {"recipientName": recipient, "streetAddress1": street, "streetAddress2": "", "city": city,
            "stateOrProvince": state, "postalCode": postal, "countryOrRegion": country, "phone": phone,
            "additionalShippingInformation": extra, "supportedCarriers": carriers}


_SERVICE = "Microsoft Azure Import/Export Service"
# Import/Export datacenters (fictional street addresses; carriers as observed per region).
DATACENTERS: dict[str, dict[str, Any]] = {
    "westus": _dc(_SERVICE, "2045 Lafayette Street", "Santa Clara", "CA", "95050", "USA",
                  "408 352 7600", ["FedEx"]),
    "eastus": _dc(_SERVICE, "21625 Gresham Drive", "Ashburn", "VA", "20147", "USA", "703 000 0000",
                  ["Blue Dart", "DHL", "FedEx", "TNT", "UPS"]),
    "westeurope": _dc(_SERVICE, "Boekweitstraat 21", "Amsterdam", "NH", "1000 AA", "Netherlands",
                      "+31 20 000 0000", ["DHL", "FedEx", "TNT", "UPS"]),
    "northeurope": _dc(_SERVICE, "Unit 1 Grange Castle", "Dublin", "Dublin", "D22", "Ireland",
                       "+353 1 000 0000", ["DHL", "FedEx", "UPS"]),
    "uksouth": _dc(_SERVICE, "1 Harbour Exchange Square", "London", "London", "E14 9GE",
                   "United Kingdom", "+44 20 0000 0000", ["DHL", "FedEx", "UPS"],
                   "Write the inbound ID on the parcel."),
    "germanywestcentral": _dc(_SERVICE, "Mainzer Landstrasse 1", "Frankfurt", "HE", "60311", "Germany",
                              "+49 69 000 0000", ["DHL", "UPS"], "Write the inbound ID on the parcel."),
    "australiaeast": _dc(_SERVICE, "1 Henry Deane Place", "Sydney", "NSW", "2000", "Australia",
                         "+61 2 0000 0000", ["DHL"], "Write the inbound ID on the parcel."),
    "japaneast": _dc(_SERVICE, "1-1 Otemachi", "Tokyo", "Tokyo", "100-0004", "Japan", "+81 3 0000 0000",
                     ["DHL", "FedEx"]),
    "centralindia": _dc(_SERVICE, "1 Hinjewadi Phase 1", "Pune", "MH", "411057", "India",
                        "+91 20 0000 0000", ["Blue Dart", "DHL"], "The driver needs a photo ID."),
}
# Where drives for a region without its own Import/Export datacenter are shipped.
ALTERNATES: dict[str, str] = {
    "westus2": "westus", "westus3": "westus", "centralus": "eastus", "eastus2": "eastus",
    "northcentralus": "eastus", "southcentralus": "eastus", "westcentralus": "westus",
    "canadacentral": "eastus", "canadaeast": "eastus", "brazilsouth": "eastus",
    "ukwest": "uksouth", "francecentral": "westeurope", "switzerlandnorth": "westeurope",
    "norwayeast": "northeurope", "swedencentral": "northeurope", "australiasoutheast": "australiaeast",
    "japanwest": "japaneast", "koreacentral": "japaneast", "southeastasia": "japaneast",
    "eastasia": "japaneast", "southindia": "centralindia", "southafricanorth": "westeurope",
    "uaenorth": "westeurope",
}


def shipping_datacenter(region: str) -> str:
    return region if region in DATACENTERS else ALTERNATES.get(region, "eastus")
