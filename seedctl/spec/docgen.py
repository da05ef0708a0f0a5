"""Generate docs/spec-reference.md from the schema, so the reference cannot drift from it.

    python -m seedctl.spec.docgen            # rewrite docs/spec-reference.md
    python -m seedctl.spec.docgen --check    # exit 1 if the committed file is stale

tests/spec/test_spec_docgen.py fails when the committed file differs from what this produces.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from seedctl.spec.schema import schema

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "spec-reference.md"

INTRO = """\
# Seeding spec reference

<!-- Generated from schemas/seeding-spec.schema.json by `python -m seedctl.spec.docgen`; do not edit. -->

A seeding spec is one YAML file (default `seed.yaml`) that declares an Azure Backup offline seed:
the staged backup, the drives that carry it, and the Azure resources and import job that bring it
into a storage account. `seedctl init` writes a commented starter; `seedctl validate` checks one and
lists every problem with `file:line:col`; `seedctl schema` prints the JSON Schema this page is
generated from.

## Editor help

Put this line at the top of the spec and editors using the YAML language server (VS Code's YAML
extension, Neovim, JetBrains, ...) show each field's help, complete names and flag mistakes as you type:

```yaml
# yaml-language-server: $schema=seeding-spec.schema.json
```

`seedctl init` writes the schema file beside the spec; refresh it after upgrading seedctl with
`seedctl schema > seeding-spec.schema.json`. The examples in this repository use
`$schema=../schemas/seeding-spec.schema.json`.

## Which job back end (`import_job.api`)

| Backup agent | `api` | Azure resource | Provider registered |
|---|---|---|---|
| MARS 2.0.9250.0 or later, DPM 2019 UR1 or later, MABS v3 UR1 or later | `databox` | `Microsoft.DataBox/jobs` (SKU `DataBoxCustomerDisk`) | `Microsoft.DataBox` |
| Older MARS, DPM and MABS | `importexport` | `Microsoft.ImportExport/jobs` (classic; documented as discontinued for those agents) | `Microsoft.ImportExport` |

Fields marked *(databox only)* or *(importexport only)* are refused under the other back end.

## Value formats

- **Secret reference**: `{env: VARIABLE}` or `{file: PATH}` (relative paths from the spec's folder,
  `~` expanded). A secret written directly in the spec is refused: specs live in git. `validate`
  warns about references it cannot resolve; `apply` requires them. A secret file must be a regular
  file (a FIFO, device or folder is refused without being read) of at most 4,096 bytes of UTF-8
  text, not empty; surrounding whitespace and a byte-order mark are not part of the secret. A file
  its group or other users can read is a warning with the `chmod 600` to run (on Windows: a file
  whose access list lets Everyone, Users or Authenticated Users read it, with the `icacls` to run).
- **Size**: an integer number of bytes, or a number with a unit: `B`, `KB`, `MB`, `GB`, `TB`
  (powers of 1000) or `KiB`, `MiB`, `GiB`, `TiB` (powers of 1024), e.g. `2TB`, `1.8TiB`, `500GB`.
- **Paths** (staging, mount points): absolute, UNC (`\\\\server\\share\\staging`), a drive letter
  (`E:\\`), or relative to the spec's folder. Two drives may not name the same folder, however
  written (relative or absolute, `~`, a symlink): `validate` compares them as the system resolves
  them. A NUL character in a path is refused.
- YAML is read as YAML 1.2: only `true`/`false` are booleans (`yes`, `no`, `NO` are text), dates
  stay text, and numbers are numbers, so quote postal codes, phone numbers, account and tracking
  numbers (`"01234"`).

## Checks beyond the schema

`seedctl validate` also checks: Azure naming rules (storage account, container, resource group, job,
vault, blob prefix); drive serials unique (case-insensitive) and mount points unique and not nested;
no mount point inside the staging folder and the staging folder not inside a mount point; a drive's
`bitlocker` gives either `key` or `manage: true`; a `shipment` only with an `import_job`, with
`drive_count` no larger than the number of drives; duplicate YAML keys; the provider the job's back
end needs is listed when `providers` is given.
"""


def _resolve(node: Any, root: dict[str, Any]) -> dict[str, Any]:
    """A property schema with its $ref merged in (the property's own title/description win)."""
    if not isinstance(node, dict):
        return {}
    if "$ref" in node:
        target = root
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        merged = dict(_resolve(target, root))
        merged.update({k: v for k, v in node.items() if k != "$ref"})
        merged["_ref"] = node["$ref"].rsplit("/", 1)[-1]
        return merged
    return node


def _type(node: dict[str, Any]) -> str:
    ref = node.get("_ref")
    if ref == "secretRef" or node.get("x-secret"):
        return "secret reference"
    if ref == "size":
        return "size"
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "enum" in node:
        return "one of " + ", ".join(f"`{v}`" for v in node["enum"])
    kind = node.get("type")
    if kind == "array":
        items = node.get("items", {})
        if isinstance(items, dict) and "$ref" in items:
            items = _resolve(items, schema())
        return f"list of {_type(items) if items else 'any'}"
    if kind == "object":
        return "mapping"
    names = {"string": "text", "integer": "integer", "boolean": "boolean", "number": "number"}
    if isinstance(kind, list):
        return " or ".join(names.get(k, k) for k in kind)
    return names.get(kind, "any") if kind else "any"


def _constraints(node: dict[str, Any]) -> str:
    parts = []
    if "minItems" in node or "maxItems" in node:
        parts.append(f"{node.get('minItems', 0)}-{node.get('maxItems', 'any')} entries")
    if "maxProperties" in node and node.get("type") == "object" and "x-secret" not in node:
        parts.append(f"at most {node['maxProperties']} entries")
    if "minimum" in node and node.get("type") == "integer":
        parts.append(f"{node['minimum']}-{node.get('maximum', 'any')}")
    if "patternErrorMessage" in node and "x-name-rule" not in node:
        parts.append(node["patternErrorMessage"].rstrip("."))
    return "; ".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _rows(obj: dict[str, Any], root: dict[str, Any], prefix: str) -> list[str]:
    rows = []
    required = set(obj.get("required", ()))
    for key, raw in obj.get("properties", {}).items():
        node = _resolve(raw, root)
        path = f"{prefix}{key}"
        default = f"`{json.dumps(node['default'])}`" if "default" in node else ""
        description = node.get("description", "")
        extra = _constraints(node)
        if extra:
            description += f" ({extra})"
        title = node.get("title", "")
        rows.append(f"| `{path}` | {_type(node)} | {'yes' if key in required else ''} | {default} | "
                    f"**{_cell(title)}.** {_cell(description)} |")
        if node.get("type") == "object" and "properties" in node and not node.get("x-secret"):
            rows += _rows(node, root, path + ".")
        if node.get("type") == "array":
            items = _resolve(node.get("items", {}), root)
            if items.get("type") == "object" and "properties" in items:
                rows += _rows(items, root, path + "[].")
    return rows


def render() -> str:
    root = schema()
    out = [INTRO, "## Fields\n"]
    required = set(root.get("required", ()))
    for key, raw in root["properties"].items():
        node = _resolve(raw, root)
        need = "required" if key in required else "optional"
        out.append(f"### `{key}` ({need})\n")
        out.append(f"{node.get('title', key)}. {node.get('description', '')}\n")
        table = ["| Field | Type | Required | Default | Description |", "|---|---|---|---|---|"]
        if node.get("type") == "object" and "properties" in node:
            rows = _rows(node, root, key + ".")
        elif node.get("type") == "array" and _resolve(node.get("items", {}), root).get("properties"):
            rows = [f"| `{key}` | {_type(node)} | {'yes' if key in required else ''} |  | "
                    f"{_cell(_constraints(node))} |"]
            rows += _rows(_resolve(node["items"], root), root, key + "[].")
        else:
            rows = _rows({"properties": {key: raw}, "required": list(required & {key})}, root, "")
        out.append("\n".join(table + rows) + "\n")
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed reference is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = DOC_PATH.read_text(encoding="utf-8") if DOC_PATH.exists() else ""
        if current != text:
            print(f"{DOC_PATH} is out of date; run `python -m seedctl.spec.docgen`", file=sys.stderr)
            return 1
        return 0
    DOC_PATH.parent.mkdir(parents=True, exist_ok=True)
    DOC_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {DOC_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
