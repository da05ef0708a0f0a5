"""Walk an example response along its OpenAPI 2.0 schema: every field, whether the schema
requires it, and the schema it has (`$ref`s across files, `allOf`, discriminated subtypes and
maps resolved). Used to remove each optional field in turn and to rename enum values' case."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

Path_ = tuple[str | int, ...]


@cache
def load(file: Path) -> dict[str, Any]:
    return json.loads(file.read_text())


@dataclass(frozen=True)
class Field:
    path: Path_
    required: bool
    schema: dict[str, Any]  # resolved (merged) schema of the field's value
    secret: bool


def resolve(file: Path, schema: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    """Follow `$ref` (local or in another file) until a schema without one."""
    seen = 0
    while "$ref" in schema:
        ref = schema["$ref"]
        target, _, pointer = ref.partition("#")
        if target:
            file = (file.parent / target).resolve()
        node: Any = load(file)
        for part in pointer.strip("/").split("/"):
            node = node[part]
        schema = node
        seen += 1
        assert seen < 50, ref
    return file, schema


def merged(file: Path, schema: dict[str, Any], value: Any = None) -> tuple[Path, dict[str, Any]]:
    """The schema with its `allOf` parents folded in, and the discriminated subtype that `value`
    names (x-ms-discriminator-value) folded in as well."""
    file, schema = resolve(file, schema)
    props: dict[str, Any] = {}
    required: set[str] = set()
    out: dict[str, Any] = {}
    disc = None
    for parent in schema.get("allOf", []):
        pfile, pschema = merged(file, parent)
        for k, v in pschema.get("properties", {}).items():
            props[k] = (pfile, v)
        required |= set(pschema.get("required", []))
        disc = disc or pschema.get("discriminator")
    for k, v in schema.get("properties", {}).items():
        props[k] = (file, v)
    required |= set(schema.get("required", []))
    disc = schema.get("discriminator") or disc
    out.update({k: v for k, v in schema.items() if k not in ("allOf", "properties", "required")})
    if disc and isinstance(value, dict) and isinstance(value.get(disc), str):
        sub = _subtype(file, value[disc])
        if sub is not None and sub is not schema:
            sfile, sschema = sub
            for k, v in sschema.get("properties", {}).items():
                props[k] = (sfile, v)
            required |= set(sschema.get("required", []))
    out["_props"] = props
    out["_required"] = required
    return file, out


def _subtype(file: Path, name: str) -> tuple[Path, dict[str, Any]] | None:
    for def_name, schema in load(file).get("definitions", {}).items():
        if schema.get("x-ms-discriminator-value", def_name) == name and "allOf" in schema:
            return file, schema
    return None


def fields(file: Path, schema: dict[str, Any], value: Any, path: Path_ = ()) -> Iterator[Field]:
    """Every field of `value` (depth first), as the schema sees it."""
    file, s = merged(file, schema, value)
    if isinstance(value, dict):
        props, required = s["_props"], s["_required"]
        extra = s.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                pfile, pschema = props[key]
            elif isinstance(extra, dict):
                pfile, pschema = file, extra
            else:
                yield Field(path + (key,), False, {}, False)  # not in the description: optional
                continue
            rfile, rschema = merged(pfile, pschema, item)
            secret = bool(pschema.get("x-ms-secret") or rschema.get("x-ms-secret"))
            yield Field(path + (key,), key in required, rschema, secret)
            yield from fields(pfile, pschema, item, path + (key,))
    elif isinstance(value, list) and "items" in s:
        for i, item in enumerate(value):
            yield from fields(file, s["items"], item, path + (i,))


def without(value: Any, path: Path_) -> Any:
    """A deep copy of `value` with the field at `path` removed."""
    out = json.loads(json.dumps(value))
    node = out
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return out


def replaced(value: Any, path: Path_, new: Any) -> Any:
    out = json.loads(json.dumps(value))
    node = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = new
    return out


def response_schema(description: Path, operation_id: str, status: str = "200") -> tuple[Path, dict[str, Any], list[str]]:
    """The response schema of an operation and the example files the description names for it."""
    doc = load(description)
    for ops in doc["paths"].values():
        for method, op in ops.items():
            if method != "parameters" and op.get("operationId") == operation_id:
                examples = [e["$ref"] for e in op.get("x-ms-examples", {}).values()]
                return description, op["responses"][status]["schema"], examples
    raise KeyError(operation_id)
