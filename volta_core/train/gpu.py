"""Training on the GPU: weights and optimizer state live on the device for the
whole `train` statement; each step copies the batch in and the loss and logits
out, nothing else. The optimizer updates and gradient clipping are fused CUDA
kernels (``cu/volta.cu``) that perform the CPU optimizer's float32
operations in the same order, so with equal gradients the updates are bitwise
equal. When training ends, weights and state are copied back into the host
arrays in place (checkpoints, `inspect` and CPU inference see them).
"""

from __future__ import annotations

import struct

import numpy as np

from volta_core.backends.cuda import launch as L
from volta_core.backends.cuda.driver import CudaUnavailable, Device, device
from volta_core.backends.cuda.executor import CudaExecutor, DeviceTensors
from volta_core.backends.cuda.kernels import signature
from volta_core.nn.network import Network
from volta_core.train.data import Split
from volta_core.train.optim import Optimizer

_SLOTS = {"sgd": (), "momentum": ("momentum_buffer",), "adam": ("exp_avg", "exp_avg_sq"),
          "adamw": ("exp_avg", "exp_avg_sq"), "rmsprop": ("square_avg", "momentum_buffer"), "adagrad": ("sum",)}


def _f32(x: float) -> float:
    return float(np.float32(x))


__all__ = ["CudaUnavailable", "DeviceOptimizer", "GpuRunner"]


class DeviceOptimizer:
    """The state of an :class:`Optimizer` on the GPU and its fused update kernels."""

    def __init__(self, dev: Device, opt: Optimizer, params: DeviceTensors) -> None:
        self.dev = dev
        self.opt = opt
        self.params = params
        slots = [s for s in _SLOTS[opt.name] if not (s == "momentum_buffer" and opt.name == "rmsprop" and opt.momentum <= 0)]
        self.slots = slots
        self.state = {slot: DeviceTensors(params.shapes, dev) for slot in slots}
        # a momentum buffer that does not exist yet starts as a copy of the gradient (torch's rule)
        self.first = {n: opt.name == "momentum" and "momentum_buffer" not in opt.state.get(n, {}) for n in params.names}
        for slot, tensors in self.state.items():
            have = {n: opt.state[n][slot] for n in params.names if slot in opt.state.get(n, {})}
            for n, a in have.items():
                if a.size:
                    dev.drv.memcpy_htod(tensors.address[n], np.ascontiguousarray(a, np.float32))
        k = len(params.names)
        self.norms = dev.drv.mem_alloc(4 * (k + 2))

    def clip(self, grads: dict[str, int], max_norm: float) -> None:
        """``clip_grad_norm`` on the device: per-tensor norms, one coefficient, every gradient scaled."""
        names = self.params.names
        base = int(self.norms)
        fn_sq, fn_coef, fn_scale = (self.dev.function(n) for n in ("clip_sumsq", "clip_coef", "clip_scale"))
        stream = self.dev.stream
        for i, name in enumerate(names):
            n = self.params.numel(name)
            fn_sq._launch_kernel((1, 1, 1), (256, 1, 1), struct.pack("@" + signature("clip_sumsq"), n, grads[name], base + 4 * i), 0, stream)
        fn_coef._launch_kernel((1, 1, 1), (32, 1, 1), struct.pack("@" + signature("clip_coef"), len(names), base, _f32(max_norm)), 0, stream)
        for name in names:
            n = self.params.numel(name)
            grid, block = L.grid_1d(n)
            fn_scale._launch_kernel(grid, block, struct.pack("@" + signature("clip_scale"), n, grads[name], base + 4 * len(names)), 0, stream)

    def step(self, grads: dict[str, int], lr: float) -> None:
        """One update of every parameter (sorted by name), as :meth:`Optimizer.step`."""
        opt = self.opt
        opt.steps += 1
        wd = opt.weight_decay
        has_wd = int(bool(wd) and opt.name != "adamw")
        stream = self.dev.stream
        for name in self.params.names:
            n = self.params.numel(name)
            if n == 0:
                continue
            p, g = self.params.address[name], grads[name]
            grid, block = L.grid_1d(n)
            st = [self.state[s].address[name] for s in self.slots]
            args: tuple[float | int, ...]
            if opt.name == "sgd":
                kind, args = "opt_sgd", (n, p, g, _f32(wd), has_wd, _f32(-lr))
            elif opt.name == "momentum":
                kind, args = "opt_momentum", (n, p, g, st[0], _f32(wd), has_wd, _f32(opt.momentum),
                                              int(self.first[name]), _f32(-lr))
                self.first[name] = False
            elif opt.name in ("adam", "adamw"):
                b1, b2 = opt.betas
                eps_c, neg_step_c = opt.adam_scalars(lr)
                decay = opt.name == "adamw" and bool(wd)
                kind, args = "opt_adam", (n, p, g, st[0], st[1], _f32(wd), has_wd, _f32(1.0 - lr * wd), int(decay),
                                          _f32(1.0 - b1), _f32(b2), _f32(1.0 - b2), _f32(eps_c), _f32(neg_step_c))
            elif opt.name == "adagrad":
                kind, args = "opt_adagrad", (n, p, g, st[0], _f32(wd), has_wd, _f32(opt.eps), _f32(-lr))
            else:
                buf = st[1] if len(st) > 1 else 0
                kind, args = "opt_rmsprop", (n, p, g, st[0], buf, _f32(wd), has_wd, _f32(opt.alpha),
                                             _f32(1.0 - opt.alpha), _f32(opt.eps), _f32(opt.momentum),
                                             int(opt.momentum > 0), _f32(-lr))
            self.dev.function(kind)._launch_kernel(grid, block, struct.pack("@" + signature(kind), *args), 0, stream)

    def download(self) -> None:
        """Copy the state into the host :class:`Optimizer` (creating its arrays where missing)."""
        self.dev.synchronize()
        for slot, tensors in self.state.items():
            for name in self.params.names:
                st = self.opt.state.setdefault(name, {})
                if slot == "momentum_buffer" and self.opt.name == "momentum" and self.first[name]:
                    continue  # never stepped: no buffer yet, as on the CPU
                if slot not in st or st[slot].shape != self.params.shapes[name]:
                    st[slot] = np.zeros(self.params.shapes[name], np.float32)
                if st[slot].size:
                    self.dev.drv.memcpy_dtoh(st[slot], tensors.address[name])
        self.opt._plan = None
        self.opt._serial_cache = None

    def free(self) -> None:
        for t in self.state.values():
            t.free()
        self.norms.free()


class GpuRunner:
    """One `train` statement's GPU state: weights, optimizer state, and executors per (mode, batch)."""

    def __init__(self, net: Network, opt: Optimizer, determinism: str = "strict") -> None:
        self.dev = device()
        self.determinism = determinism
        self.net = net
        self.params = DeviceTensors({n: a.shape for n, a in net.params.items()}, self.dev)
        self.params.upload(net.params)
        # Batchnorm running statistics: kept on the host (updated there after each step from
        # the batch moments the step reads back) and uploaded for evaluation graphs.
        self.buffers = DeviceTensors({n: a.shape for n, a in net.buffers.items()}, self.dev)
        self.buffers.upload(net.buffers)
        self.optimizer = DeviceOptimizer(self.dev, opt, self.params)
        self._executors: dict[tuple[str, int], tuple[CudaExecutor, list[str]]] = {}
        self._stats: list[np.ndarray] = []
        self._batch = 0

    def _executor(self, mode: str, batch: int) -> tuple[CudaExecutor, list[str]]:
        hit = self._executors.get((mode, batch))
        if hit is None:
            plan = self.net.plan(batch, mode, "cuda", self.determinism)
            ex = CudaExecutor(plan, bind={**self.params.address, **self.buffers.address}, dev=self.dev)
            hit = self._executors[(mode, batch)] = (ex, [plan.graph.name_of(p) for p in plan.graph.params])
        return hit

    def forward_backward(self, x: np.ndarray, y: np.ndarray, step: int, seed: int, mode: str = "train") -> tuple[float, np.ndarray]:
        """Loss and logits of one batch; the gradients stay on the device for :meth:`update`."""
        ex, names = self._executor(self.net.mode(True, mode == "train"), len(x))
        ex.feed(self.net.feeds(x, y, step, seed))
        ex.execute()
        stats = ex.n_outputs - 2 - len(names)  # batchnorm moments between the logits and the loss
        logits = ex.read(0)
        self._stats = [ex.read(1 + k) for k in range(stats)]
        self._batch = len(x)
        loss = ex.read(1 + stats)
        ex.check_errors()
        self._grads = {n: ex.output_address(2 + stats + i) for i, n in enumerate(names)}
        return float(loss), logits

    def update(self, lr: float, clip: float | None) -> None:
        if clip is not None:
            self.optimizer.clip(self._grads, clip)
        self.optimizer.step(self._grads, lr)
        if self._stats:  # the step is applied, so are its batch statistics
            self.net.apply_batch_stats(self._stats, self._batch)
            self.buffers.upload(self.net.buffers)

    def evaluate_split(self, split: Split, batch: int) -> tuple[float, float | None]:
        """Mean loss and accuracy on ``split`` with the weights on the device (dropout off)."""
        net = self.net
        n = len(split)
        if n == 0:
            return float("nan"), None
        total = correct = 0.0
        for start in range(0, n, batch):
            x, y = split.x[start : start + batch], split.y[start : start + batch]
            loss, logits = self.forward_backward(x, y, 0, 0, mode="eval")
            total += loss * len(x)
            if net.classification:
                correct += net.correct(logits, y)
        return total / n, (correct / n if net.classification else None)

    def finish(self) -> None:
        """Weights and optimizer state back into the host arrays, in place; device memory freed."""
        self.params.download_into(self.net.params)
        self.optimizer.download()
        for ex, _ in self._executors.values():
            ex.free()
        self._executors.clear()
        self.optimizer.free()
        self.params.free()
        self.buffers.free()
