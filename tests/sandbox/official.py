"""The official REST descriptions and their examples (../shared/azure-rest-specs) for the sandbox's
conformance tests: JSON-schema validation of an answer against a definition, and a walk that finds
`x-ms-secret` properties in an answer (which a GET must not carry)."""

from __future__ import annotations

import json
import os
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

SPECS = Path(os.environ.get("SEEDCTL_AZURE_REST_SPECS")
             or Path(__file__).resolve().parents[2].parent / "shared" / "azure-rest-specs")
SPEC = "specification"
RESOURCES = f"{SPEC}/resources/resource-manager/Microsoft.Resources/resources/stable/2025-04-01/resources.json"
STORAGE = f"{SPEC}/storage/resource-manager/Microsoft.Storage/stable/2023-05-01/storage.json"
BLOB = f"{SPEC}/storage/resource-manager/Microsoft.Storage/stable/2023-05-01/blob.json"
VAULTS = f"{SPEC}/recoveryservices/resource-manager/Microsoft.RecoveryServices/stable/2024-04-01/vaults.json"
IE2016 = f"{SPEC}/storageimportexport/resource-manager/Microsoft.ImportExport/stable/2016-11-01/storageimportexport.json"
IE2021 = f"{SPEC}/storageimportexport/resource-manager/Microsoft.ImportExport/preview/2021-01-01/storageimportexport.json"
DATABOX = f"{SPEC}/databox/resource-manager/Microsoft.DataBox/stable/2025-07-01/databox.json"
COMMON_ERROR = f"{SPEC}/common-types/resource-management/v5/types.json"
HAND = "importexport-2016-11-01.schema.json"


def available() -> bool:
    return SPECS.is_dir()


def _relax(node: Any) -> Any:
    """x-ms-enum with modelAsString: the enum is open (the SDKs accept other values). A required
    property marked x-ms-secret is required in requests only: answers leave it out (these schemas
    check answers)."""
    if isinstance(node, dict):
        if node.get("x-ms-enum", {}).get("modelAsString"):
            node = {k: v for k, v in node.items() if k != "enum"}
        if isinstance(node.get("required"), list) and isinstance(node.get("properties"), dict):
            secret = {k for k, v in node["properties"].items() if isinstance(v, dict) and v.get("x-ms-secret")}
            node = {**node, "required": [r for r in node["required"] if r not in secret]}
        return {k: _relax(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_relax(v) for v in node]
    return node


@lru_cache(maxsize=1)
def _registry() -> Any:
    from referencing import Registry
    from referencing.jsonschema import DRAFT4, DRAFT202012

    resources = []
    for path in SPECS.rglob("*.json"):
        doc = json.loads(path.read_text(encoding="utf-8"))
        spec = DRAFT202012 if path.name.endswith(".schema.json") else DRAFT4
        resources.append((path.resolve().as_uri(), spec.create_resource(_relax(doc))))
    return Registry().with_resources(resources)


def validate(body: Any, file: str, definition: str) -> None:
    from jsonschema import Draft4Validator, Draft202012Validator

    uri = (SPECS / file).resolve().as_uri()
    if file.endswith(".schema.json"):
        validator = Draft202012Validator({"$ref": f"{uri}#/$defs/{definition}"}, registry=_registry())
    else:
        validator = Draft4Validator({"$ref": f"{uri}#/definitions/{definition}"}, registry=_registry())
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


@cache
def document(file: str) -> dict[str, Any]:
    return json.loads((SPECS / file).read_text(encoding="utf-8"))


def example(file: str, name: str) -> dict[str, Any]:
    """An example of the description `file`: beside it, or (Microsoft.Resources 2025-04-01, whose
    examples upstream keeps one folder up) in the same provider's folder for the same version."""
    path = (SPECS / file).parent.joinpath("examples", f"{name}.json")
    if not path.exists():
        version, provider = (SPECS / file).parent.name, (SPECS / file).parents[3]
        path = next(provider.rglob(f"{version}/examples/{name}.json"))
    return json.loads(path.read_text(encoding="utf-8"))


# -- x-ms-secret --------------------------------------------------------------------------------
def _deref(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/definitions/"):
        return doc["definitions"][ref.split("/")[-1]]
    return {} if ref else node  # references into other files (common types) hold no secrets here


def _properties(doc: dict[str, Any], schema: dict[str, Any], value: dict[str, Any]) -> dict[str, Any]:
    """Every property the schema gives `value`: its own, its allOf bases', and those of the
    subtype its discriminator names (x-ms-discriminator-value)."""
    schema = _deref(doc, schema)
    props: dict[str, Any] = {}
    for base in schema.get("allOf", []):
        props.update(_properties(doc, base, {}))
    props.update(schema.get("properties", {}))
    disc = schema.get("discriminator")
    if disc and isinstance(value.get(disc), str):
        for candidate in doc["definitions"].values():
            if candidate.get("x-ms-discriminator-value") == value[disc] and any(
                    b.get("$ref", "").endswith(f"/{_name_of(doc, schema)}") for b in candidate.get("allOf", [])):
                props.update(candidate.get("properties", {}))
                for base in candidate.get("allOf", []):
                    props.update(_properties(doc, base, {}))
    return props


def _name_of(doc: dict[str, Any], schema: dict[str, Any]) -> str:
    for name, candidate in doc["definitions"].items():
        if candidate is schema:
            return name
    return "\0"


def secrets_in(body: Any, file: str, definition: str) -> list[str]:
    """Paths of properties marked x-ms-secret that `body` carries."""
    doc = document(file)
    found: list[str] = []

    def walk(schema: dict[str, Any], value: Any, path: str) -> None:
        schema = _deref(doc, schema)
        if isinstance(value, dict):
            props = _properties(doc, schema, value)
            extra = schema.get("additionalProperties")
            for key, item in value.items():
                sub = props.get(key) or (extra if isinstance(extra, dict) else None)
                if sub is None:
                    continue
                if _deref(doc, sub).get("x-ms-secret") or sub.get("x-ms-secret"):
                    found.append(f"{path}.{key}")
                walk(sub, item, f"{path}.{key}")
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                walk(schema["items"], item, f"{path}[{i}]")

    walk({"$ref": f"#/definitions/{definition}"}, body, "$")
    return found
