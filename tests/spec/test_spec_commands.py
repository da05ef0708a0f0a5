"""`seedctl validate`, `seedctl init` and `seedctl schema` through the real CLI entry point."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from seedctl.cli import main
from seedctl.env import Env
from seedctl.spec import validate_spec
from seedctl.spec.schema import SCHEMA_FILENAME, schema

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(argv: list[str], cwd: Path | None = None, environ: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = Env(stdout=out, stderr=err, environ=environ or {}, cwd=str(cwd) if cwd else str(Path.cwd()))
    code = main(argv, env=env)
    return code, out.getvalue(), err.getvalue()


def test_schema_prints_the_schema() -> None:
    code, out, err = run(["schema"])
    assert code == 0 and err == ""
    assert json.loads(out) == schema()


def test_validate_valid_example_warns_on_stderr() -> None:
    code, out, err = run(["validate", "-f", str(EXAMPLES / "seed.yaml")])
    assert code == 0
    assert "is valid: 2 drives" in out and "api: databox" in out
    assert err.count("Warning:") == 2 and "SEED_BITLOCKER_WCC4N7KT1234" in err


def test_validate_check_secrets_makes_them_errors() -> None:
    code, out, err = run(["validate", "--check-secrets", "-f", str(EXAMPLES / "seed.yaml")])
    assert code == 1 and out == ""
    assert "2 problems" in err and "drives[0].bitlocker.key" in err
    code, out, err = run(["validate", "--check-secrets", "-f", str(EXAMPLES / "seed.yaml")],
                         environ={"SEED_BITLOCKER_WCC4N7KT1234": "1", "SEED_BITLOCKER_WCC4N7KT5678": "2"})
    assert code == 0 and err == ""


def test_validate_defaults_to_seed_yaml_in_cwd(tmp_path: Path) -> None:
    code, out, err = run(["validate"], cwd=tmp_path)
    assert code == 1 and "seed.yaml: no such file" in err and "seedctl init" in err
    assert "Traceback" not in err


def test_init_writes_a_valid_commented_spec(tmp_path: Path) -> None:
    code, out, err = run(["init"], cwd=tmp_path)
    assert code == 0, err
    text = (tmp_path / "seed.yaml").read_text()
    assert text.startswith(f"# yaml-language-server: $schema={SCHEMA_FILENAME}\n")
    assert "api: databox" in text and "2.0.9250.0" in text and "MABS v3 UR1" in text
    assert json.loads((tmp_path / SCHEMA_FILENAME).read_text()) == schema()
    result = validate_spec(tmp_path / "seed.yaml", environ={})
    assert result.spec.import_job.api == "databox"
    assert result.spec.providers == ("Microsoft.DataBox",)
    # `validate` holds the starter spec to what a real run needs (issue 25): its placeholder
    # subscription id is an error until replaced
    code, out, err = run(["validate"], cwd=tmp_path)
    assert code == 1 and "azure.subscription_id: is the starter spec's placeholder" in err
    spec_file = tmp_path / "seed.yaml"
    spec_file.write_text(spec_file.read_text().replace("00000000-0000-0000-0000-000000000000",
                                                       "3f2b9c4e-8d1a-4e6b-9f0c-2a7d5e1b8c34"))
    code, out, err = run(["validate"], cwd=tmp_path)
    assert code == 0, err


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    (tmp_path / "seed.yaml").write_text("mine\n")
    code, out, err = run(["init"], cwd=tmp_path)
    assert code == 1 and "--force" in err
    assert (tmp_path / "seed.yaml").read_text() == "mine\n"
    code, out, err = run(["init", "--force", "--api", "importexport"], cwd=tmp_path)
    assert code == 0
    spec = validate_spec(tmp_path / "seed.yaml", environ={}).spec
    assert spec.import_job.api == "importexport" and spec.providers == ("Microsoft.ImportExport",)


@pytest.mark.parametrize("api", ["databox", "importexport"])
def test_init_to_another_file(tmp_path: Path, api: str) -> None:
    code, out, err = run(["init", "-f", "sub/other.yaml", "--api", api], cwd=tmp_path)
    assert code == 0, err
    assert validate_spec(tmp_path / "sub" / "other.yaml", environ={}).spec.import_job.api == api


def test_validate_lists_every_problem_with_positions(tmp_path: Path) -> None:
    text = (EXAMPLES / "seed.yaml").read_text()
    text = text.replace("name: stseedweu01", "name: St-Seed").replace("serial: WD-WCC4N7KT5678", "serial: WD-WCC4N7KT1234")
    text = text.replace("carrier_name: DHL", "carrier_name: Royal Mail", 1)
    (tmp_path / "seed.yaml").write_text(text)
    code, out, err = run(["validate"], cwd=tmp_path)
    assert code == 1
    assert "3 problems" in err
    for fragment in ("seed.yaml:27:9: storage_account.name", "drives[1].serial", "return_shipping.carrier_name"):
        assert fragment in err, err


@pytest.mark.parametrize("api", ["databox", "importexport"])
def test_init_sandbox_writes_a_spec_ready_for_the_sandbox(tmp_path: Path, api: str) -> None:
    code, out, _ = run(["init", "--sandbox", "--api", api], cwd=tmp_path)
    assert code == 0, out
    result = validate_spec(tmp_path / "seed.yaml", check_secrets=False, environ={})
    spec = result.spec
    assert spec.azure.cloud == "sandbox" and spec.import_job.api == api
    assert spec.vault.create and spec.storage_account.create
    staged = [p for p in (tmp_path / "staging").rglob("*") if p.is_file()]
    # shaped like a backup agent's staging (issue 22): per data-source folder a *.BaseBlob and an
    # *.AIBBlob, every size a multiple of 512
    assert sorted(p.suffix for p in staged) == [".AIBBlob", ".AIBBlob", ".BaseBlob", ".BaseBlob"]
    assert all(p.stat().st_size % 512 == 0 and p.parent.parent == tmp_path / "staging" for p in staged)
    assert len({p.parent for p in staged}) == 2 and "Wrote sample staging data" in out
    for drive in spec.drives:
        # the printed drive lines name what the spec names: serial, folder, capacity, key file
        line = f"seedctl sandbox drive {drive.serial} drives/{drive.serial} --capacity 128MiB " \
               f"--key-out keys/{drive.serial}.key"
        assert line in out
        assert drive.mount_point == f"./drives/{drive.serial}"
        assert drive.bitlocker.key.file == f"./keys/{drive.serial}.key"
    assert "seedctl sandbox drive -f seed.yaml" in out


def test_init_sandbox_leaves_an_existing_staging_folder_alone(tmp_path: Path) -> None:
    (tmp_path / "staging").mkdir()
    (tmp_path / "staging" / "mine.txt").write_text("keep me")
    code, out, _ = run(["init", "--sandbox"], cwd=tmp_path)
    assert code == 0 and "left as it is" in out
    assert [p.name for p in (tmp_path / "staging").iterdir()] == ["mine.txt"]


def test_sandbox_datacenter_without_a_job_or_spec_says_what_to_give(tmp_path: Path) -> None:
    code, _, err = run(["sandbox", "datacenter", "--to", "Completed"], cwd=tmp_path,
                       environ={"SEEDCTL_SANDBOX_DIR": str(tmp_path / "none")})
    assert code == 1
    assert "seed.yaml not found: name the job" in err


def test_sandbox_drive_needs_serial_and_path_or_a_spec(tmp_path: Path) -> None:
    code, _, err = run(["sandbox", "drive", "ONLY-SERIAL"], cwd=tmp_path)
    assert code == 1 and "give both SERIAL and PATH" in err
    code, _, err = run(["sandbox", "drive"], cwd=tmp_path)
    assert code == 1 and "-f SPEC" in err


def _local_spec(folder: Path, *, cloud: str = "AzureCloud", mount: str = "./d1") -> None:
    (folder / "seed.yaml").write_text(f"""version: 1
name: local
azure: {{cloud: {cloud}, subscription_id: 3f2b9c4e-8d1a-4e6b-9f0c-2a7d5e1b8c34, resource_group: rg, location: westus}}
storage_account: {{name: seedlocal1, create: true}}
container: {{name: seed}}
staging: {{path: ./staging}}
drives:
  - serial: D1
    mount_point: {mount}
    capacity: 2TB
    bitlocker: {{key: {{env: K1}}}}
""")


def test_validate_warns_of_a_missing_staging_folder_and_an_unmounted_drive(tmp_path: Path) -> None:
    _local_spec(tmp_path)
    code, out, err = run(["validate"], cwd=tmp_path, environ={"K1": "x"})
    assert code == 0, err  # warnings: validate also runs on CI runners, which have neither
    assert "seed.yaml:6:" in err and "staging.path: the staging folder" in err and "is not here" in err
    assert "drives[0].mount_point: drive D1 is not mounted" in err and "does not exist" in err
    (tmp_path / "staging").mkdir()
    (tmp_path / "d1").mkdir()  # a folder, nothing mounted on it: the drive is not there
    code, out, err = run(["validate"], cwd=tmp_path, environ={"K1": "x"})
    assert code == 0 and "staging" not in err
    assert "nothing is mounted at" in err and "attach the drive and mount it there" in err
    code, out, err = run(["validate", "--local-state", "require"], cwd=tmp_path, environ={"K1": "x"})
    assert code == 1 and "nothing is mounted at" in err and out == ""
    code, out, err = run(["validate", "--local-state", "skip"], cwd=tmp_path, environ={"K1": "x"})
    assert code == 0 and err == ""


def test_validate_accepts_a_mounted_drive_and_sandbox_folders(tmp_path: Path) -> None:
    (tmp_path / "staging").mkdir()
    mounted = next((m for m in ("/dev", "/proc", "/sys") if os.path.ismount(m)), None)
    if mounted:  # a real mount point other than the one holding the spec
        _local_spec(tmp_path, mount=mounted)
        assert run(["validate"], cwd=tmp_path, environ={"K1": "x"})[2] == ""
    (tmp_path / "d1").mkdir()
    _local_spec(tmp_path, cloud="sandbox")  # a simulated drive is a folder
    assert run(["validate"], cwd=tmp_path, environ={"K1": "x"})[2] == ""


@pytest.mark.skipif(os.name == "nt", reason="these are this OS's own paths on Windows")
def test_paths_for_another_os_are_not_looked_at_here() -> None:
    from seedctl.spec.checks import _local_path

    assert _local_path("E:" + "\\", "/specs") is None
    assert _local_path(r"\\server\share\staging", "/specs") is None
    assert _local_path("./staging", "/specs") == "/specs/staging"
