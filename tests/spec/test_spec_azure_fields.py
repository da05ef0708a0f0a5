"""Issue 24: the spec fields that meet Azure's own rules — the country code Data Box wants and the
storage account's shared key access."""

from __future__ import annotations

import pytest

from seedctl.errors import SpecError
from seedctl.spec import load_spec_text

SPEC = """\
version: 1
name: t
azure: {cloud: sandbox, subscription_id: 00000000-0000-0000-0000-000000000000, resource_group: rg, location: westus}
storage_account: {name: seedstore}
container: {name: seed}
staging: {path: ./staging}
drives:
  - {serial: D1, mount_point: ./d1, bitlocker: {key: {env: D1_KEY}}}
import_job:
  name: job-one
  api: API
  return_address: {recipient: A, street1: B, city: C, postal_code: "1", country_or_region: US, phone: "+1 555 0100", email: a@b.co}
  return_shipping: {carrier_name: UPS, carrier_account_number: "1"}
"""


def spec_text(api: str = "databox") -> str:
    return SPEC.replace("api: API", f"api: {api}")


@pytest.mark.parametrize(("country", "fix"), [("United States", "use US"), ("USA", "use US"), ("us", "use US"),
                                              ("Deutschland", "use DE"), ("XX", "two-letter code")])
def test_a_data_box_address_needs_an_iso_country_code(country: str, fix: str) -> None:
    text = spec_text("databox").replace("country_or_region: US", f"country_or_region: {country}")
    with pytest.raises(SpecError) as info:
        load_spec_text(text, "seed.yaml")
    message = str(info.value)
    assert "import_job.return_address.country_or_region" in message and fix in message, message
    assert "seed.yaml:" in message  # with its line and column


def test_a_classic_address_keeps_its_country_name() -> None:
    # the 2016-11-01 examples send "USA": the classic service takes names
    text = spec_text("importexport").replace("country_or_region: US", "country_or_region: USA")
    assert load_spec_text(text, "seed.yaml").import_job.return_address.country_or_region == "USA"


@pytest.mark.parametrize(("line", "value"), [("", None), ("\n  allow_shared_key_access: false", False),
                                             ("\n  allow_shared_key_access: true", True)])
def test_shared_key_access_is_unset_unless_the_spec_says(line: str, value: bool | None) -> None:
    text = spec_text().replace("storage_account: {name: seedstore}", "storage_account:\n  name: seedstore" + line)
    assert load_spec_text(text, "seed.yaml").storage_account.allow_shared_key_access is value


def test_shared_key_access_is_a_boolean() -> None:
    text = spec_text().replace("storage_account: {name: seedstore}",
                               "storage_account:\n  name: seedstore\n  allow_shared_key_access: sometimes")
    with pytest.raises(SpecError, match="allow_shared_key_access"):
        load_spec_text(text, "seed.yaml")
