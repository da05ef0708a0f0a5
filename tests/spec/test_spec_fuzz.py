"""Property tests: whatever the input, the loader returns a spec or raises SpecError, never a traceback.

Part of the reliability suite (`make reliability`). SEEDCTL_FUZZ_EXAMPLES=5000 raises every test's
example count for a deeper run.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seedctl.errors import SpecError
from seedctl.spec import load_spec, load_spec_text
from seedctl.spec.model import SeedingSpec

pytestmark = pytest.mark.reliability
DEEP = int(os.environ.get("SEEDCTL_FUZZ_EXAMPLES", "0"))


def budget(n: int) -> int:
    return max(n, DEEP)


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "seed.yaml"
VALID = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-3, max_value=12).map(float),  # 2.0 counts as an integer in JSON Schema
    st.text(max_size=30), st.sampled_from(["", "yes", "NO", "0123", "1:20", "2026-02-30", "~", "2TB", "-1",
                                           "env", "file", "databox", "importexport", "\t", "a" * 300]),
)
keys = st.one_of(st.text(max_size=12), st.sampled_from(sorted(VALID) + ["serial", "bitlocker", "key", "api"]))
documents = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=6), st.dictionaries(keys, children, max_size=6)), max_leaves=40)


def _outcome(run: Any) -> None:
    try:
        result = run()
    except SpecError as exc:
        assert exc.problems, "a SpecError must carry at least one problem"
        assert all(isinstance(p, str) and p for p in exc.problems)
        return
    assert isinstance(result, SeedingSpec)


@settings(max_examples=budget(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_arbitrary_yaml_documents(doc: Any) -> None:
    _outcome(lambda: load_spec_text(yaml.safe_dump(doc, allow_unicode=True), "fuzz.yaml"))


@settings(max_examples=budget(200), deadline=None)
@given(documents)
def test_arbitrary_json_documents(doc: Any) -> None:
    _outcome(lambda: load_spec_text(json.dumps(doc), "fuzz.json"))


@settings(max_examples=budget(300), deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text(text: str) -> None:
    _outcome(lambda: load_spec_text(text, "fuzz.yaml"))


@settings(max_examples=budget(200), deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes(data: bytes) -> None:
    _outcome(lambda: load_spec_text(data, "fuzz.yaml"))


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, prefix + (i,))
    return out


ALL_PATHS = [p for p in _paths(VALID) if p]


@settings(max_examples=budget(400), deadline=None)
@given(st.lists(st.tuples(st.sampled_from(ALL_PATHS), documents), min_size=1, max_size=3))
def test_mutated_valid_spec(mutations: list[tuple[tuple[Any, ...], Any]]) -> None:
    """Replace parts of a valid spec with arbitrary values: reaches every semantic check."""
    doc = copy.deepcopy(VALID)
    for path, value in mutations:
        node = doc
        try:
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    _outcome(lambda: load_spec_text(yaml.safe_dump(doc, allow_unicode=True), "mutated.yaml"))


@settings(max_examples=budget(100), deadline=None)
@given(st.text(max_size=200), st.integers(min_value=0, max_value=2000))
def test_text_spliced_into_valid_spec(fragment: str, at: int) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    at = min(at, len(text))
    _outcome(lambda: load_spec_text(text[:at] + fragment + text[at:], "spliced.yaml"))


def test_hostile_inputs(tmp_path: Path) -> None:
    cases = [
        "[" * 5000, "a:\n" + "".join("  " * i + "b:\n" for i in range(1, 200)), "&a [*a]",
        "a: &a [" + ",".join(["x"] * 50) + "]\n" + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 50) + "]\n" for i in range(10)),
        "x: 1" + "9" * 5000, "\x00\x01", "\ufeffversion: 1", "!!binary aGVsbG8=", "? [a, b]\n: c",
        "a: !!int notanumber", "%YAML 1.1\n---\na: 1", "--- !<tag:yaml.org,2002:python/none> x",
    ]
    for text in cases:
        _outcome(lambda text=text: load_spec_text(text, "hostile.yaml"))
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: " + b"x" * (2 << 20))
    _outcome(lambda: load_spec(big))
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: caf\xe9\n".encode("latin-1"))
    _outcome(lambda: load_spec(latin))


secret_values = st.text(alphabet="0123456789-ABCDEFabcdef", min_size=12, max_size=60)


@settings(max_examples=budget(200), deadline=None)
@given(secret_values, st.sampled_from([
    "key: {s}", 'key: "{s}"', "key: {{env: {s}}}", 'key: {{env: "{s}"}}', 'key: {{"{s}": x}}',
    "key: {{env: A, other: {s}}}", "key: [{s}]", "key: {{env: [{s}]}}", "key: {{file: A, env: {s}}}",
]))
def test_secret_values_never_appear_in_errors(secret: str, form: str) -> None:
    """Whatever shape a mistyped secret takes under bitlocker.key, no message repeats it."""
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "key: {env: SEED_BITLOCKER_WCC4N7KT1234}", form.format(s=secret), 1)
    try:
        load_spec_text(text, "leak.yaml")
    except SpecError as exc:
        assert secret not in str(exc)
