"""Turn JSON Schema errors into plain sentences that name the field and where it is in the file.

jsonschema's own messages quote the offending value (which could be a secret) and speak in schema
terms ("is not valid under any of the given schemas"). Each validator keyword gets its own
sentence here; values are shown only when they are short scalars and never under a secret.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from jsonschema import ValidationError

from seedctl.spec.paths import field_path
from seedctl.spec.yamlread import Document

# Fields that exist in only one job back end, and what the other back end uses instead.
BACKEND_ONLY = {
    "notification_emails": ("databox", "classic jobs notify only the return address e-mail"),
    "log_collection_level": ("databox", "classic jobs use log_level"),
    "diagnostics_path": ("importexport", "Data Box jobs keep copy logs per drive and need no path"),
    "log_level": ("importexport", "Data Box jobs use log_collection_level"),
}
API_HELP = ("databox for MARS agent 2.0.9250.0 or later, DPM 2019 UR1 or later, MABS v3 UR1 or later "
            "(they create Microsoft.DataBox jobs); importexport for older agents (classic "
            "Microsoft.ImportExport jobs)")
REQUIRED_HINTS = {
    ("import_job", "api"): f"say which back end your backup agent uses: api: databox or api: importexport "
                           f"({API_HELP})",
    ((), "drives"): "list the 1 to 10 drives of this job",
    ("drives", "bitlocker"): "give bitlocker: {key: {env: NAME}} for a drive already encrypted and "
                             "unlocked, or bitlocker: {manage: true} to let seedctl encrypt it (Windows)",
}
YAML11_BOOLS = {"yes", "no", "on", "off", "y", "n", "Yes", "No", "On", "Off", "YES", "NO", "ON", "OFF"}
_TYPE_NAMES = {"string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false",
               "object": "a mapping (key: value lines)", "array": "a list", "null": "empty"}


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _show(value: Any) -> str:
    """A short rendering of a scalar value for a message; '' for anything long or structured."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        text = repr(value)
        return text if len(text) <= 30 else ""
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57] + "...")
    return ""


def _under_secret(schema: Any) -> bool:
    return isinstance(schema, dict) and bool(schema.get("x-secret"))


def _location(doc: Document, name: str, path: tuple[Any, ...], *, key: bool = False) -> str:
    mark = doc.mark_for(path, key=key)
    return f"{name}:{mark.line}:{mark.column}" if mark else name


def _did_you_mean(word: str, choices: list[str]) -> str:
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered:
        return f" (did you mean {lowered[word.lower()]!r}?)"
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _secret_sentence(field: str, value: Any) -> str:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return (f"{field}: a secret is written directly in the spec; seedctl refuses literal secrets "
                "because specs live in git. Put it in an environment variable or a file outside the "
                "repository and write {env: VARIABLE} or {file: path/to/keyfile} here (the value was "
                "not printed)")
    return f"{field}: must be a secret reference, {{env: VARIABLE}} or {{file: PATH}}, not {_kind(value)}"


def secret_prefix(path: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The secret reference's own path when `path` is it or lies under it (drives[i].bitlocker.key)."""
    for i in range(len(path) - 1):
        if path[i] == "bitlocker" and path[i + 1] == "key":
            return path[: i + 2]
    return None


def _secret_problem(error: ValidationError, doc: Document, name: str, ref: tuple[Any, ...]) -> list[str]:
    """Problems inside a secret reference: no values, no sub-keys (a secret may have been typed there)."""
    where = _location(doc, name, ref)
    field = field_path(ref)
    schema = error.schema
    path = tuple(error.absolute_path)
    if path == ref and error.validator == "type":
        return [f"{where}: {_secret_sentence(field, error.instance)}"]
    if path == ref and error.validator == "minProperties":
        return [f"{where}: {field}: is empty; write {{env: VARIABLE}} or {{file: PATH}}"]
    if path == ref and error.validator == "maxProperties":
        return [f"{where}: {field}: give either env or file, not both"]
    if path == ref and error.validator == "additionalProperties":
        return [f"{where}: {field}: a secret reference has only env or file; write {{env: VARIABLE}} or "
                "{file: PATH} (other keys are not shown, in case a secret was typed there)"]
    sub = path[len(ref)] if len(path) > len(ref) else ""
    if sub == "env":
        return [f"{where}: {field}.env: must name an environment variable (letters, digits and '_', not "
                "starting with a digit); the value is not shown, in case it is the secret itself"]
    if sub == "file":
        return [f"{where}: {field}.file: must be a non-empty file path"]
    hint = schema.get("patternErrorMessage", "") if isinstance(schema, dict) else ""
    return [f"{where}: {field}: is not a valid secret reference {hint}".rstrip()]


def translate(error: ValidationError, doc: Document, name: str, api: str | None) -> list[str]:
    """One or more sentences `file:line:col: field: problem` for one schema error; [] to drop it."""
    path = tuple(error.absolute_path)
    ref = secret_prefix(path)
    if ref is not None:
        return _secret_problem(error, doc, name, ref)
    field = field_path(path)
    where = _location(doc, name, path)
    schema = error.schema
    value = error.instance
    kind = error.validator

    if kind == "not" and isinstance(schema, dict) and "x-backend-only" in schema:
        # a field of one job back end under the other (the schema's if/then on import_job.api)
        leaf = str(path[-1]) if path else ""
        owner, instead = BACKEND_ONLY.get(leaf, (schema["x-backend-only"], ""))
        where = _location(doc, name, path, key=True)
        return [f"{where}: {field}: only api: {owner} jobs have this field, and this job uses api: {api}; "
                f"remove it" + (f" ({instead})" if instead else "") + " or change api"]

    if kind == "pattern" and isinstance(schema, dict) and "x-name-rule" in schema:
        return []  # the x-name-rule check on the same field explains it better
    if kind == "x-name-rule":
        return [f"{where}: {field}: {error.message}"]

    if kind == "required":
        match = re.match(r"^'(.+)' is a required property$", error.message)
        missing = match.group(1) if match else "?"
        generic_parent = tuple(p for p in path if not isinstance(p, int))  # drives[3] -> drives
        hint = REQUIRED_HINTS.get((path[-1] if path else (), missing)) or \
            REQUIRED_HINTS.get((generic_parent[-1] if generic_parent else (), missing))
        place = f"{field}: " if path else ""
        return [f"{where}: {place}missing required field {missing!r}" + (f"; {hint}" if hint else "")]

    if kind == "additionalProperties" and isinstance(value, dict):
        allowed = sorted((schema.get("properties") or {}).keys())
        out = []
        for key in value:
            if key in allowed:
                continue
            key_where = _location(doc, name, path + (key,), key=True)
            key_field = field_path(path + (key,))
            if key == "<<":
                continue  # the YAML reader already said merge keys are unsupported
            out.append(f"{key_where}: {key_field}: unknown field{_did_you_mean(str(key), allowed)}; "
                       f"allowed here: {', '.join(allowed)}")
        return out

    if kind == "type":
        expected = schema.get("type")
        if _under_secret(schema):
            return [f"{where}: {_secret_sentence(field, value)}"]
        expected_list = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(_TYPE_NAMES.get(t, t) for t in expected_list)
        if expected_list == ["string"] and isinstance(value, (int, float)) and not isinstance(value, bool):
            return [f"{where}: {field}: must be text, but YAML read {_show(value) or 'it'} as a number; "
                    "put it in quotes (\"...\") so nothing, such as a leading zero, is lost"]
        if expected_list == ["string"] and isinstance(value, bool):
            return [f"{where}: {field}: must be text, but YAML read it as {_show(value)}; put it in quotes"]
        if expected_list == ["boolean"] and isinstance(value, str) and value in YAML11_BOOLS:
            return [f"{where}: {field}: must be true or false; {value!r} is text in YAML 1.2"]
        if value is None:
            return [f"{where}: {field}: is empty; expected {wanted}"]
        return [f"{where}: {field}: must be {wanted}, not {_kind(value)}"]

    if kind == "enum" or kind == "const":
        choices = list(schema.get("enum") or [schema.get("const")])
        shown = _show(value)
        text_choices = [c for c in choices if isinstance(c, str)]
        hint = _did_you_mean(value, text_choices) if isinstance(value, str) else ""
        if path and path[-1] == "api":
            return [f"{where}: {field}: {shown or 'this'} is not a job back end; use databox or importexport "
                    f"({API_HELP})"]
        if kind == "const":
            return [f"{where}: {field}: must be {_show(choices[0])}" + (f", not {shown}" if shown else "") +
                    ("; this seedctl reads version 1 specs" if path == ("version",) else "")]
        listed = ", ".join(str(c) for c in choices)
        return [f"{where}: {field}: {shown or 'the value'} is not one of {listed}{hint}"]

    if kind == "pattern":
        message = schema.get("patternErrorMessage") or f"must match {schema.get('pattern')}"
        if "propertyNames" in error.relative_schema_path or "propertyNames" in error.schema_path:
            return [f"{where}: {field}: the name {_show(value)} is not allowed: {message}"]
        return [f"{where}: {field}: {_show(value) or 'the value'} is not valid. {message}"]

    if kind == "format":
        if not (isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value)):
            return []  # the pattern error on the same field says how to write it
        return [f"{where}: {field}: {_show(value)} is not a real date (YYYY-MM-DD)"]

    if kind in ("minItems", "maxItems"):
        count = len(value) if isinstance(value, list) else 0
        limit = error.validator_value
        if path == ("drives",) and kind == "maxItems":
            jobs = -(-count // limit)
            return [f"{where}: drives: lists {count} drives; an import job takes at most {limit}. "
                    f"Split the seed into {jobs} specs (one job each)"]
        if path == ("drives",):
            return [f"{where}: drives: lists no drives; a job needs at least one"]
        word = "at least" if kind == "minItems" else "at most"
        return [f"{where}: {field}: has {count} entries; {word} {limit} allowed"]

    if kind in ("minProperties", "maxProperties"):
        if _under_secret(schema):
            if kind == "minProperties":
                return [f"{where}: {field}: is empty; write {{env: VARIABLE}} or {{file: PATH}}"]
            return [f"{where}: {field}: give either env or file, not both"]
        if path and path[-1] == "bitlocker":
            return [f"{where}: {field}: is empty; " + REQUIRED_HINTS[("drives", "bitlocker")]]
        word = "at least" if kind == "minProperties" else "at most"
        return [f"{where}: {field}: {word} {error.validator_value} entries allowed"]

    if kind == "minLength":
        if error.validator_value == 1:
            return [f"{where}: {field}: must not be empty"]
        return [f"{where}: {field}: must have at least {error.validator_value} characters"]
    if kind == "maxLength":
        return [f"{where}: {field}: has {len(value)} characters; at most {error.validator_value}"]
    if kind in ("minimum", "maximum"):
        word = "at least" if kind == "minimum" else "at most"
        extra = ""
        if path and path[-1] == "drive_count" and kind == "maximum":
            extra = " (a job has at most 10 drives)"
        return [f"{where}: {field}: must be {word} {error.validator_value}, not {_show(value)}{extra}"]
    if kind == "uniqueItems":
        return [f"{where}: {field}: lists the same value more than once"]

    # Not expected with this schema; keep the sentence but never the value.
    return [f"{where}: {field}: does not satisfy the schema's {kind!r} rule"]
