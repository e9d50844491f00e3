"""Execution plans and the plan cache.

A plan is compiled once per (graph fingerprint, input shapes, backend,
determinism) and reused; executing it is the backend's job.
"""

from __future__ import annotations

from dataclasses import dataclass

from volta_core.ir.fingerprint import graph_fingerprint, sequence_fingerprint
from volta_core.ir.graph import Graph
from volta_core.ir.memory import MemoryPlan, plan_memory
from volta_core.ir.ops import IRError, backend_variant
from volta_core.ir.schedule import schedule
from volta_core.ir.verify import verify

DETERMINISM = ("strict", "balanced")
BACKENDS = ("cpu", "cuda")

PlanKey = tuple[str, tuple[tuple[str, tuple[int, ...]], ...], str, str]


@dataclass(frozen=True)
class ExecutionPlan:
    graph: Graph
    fingerprint: str
    order: tuple[int, ...]
    memory: MemoryPlan
    backend: str
    determinism: str

    @property
    def key(self) -> PlanKey:
        return plan_key(self.graph, self.fingerprint, self.backend, self.determinism)

    def schedule_fingerprint(self) -> str:
        return sequence_fingerprint("schedule", self.order)


def plan_key(graph: Graph, fingerprint: str, backend: str, determinism: str) -> PlanKey:
    """Graph, input shapes, backend with its kernel choice (the CPU's native or NumPy kernels
    need different scratch), and determinism."""
    shapes = tuple((graph.name_of(i), graph.node(i).shape) for i in (*graph.inputs, *graph.params))
    variant = backend_variant(backend)
    return fingerprint, shapes, f"{backend}:{variant}" if variant else backend, determinism


def compile_plan(graph: Graph, backend: str = "cpu", determinism: str = "strict") -> ExecutionPlan:
    """Verify, schedule and memory-plan ``graph``."""
    if determinism not in DETERMINISM:
        raise IRError(f"determinism must be one of {', '.join(DETERMINISM)}, got {determinism!r}")
    if backend not in BACKENDS:
        raise IRError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    verify(graph)
    order = schedule(graph)
    return ExecutionPlan(
        graph, graph_fingerprint(graph), tuple(order), plan_memory(graph, order, backend=backend), backend, determinism
    )


class PlanCache:
    """Compiled plans keyed by (graph fingerprint, input shapes, backend, determinism)."""

    def __init__(self) -> None:
        self._plans: dict[PlanKey, ExecutionPlan] = {}
        self.hits = 0
        self.misses = 0

    def get(self, graph: Graph, backend: str = "cpu", determinism: str = "strict") -> ExecutionPlan:
        key = plan_key(graph, graph_fingerprint(graph), backend, determinism)
        plan = self._plans.get(key)
        if plan is None:
            self.misses += 1
            plan = self._plans[key] = compile_plan(graph, backend, determinism)
        else:
            self.hits += 1
        return plan

    def __len__(self) -> int:
        return len(self._plans)
