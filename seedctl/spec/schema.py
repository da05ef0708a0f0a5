"""The seeding-spec JSON Schema: where it lives and the validator that checks data against it.

`schemas/seeding-spec.schema.json` is the one source of truth: editors read it (through the
`# yaml-language-server: $schema=` line), the loader validates with it, and docs/spec-reference.md
is generated from it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators

from seedctl.spec import names

SCHEMA_FILENAME = "seeding-spec.schema.json"
# In a source checkout (and an editable install) the schema is at the repository root; a wheel
# carries a copy as package data in seedctl/data/.
_REPO_SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / SCHEMA_FILENAME


def schema_text() -> str:
    """The schema file's exact text (what `seedctl schema` prints)."""
    if _REPO_SCHEMA.is_file():
        return _REPO_SCHEMA.read_text(encoding="utf-8")
    return resources.files("seedctl").joinpath("data", SCHEMA_FILENAME).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    return json.loads(schema_text())


def _name_rule(validator: Any, rule: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    """The `x-name-rule` keyword: run seedctl.spec.names' check, which explains what is wrong."""
    if isinstance(instance, str):
        problem = names.RULES[rule](instance)
        if problem:
            yield ValidationError(problem)


_Validator = validators.extend(Draft202012Validator, {"x-name-rule": _name_rule})


@lru_cache(maxsize=1)
def validator() -> Any:
    return _Validator(schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)
