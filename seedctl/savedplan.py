"""Saved plans: write, read, and check that the world still matches before applying one.

A saved plan holds, per node, a fingerprint of what the node looked like when planned, and the
spec's fingerprint. `apply plan.json` refreshes the world again and refuses, naming the nodes,
when anything differs: what was reviewed is what gets applied. Nodes the plan could not observe
(drives on a CI runner) were shown as "refreshed at apply" and are exempt.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from seedctl.errors import PlanError
from seedctl.plan import PLAN_FORMAT_VERSION, UNOBSERVED, Plan
from seedctl.private_files import write_private
from seedctl.render.jsonout import render_json


def save_plan(plan: Plan, path: str, *, cwd: str = ".") -> None:
    target = Path(path) if Path(path).is_absolute() else Path(cwd) / path
    # the scrubbed, stable JSON form; 0600 from the first byte and atomic (seedctl.private_files):
    # a plan names the subscription, the account and the drives
    write_private(target, render_json(plan).encode("utf-8"), error=PlanError)


def file_digest(path: Path) -> str | None:
    """SHA-256 (hex) of a file's bytes, or None when it cannot be read."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def _looks_like_a_spec(text: str) -> bool:
    """A YAML mapping with a seeding spec's top-level fields: someone typed `apply seed.yaml`."""
    try:
        import yaml

        data = yaml.safe_load(text)
    except Exception:  # noqa: BLE001 - any YAML failure: not a spec, the JSON error stands
        return False
    return isinstance(data, dict) and len({"version", "azure", "drives", "staging", "import_job"} & set(data)) >= 2


def load_plan(path: Path, *, display: str | None = None) -> Plan:
    """The saved plan at `path` (`display`: the name as typed, for messages)."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanError(f"cannot read saved plan {name}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise PlanError(f"{name} is not a saved plan (not UTF-8 text); make one with `seedctl plan --out FILE`") \
            from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        if _looks_like_a_spec(text):
            raise PlanError(f"{name} is a seeding spec, not a saved plan: use `seedctl apply -f {name}` (or "
                            f"`seedctl plan -f {name} --out plan.json`, then `seedctl apply plan.json`)") from None
        raise PlanError(f"{name} is not a saved plan (invalid JSON: {exc})") from None
    if not isinstance(data, dict) or "changes" not in data or "spec" not in data:
        raise PlanError(f"{name} is not a seedctl saved plan (no spec/changes); make one with "
                        "`seedctl plan --out FILE`")
    if data.get("format_version") != PLAN_FORMAT_VERSION:
        raise PlanError(f"{name} has plan format {data.get('format_version')}, this seedctl reads "
                        f"{PLAN_FORMAT_VERSION}; plan again with this version")
    try:
        return Plan.from_dict(data)
    except (KeyError, TypeError) as exc:
        raise PlanError(f"{name} is a damaged saved plan ({exc}); plan again") from None


def made_for(saved: Plan) -> str:
    """"spec "fs-seed" at /home/a/seed/seed.yaml": which spec a saved plan was made for."""
    where = saved.spec_source or saved.spec_path
    return f'spec "{saved.spec_name}"' + (f" at {where}" if where else "")


def spec_for_saved_plan(saved: Plan, cwd: str) -> str:
    """The spec file to apply `saved` with when no -f is given: the path as typed at plan time, from
    this folder; else the very file the plan was made from, when it is still there.
    Otherwise a PlanError naming the spec the plan was made for (not "seed.yaml: no such file")."""
    typed = saved.spec_path or "seed.yaml"
    here = typed if os.path.isabs(typed) else os.path.join(cwd, typed)
    if os.path.isfile(here):
        return typed
    source = saved.spec_source
    if source and os.path.isfile(source):
        return source  # the file it was made from; whether it still asks the same is checked next
    raise PlanError(f"this plan was made for {made_for(saved)}, which is not here: {typed} is not in this "
                    f"folder ({cwd}). Apply it from the folder that holds the spec, or name the spec: "
                    f"seedctl apply PLAN -f PATH")


def check_spec_matches(saved: Plan, spec: Any, fingerprint: str, spec_file: str) -> None:
    """Refuse, before anything is read from Azure, a saved plan applied with another spec or a changed
    one, naming both (a plan for another spec would otherwise fail on its first --target address)."""
    if spec.name != saved.spec_name:
        raise PlanError(f"this plan was made for {made_for(saved)}; {spec_file} is spec \"{spec.name}\". Apply "
                        f"it with that spec (-f {saved.spec_source or saved.spec_path}), or plan again with "
                        f"this one: seedctl plan -f {spec_file} --out plan.json")
    if saved.cloud != spec.azure.cloud:
        raise PlanError(f"the saved plan is for cloud {saved.cloud}, this run is for {spec.azure.cloud}")
    if fingerprint != saved.spec_fingerprint:
        now = spec.source_path or spec_file
        raise PlanError(f"the spec changed since the plan was made: this plan was made for {made_for(saved)}"
                        + (f" (sha256 {saved.spec_digest[:12]}…)" if saved.spec_digest else "")
                        + f", and {now} asks for something else. Review the change and plan again: "
                        f"seedctl plan -f {spec_file} --out plan.json")


def stale_nodes(saved: Plan, fresh: Plan) -> list[str]:
    """Why the saved plan no longer describes the world, one line per difference."""
    reasons = []
    if saved.spec_fingerprint != fresh.spec_fingerprint:
        reasons.append("the spec changed since the plan was made")
    saved_by_addr = {c.address: c for c in saved.changes}
    fresh_by_addr = {c.address: c for c in fresh.changes}
    for address in sorted(set(saved_by_addr) | set(fresh_by_addr)):
        before, now = saved_by_addr.get(address), fresh_by_addr.get(address)
        if before is None or now is None:
            reasons.append(f"{address}: {'new in the spec' if before is None else 'no longer in the spec'}")
            continue
        if before.observed_fingerprint == UNOBSERVED:
            continue  # shown as "refreshed at apply" when reviewed
        if before.observed_fingerprint != now.observed_fingerprint:
            reasons.append(f"{address}: changed since the plan was made ({before.action} → now {now.action})")
    return reasons
