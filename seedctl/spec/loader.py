"""Load a seeding spec: YAML with positions -> JSON Schema -> semantic checks -> typed model.

Every problem found is reported at once in a single SpecError, each as
`file:line:col: field.path: sentence`. Whatever the input (binary junk, a huge file, an alias
bomb), the only exception that leaves this module is SpecError.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seedctl.spec import checks, messages
from seedctl.spec.build import build_spec
from seedctl.spec.model import SeedingSpec
from seedctl.spec.paths import spec_error
from seedctl.spec.schema import validator
from seedctl.spec.yamlread import MAX_BYTES, Document, read_yaml

DEFAULT_SPEC = "seed.yaml"


@dataclass(frozen=True)
class Validation:
    """A valid spec and the warnings found on the way (each `file:line:col: field: sentence`)."""

    spec: SeedingSpec
    warnings: tuple[str, ...] = ()


def _sort_key(problem: str) -> tuple[int, int, str]:
    # "file:12:5: ..." -> (12, 5): problems in file order; file-level ones first
    parts = problem.split(":", 3)
    try:
        return int(parts[1]), int(parts[2]), problem
    except (IndexError, ValueError):
        return 0, 0, problem


def _schema_problems(doc: Document, name: str) -> list[str]:
    data = doc.data
    api = None
    if isinstance(data, dict) and isinstance(data.get("import_job"), dict):
        api = data["import_job"].get("api")
    problems: list[str] = []
    for error in validator().iter_errors(data):
        problems.extend(messages.translate(error, doc, name, api if isinstance(api, str) else None))
    return problems


def validate_spec_text(text: str | bytes, name: str = "<spec>", *, base_dir: str | Path | None = None,
                       source_path: str | None = None, check_secrets: bool = False,
                       environ: Mapping[str, str] | None = None) -> Validation:
    """Validate spec text. Relative paths and secret files are taken from `base_dir` (default: cwd).

    Unresolvable secrets are warnings unless `check_secrets` (apply needs them), then errors.
    """
    doc = read_yaml(text, name)
    if not isinstance(doc.data, dict):
        kind = "a list" if isinstance(doc.data, list) else "a single value"
        raise spec_error([f"{name}:1:1: the spec must be a mapping of fields (version:, name:, azure:, ...), "
                         f"but the file holds {kind}"], name)
    problems = _schema_problems(doc, name)
    base = str(base_dir) if base_dir is not None else "."
    found = checks.run_checks(doc, name, base)
    problems.extend(found.errors)
    secrets = checks.check_secrets(doc, name, base, environ, strict=check_secrets)
    problems.extend(secrets.errors)
    # one problem per sentence, in file order
    unique = sorted(dict.fromkeys(problems), key=_sort_key)
    if unique:
        raise spec_error(unique, name)
    spec = build_spec(doc.data, base_dir=base, source_path=source_path)
    warnings = sorted(dict.fromkeys(found.warnings + secrets.warnings), key=_sort_key)
    return Validation(spec, tuple(warnings))


def _read(path: Path, name: str) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        hint = "; `seedctl init` writes a starter spec" if path.name == DEFAULT_SPEC else ""
        raise spec_error([f"{name}: no such file{hint}"], name) from None
    except IsADirectoryError:
        raise spec_error([f"{name}: is a folder, not a spec file"], name) from None
    except OSError as exc:
        raise spec_error([f"{name}: cannot be read ({exc.strerror or exc})"], name) from None
    return data


def validate_spec(path: Path | str, *, check_secrets: bool = False,
                  environ: Mapping[str, str] | None = None, display_name: str | None = None) -> Validation:
    """Validate the spec file at `path`; relative paths in it are taken from its folder.

    `display_name` is how messages name the file (default: `path` as given).
    """
    file = Path(os.fspath(path))
    name = display_name or os.fspath(path)
    data = _read(file, name)
    absolute = file.absolute()
    return validate_spec_text(data, name, base_dir=absolute.parent, source_path=str(absolute),
                              check_secrets=check_secrets, environ=environ)


def load_spec(path: Path | str, *, check_secrets: bool = False, environ: Mapping[str, str] | None = None,
              display_name: str | None = None) -> SeedingSpec:
    """The typed spec from a file, or SpecError listing every problem.

    `check_secrets=True` (apply) also requires every secret reference to resolve now, reading
    environment variables from `environ` (default: the process environment; pass Env.environ).
    """
    return validate_spec(path, check_secrets=check_secrets, environ=environ, display_name=display_name).spec


def load_spec_text(text: str | bytes, name: str = "<spec>", *, base_dir: str | Path | None = None,
                   check_secrets: bool = False) -> SeedingSpec:
    """The typed spec from text (tests, stdin); `name` is used in messages."""
    return validate_spec_text(text, name, base_dir=base_dir, check_secrets=check_secrets).spec


def spec_data(spec_text: str, name: str = "<spec>") -> Any:
    """The plain data of a spec's YAML (no validation); for tools that rewrite specs."""
    return read_yaml(spec_text, name).data
