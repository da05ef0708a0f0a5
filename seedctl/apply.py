"""The executor: walk the plan's graph, change what must change, report what happened.

Nodes run as soon as their dependencies are done, independent ones in parallel (drives are written
concurrently). Every node re-reads its object right before acting and does nothing when it already
matches, so an apply interrupted anywhere — a crash, a kill, a lost network — is finished by
running apply again. A failed node stops only its descendants; the rest complete, and the summary
says what succeeded, what failed and what was skipped.

Apply acts on results, not on stale plans. A node whose planned action was no-op is still re-read
and re-diffed when one of its dependencies was changed by this apply (a rewritten drive has a new
manifest hash, which the job's drive list must carry). What the re-diff may do is bounded by what
was approved: the reviewed plan (saved, or shown before the confirmation) may shrink at apply time
(a crash finished part of it; a value known only after apply turned out equal) but never grow. A
node whose fresh diff holds an action or an attribute the plan did not show is not changed; it
fails with "plan again", and its descendants (the shipment) are skipped.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from seedctl.errors import ApplyError, SeedctlError
from seedctl.graph import ordered
from seedctl.interrupt import wait_any
from seedctl.plan import CREATE, DEFERRED, DELETE, ERROR, NOOP, REPLACE, UPDATE, Change, Plan
from seedctl.planner import observation_fingerprint
from seedctl.resources.base import Context, Node, Unobservable

log = logging.getLogger("seedctl.apply")


@dataclass
class NodeResult:
    address: str
    status: str  # "applied", "unchanged", "failed", "skipped"
    action: str = NOOP
    error: str | None = None
    seconds: float = 0.0


@dataclass
class ApplyResult:
    results: list[NodeResult] = field(default_factory=list)

    @property
    def failed(self) -> list[NodeResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def skipped(self) -> list[NodeResult]:
        return [r for r in self.results if r.status == "skipped"]

    def counts(self) -> dict[str, int]:
        applied = [r for r in self.results if r.status == "applied"]
        return {
            "added": sum(r.action == CREATE for r in applied),
            "changed": sum(r.action in (UPDATE, DEFERRED) for r in applied),
            "destroyed": sum(r.action == DELETE for r in applied),
            "failed": len(self.failed),
            "skipped": len(self.skipped),
        }


def grown(planned: Change, fresh: Change) -> str | None:
    """What `fresh` (re-diffed at apply time) would do that the reviewed `planned` change did not
    show, or None when it stays within it."""
    if fresh.action == NOOP or planned.action in (CREATE, DEFERRED):
        # a planned create is made whole at apply; a deferred node was reviewed as "refreshed at apply"
        return None
    if planned.action == NOOP:
        names = ", ".join(a.name for a in fresh.attributes) or "no attribute named"
        return f"{fresh.action} ({names})"
    if fresh.action in (CREATE, DELETE, REPLACE) and fresh.action != planned.action:
        return f"{fresh.action} instead of the planned {planned.action}"
    shown = {a.name for a in planned.attributes}
    extra = [a.name for a in fresh.attributes if a.name not in shown]
    return f"{fresh.action} of {', '.join(extra)}" if extra else None


def _act(node: Node, ctx: Context, planned: Change) -> tuple[str, str]:
    """Re-read, re-diff, and change the node if it still needs it. Returns (status, action)."""
    observed = node.read(ctx)
    ctx.observations[node.address] = observed
    change = node.diff(node.desired(ctx), observed)
    if change.action == NOOP:
        log.debug("%s: re-read before acting: already as the spec says; nothing to do", node.address)
        return "unchanged", NOOP
    if change.action == ERROR:
        raise SeedctlError("; ".join(change.errors))
    if change.action == DEFERRED or isinstance(observed, Unobservable):
        # still not observable where apply runs: acting blind is never an option
        raise SeedctlError(change.deferred_reason or getattr(observed, "reason", "cannot be observed here"))
    extra = grown(planned, change)
    if extra:
        raise ApplyError(f"re-planned with what this apply just changed, {node.address} now needs {extra}, which "
                         "the reviewed plan did not show; it was left unchanged. Run `seedctl plan` again and "
                         "review the new plan")
    ctx.observations[node.address] = node.apply(change, ctx)
    return "applied", change.action


def execute(plan: Plan, graph: nx.DiGraph, ctx: Context, *, parallelism: int = 4) -> ApplyResult:
    """Carry out `plan` over `graph`. Nodes whose planned action is no-op are not touched unless a
    dependency of theirs was changed by this apply; then they are re-diffed (and may not grow)."""
    planned = {c.address: c for c in plan.changes}
    order = [n for n in ordered(graph) if n.address in planned]
    status: dict[str, str] = {}
    results: dict[str, NodeResult] = {}
    running: dict[Future[Any], tuple[Node, float]] = {}

    def blocked_by(node: Node) -> str | None:
        for dep in graph.predecessors(node.address):
            if dep in planned and status.get(dep) in ("failed", "skipped"):
                return dep
        return None

    def deps_done(node: Node) -> bool:
        return all(dep not in planned or status.get(dep) in ("applied", "unchanged")
                   for dep in graph.predecessors(node.address))

    with ThreadPoolExecutor(max_workers=max(1, parallelism), thread_name_prefix="apply") as pool:
        pending = list(order)
        while pending or running:
            progressed = False
            for node in list(pending):
                dep = blocked_by(node)
                if dep is not None:
                    pending.remove(node)
                    status[node.address] = "skipped"
                    results[node.address] = NodeResult(node.address, "skipped", planned[node.address].action,
                                                       error=f"skipped: {dep} did not complete")
                    ctx.emit("node_skipped", address=node.address, because=dep)
                    progressed = True
                    continue
                if not deps_done(node):
                    continue
                pending.remove(node)
                upstream_changed = any(status.get(dep) == "applied" for dep in graph.predecessors(node.address))
                if planned[node.address].action == NOOP and not upstream_changed:
                    log.debug("%s: planned no-op and no dependency changed in this apply: not touched",
                              node.address)
                    status[node.address] = "unchanged"
                    results[node.address] = NodeResult(node.address, "unchanged")
                    progressed = True
                    continue
                ctx.emit("node_start", address=node.address, action=planned[node.address].action)
                running[pool.submit(_act, node, ctx, planned[node.address])] = (node, time.monotonic())
                progressed = True
            if progressed and not running:
                continue
            if not running:
                break
            try:
                # in slices, so Ctrl-C is handled within one on Windows too (seedctl.interrupt.wait_any)
                finished = wait_any(running)
            except KeyboardInterrupt:  # a stop request (seedctl.interrupt): queued nodes never start
                for future in running:
                    future.cancel()
                raise
            for future in finished:
                node, started = running.pop(future)
                seconds = time.monotonic() - started
                try:
                    outcome, action = future.result()
                except Exception as exc:  # noqa: BLE001 - reported, descendants skipped
                    message = str(exc) if isinstance(exc, SeedctlError) else f"{type(exc).__name__}: {exc}"
                    status[node.address] = "failed"
                    results[node.address] = NodeResult(node.address, "failed", planned[node.address].action,
                                                       error=message, seconds=seconds)
                    ctx.emit("node_failed", address=node.address, error=message, seconds=round(seconds, 2))
                    continue
                status[node.address] = outcome
                results[node.address] = NodeResult(node.address, outcome, action, seconds=seconds)
                ctx.emit("node_done", address=node.address, status=outcome, action=action,
                         seconds=round(seconds, 2),
                         fingerprint=observation_fingerprint(ctx.observations.get(node.address)))
    return ApplyResult([results[n.address] for n in order if n.address in results])
