"""Executes an :class:`~volta_core.ir.plan.ExecutionPlan` on the GPU.

Preparation does all the work once: one arena (a single device allocation)
holds every planned buffer, every unbound input/parameter/constant, kernel
scratch and the index metadata; the launches are packed with their final
addresses. :meth:`CudaExecutor.execute` then only launches, in plan order,
on Volta's one stream. Host<->device copies happen in :meth:`feed` (the batch
in) and :meth:`read` (results out), nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from volta_core.backends.cuda import launch as L
from volta_core.backends.cuda.driver import Device, KernelError, device
from volta_core.backends.cuda.kernels import BUILDERS, ERRORS, Builder, Ref, constant_bytes
from volta_core.ir.ops import IRError, get_op, numel, numpy_dtype
from volta_core.ir.plan import ExecutionPlan


class CudaExecutor:
    """Prepares a plan once; :meth:`run` copies feeds in, launches, copies outputs out.

    ``bind`` maps input/parameter names to device addresses owned by the caller
    (a model's weights on the GPU, see :class:`DeviceTensors`): the plan reads and
    the optimizer updates them in place, with no copy.
    """

    def __init__(self, plan: ExecutionPlan, bind: Mapping[str, int] | None = None, dev: Device | None = None) -> None:
        if plan.backend != "cuda":
            raise IRError(f"CudaExecutor cannot run a plan for backend {plan.backend!r}")
        self.dev = dev or device()
        self.plan = plan
        graph = plan.graph
        bind = dict(bind or {})
        views = plan.memory.views

        def value(nid: int) -> Ref:
            while nid in views:
                nid = views[nid]
            node = graph.node(nid)
            if node.op in ("input", "parameter"):
                name = str(node.attr("name"))
                if name in bind:
                    return Ref(("bound", name))
                return Ref(("node", nid))
            if node.op == "constant":
                return Ref(("node", nid))
            return Ref(("buf", plan.memory.assignment[nid]))

        def work(nid: int) -> Ref:
            return Ref(("buf", plan.memory.workspace[nid][0]))

        b = Builder(self.dev, value, plan.determinism, work)
        for nid in plan.order:
            node = graph.node(nid)
            if get_op(node.op).source or nid in views:
                continue
            build = BUILDERS.get(node.op)
            if build is None:
                raise IRError(f"the CUDA backend has no kernel for op {node.op!r}")
            build(node, [graph.node(i) for i in node.inputs], b)

        # ---- the arena: one allocation, regions in a fixed order
        regions: list[tuple[tuple[object, ...], int]] = [(("error",), 8)]
        regions += [(("buf", i), size) for i, size in enumerate(plan.memory.buffer_sizes)]
        sources = [graph.node(nid) for nid in plan.order if get_op(graph.node(nid).op).source]
        for node in sources:
            if node.op == "constant" or str(node.attr("name")) not in bind:
                regions.append((("node", node.id), numel(node.shape) * np.dtype(numpy_dtype(node.dtype)).itemsize))
        regions += [(("scratch", i), size) for i, size in enumerate(b.scratch_sizes)]
        regions += [(("meta", i), len(data)) for i, data in enumerate(b.metas)]
        offsets, total = L.arena_layout([size for _, size in regions])
        self.arena_bytes = total
        self.arena = self.dev.drv.mem_alloc(total)
        base = int(self.arena)
        at = {key: base + off for (key, _), off in zip(regions, offsets, strict=True)}

        def resolve(ref: Ref) -> int:
            if ref.region[0] == "bound":
                return int(bind[str(ref.region[1])]) + ref.offset
            return at[ref.region] + ref.offset

        self.resolve = resolve
        drv = self.dev.drv
        drv.memset_d8(base, 0, total)
        for i, data in enumerate(b.metas):
            drv.memcpy_htod(at[("meta", i)], np.frombuffer(data, np.uint8))
        for ref, make in b.late_metas:
            drv.memcpy_htod(resolve(ref), np.frombuffer(make(resolve), np.uint8))
        for node in sources:
            if node.op == "constant":
                drv.memcpy_htod(at[("node", node.id)], np.frombuffer(constant_bytes(node), np.uint8))
        self.steps = [make(resolve) for make in b.recipes]
        self._hooks: dict[str, list[Callable[[Callable[[Ref], int], np.ndarray], None]]] = {}
        for name, hook in b.feed_hooks:
            self._hooks.setdefault(name, []).append(hook)
        self._feeds: list[tuple[str, int, tuple[int, ...], type]] = []
        for node in sources:
            if node.op in ("input", "parameter"):
                name = str(node.attr("name"))
                if name not in bind:
                    self._feeds.append((name, at[("node", node.id)], node.shape, numpy_dtype(node.dtype)))
        self._outputs = [(value(o), graph.node(o).shape, numpy_dtype(graph.node(o).dtype)) for o in graph.outputs]
        self._error = at[("error",)]
        self._error_host = np.zeros(2, np.int32)
        self.dev.synchronize()

    # ---------------------------------------------------------------- running
    def feed(self, feeds: Mapping[str, object]) -> None:
        """Copy the unbound inputs/parameters in (asynchronously, on Volta's stream)."""
        drv, stream = self.dev.drv, self.dev.stream
        for name, addr, shape, dt in self._feeds:
            if name not in feeds:
                raise IRError(f"missing value for input/parameter {name!r}")
            value: np.ndarray = np.asarray(feeds[name], dt)  # 0-d stays 0-d (ascontiguousarray makes it 1-d)
            if not value.flags.c_contiguous:
                value = np.ascontiguousarray(value)
            if value.shape != tuple(shape):
                raise IRError(f"{name!r}: expected shape {list(shape)}, got {list(value.shape)}")
            if value.size:
                drv.memcpy_htod_async(addr, value, stream)
            for hook in self._hooks.get(name, ()):
                hook(self.resolve, value)

    def execute(self) -> None:
        """Launch every step (asynchronous: returns before the GPU is done)."""
        self.dev.set_tf32(self.plan.determinism == "balanced")  # cuBLAS' math mode is per handle
        for step in self.steps:
            step()

    @property
    def n_outputs(self) -> int:
        """How many outputs the graph has."""
        return len(self._outputs)

    def output_address(self, k: int) -> int:
        return self.resolve(self._outputs[k][0])

    def read(self, k: int) -> np.ndarray:
        """Output ``k`` copied to the host (waits for the GPU)."""
        ref, shape, dt = self._outputs[k]
        out = np.empty(shape, dt)
        if out.size:
            self.dev.drv.memcpy_dtoh_async(out, self.resolve(ref), self.dev.stream)
        self.dev.synchronize()
        return out

    def check_errors(self) -> None:
        """Raise the error a kernel flagged (an index out of range) since the last check."""
        drv = self.dev.drv
        drv.memcpy_dtoh_async(self._error_host, self._error, self.dev.stream)
        self.dev.synchronize()
        code = int(self._error_host[0])
        if code:
            drv.memset_d8(self._error, 0, 8)
            raise KernelError(ERRORS.get(code, f"a CUDA kernel reported error {code}"))

    def run(self, feeds: Mapping[str, object], copy: bool = True) -> list[np.ndarray]:
        """Feed, execute, and return every graph output on the host."""
        self.feed(feeds)
        self.execute()
        outs = [self.read(k) for k in range(len(self._outputs))]
        self.check_errors()
        return outs

    def free(self) -> None:
        self.arena.free()


class DeviceTensors:
    """Named float32 arrays living on the GPU in one allocation (a model's weights, optimizer state)."""

    def __init__(self, shapes: Mapping[str, tuple[int, ...]], dev: Device | None = None) -> None:
        self.dev = dev or device()
        self.names = sorted(shapes)
        self.shapes = {n: tuple(shapes[n]) for n in self.names}
        sizes = [numel(self.shapes[n]) * 4 for n in self.names]
        offsets, total = L.arena_layout(sizes)
        self.nbytes = total
        # CUDA refuses a zero-byte allocation; a model without buffers still gets a (tiny) arena.
        self.alloc = self.dev.drv.mem_alloc(max(total, 256))
        self.dev.drv.memset_d8(int(self.alloc), 0, max(total, 256))
        self.address = {n: int(self.alloc) + off for n, off in zip(self.names, offsets, strict=True)}

    def numel(self, name: str) -> int:
        return numel(self.shapes[name])

    def upload(self, arrays: Mapping[str, np.ndarray]) -> None:
        for name in self.names:
            a = np.asarray(arrays[name], np.float32)
            if not a.flags.c_contiguous:
                a = np.ascontiguousarray(a)
            if a.shape != self.shapes[name]:
                raise IRError(f"{name!r}: expected shape {list(self.shapes[name])}, got {list(a.shape)}")
            if a.size:
                self.dev.drv.memcpy_htod(self.address[name], a)

    def download_into(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Copy every tensor into the caller's arrays, in place (their identity is kept)."""
        self.dev.synchronize()
        for name in self.names:
            dst = arrays[name]
            if dst.size:
                if not (dst.flags.c_contiguous and dst.dtype == np.float32):
                    raise IRError(f"{name!r}: host array must be contiguous float32")
                self.dev.drv.memcpy_dtoh(dst, self.address[name])

    def free(self) -> None:
        self.alloc.free()
