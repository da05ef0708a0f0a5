"""The refresh starts a long read (the staging scan) before the quick ones (issue 17): with more
nodes than reader threads, a scan queued behind the others would add their time to the plan's."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import networkx as nx

from seedctl.planner import refresh
from seedctl.resources.base import Node
from seedctl.resources.staging import StagingNode


class _Quick(Node):
    kind = "quick"

    def __init__(self, name: str, started: list[str], gate: threading.Event) -> None:
        super().__init__(name)
        self.started, self.gate = started, gate

    def read(self, ctx):  # noqa: ANN001, ANN201 - the Node interface
        self.started.append(self.address)
        self.gate.wait(5)
        return {}


class _Scan(_Quick):
    kind = "scan"
    long_read = StagingNode.long_read


def test_the_long_read_starts_first_even_when_it_sorts_last() -> None:
    started: list[str] = []
    gate = threading.Event()
    nodes = [_Quick(f"q{i}", started, gate) for i in range(6)] + [_Scan("zzz", started, gate)]
    graph = nx.DiGraph()
    for node in nodes:
        graph.add_node(node.address, node=node)
    timer = threading.Timer(0.3, gate.set)  # every reader waits until all have been handed out
    timer.start()
    ctx = SimpleNamespace(observations={})
    refresh(graph, ctx, max_workers=2)  # type: ignore[arg-type]
    timer.cancel()
    assert StagingNode.long_read and started[0] == 'scan["zzz"]'
    assert set(ctx.observations) == {n.address for n in nodes}
