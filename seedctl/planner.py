"""Refresh the world and diff it against the spec: the heart of `plan` (and of every apply).

Refresh reads every node concurrently (bounded), so a plan takes as long as its slowest chain of
dependent reads, not the sum of all calls. An Azure error during refresh stops the run: it is
never taken to mean "absent".
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import networkx as nx

from seedctl import __version__
from seedctl.errors import AzureError, SeedctlError
from seedctl.graph import build_graph, ordered, select_targets
from seedctl.interrupt import wait_any
from seedctl.plan import UNOBSERVED, Change, Plan, fingerprint
from seedctl.resources.base import Context, Node, Unobservable
from seedctl.spec.model import SeedingSpec

MAX_PARALLEL_READS = 8
log = logging.getLogger("seedctl.plan")


def spec_fingerprint(spec: SeedingSpec) -> str:
    """Digest of what the spec asks for. Where the file lives is not part of it (CI and the copy
    computer check out the same spec in different folders)."""
    data = dataclasses.asdict(spec)
    data.pop("source_path", None)

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "base_dir"}
        if isinstance(value, list | tuple):
            return [strip(v) for v in value]
        return value

    return fingerprint(strip(data))


def observation_fingerprint(observed: Any) -> str:
    if isinstance(observed, Unobservable):
        return UNOBSERVED
    return fingerprint(observed)


def refresh(graph: nx.DiGraph, ctx: Context, addresses: set[str] | None = None,
            max_workers: int = MAX_PARALLEL_READS) -> None:
    """Read every node (or those in `addresses`) into ctx.observations."""
    wanted = set(addresses) if addresses is not None else set(graph.nodes)
    done: set[str] = set()
    failures: list[tuple[str, BaseException]] = []

    def ready(address: str) -> bool:
        node: Node = graph.nodes[address]["node"]
        if not node.read_after_dependencies:
            return True
        return all(dep in done or dep not in wanted for dep in graph.predecessors(address))

    def read(node: Node) -> Any:
        try:
            return node.read(ctx)
        except AzureError:
            raise
        except SeedctlError as exc:
            if node.local:  # a drive or staging problem is that node's error, not the run's
                return Unobservable(f"cannot be read: {exc}")
            raise

    pending = set(wanted)
    running: dict[Future[Any], str] = {}
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="refresh") as pool:
        while pending or running:
            for address in sorted((a for a in pending if ready(a)),
                                  key=lambda a: (not graph.nodes[a]["node"].long_read, a)):
                pending.discard(address)
                running[pool.submit(read, graph.nodes[address]["node"])] = address
            if not running:
                break
            finished = wait_any(running)  # in slices: Ctrl-C stops a long refresh on Windows too
            for future in finished:
                address = running.pop(future)
                try:
                    ctx.observations[address] = future.result()
                except BaseException as exc:  # noqa: BLE001 - collected, first one re-raised below
                    failures.append((address, exc))
                    pending.clear()
                done.add(address)
    if failures:
        failures.sort(key=lambda item: item[0])
        raise failures[0][1]


def diff_all(graph: nx.DiGraph, ctx: Context, addresses: set[str] | None = None) -> list[Change]:
    """Diff every node in stable dependency order (upstream observations feed desired states)."""
    changes = []
    ctx.cache.setdefault("changes", {})
    for node in ordered(graph):
        if addresses is not None and node.address not in addresses:
            continue
        observed = ctx.observations.get(node.address)
        try:
            desired = node.desired(ctx)
            change = node.diff(desired, observed)
        except SeedctlError as exc:
            change = node.error(str(exc))
        change.observed_fingerprint = observation_fingerprint(observed)
        ctx.cache["changes"][node.address] = change
        changes.append(change)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s: %s (%s)", node.address, change.action, _why(change))
    return changes


def _why(change: Change) -> str:
    """A decision in a few words, for the debug log."""
    if change.errors:
        return "; ".join(change.errors)
    if change.deferred_reason:
        return change.deferred_reason
    if change.attributes:
        return "differs in " + ", ".join(a.name for a in change.attributes)
    if change.notes:
        return change.notes[0]
    return "what is there matches the spec" if change.action == "no-op" else "see the plan"


def _log_skipped_entries(ctx: Context) -> None:
    """Each staging entry left out of the seed, and why (the plan shows the first few)."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    for address, observed in ctx.observations.items():
        if isinstance(observed, dict) and observed.get("skipped_count"):
            for line in observed.get("skipped", []):
                log.debug("%s: skipped, not seeded: %s", address, line)
            more = observed["skipped_count"] - len(observed.get("skipped", []))
            if more > 0:
                log.debug("%s: ... and %d more skipped", address, more)


def make_context(spec: SeedingSpec, env: Any, *, local_state: str = "auto",
                 clients_factory: Callable[[], Any] | None = None, events: Any = None) -> Context:
    def default_factory() -> Any:
        from seedctl.azure.clients import build_clients

        clients = build_clients(spec.azure.cloud, spec.azure.subscription_id, env.environ,
                                tenant_id=spec.azure.tenant_id)
        logging.getLogger("seedctl.azure").debug(
            "cloud %s (%s), subscription %s%s, credential %s", spec.azure.cloud, clients.cloud.arm_endpoint,
            spec.azure.subscription_id, f", tenant {spec.azure.tenant_id}" if spec.azure.tenant_id else "",
            "the sandbox's local token" if clients.is_sandbox else
            "DefaultAzureCredential (environment, workload identity, managed identity, Azure CLI, Azure "
            "PowerShell, Azure Developer CLI; the first that works)")
        return clients

    ctx = Context(spec=spec, env=env, clients_factory=clients_factory or default_factory,
                  local_state=local_state)
    if events:
        ctx.events = events
    return ctx


def build_plan(spec: SeedingSpec, ctx: Context, *, targets: list[str] | None = None
               ) -> tuple[Plan, nx.DiGraph]:
    graph = build_graph(spec)
    addresses = select_targets(graph, targets) if targets else None
    refresh(graph, ctx, addresses)
    _log_skipped_entries(ctx)
    changes = diff_all(graph, ctx, addresses)
    if ctx.local_state == "require":
        for change in changes:
            if change.deferred_reason and change.action in ("deferred", "no-op"):
                change.action = "error"
                change.errors.append(f"--local-state=require: {change.deferred_reason}")
    if ctx.local_state != "skip":
        _refuse_what_this_computer_cannot_do(spec, changes)
    local = "skipped" if ctx.local_state == "skip" else "observed"
    plan = Plan(spec_name=spec.name, spec_path=spec.source_path, spec_fingerprint=spec_fingerprint(spec),
                cloud=spec.azure.cloud, local_state=local, changes=changes, seedctl_version=__version__)
    return plan, graph


def _refuse_what_this_computer_cannot_do(spec: SeedingSpec, changes: list[Change]) -> None:
    """Fail early (issue 15): `bitlocker.manage: true` needs manage-bde, i.e. Windows. A plan for
    this computer (local state observed) says so now, instead of apply creating the resource group,
    vault, account and container before the drive fails. Plans with --local-state=skip (a CI runner
    planning for a Windows copy computer) are not affected."""
    import sys

    if sys.platform.startswith("win"):
        return
    managed = {d.serial for d in spec.drives if d.bitlocker is not None and d.bitlocker.manage}
    for change in changes:
        if change.kind == "drive" and change.name in managed:
            change.action = "error"
            change.errors.append(f"drive {change.name}: bitlocker.manage: true needs Windows (manage-bde), and "
                                 f"this computer runs {sys.platform}; encrypt the drive on Windows and give its "
                                 "key instead (bitlocker: {key: {env: NAME}} or {key: {file: PATH}})")
