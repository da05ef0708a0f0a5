"""The loader's model output, defaults, warnings, secrets and error reporting."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from seedctl.errors import SpecError
from seedctl.spec import load_spec, load_spec_text, validate_spec_text
from seedctl.spec.checks import canonical_path
from seedctl.spec.sizes import format_size, parse_size

BASE = """\
version: 1
name: t
azure: {cloud: sandbox, subscription_id: 00000000-0000-0000-0000-000000000000, resource_group: rg, location: westus}
storage_account: {name: seedstore}
container: {name: seed}
staging: {path: ./staging}
drives:
  - serial: D1
    mount_point: ./d1
    capacity: 1.5GiB
    bitlocker: {key: {env: D1_KEY}}
"""
JOB = """\
import_job:
  name: job-one
  api: {api}
  return_address: {{recipient: A, street1: B, city: C, postal_code: "1", country_or_region: US, phone: "+1 555 0100", email: a@b.co}}
  return_shipping: {{carrier_name: UPS, carrier_account_number: "1"}}
"""


def spec_text(api: str | None = "databox", extra: str = "") -> str:
    return BASE + (JOB.format(api=api) if api else "") + extra


def test_defaults_and_model() -> None:
    spec = load_spec_text(spec_text(), "t.yaml")
    assert spec.storage_account.kind == "StorageV2" and spec.storage_account.sku == "Standard_LRS"
    assert spec.container.create is True and spec.container.prefix == ""
    assert spec.drives[0].capacity == int(1.5 * 1024**3)
    assert spec.providers == ("Microsoft.DataBox",)
    job = spec.import_job
    assert job is not None
    assert job.log_collection_level == "Error" and job.log_level == "Error"
    assert spec.vault is None and spec.shipment is None


def test_provider_follows_api_and_classic_fields() -> None:
    spec = load_spec_text(spec_text("importexport", "  log_level: Verbose\n  diagnostics_path: logs\n"))
    assert spec.providers == ("Microsoft.ImportExport",)
    assert spec.import_job.log_level == "Verbose"
    assert spec.import_job.log_collection_level is None
    assert spec.import_job.diagnostics_path == "logs"


def test_databox_fields() -> None:
    extra = "  log_collection_level: Verbose\n  notification_emails: [x@y.org]\n"
    spec = load_spec_text(spec_text("databox", extra))
    assert spec.import_job.log_collection_level == "Verbose"
    assert spec.import_job.log_level == "Verbose"
    assert spec.import_job.notification_emails == ("x@y.org",)


def test_vault_resource_group_defaults_to_azure() -> None:
    spec = load_spec_text(spec_text(extra="vault: {name: v1}\n"))
    assert spec.vault.resource_group == "rg"


def test_all_errors_at_once() -> None:
    text = spec_text().replace("name: seedstore", "name: Seed_Store").replace("name: seed}", "name: S}")
    text = text.replace("serial: D1", "serial: D 1")
    with pytest.raises(SpecError) as info:
        load_spec_text(text, "t.yaml")
    problems = info.value.problems
    assert len(problems) == 3
    assert [p.split(":")[1] for p in problems] == sorted([p.split(":")[1] for p in problems], key=int)
    assert any("storage_account.name" in p for p in problems)
    assert any("container.name" in p for p in problems)
    assert any("drives[0].serial" in p for p in problems)


def test_literal_secret_value_never_printed() -> None:
    secret = "482031-553201-100287-664422-318890-020563-770031-451122"
    text = spec_text().replace("{env: D1_KEY}", f'"{secret}"')
    with pytest.raises(SpecError) as info:
        load_spec_text(text, "t.yaml")
    assert secret not in str(info.value)
    assert "specs live in git" in str(info.value)


def test_unresolvable_secret_is_warning_then_error(tmp_path: Path) -> None:
    result = validate_spec_text(spec_text(), "t.yaml", environ={})
    assert len(result.warnings) == 1 and "D1_KEY" in result.warnings[0]
    assert result.warnings[0].startswith("t.yaml:11:")
    with pytest.raises(SpecError, match="D1_KEY"):
        validate_spec_text(spec_text(), "t.yaml", environ={}, check_secrets=True)
    ok = validate_spec_text(spec_text(), "t.yaml", environ={"D1_KEY": "111111-222222"}, check_secrets=True)
    assert ok.warnings == ()
    assert "111111" not in repr(ok.spec)


def test_secret_file_relative_to_spec(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "d1.key").write_text("123456-654321\n")
    path = tmp_path / "seed.yaml"
    path.write_text(spec_text().replace("{env: D1_KEY}", "{file: keys/d1.key}"))
    spec = load_spec(path, check_secrets=True)
    assert spec.drives[0].bitlocker.key.resolve() == "123456-654321"
    assert spec.source_path == str(path)


def test_missing_file_message(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="seedctl init"):
        load_spec(tmp_path / "seed.yaml")
    with pytest.raises(SpecError, match="folder"):
        load_spec(tmp_path)


def test_shipment_warning_when_fewer_drives_listed() -> None:
    text = spec_text().replace("drives:\n", "drives:\n  - {serial: D0, mount_point: ./d0, bitlocker: {manage: true}}\n")
    text += "shipment: {carrier_name: UPS, tracking_number: \"1Z\", drive_count: 1}\n"
    result = validate_spec_text(text, "t.yaml", environ={"D1_KEY": "1"})
    assert any("one package" in w for w in result.warnings)


def test_providers_without_job_provider_warns() -> None:
    result = validate_spec_text(spec_text(extra="providers: [Microsoft.Storage]\n"), environ={"D1_KEY": "1"})
    assert any("Microsoft.DataBox" in w for w in result.warnings)
    assert result.spec.providers == ("Microsoft.Storage",)


def test_yaml12_scalars() -> None:
    # YAML 1.1 would turn NO into False and 0123 into an octal number
    text = spec_text().replace("country_or_region: US", "country_or_region: NO")
    spec = load_spec_text(text)
    assert spec.import_job.return_address.country_or_region == "NO"


def test_aliases_allowed_but_bombs_refused() -> None:
    text = spec_text().replace("resource_group: rg,", "resource_group: &rg rg,") + "vault: {name: v1, resource_group: *rg}\n"
    assert load_spec_text(text).vault.resource_group == "rg"
    bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(9))
    with pytest.raises(SpecError, match="expands to more than"):
        load_spec_text(bomb, "bomb.yaml")


def test_json_spec_is_accepted() -> None:
    import json
    data = yaml.safe_load(spec_text())
    spec = load_spec_text(json.dumps(data), "seed.json")
    assert spec.name == "t"


@pytest.mark.parametrize("text,size", [("2TB", 2 * 10**12), ("1.8TiB", int(1.8 * 1024**4)), ("500GB", 500 * 10**9),
                                       ("512MB", 512 * 10**6), ("1 KiB", 1024), (4096, 4096)])
def test_sizes(text: str | int, size: int) -> None:
    assert parse_size(text) == size


def test_size_errors_and_format() -> None:
    for bad in ("2 TBs", "0.1B", 0, True, "-1GB"):
        with pytest.raises(ValueError):
            parse_size(bad)  # type: ignore[arg-type]
    assert format_size(2 * 10**12) == "2.0 TB"


@pytest.mark.parametrize("inner,outer,inside", [
    ("E:\\", "e:", True), ("E:\\staging", "E:\\", True), ("D:\\x", "E:\\", False),
    ("\\\\srv\\share\\staging\\d1", "\\\\srv\\share\\staging", True),
    ("./a/b", "a", True), ("/mnt/a", "/mnt/ab", False), ("/mnt/a/../b", "/mnt/b", True),
])
def test_path_nesting(inner: str, outer: str, inside: bool) -> None:
    from seedctl.spec.checks import _inside
    assert _inside(canonical_path(inner), canonical_path(outer)) is inside


def test_windows_mount_inside_staging_is_an_error() -> None:
    text = spec_text().replace("path: ./staging", "path: 'E:\\Staging'").replace("mount_point: ./d1", "mount_point: 'e:\\staging\\d1'")
    with pytest.raises(SpecError, match="inside the staging folder"):
        load_spec_text(text)


def test_integral_floats_are_integers() -> None:
    text = spec_text().replace("version: 1", "version: 1.0").replace("capacity: 1.5GiB", "capacity: 4096.0")
    text += "shipment: {carrier_name: UPS, tracking_number: \"1Z\", drive_count: 1.0}\n"
    spec = load_spec_text(text)
    assert spec.version == 1 and isinstance(spec.version, int)
    assert spec.drives[0].capacity == 4096 and spec.shipment.drive_count == 1
    assert isinstance(spec.shipment.drive_count, int)


def test_blob_type_defaults_to_page_and_block_is_accepted() -> None:
    assert load_spec_text(spec_text(), "t.yaml").staging.blob_type == "page"
    block = spec_text().replace("staging: {path: ./staging}", "staging: {path: ./staging, blob_type: block}")
    assert load_spec_text(block, "t.yaml").staging.blob_type == "block"
    with pytest.raises(SpecError, match="staging.blob_type"):
        load_spec_text(spec_text().replace("staging: {path: ./staging}", "staging: {path: ./staging, blob_type: vhd}"))


def test_a_prefix_with_page_blobs_is_a_validate_error_naming_the_field() -> None:
    """The backup agent reads its seed at <container>/<path in staging>: a prefix hides it (issue 22)."""
    text = spec_text().replace("container: {name: seed}", "container: {name: seed, prefix: server01/seed}")
    with pytest.raises(SpecError) as info:
        load_spec_text(text, "t.yaml")
    assert any("container.prefix" in p and "blob_type: block" in p for p in info.value.problems), info.value.problems
    block = text.replace("staging: {path: ./staging}", "staging: {path: ./staging, blob_type: block}")
    assert load_spec_text(block, "t.yaml").container.prefix == "server01/seed"
