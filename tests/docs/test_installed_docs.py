"""Docs people can follow without a clone (issue 25, items 6 and 8): the guides ship in the wheel
and `seedctl docs` prints them (what `--help` points to exists after a pip install); the wheel is
built by CI as an artifact; the build is free of setuptools' license deprecation; the lifecycle
diagram is in README and getting-started (Mermaid) and as an SVG."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from seedctl.cli import main
from seedctl.commands.docs import docs_folder
from seedctl.env import Env

ROOT = Path(__file__).resolve().parents[2]
tomllib = pytest.importorskip("tomllib")  # Python 3.11+


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(argv, env=Env(stdout=out, stderr=err, environ={})), out.getvalue(), err.getvalue()


def test_the_guides_are_where_the_package_finds_them() -> None:
    folder = Path(str(docs_folder()))
    assert folder.resolve() == (ROOT / "docs").resolve()  # seedctl/data/docs links to docs/, like the schemas
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_data = data["tool"]["setuptools"]["package-data"]["seedctl"]
    assert "data/docs/*.md" in package_data and "data/docs/*.svg" in package_data


def test_seedctl_docs_lists_and_prints_the_guides() -> None:
    code, out, _ = _run(["docs"])
    assert code == 0
    for guide in ("getting-started", "buying-drives", "commands", "troubleshooting"):
        assert re.search(rf"^  {guide} +\S", out, re.M), out
    code, out, _ = _run(["docs", "buying-drives"])
    assert code == 0 and out == (ROOT / "docs" / "buying-drives.md").read_text(encoding="utf-8")
    assert _run(["docs", "getting"])[1].startswith("# Getting started")  # a unique beginning is enough
    code, _, err = _run(["docs", "nope"])
    assert code == 1 and "no guide named 'nope'" in err and "getting-started" in err


def test_the_license_is_an_spdx_expression_and_setuptools_understands_it() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert data["project"]["license"] == "MIT"  # a table here prints setuptools' deprecation box
    assert any(re.fullmatch(r"setuptools>=(\d+)", r) and int(r.split(">=")[1]) >= 77
               for r in data["build-system"]["requires"])


def test_ci_builds_checks_and_keeps_the_wheel() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    job = workflow["jobs"]["wheel"]
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    assert "python -m build --wheel" in runs and "deprecat" in runs  # and the build log is checked
    assert "seedctl docs getting-started" in runs  # installed from the wheel, the guides are there
    upload = next(step for step in job["steps"] if str(step.get("uses", "")).startswith("actions/upload-artifact"))
    assert upload["with"]["name"] == "seedctl-wheel" and upload["with"]["path"].endswith(".whl")


def _mermaid(page: Path) -> str:
    text = page.read_text(encoding="utf-8")
    match = re.search(r"```mermaid\n(.*?)```", text, re.S)
    assert match, f"{page.name} has no Mermaid diagram"
    return match.group(1)


def test_the_lifecycle_diagram_with_its_clocks() -> None:
    readme, guide = _mermaid(ROOT / "README.md"), _mermaid(ROOT / "docs" / "getting-started.md")
    assert readme == guide
    svg = ET.parse(ROOT / "docs" / "lifecycle.svg").getroot()
    words = " ".join(t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    for step in ("seedctl estimate", "seedctl plan / apply", "seedctl verify", "seedctl destroy --staging",
                 "14 days", "1–3 business days", "7–10 days", "next scheduled backup"):
        assert step in words, step
        assert step.replace("–", "-") in readme, step
    for page in (ROOT / "README.md", ROOT / "docs" / "getting-started.md"):
        assert "lifecycle.svg" in page.read_text(encoding="utf-8")
