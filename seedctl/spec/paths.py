"""Field paths as users read them: `drives[1].bitlocker.key`, `azure.tags["cost-center"]`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

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
