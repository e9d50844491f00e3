"""Executes an :class:`~volta_core.ir.plan.ExecutionPlan` with preallocated NumPy buffers."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from volta_core.ir.graph import Node, constant_array
from volta_core.ir.ops import IRError, get_op, kernel_factory, numpy_dtype
from volta_core.ir.plan import ExecutionPlan


def _view(node: Node, src: np.ndarray) -> np.ndarray:
    """The value of a view node (see :func:`volta_core.ir.memory.view_nodes`) as a view of ``src``."""
    if node.op == "transpose":
        return src.transpose(node.attr("perm"))
    if node.op == "broadcast_to":
        return np.broadcast_to(src, node.shape)
    try:
        return np.reshape(src, node.shape, copy=False)  # raises rather than copies if a copy were needed
    except TypeError:  # NumPy < 2.1 has no copy=; setting the shape raises the same way
        out = src.view()
        out.shape = node.shape
        return out


class CpuExecutor:
    """Prepares a plan once; :meth:`run` then copies feeds in and calls kernels.

    Every value lives in a view of a planned buffer (or an executor-owned
    buffer for inputs, parameters and constants), built at preparation time.
    ``bind`` names caller-owned arrays (a network's live weights) used as the
    storage of those inputs/parameters directly: feeding the same array again
    copies nothing, and in-place updates by the caller are seen by the next
    run. :meth:`stale` tells when the caller replaced a bound array.
    Views (transpose, broadcast_to, and reshapes of contiguous values; see
    the memory plan's ``views``) are NumPy views of their input made once
    here, with no kernel step and no buffer. The hot loop walks a flat list of ``(kernel, input arrays, output array)``
    tuples: no dict lookups, shape logic or allocation in the loop (kernels
    themselves allocate only where NumPy has no ``out=``).
    """

    def __init__(self, plan: ExecutionPlan, bind: Mapping[str, np.ndarray] | None = None) -> None:
        if plan.backend != "cpu":
            raise IRError(f"CpuExecutor cannot run a plan for backend {plan.backend!r}")
        from volta_core.backends.cpu.kernels import register

        register()
        graph = plan.graph
        self.plan = plan
        arenas = [np.empty(size, np.uint8) for size in plan.memory.buffer_sizes]
        self.buffers = arenas  # the planned buffers (values and workspaces), for inspection
        values: dict[int, np.ndarray] = {}
        self._feeds: list[tuple[str, np.ndarray]] = []
        self._bound: list[tuple[str, np.ndarray]] = []
        for nid in plan.order:
            node = graph.node(nid)
            dt = numpy_dtype(node.dtype)
            if node.op == "constant":
                values[nid] = constant_array(node)
            elif node.op in ("input", "parameter"):
                name = str(node.attr("name"))
                given = bind.get(name) if bind is not None else None
                if given is not None and _bindable(given, node.shape, dt):
                    values[nid] = given  # zero-copy: the executor reads the caller's array
                    self._bound.append((name, given))
                else:
                    values[nid] = np.empty(node.shape, dt)
                self._feeds.append((name, values[nid]))
            elif nid in plan.memory.views:
                values[nid] = _view(node, values[plan.memory.views[nid]])
            else:
                arena = arenas[plan.memory.assignment[nid]]
                count = int(np.prod(node.shape, dtype=np.int64))
                values[nid] = arena[: count * np.dtype(dt).itemsize].view(dt).reshape(node.shape)
        self.steps: list[tuple[object, tuple[np.ndarray, ...], np.ndarray]] = []
        for nid in plan.order:
            node = graph.node(nid)
            if get_op(node.op).source or nid in plan.memory.views:
                continue
            inputs = [graph.node(i) for i in node.inputs]
            factory = kernel_factory("cpu", node.op)
            scratch = plan.memory.workspace.get(nid)
            if scratch is None:
                kernel = factory(node, inputs)
            else:  # the step's planned workspace: bytes another step may have used before
                buf, size = scratch
                kernel = factory(node, inputs, arenas[buf][:size])
            self.steps.append((kernel, tuple(values[i] for i in node.inputs), values[nid]))
        self._outputs = [values[o] for o in graph.outputs]

    def stale(self, bind: Mapping[str, np.ndarray]) -> bool:
        """Whether some array bound at construction is no longer ``bind[name]`` (rebuild then)."""
        return any(bind.get(name) is not arr for name, arr in self._bound)

    def feed(self, feeds: Mapping[str, np.ndarray]) -> None:
        for name, buf in self._feeds:
            if name not in feeds:
                raise IRError(f"missing value for input/parameter {name!r}")
            value = feeds[name]
            if value is buf:
                continue  # bound at construction: already in place
            value = np.asarray(value)
            if value.shape != buf.shape:
                raise IRError(f"{name!r}: expected shape {list(buf.shape)}, got {list(value.shape)}")
            np.copyto(buf, value, casting="same_kind")

    def execute(self) -> None:
        """Run every step on the values already fed (the hot loop)."""
        for kernel, ins, out in self.steps:
            kernel(ins, out)  # type: ignore[operator]

    def run(self, feeds: Mapping[str, np.ndarray], copy: bool = True) -> list[np.ndarray]:
        """Feed, execute, and return the graph outputs: copies, or with ``copy=False``
        the executor's own buffers (valid until the next run, which overwrites them)."""
        self.feed(feeds)
        self.execute()
        if not copy:
            return list(self._outputs)
        return [o.copy() for o in self._outputs]


def _bindable(arr: object, shape: tuple[int, ...], dt: type) -> bool:
    return (
        isinstance(arr, np.ndarray)
        and arr.shape == tuple(shape)
        and arr.dtype == dt
        and arr.flags.c_contiguous
        and arr.flags.writeable
        and arr.flags.aligned
    )
