"""Field paths as users read them: `drives[1].bitlocker.key`, `azure.tags["cost-center"]`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from seedctl.errors import SpecError

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def field_path(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENT.fullmatch(str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += "[" + _quote(str(part)) + "]"
    return out or "(top level)"


def _quote(text: str) -> str:
    if len(text) > 40:
        text = text[:37] + "..."
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def spec_error(problems: list[str], name: str) -> SpecError:
    """SpecError whose text does not repeat the file name when the one problem already starts with it.

    SpecError prefixes its text with the path ("seed.yaml: seed.yaml:3:1: ..."); our problems carry
    `file:line:col` themselves, which terminals and editors make clickable.
    """
    error = SpecError(problems, name)
    if len(problems) == 1 and problems[0].startswith(f"{name}:"):
        Exception.__init__(error, problems[0])
    return error
