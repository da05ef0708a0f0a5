"""Azure naming rules, one function per kind of name.

Each check returns None when the name is acceptable, or a sentence saying what is wrong and what
the rule is. The schema carries equivalent `pattern`s so editors flag bad names as you type; the
loader uses these functions to turn a bare "does not match pattern" into an actionable sentence,
and a test keeps the two in agreement.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _show(name: str) -> str:
    return repr(name if len(name) <= 80 else name[:77] + "...")


def storage_account(name: str) -> str | None:
    if not 3 <= len(name) <= 24:
        return f"storage account name {_show(name)} has {len(name)} characters; Azure needs 3 to 24"
    if not re.fullmatch(r"[a-z0-9]+", name):
        return (f"storage account name {_show(name)} may contain only lowercase letters and digits "
                "(no capitals, hyphens or other characters)")
    return None


def container(name: str) -> str | None:
    if not 3 <= len(name) <= 63:
        return f"container name {_show(name)} has {len(name)} characters; Azure needs 3 to 63"
    if not re.fullmatch(r"[a-z0-9-]+", name):
        return f"container name {_show(name)} may contain only lowercase letters, digits and hyphens"
    if name[0] == "-" or name[-1] == "-":
        return f"container name {_show(name)} must start and end with a letter or digit"
    if "--" in name:
        return f"container name {_show(name)} must not contain two hyphens in a row"
    return None


def resource_group(name: str) -> str | None:
    if not 1 <= len(name) <= 90:
        return f"resource group name {_show(name)} has {len(name)} characters; Azure allows 1 to 90"
    # Azure allows Unicode letters and digits, '_', '-', '.', '(' and ')'; Python's \w is Unicode-aware
    if not re.fullmatch(r"[-\w.()]+", name):
        return (f"resource group name {_show(name)} may contain only letters, digits, underscores, "
                "hyphens, periods and parentheses")
    if name.endswith("."):
        return f"resource group name {_show(name)} must not end with a period"
    return None


def job_name(name: str) -> str | None:
    # The strictest intersection of the classic and Data Box portal rules (reference §3.7), so a
    # name valid here is valid for both back ends and for switching between them.
    if not 3 <= len(name) <= 24:
        return f"import job name {_show(name)} has {len(name)} characters; use 3 to 24"
    if not re.fullmatch(r"[a-z0-9-]+", name):
        return (f"import job name {_show(name)} may contain only lowercase letters, digits and hyphens "
                "(the rule both the Import/Export and Data Box back ends accept)")
    if not name[0].isalpha():
        return f"import job name {_show(name)} must start with a letter"
    if name[-1] == "-":
        return f"import job name {_show(name)} must end with a letter or digit"
    return None


def vault_name(name: str) -> str | None:
    if not 2 <= len(name) <= 50:
        return f"vault name {_show(name)} has {len(name)} characters; Azure needs 2 to 50"
    if not re.fullmatch(r"[A-Za-z0-9-]+", name):
        return f"vault name {_show(name)} may contain only letters, digits and hyphens"
    if not name[0].isalpha():
        return f"vault name {_show(name)} must start with a letter"
    return None


def guid(value: str) -> str | None:
    if not _GUID.fullmatch(value):
        return (f"{_show(value)} is not a GUID; it looks like 00000000-0000-0000-0000-000000000000 "
                "(`az account show --query id`)")
    return None


def drive_serial(serial: str) -> str | None:
    if any(ch.isspace() for ch in serial):
        return (f"drive serial {_show(serial)} contains spaces; give the hardware serial number without "
                "spaces (it is the job's drive id)")
    if not 1 <= len(serial) <= 64:
        return f"drive serial {_show(serial)} has {len(serial)} characters; use 1 to 64"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:-]*", serial):
        return (f"drive serial {_show(serial)} may contain only letters, digits, '.', '_', ':' and '-', "
                "starting with a letter or digit")
    return None


def blob_prefix(prefix: str) -> str | None:
    """A virtual directory inside the container: segments separated by '/', no leading/trailing '/'."""
    if prefix == "":
        return None
    if prefix.startswith("/") or prefix.endswith("/"):
        return f"blob prefix {_show(prefix)} must not start or end with '/'"
    if "\\" in prefix:
        return f"blob prefix {_show(prefix)} must use '/' between folders, not '\\'"
    if len(prefix) > 512:
        # leave at least half of the 1,024-character blob-name limit for the staged file paths
        return f"blob prefix has {len(prefix)} characters; keep it to 512 or fewer (blob names are limited to 1,024)"
    segments = prefix.split("/")
    if len(segments) > 200:
        return f"blob prefix has {len(segments)} segments; blob names allow at most 254 in total"
    for segment in segments:
        if segment == "":
            return f"blob prefix {_show(prefix)} has an empty segment ('//')"
        if segment in (".", ".."):
            return f"blob prefix {_show(prefix)} must not contain '.' or '..' segments"
        if segment.endswith("."):
            return f"blob prefix {_show(prefix)} has a segment ending in '.', which Azure drops"
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in segment):
            return f"blob prefix {_show(prefix)} contains a control character"
    return None


# Keyed by the schema's "x-name-rule" annotation.
RULES: dict[str, Callable[[str], str | None]] = {
    "storage_account": storage_account,
    "container": container,
    "resource_group": resource_group,
    "job_name": job_name,
    "vault_name": vault_name,
    "guid": guid,
    "drive_serial": drive_serial,
    "blob_prefix": blob_prefix,
}
