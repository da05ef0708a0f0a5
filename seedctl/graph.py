"""The dependency graph of a spec's nodes (networkx), and its stable order.

Edges point from a dependency to its dependent: provider → job, resource group → storage account →
container → job, staging → drive → job, job → shipment. The order is a topological sort with a
fixed tie-break (kind, then name), so the same spec always yields the same plan, byte for byte.
"""

from __future__ import annotations

import networkx as nx

from seedctl.errors import PlanError
from seedctl.resources.base import Node
from seedctl.resources.container import ContainerNode
from seedctl.resources.drive import DriveNode
from seedctl.resources.import_job import ImportJobNode
from seedctl.resources.provider import ProviderNode
from seedctl.resources.resource_group import ResourceGroupNode
from seedctl.resources.shipment import ShipmentNode
from seedctl.resources.staging import STAGING_NAME, StagingNode
from seedctl.resources.storage_account import StorageAccountNode
from seedctl.resources.vault import VaultNode
from seedctl.spec.model import DEFAULT_PROVIDER_FOR_API, SeedingSpec

KIND_ORDER = ("provider", "resource_group", "vault", "storage_account", "container", "staging", "drive",
              "import_job", "shipment")


def providers_for(spec: SeedingSpec) -> tuple[str, ...]:
    """The spec's providers, or the one its job back end needs."""
    if spec.providers:
        return spec.providers
    if spec.import_job:
        return (DEFAULT_PROVIDER_FOR_API[spec.import_job.api],)
    return ()


def build_nodes(spec: SeedingSpec) -> list[Node]:
    nodes: list[Node] = []
    providers = [ProviderNode(ns) for ns in providers_for(spec)]
    nodes += providers
    groups = sorted({spec.azure.resource_group, spec.storage_resource_group,
                     *([spec.vault.resource_group] if spec.vault else []),
                     *([spec.job_resource_group] if spec.import_job else [])})
    nodes += [ResourceGroupNode(g) for g in groups]

    def rg(name: str) -> str:
        return f'resource_group["{name}"]'

    if spec.vault:
        nodes.append(VaultNode(spec.vault.name, spec.vault.resource_group, spec.vault.create,
                               (rg(spec.vault.resource_group),)))
    account = StorageAccountNode(spec.storage_account.name, spec.storage_resource_group,
                                 spec.storage_account.create, (rg(spec.storage_resource_group),))
    container = ContainerNode(spec.container.name, spec.storage_account.name, spec.storage_resource_group,
                              spec.container.create, (account.address,))
    staging = StagingNode(STAGING_NAME)
    drives = [DriveNode(d, (staging.address,)) for d in spec.drives]
    nodes += [account, container, staging, *drives]
    if spec.import_job:
        job_deps = (*[p.address for p in providers], rg(spec.job_resource_group), account.address,
                    container.address, *[d.address for d in drives])
        if spec.vault:
            job_deps = (*job_deps, f'vault["{spec.vault.name}"]')
        job = ImportJobNode(spec.import_job.name, spec.job_resource_group, spec.import_job.api, job_deps)
        nodes.append(job)
        if spec.shipment:
            nodes.append(ShipmentNode(spec.import_job.name, spec.job_resource_group, spec.import_job.api,
                                      (job.address,)))
    return nodes


def build_graph(spec: SeedingSpec) -> nx.DiGraph:
    return graph_of(build_nodes(spec))


def graph_of(nodes: list[Node]) -> nx.DiGraph:
    graph = nx.DiGraph()
    for node in nodes:
        if node.address in graph:
            raise PlanError(f"two nodes share the address {node.address}")
        graph.add_node(node.address, node=node)
    for node in nodes:
        for dep in node.depends_on:
            if dep not in graph:
                raise PlanError(f"{node.address} depends on {dep}, which is not in the spec")
            graph.add_edge(dep, node.address)
    if not nx.is_directed_acyclic_graph(graph):
        cycle = " → ".join(a for a, _ in nx.find_cycle(graph))
        raise PlanError(f"the dependency graph has a cycle: {cycle}")
    return graph


def _sort_key(graph: nx.DiGraph, address: str) -> tuple[int, str]:
    node: Node = graph.nodes[address]["node"]
    return (KIND_ORDER.index(node.kind) if node.kind in KIND_ORDER else len(KIND_ORDER), node.name)


def ordered(graph: nx.DiGraph) -> list[Node]:
    order = nx.lexicographical_topological_sort(graph, key=lambda a: _sort_key(graph, a))
    return [graph.nodes[a]["node"] for a in order]


def descendants(graph: nx.DiGraph, address: str) -> set[str]:
    return set(nx.descendants(graph, address))


def select_targets(graph: nx.DiGraph, targets: list[str]) -> set[str]:
    """`--target ADDRESS`: the named nodes and everything they depend on (as Terraform does)."""
    chosen: set[str] = set()
    for target in targets:
        matches = [a for a in graph.nodes if a == target or a.startswith(target + "[") or
                   graph.nodes[a]["node"].kind == target]
        if not matches:
            known = ", ".join(sorted(graph.nodes))
            raise PlanError(f"--target {target} matches no node; the nodes are: {known}")
        for address in matches:
            chosen.add(address)
            chosen |= nx.ancestors(graph, address)
    return chosen
