"""The schema itself: valid 2020-12, documented everywhere, in step with the name rules and the docs."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from seedctl.spec import docgen, names
from seedctl.spec.model import CARRIERS, CLOUDS, DEFAULT_PROVIDER_FOR_API, JOB_APIS
from seedctl.spec.schema import schema


def test_schema_is_valid_2020_12() -> None:
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema())


def _properties(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    out = []
    if isinstance(node, dict):
        for key, sub in (node.get("properties") or {}).items():
            if isinstance(sub, dict) and "x-backend-only" not in sub:
                out.append((f"{path}.{key}", sub))
        for key, sub in node.items():
            if key == "if":
                continue  # conditions restate properties; they are not fields
            if isinstance(sub, dict):
                out += _properties(sub, f"{path}.{key}")
            elif isinstance(sub, list):
                for i, item in enumerate(sub):
                    out += _properties(item, f"{path}.{key}[{i}]")
    return out


def test_every_property_has_title_and_description() -> None:
    root = schema()
    missing = []
    for path, node in _properties(root):
        target = node
        if "$ref" in node and ("title" not in node or "description" not in node):
            target = root
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
        if not target.get("title") or not target.get("description"):
            missing.append(path)
    assert not missing, missing


def test_schema_matches_model_constants() -> None:
    props = schema()["properties"]
    assert tuple(props["azure"]["properties"]["cloud"]["enum"]) == CLOUDS
    assert set(props["import_job"]["properties"]["api"]["enum"]) == set(JOB_APIS) == set(DEFAULT_PROVIDER_FOR_API)
    assert tuple(schema()["$defs"]["carrier"]["enum"]) == CARRIERS


def _name_fields() -> list[tuple[str, str]]:
    """(rule, pattern) for every schema node that carries both."""
    found = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "x-name-rule" in node and "pattern" in node:
                found.append((node["x-name-rule"], node["pattern"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(schema())
    return found


NAME_FIELDS = sorted(set(_name_fields()))
name_like = st.text(alphabet=st.sampled_from("abcxyzABZ0129-_.()/: é"), min_size=0, max_size=30)


@pytest.mark.parametrize("rule,pattern", NAME_FIELDS, ids=[r for r, _ in NAME_FIELDS])
@settings(max_examples=300, deadline=None)
@given(value=name_like)
def test_editor_pattern_agrees_with_name_rule(rule: str, pattern: str, value: str) -> None:
    """Editors use the schema's pattern, seedctl the rule: they must accept the same names."""
    if rule == "resource_group" and re.search(r"[^\x00-\x7f]", value):
        return  # Azure allows Unicode letters; ECMA-262 \w in editors does not (editor-only strictness)
    assert (re.search(pattern, value) is not None) == (names.RULES[rule](value) is None), value


def test_name_rules_examples() -> None:
    assert names.storage_account("seeddemostore") is None
    assert "3 to 24" in (names.storage_account("ab") or "")
    assert names.container("offline-seed") is None
    assert names.container("a-b-c") is None and names.container("-ab") and names.container("a--b")
    assert names.job_name("fs01-seed-2026-11") is None and names.job_name("1abc") and names.job_name("abc-")
    assert names.resource_group("rg_(prod).1") is None and names.resource_group("rg.")
    assert names.guid("00000000-0000-0000-0000-000000000000") is None and names.guid("0000")
    assert names.drive_serial("WD-WCC4N1234567") is None and "spaces" in (names.drive_serial("WD WCC") or "")
    assert names.blob_prefix("a/b") is None and names.blob_prefix("a//b") and names.blob_prefix("a/./b")


def test_spec_reference_is_up_to_date() -> None:
    """docs/spec-reference.md is generated; regenerate with `python -m seedctl.spec.docgen`."""
    assert docgen.DOC_PATH.read_text(encoding="utf-8") == docgen.render(), \
        "docs/spec-reference.md is stale: run `python -m seedctl.spec.docgen`"


def test_docgen_check_flag() -> None:
    assert docgen.main(["--check"]) == 0
