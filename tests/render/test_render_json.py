"""The JSON format: valid against schemas/plan.schema.json, documented, stable, round-trips."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from render_plans import empty_plan, huge_plan, sample_plan

from seedctl.plan import PLAN_FORMAT_VERSION, Plan
from seedctl.render import render_json

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "schemas" / "plan.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def test_schema_is_valid_2020_12():
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["properties"]["format_version"]["const"] == PLAN_FORMAT_VERSION


def _described(node, path="#"):
    """Every property in the schema has a description."""
    missing = []
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            if isinstance(sub, dict) and "description" not in sub and path.split("/")[-1] not in ("then",):
                missing.append(f"{path}/properties/{name}")
        for key, sub in node.items():
            missing += _described(sub, f"{path}/{key}")
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            missing += _described(sub, f"{path}/{i}")
    return missing


def test_every_field_is_described():
    missing = [m for m in _described(SCHEMA) if "/then/" not in m and "/if/" not in m]
    assert missing == []


@pytest.mark.parametrize("make", [sample_plan, empty_plan, lambda: huge_plan(50, errors=3)])
def test_output_validates(make):
    VALIDATOR.validate(json.loads(render_json(make())))


def test_schema_rejects_a_leaked_secret():
    data = json.loads(render_json(sample_plan()))
    data["changes"][-5]["attributes"][1]["after"] = "482361-095172"  # bitlocker_key of the drive
    assert data["changes"][-5]["attributes"][1]["sensitive"] is True
    with pytest.raises(jsonschema.ValidationError):
        VALIDATOR.validate(data)


def test_schema_rejects_undocumented_fields():
    data = json.loads(render_json(sample_plan()))
    data["changes"][0]["surprise"] = 1
    with pytest.raises(jsonschema.ValidationError):
        VALIDATOR.validate(data)


def test_stable_shape():
    text = render_json(sample_plan())
    assert text.endswith("}\n") and text.isascii()
    data = json.loads(text)
    assert list(data) == ["format_version", "seedctl_version", "spec", "cloud", "local_state", "summary", "changes"]
    drive = data["changes"][7]
    assert list(drive["summary"]) == sorted(drive["summary"])
    assert data["summary"] == {"add": 3, "change": 2, "destroy": 2, "error": 1, "deferred": 2, "drift": 2}


def test_round_trips_through_plan_from_dict():
    text = render_json(sample_plan())
    again = Plan.from_dict(json.loads(text))
    assert render_json(again) == text
