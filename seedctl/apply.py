"""The executor: walk the plan's graph, change what must change, report what happened.

Nodes run as soon as their dependencies are done, independent ones in parallel (drives are written
concurrently). Every node re-reads its object right before acting and does nothing when it already
matches, so an apply interrupted anywhere — a crash, a kill, a lost network — is finished by
running apply again. A failed node stops only its descendants; the rest complete, and the summary
says what succeeded, what failed and what was skipped.
"""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from seedctl.errors import SeedctlError
from seedctl.graph import ordered
from seedctl.plan import CREATE, DEFERRED, DELETE, ERROR, NOOP, UPDATE, Plan
from seedctl.planner import observation_fingerprint
from seedctl.resources.base import Context, Node, Unobservable


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


def _act(node: Node, ctx: Context) -> tuple[str, str]:
    """Re-read, re-diff, and change the node if it still needs it. Returns (status, action)."""
    observed = node.read(ctx)
    ctx.observations[node.address] = observed
    change = node.diff(node.desired(ctx), observed)
    if change.action == NOOP:
        return "unchanged", NOOP
    if change.action == ERROR:
        raise SeedctlError("; ".join(change.errors))
    if change.action == DEFERRED or isinstance(observed, Unobservable):
        # still not observable where apply runs: acting blind is never an option
        raise SeedctlError(change.deferred_reason or getattr(observed, "reason", "cannot be observed here"))
    ctx.observations[node.address] = node.apply(change, ctx)
    return "applied", change.action


def execute(plan: Plan, graph: nx.DiGraph, ctx: Context, *, parallelism: int = 4) -> ApplyResult:
    """Carry out `plan` over `graph`. Nodes whose planned action is no-op are not touched."""
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
                if planned[node.address].action == NOOP:
                    status[node.address] = "unchanged"
                    results[node.address] = NodeResult(node.address, "unchanged")
                    progressed = True
                    continue
                ctx.emit("node_start", address=node.address, action=planned[node.address].action)
                running[pool.submit(_act, node, ctx)] = (node, time.monotonic())
                progressed = True
            if progressed and not running:
                continue
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
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
