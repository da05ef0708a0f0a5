"""Hostile or mistaken specs: NUL in paths, the same drive named twice, too many drives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from seedctl.errors import SpecError
from seedctl.spec import validate_spec, validate_spec_text
from seedctl.spec.schema import schema
from seedctl.spec.yamlread import MAX_DRIVES

pytestmark = pytest.mark.reliability

HEAD = """\
version: 1
name: t
azure: {cloud: sandbox, subscription_id: 00000000-0000-0000-0000-000000000000, resource_group: rg, location: westus}
storage_account: {name: seedstore}
container: {name: seed}
"""


def spec_with(staging: str, mounts: list[str]) -> str:
    drives = "".join(f"  - {{serial: D{i}, mount_point: {m}, bitlocker: {{manage: true}}}}\n"
                     for i, m in enumerate(mounts))
    return HEAD + f"staging: {{path: {staging}}}\ndrives:\n" + drives


def problems(text: str, base: Path) -> str:
    with pytest.raises(SpecError) as info:
        validate_spec_text(text, "t.yaml", base_dir=base)
    assert "Traceback" not in str(info.value)
    return str(info.value)


@pytest.mark.parametrize("staging, mount, field", [
    ('"./st\\0aging"', "./d1", "staging.path"),
    ("./staging", '"./d\\01"', "drives[0].mount_point"),
])
def test_nul_in_paths_is_rejected_by_validate(tmp_path: Path, staging: str, mount: str, field: str) -> None:
    text = problems(spec_with(staging, [mount]), tmp_path)
    assert f"{field}: " in text and "contains a NUL character" in text
    assert "\x00" not in text  # shown escaped, so a terminal shows it
    assert os.listdir(tmp_path) == []


def test_nul_in_a_glob_is_rejected(tmp_path: Path) -> None:
    text = spec_with("./staging", ["./d1"]).replace("staging: {path: ./staging}",
                                                     'staging: {path: ./staging, include: ["a\\0b"]}')
    assert "staging.include[0]: " in problems(text, tmp_path)


def test_relative_and_absolute_names_of_one_drive(tmp_path: Path) -> None:
    text = problems(spec_with("./staging", ["./d1", str(tmp_path / "d1")]), tmp_path)
    assert "drives[1].mount_point" in text and "also the mount point of drives[0]" in text
    assert "the same folder named another way" in text


def test_tilde_names_the_same_drive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    text = problems(spec_with("/elsewhere/staging", ["~/d1", str(tmp_path / "d1")]), tmp_path)
    assert "also the mount point of drives[0]" in text


@pytest.mark.skipif(os.name == "nt", reason="POSIX symlinks")
def test_symlink_names_the_same_drive(tmp_path: Path) -> None:
    (tmp_path / "mnt").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "mnt")
    before = sorted(os.listdir(tmp_path))
    text = problems(spec_with("./staging", ["./mnt", "./alias"]), tmp_path)
    assert "drives[1].mount_point" in text and "also the mount point of drives[0]" in text
    assert sorted(os.listdir(tmp_path)) == before


@pytest.mark.skipif(os.name == "nt", reason="POSIX symlinks")
def test_staging_inside_a_drive_through_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "mnt" / "data").mkdir(parents=True)
    (tmp_path / "staging").symlink_to(tmp_path / "mnt" / "data")
    text = problems(spec_with("./staging", ["./mnt"]), tmp_path)
    assert "is inside this drive's mount point" in text


def test_distinct_drives_still_pass(tmp_path: Path) -> None:
    result = validate_spec_text(spec_with("./staging", ["./d1", "./d2", str(tmp_path / "d3")]), "t.yaml",
                                base_dir=tmp_path)
    assert len(result.spec.drives) == 3


def test_spec_file_base_is_its_folder(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    spec = tmp_path / "specs" / "seed.yaml"
    spec.write_text(spec_with("./staging", ["../specs/d1", "./d1"]))
    with pytest.raises(SpecError, match="also the mount point of drives"):
        validate_spec(spec)


def test_max_drives_matches_the_schema() -> None:
    assert schema()["properties"]["drives"]["maxItems"] == MAX_DRIVES


@pytest.mark.parametrize("count", [11, 50, 1000, 5000])
def test_a_long_drive_list_says_at_most_10_drives(tmp_path: Path, count: int) -> None:
    drives = [f"/mnt/d{i}" for i in range(count)]
    text = spec_with("/staging", drives)
    # make each drive carry several values, as a generated spec would
    text = text.replace("bitlocker: {manage: true}", "capacity: 1TB, bitlocker: {key: {env: K}, manage: false}")
    message = problems(text, tmp_path)
    assert "an import job takes at most 10" in message
    assert "20,000" not in message and "expands to" not in message
    assert "t.yaml:7:1: drives:" in message


def test_an_alias_bomb_still_reports_the_budget(tmp_path: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcde", "bcdef", strict=True))
    message = problems(bomb, tmp_path)
    assert "expands to more than 20,000 values" in message
