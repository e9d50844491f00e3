"""An imported ONNX model as a :class:`~volta_core.nn.network.Network` (docs/onnx.md).

``import "m.onnx" as m [with batch N] [with loss L]`` builds an
:class:`ImportedNetwork`: the ONNX graph lowered to the IR, its float
initializers as the (trainable) parameters. It behaves like a Volta model for
``train``, ``evaluate``, ``infer``, ``save``/``load`` and ``export``:

- **batch.** With ``with batch N``, or when the file's batch dimension is a
  fixed number, the graph has one batch size and every call is fed in chunks
  of that size, the last chunk padded and the padding dropped (SPEC §2.4).
  Without it, a file whose axis 0 is symbolic is re-lowered per batch size.
- **loss.** ``with loss L`` picks it; otherwise a graph whose output is a
  ``Softmax`` trains with ``cross_entropy``, a ``Sigmoid`` with ``bce``, and
  anything else with ``mse``. A trailing softmax/sigmoid matching the loss is
  folded for training, as in Volta models.
- **padding never trains.** The training graph takes a per-row weight ``w``
  (``1/n`` for the ``n`` real rows of the whole batch, 0 for padding) and
  computes ``sum(w · per-row loss)``: the chunks' losses and gradients add up
  to exactly the mean over the real rows.
- **batch normalization.** Initializers used only as a BatchNormalization's
  running mean and variance are *buffers* (saved and exported, never trained).
  Training normalises with the batch's statistics and then updates the buffers
  as :meth:`Network.apply_batch_stats` does (PyTorch's rule, with PyTorch's
  momentum = 1 − the node's ONNX ``momentum``); evaluation and ``infer`` use the
  running statistics. Batch statistics need whole chunks: a fixed-batch model
  with batchnorm trains only on batches that are a multiple of its batch size.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from volta_core.check.symbols import LayerInfo, ModelInfo
from volta_core.errors import VoltaError
from volta_core.interop.contract import DROPOUT_STEP
from volta_core.ir import Graph, graph_fingerprint
from volta_core.ir.plan import ExecutionPlan
from volta_core.nn.network import Network, dropout_key
from volta_core.present import format_count, format_shape, tally

#: The most elements one value of an imported graph may have (a 8 GiB float32 tensor).
MAX_ELEMENTS = 2**31


class ImportFitError(VoltaError):
    """The ONNX model imports but cannot be a Volta model (e.g. several inputs)."""

    default_code = "E0812"


def param_fingerprint(params: Mapping[str, np.ndarray]) -> str:
    """SHA-256 of the parameter *values*, independent of their names and order.

    Each array is digested as ``dtype | shape | little-endian bytes``; the
    digests are sorted and hashed together. Renaming initializers (ONNX
    producers do) or reordering them keeps the fingerprint; changing any value,
    shape or dtype changes it.
    """
    digests = []
    for arr in params.values():
        a = np.ascontiguousarray(arr)
        a = a.astype(a.dtype.newbyteorder("<"), copy=False)
        h = hashlib.sha256()
        h.update(a.dtype.str.encode("ascii") + b"|" + ",".join(str(d) for d in a.shape).encode("ascii") + b"|")
        h.update(a.tobytes())
        digests.append(h.digest())
    total = hashlib.sha256(b"volta-params-1")
    for d in sorted(digests):
        total.update(d)
    return total.hexdigest()


_LOSS_OF_OUTPUT = {"softmax": "cross_entropy", "sigmoid": "bce"}
_FOLD = {"cross_entropy": "softmax", "bce": "sigmoid"}


@dataclass(eq=False)
class ImportedNetwork(Network):
    """A Network whose graph comes from an ONNX file rather than a layer stack."""

    #: Its batchnorms train on fixed-size chunks; they are not exchanged between ranks (roadmap).
    can_sync: ClassVar[bool] = False
    proto: Any = None  # onnx.ModelProto (kept to re-lower at other batch sizes)
    source: str = ""
    fixed_batch: int | None = None
    input_name: str = "x"
    input_dtype: str = "f32"
    sample_shape: tuple[int, ...] = ()
    output_shape_: tuple[int, ...] = ()
    output_op: str = ""
    op_counts: dict[str, int] = field(default_factory=dict)
    opset: int = 0
    producer: str = ""
    _contracts: dict[int, Any] = field(default_factory=dict)
    #: Per BatchNormalization, in training-graph output order: (running-mean name, running-var name,
    #: PyTorch momentum, values per channel of one example).
    _norms: list[tuple[str, str, float, int]] = field(default_factory=list)

    # ----------------------------------------------------------- queries
    @property
    def folded(self) -> bool:
        return _FOLD.get(self.loss) == self.output_op

    @property
    def output_width(self) -> int:
        return int(self.output_shape_[-1]) if self.output_shape_ else 1

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {name: tuple(arr.shape) for name, arr in self.weights().items()}

    @property
    def has_train_mode(self) -> bool:
        """Batch normalization (buffers) or a Dropout with a ratio: training differs from evaluation."""
        return bool(self.buffers) or self.op_counts.get("Dropout", 0) > 0

    def check_supported(self) -> None:
        return None

    def chunk(self, n: int) -> int:
        """The batch size a call on ``n`` rows runs at."""
        return self.fixed_batch if self.fixed_batch is not None else max(1, n)

    # ---------------------------------------------------------- building
    def _lowered(self, batch: int, train_mode: bool = False) -> Any:
        from volta_core.interop.onnx_import import contract_to_model, model_to_contract

        contract = self._contracts.get(batch)
        if contract is None:
            contract = self._contracts[batch] = model_to_contract(self.proto, batch)
        return contract_to_model(contract, train_mode)

    def build(self, batch: int, training: bool, train_mode: bool = True) -> tuple[Graph, int, int | None]:
        model = self._lowered(self.chunk(batch), training and train_mode and self.has_train_mode)
        g = model.graph
        out = g.outputs[0]
        if not training:
            if not self.folded and self.loss == "cross_entropy":
                out = g.op("softmax", out, axis=-1)
            elif not self.folded and self.loss == "bce":
                out = g.op("sigmoid", out)
            g.set_outputs([out])
            return g, out, None
        norms = []
        for moments, mean, var, momentum in model.stats:
            x_shape = g.node(g.node(moments).inputs[0]).shape
            norms.append((mean, var, 1.0 - momentum, math.prod(x_shape[2:])))
        self._norms = norms
        h = g.node(out).inputs[0] if self.folded else out
        shape, dtype = g.node(h).shape, g.node(h).dtype
        b = shape[0]
        w = g.input("w", (b,), dtype)
        if self.loss == "cross_entropy":
            y = g.input("y", (b,), "i64")
            logp = g.op("log_softmax", h, axis=-1)
            picked = g.op("mul", g.op("one_hot", y, depth=shape[-1], dtype=dtype), logp)
            per_row = g.op("neg", g.op("reduce_sum", picked, axes=(1,), keepdims=False))
        else:
            y = g.input("y", shape, dtype)
            if self.loss == "bce":
                zero, one = g.constant(0.0, dtype), g.constant(1.0, dtype)
                absz = g.op("where", g.op("compare", h, zero, cmp="gt"), h, g.op("neg", h))
                softplus = g.op("add", g.op("relu", h), g.op("log", g.op("add", one, g.op("exp", g.op("neg", absz)))))
                per = g.op("sub", softplus, g.op("mul", h, y))
            else:
                diff = g.op("sub", h, y)
                per = g.op("mul", diff, diff)
            per_row = g.op("reduce_mean", per, axes=tuple(range(1, len(shape))), keepdims=False) if len(shape) > 1 else per
        loss = g.op("reduce_sum", g.op("mul", per_row, w), axes=(0,), keepdims=False)
        g.set_outputs([h, *(moments for moments, *_ in model.stats)])
        return g, h, loss

    def trained(self, graph: Graph) -> list[int]:
        """The graph's parameters that train (not the running statistics)."""
        return [p for p in graph.params if graph.name_of(p) not in self.buffers]

    def executor(self, batch: int, training: bool, train_mode: bool = True) -> tuple[Any, ExecutionPlan]:
        """The cached (executor, plan) at the chunk size for ``batch`` rows (no training-mode layers)."""
        from volta_core.ir import training_graph

        key = (self.mode(training, train_mode), self.chunk(batch), False)

        def plan() -> ExecutionPlan:
            graph, _out, loss = self.build(key[1], training, train_mode)
            if training:
                assert loss is not None
                graph, _grads = training_graph(graph, loss, self.trained(graph))
            return self._cache.get(graph, "cpu", self.determinism)

        return self.bound_executor(key, plan)

    # --------------------------------------------------------- execution
    def _inputs(self, x: np.ndarray) -> np.ndarray:
        from volta_core.ir.ops import numpy_dtype

        return np.asarray(x).reshape(len(x), *self.sample_shape).astype(numpy_dtype(self.input_dtype), copy=False)

    def prepare_targets(self, y: np.ndarray) -> np.ndarray:
        if self.loss == "cross_entropy":
            return np.asarray(y, np.int64).reshape(-1)
        y = np.asarray(y, np.float32)
        return y.reshape(len(y), *self.output_shape_)

    def train_step(
        self, x: np.ndarray, y: np.ndarray, step: int = 0, seed: int = 0, *, train_mode: bool = True, **_: Any
    ) -> tuple[float, np.ndarray, dict[str, np.ndarray]]:
        """Mean loss over the real rows, logits, gradients (summed over chunks); reads the weights only.

        In training mode the batch moments of every BatchNormalization (over all chunks) are
        left in :attr:`batch_stats` for :meth:`apply_batch_stats`."""
        x = self._inputs(x)
        y = self.prepare_targets(y)
        n = len(x)
        size = self.chunk(n)
        ex, plan = self.executor(size, training=True, train_mode=train_mode)
        norms = self._norms if train_mode and self.has_train_mode else []
        if norms and n % size:
            raise ImportFitError(
                f"batch normalization trains on whole batches of {size} rows (the model's fixed batch); "
                f"got a batch of {n}: use a batch size that is a multiple of {size}"
            )
        names = [plan.graph.name_of(p) for p in self.trained(plan.graph)]
        has_step = any(plan.graph.name_of(i) == DROPOUT_STEP for i in plan.graph.inputs)
        total = 0.0
        logits: list[np.ndarray] = []
        grads: dict[str, np.ndarray] = {}
        moments: list[list[np.ndarray]] = [[] for _ in norms]
        for start in range(0, n, size):
            xs, ys, m = _pad(x[start : start + size], size), _pad(y[start : start + size], size), min(size, n - start)
            w: np.ndarray = np.zeros(size, _float_dtype(plan.graph, "w"))
            w[:m] = 1.0 / n
            feeds: dict[str, np.ndarray] = self.weights()
            feeds.update({self.input_name: xs, "y": ys.astype(_float_dtype(plan.graph, "y"), copy=False), "w": w})
            if has_step:  # one key per step and chunk: a pure function of (seed, step, chunk)
                feeds[DROPOUT_STEP] = np.asarray(dropout_key(seed, step * 1_000_003 + start // size), np.int64)
            with np.errstate(over="ignore", invalid="ignore"):
                outs = ex.run(feeds)
            k = len(norms)
            total += float(outs[1 + k])
            logits.append(np.asarray(outs[0])[:m])
            for i in range(k):
                moments[i].append(np.array(outs[1 + i]))
            for name, gval in zip(names, outs[2 + k :], strict=True):
                grads[name] = grads[name] + gval if name in grads else np.array(gval)
        self.batch_stats = [_combine(parts) for parts in moments]
        return total, np.concatenate(logits) if logits else np.empty((0,)), grads

    def apply_batch_stats(self, stats: list[np.ndarray], batch: int) -> None:
        """Update the running statistics as :meth:`Network.apply_batch_stats` (PyTorch's rule)."""
        for (mean, var, momentum, per_channel), moments in zip(self._norms, stats, strict=True):
            self.update_running(mean, var, momentum, batch * per_channel, moments)

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = self._inputs(x)
        n = len(x)
        size = self.chunk(n)
        ex, _ = self.executor(size, training=False)
        parts = []
        for start in range(0, n, size):
            m = min(size, n - start)
            feeds: dict[str, np.ndarray] = self.weights()
            feeds[self.input_name] = _pad(x[start : start + size], size)
            parts.append(np.asarray(ex.run(feeds)[0])[:m])
        return np.concatenate(parts) if parts else np.empty((0, *self.output_shape_), np.float32)

    def fingerprint(self) -> str:
        graph, _, _ = self.build(self.chunk(1), training=False)
        return graph_fingerprint(graph)

    def loss_on(self, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        loss, logits, _ = self.train_step(x, y, train_mode=False)
        return loss, logits


def _combine(parts: list[np.ndarray]) -> np.ndarray:
    """[mean, biased variance] of equal-sized chunks from each chunk's [2, C] moments."""
    stacked = np.stack(parts).astype(np.float64)
    mean = stacked[:, 0].mean(axis=0)
    var = (stacked[:, 1] + stacked[:, 0] ** 2).mean(axis=0) - mean**2
    return np.stack([mean, var]).astype(parts[0].dtype)


def _pad(a: np.ndarray, size: int) -> np.ndarray:
    if len(a) == size:
        return a
    pad = np.zeros((size - len(a), *a.shape[1:]), a.dtype)
    return np.concatenate([a, pad])


def _float_dtype(graph: Graph, name: str) -> type:
    from volta_core.ir.ops import numpy_dtype

    return numpy_dtype(graph.node(graph.by_name(name)).dtype)


def load_imported(
    path: str | os.PathLike[str], name: str, batch: int | None, loss: str | None = None
) -> ImportedNetwork:
    """``import "path" as name [with batch N] [with loss L]``.

    Raises :class:`~volta_core.interop.OnnxImportError` for files that cannot
    be imported and :class:`ImportFitError` for graphs that import but cannot
    serve as a model (several inputs or outputs, no batch axis, a non-float output).
    """
    from volta_core.interop.onnx_import import (
        contract_to_model,
        model_to_contract,
        read_model,
        running_statistics,
    )

    proto = read_model(path)
    dynamic = False
    if len(proto.graph.input) > 0:
        inits = {t.name for t in proto.graph.initializer}
        for v in proto.graph.input:
            if v.name in inits or not v.type.HasField("tensor_type"):
                continue
            dims = v.type.tensor_type.shape.dim
            dynamic = bool(dims) and not dims[0].HasField("dim_value")
            break
    bind = batch if batch is not None else (1 if dynamic else None)
    contract = model_to_contract(proto, bind)
    model = contract_to_model(contract)
    for node in model.graph.nodes:
        size = math.prod(node.shape)
        if size > MAX_ELEMENTS:
            from volta_core.interop.onnx_import import OnnxImportError

            what = f"{node.op} value" + (f" {model.graph.name_of(node.id)!r}" if node.op in ("input", "parameter") else "")
            raise OnnxImportError(
                f"{what} of shape {list(node.shape)} has {size:,} elements, over the limit of {MAX_ELEMENTS:,}",
                opset=contract.opset,
            )
    if len(contract.inputs) != 1:
        raise ImportFitError(
            f"the graph has {len(contract.inputs)} inputs ({', '.join(s.name for s in contract.inputs) or 'none'}); "
            "a Volta model takes exactly one"
        )
    if len(model.graph.outputs) != 1:
        raise ImportFitError(
            f"the graph has {len(model.graph.outputs)} outputs ({', '.join(model.output_names)}); "
            "a Volta model gives exactly one"
        )
    spec = contract.inputs[0]
    in_shape = tuple(int(d or 0) for d in spec.shape or ())
    out_node = model.graph.node(model.graph.outputs[0])
    if not in_shape or not out_node.shape or out_node.shape[0] != in_shape[0]:
        raise ImportFitError(
            f"input {spec.name!r} {list(in_shape)} and output {list(out_node.shape)} do not share a batch "
            "dimension at axis 0"
        )
    if out_node.dtype not in ("f32", "f64"):
        raise ImportFitError(f"the output is {out_node.dtype}; a Volta model's output must be floating point")
    output_op = out_node.op
    if loss is None:
        loss = _LOSS_OF_OUTPUT.get(output_op, "mse")
    if loss == "cross_entropy" and len(out_node.shape) != 2:
        raise ImportFitError(f"`cross_entropy` needs a [batch, classes] output, the graph gives {list(out_node.shape)}")
    fixed = None if (dynamic and batch is None) else in_shape[0]
    out_sample = tuple(int(d) for d in out_node.shape[1:])
    stats = running_statistics(proto)
    params = {k: v for k, v in model.params.items() if k not in stats}
    buffers = {k: v for k, v in model.params.items() if k in stats}
    total = int(sum(int(a.size) for a in params.values()))
    counts = Counter(n.op_type for n in proto.graph.node)
    info = ModelInfo(
        name, in_shape[1:], spec.dtype in ("i32", "i64"),
        (LayerInfo(1, "onnx", (), out_sample, total, tuple((k, tuple(v.shape)) for k, v in params.items())),),
        loss, total,
    )  # fmt: skip
    net = ImportedNetwork(
        info, loss, params, buffers=buffers, proto=proto, source=str(path), fixed_batch=fixed, input_name=spec.name,
        input_dtype=spec.dtype, sample_shape=in_shape[1:], output_shape_=out_sample, output_op=output_op,
        op_counts=dict(counts), opset=contract.opset, producer=contract.producer,
    )  # fmt: skip
    net._contracts[in_shape[0]] = contract
    return net


@dataclass(frozen=True)
class Verdict:
    """``None`` code: the file imports. Otherwise the code and the user-facing message."""

    code: str | None
    message: str = ""


_VERDICTS: dict[tuple[str, int, int, int | None, str | None], Verdict] = {}


def validate_file(path: str | os.PathLike[str], batch: int | None, loss: str | None = None) -> Verdict | None:
    """Import ``path`` as the ``import`` statement would; ``None`` when the file does not exist (yet).

    This is what ``volta check`` runs for an ``import`` of an existing file (the
    analysis passes it to the checker as a hook). Verdicts are cached by path,
    size, modification time, batch and loss.
    """
    from volta_core.interop.diagnose import classify, import_message
    from volta_core.interop.onnx_import import OnnxImportError

    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return None
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns, batch, loss)
    hit = _VERDICTS.get(key)
    if hit is not None:
        return hit
    try:
        load_imported(p, "m", batch, loss)
        verdict = Verdict(None)
    except OnnxImportError as err:
        verdict = Verdict(classify(err), import_message(p.name, err))
    except ImportFitError as err:
        verdict = Verdict(err.code, import_message(p.name, err))
    if len(_VERDICTS) > 64:
        _VERDICTS.clear()
    _VERDICTS[key] = verdict
    return verdict


def describe(net: ImportedNetwork) -> tuple[str, tuple[tuple[str, str], ...]]:
    """What ``inspect`` shows of an imported model: where it comes from (one
    line), then (label, value) facts about its input, output, nodes and parameters."""
    batch = f"fixed batch {net.fixed_batch}" if net.fixed_batch is not None else "any batch"
    origin = f"imported from {Path(net.source).name}, opset {net.opset}, loss {net.loss}, {batch}"
    kind = "tokens" if net.info.token_input else ""
    output = format_shape(["B", *net.output_shape_])
    if net.folded:
        output += f" ({net.output_op}, folded into {net.loss} for training)"
    return origin, (
        ("input", f"{net.input_name} {format_shape(['B', *net.sample_shape], kind)} {net.input_dtype}"),
        ("output", output),
        ("ONNX nodes", f"{sum(net.op_counts.values())} ({tally(net.op_counts)})"),
        ("parameters", f"{format_count(sum(int(a.size) for a in net.params.values()))} in "
                       f"{len(net.params)} trainable initializer(s)"),
        ("parameter fingerprint", param_fingerprint(net.params)[:16]),
    )


__all__ = [
    "ImportFitError", "ImportedNetwork", "Verdict", "describe", "load_imported", "param_fingerprint", "validate_file",
]
