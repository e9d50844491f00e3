"""Volta's compiler IR: graph, op registry, verifier, autograd, schedule, memory plan, plans.

Backends attach kernels through :func:`volta_core.ir.ops.register_kernels`;
nothing here imports a backend.
"""

from volta_core.ir.autograd import GradMapping, grad, training_graph
from volta_core.ir.fingerprint import graph_fingerprint
from volta_core.ir.graph import Graph, Node, format_node
from volta_core.ir.memory import MemoryPlan, plan_memory
from volta_core.ir.ops import AttrError, DTypeError, IRError, ShapeError, broadcast_shapes, get_op
from volta_core.ir.passes import run_passes
from volta_core.ir.plan import ExecutionPlan, PlanCache, compile_plan
from volta_core.ir.schedule import schedule
from volta_core.ir.summary import GraphSummary, summary
from volta_core.ir.verify import VerifyError, verify

__all__ = [
    "AttrError",
    "DTypeError",
    "ExecutionPlan",
    "GradMapping",
    "Graph",
    "GraphSummary",
    "IRError",
    "MemoryPlan",
    "Node",
    "PlanCache",
    "ShapeError",
    "VerifyError",
    "broadcast_shapes",
    "compile_plan",
    "format_node",
    "get_op",
    "grad",
    "graph_fingerprint",
    "plan_memory",
    "run_passes",
    "schedule",
    "summary",
    "training_graph",
    "verify",
]
