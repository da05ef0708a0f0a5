"""The shipped examples validate, and load into the model the way the rest of seedctl expects."""

from __future__ import annotations

from pathlib import Path

import pytest

from seedctl.spec import load_spec, validate_spec
from seedctl.spec.model import SecretRef

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SPECS = sorted(EXAMPLES.glob("*.yaml")) + sorted(EXAMPLES.glob("*.yml"))


def test_examples_exist() -> None:
    names = {p.name for p in SPECS}
    assert {"seed.yaml", "seed-importexport.yaml", "sandbox-demo.yaml"} <= names


@pytest.mark.parametrize("path", SPECS, ids=[p.name for p in SPECS])
def test_example_validates(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    if first.startswith("# yaml-language-server:"):
        assert "$schema=../schemas/seeding-spec.schema.json" in first
        result = validate_spec(path, environ={})
        assert result.spec.drives
        # only unresolvable secrets may warn in an example
        assert all("secret" in w for w in result.warnings), result.warnings
    else:
        pytest.skip("not a seeding spec")


def test_sandbox_demo_contract() -> None:
    spec = load_spec(EXAMPLES / "sandbox-demo.yaml")
    assert spec.azure.cloud == "sandbox"
    assert spec.azure.subscription_id == "00000000-0000-0000-0000-000000000000"
    assert spec.azure.resource_group == "seed-demo-rg"
    assert spec.azure.location == "westus"
    assert spec.storage_account.name == "seeddemostore" and spec.storage_account.create
    assert spec.container.name == "offline-seed"
    assert spec.vault is not None and spec.vault.create
    assert spec.staging.path == "./demo-work/staging"
    assert [d.serial for d in spec.drives] == ["SANDBOX-DRIVE-01", "SANDBOX-DRIVE-02"]
    assert [d.mount_point for d in spec.drives] == ["./demo-work/drives/d1", "./demo-work/drives/d2"]
    assert spec.import_job is not None and spec.import_job.api == "databox"  # what current agents use
    assert spec.providers == ("Microsoft.DataBox",)
    key = spec.drives[0].bitlocker.key
    assert isinstance(key, SecretRef) and key.file == "./demo-work/keys/SANDBOX-DRIVE-01.key"
    # relative secret files are taken from the spec's folder
    assert Path(key.base_dir) == EXAMPLES
    assert spec.staging_root() == EXAMPLES / "demo-work" / "staging"


def test_real_example_is_databox_with_commented_shipment() -> None:
    path = EXAMPLES / "seed.yaml"
    spec = load_spec(path)
    assert spec.import_job is not None and spec.import_job.api == "databox"
    assert spec.providers == ("Microsoft.DataBox",)
    assert len(spec.drives) == 2 and spec.shipment is None
    assert "# shipment:" in path.read_text(encoding="utf-8")
    assert spec.import_job.return_address.street2
