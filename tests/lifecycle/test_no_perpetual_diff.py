"""Acceptance (issue 14): a full lifecycle on both back ends shows no perpetual diffs — after
every apply, and after every step the datacenter takes, `plan --detailed-exitcode` exits 0."""

from __future__ import annotations

from typing import Any

FINAL = {"Completed", "CompletedWithErrors", "CompletedWithWarnings", "Closed", "Cancelled", "Aborted"}


def no_changes(ws: Any, when: str) -> None:
    r = ws.run("plan", "--detailed-exitcode")
    assert r.rc == 0, f"{when}: plan is not empty\n{r.out}{r.err}"


def test_plan_is_empty_after_every_apply_and_every_datacenter_step(workspace: Any) -> None:
    ws = workspace
    r = ws.run("apply", "--auto-approve")
    assert r.rc == 0, r.out + r.err
    no_changes(ws, "after creating the job")
    ws.add_shipment()
    r = ws.run("apply", "--auto-approve")
    assert r.rc == 0, r.out + r.err
    no_changes(ws, "after entering the shipment")
    seen = []
    for _ in range(20):
        job = ws.advance(None)
        state = (job.get("properties") or {}).get("state") or (job.get("properties") or {}).get("status")
        seen.append(state)
        no_changes(ws, f"in state {state}")
        if state in FINAL:
            break
    assert seen[-1] in FINAL, seen
    assert len(seen) >= 3, seen  # it went through the datacenter's states one at a time
