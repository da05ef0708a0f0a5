"""Saved plans: write, read, and check that the world still matches before applying one.

A saved plan holds, per node, a fingerprint of what the node looked like when planned, and the
spec's fingerprint. `apply plan.json` refreshes the world again and refuses, naming the nodes,
when anything differs: what was reviewed is what gets applied. Nodes the plan could not observe
(drives on a CI runner) were shown as "refreshed at apply" and are exempt.
"""

from __future__ import annotations

import json
from pathlib import Path

from seedctl.errors import PlanError
from seedctl.plan import PLAN_FORMAT_VERSION, UNOBSERVED, Plan
from seedctl.private_files import write_private
from seedctl.render.jsonout import render_json


def save_plan(plan: Plan, path: str, *, cwd: str = ".") -> None:
    target = Path(path) if Path(path).is_absolute() else Path(cwd) / path
    # the scrubbed, stable JSON form; 0600 from the first byte and atomic (seedctl.private_files):
    # a plan names the subscription, the account and the drives
    write_private(target, render_json(plan).encode("utf-8"), error=PlanError)


def load_plan(path: Path) -> Plan:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PlanError(f"cannot read saved plan {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise PlanError(f"{path} is not a saved plan (invalid JSON: {exc})") from None
    if not isinstance(data, dict) or "changes" not in data or "spec" not in data:
        raise PlanError(f"{path} is not a seedctl saved plan (no spec/changes); make one with "
                        "`seedctl plan --out FILE`")
    if data.get("format_version") != PLAN_FORMAT_VERSION:
        raise PlanError(f"{path} has plan format {data.get('format_version')}, this seedctl reads "
                        f"{PLAN_FORMAT_VERSION}; plan again with this version")
    try:
        return Plan.from_dict(data)
    except (KeyError, TypeError) as exc:
        raise PlanError(f"{path} is a damaged saved plan ({exc}); plan again") from None


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
