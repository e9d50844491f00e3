"""A model statement as IR: forward, inference and training graphs, and initial weights.

The expanded layer stack, parameter names and shapes come from the checker's
:class:`~volta_core.check.symbols.ModelInfo` (the single source of that
logic); this module only turns each layer into IR ops.

Conventions (SPEC §2.1):

- the graph input ``x`` is ``f32[B, F]`` (``B`` the batch size), the target
  ``y`` is ``i64[B]`` for ``cross_entropy`` and ``f32`` shaped like the output
  for ``mse`` and ``bce``;
- images are ``f32[B, C, H, W]``; ``conv``/``maxpool``/``avgpool`` lower to
  the IR's ``conv2d``/``max_pool2d``/``avg_pool2d``, ``global_avg_pool`` to a
  mean over H and W;
- ``batchnorm`` in training mode (PyTorch's ``model.train()``) normalises
  with the batch's statistics (``moments``: mean and biased variance per
  channel), which are extra graph outputs: after each applied step,
  :meth:`Network.apply_batch_stats` updates the running statistics (buffers)
  with PyTorch's rule (``running = (1 - momentum)·running + momentum·batch``,
  the unbiased variance). In evaluation and inference the running statistics
  are parameters of the graph (not trained: the optimizer never sees them);
- a trailing ``softmax`` (with ``cross_entropy``) or ``sigmoid`` (with
  ``bce``) is *folded*: the training graph stops at the logits and the loss
  works on logits, the inference graph applies the activation. A
  classification model without that trailing layer still predicts
  probabilities at inference (the loss defines the output's meaning);
- ``bce`` on a logit ``z`` and target ``t`` is ``softplus(z) - z·t`` with
  ``softplus(z) = relu(z) + log(1 + exp(-|z|))`` (stable for any ``z``);
  ``|z|`` is written ``where(z > 0, z, -z)`` so that the gradient at
  ``z = 0`` is exactly ``sigmoid(0) - t``, as PyTorch's
  ``BCEWithLogitsLoss``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from volta_core.backends.cpu import CpuExecutor
from volta_core.check.shapes import option, projection_stride, window
from volta_core.check.symbols import LayerInfo, ModelInfo
from volta_core.errors import VoltaError
from volta_core.ir import Graph, PlanCache, graph_fingerprint, training_graph
from volta_core.ir.graph import moment_rows
from volta_core.ir.plan import ExecutionPlan
from volta_core.nn.transformer import SEQUENCE_LAYERS, lower_sequence_layer, per_position_cross_entropy

#: The activation each loss folds in when it is the model's last layer.
FOLDED = {"cross_entropy": "softmax", "bce": "sigmoid"}
_LN_EPS = 1e-5
_BN_EPS = 1e-5
_BN_MOMENTUM = 0.1
_ACTIVATION_OPS = {"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh", "gelu": "gelu", "silu": "silu"}


class UnsupportedLayer(VoltaError):
    """A layer kind whose IR ops are not available yet."""

    default_code = "E0901"

    def __init__(self, kind: str, why: str) -> None:
        self.kind = kind
        self.why = why
        super().__init__(f"layer `{kind}` cannot run yet: {why}")


def width_values(info: ModelInfo) -> int:
    """The autopilot's size measure: input width plus one per dense or conv layer.

    For the ``layers`` shorthand this is exactly the number of widths given
    (``layers 2 8 2`` → 3); an explicit stack counts the same way, layers
    inside blocks included.
    """
    return 1 + sum(1 for layer in info.all_layers() if layer.kind in ("dense", "conv"))


def init_params(info: ModelInfo, seed: int) -> dict[str, np.ndarray]:
    """Initial weights from ``seed`` with one PCG64 generator for initialisation.

    Layers are visited in stack order (a block before its inner layers) and
    parameters in declaration order, so the same model and seed always give
    the same bits. Dense and attention weights: Xavier/Glorot-uniform;
    convolution weights and biases: uniform ±1/sqrt(fan_in), PyTorch's
    default (fan_in = C/groups·K·K); other biases and shifts: zeros; scales:
    ones; embedding tables: normal(0, 0.02).
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    params: dict[str, np.ndarray] = {}
    for layer in info.all_layers():
        for name, shape in layer.param_shapes:
            leaf = name.rsplit(".", 1)[-1]
            kind = name.rsplit(".", 2)[-2]
            if kind == "conv":  # PyTorch's default for weight and bias: uniform ±1/sqrt(fan_in)
                fan_in = math.prod(dict(layer.param_shapes)[name.rsplit(".", 1)[0] + ".weight"][1:])
                bound = 1.0 / math.sqrt(fan_in)
                value = rng.uniform(-bound, bound, size=shape).astype(np.float32)
            elif leaf.endswith("bias") or leaf == "shift":
                value = np.zeros(shape, np.float32)
            elif leaf == "scale":
                value = np.ones(shape, np.float32)
            elif leaf == "table":
                value = rng.normal(0.0, 0.02, size=shape).astype(np.float32)
            else:
                fan_in, fan_out = shape[0], shape[-1]
                limit = math.sqrt(6.0 / (fan_in + fan_out))
                value = rng.uniform(-limit, limit, size=shape).astype(np.float32)
            params[name] = value
    return params


def init_buffers(info: ModelInfo) -> dict[str, np.ndarray]:
    """Initial buffers: batchnorm running means zeros, running variances ones (as PyTorch)."""
    return {
        name: (np.ones if name.endswith("running_var") else np.zeros)(shape, np.float32)
        for name, shape in info.buffer_shapes().items()
    }


def _architecture(layer: LayerInfo) -> list[object]:
    entry: list[object] = [layer.kind, *[a for a in layer.args if a is not None]]
    entry += [[name, value] for name, value in layer.options]
    if layer.children:
        entry.append([_architecture(child) for child in layer.children])
    return entry


def architecture_json(info: ModelInfo, loss: str) -> str:
    """A canonical description of the architecture (stored in checkpoints)."""
    layers = [_architecture(layer) for layer in info.layers]
    return json.dumps(
        {"input": list(info.input_shape), "tokens": info.token_input, "layers": layers, "loss": loss},
        sort_keys=True, separators=(",", ":"),
    )


@dataclass
class Network:
    """The compiled view of one model: graphs per batch size, plans, executors.

    ``params`` holds the live weights (float32, owned by the network and
    updated in place by the optimizer).
    """

    info: ModelInfo
    loss: str
    params: dict[str, np.ndarray]
    determinism: str = "strict"
    #: Batchnorm running statistics (saved with the weights, never trained).
    buffers: dict[str, np.ndarray] = field(default_factory=dict)
    _cache: PlanCache = field(default_factory=PlanCache)
    _executors: dict[tuple[str, int, bool], tuple[CpuExecutor, ExecutionPlan]] = field(default_factory=dict)
    #: The batchnorm moments of the last training-mode step (see :meth:`train_step`).
    batch_stats: list[np.ndarray] = field(default_factory=list)
    #: Data-parallel training over several ranks: training-mode batchnorm normalises with the
    #: whole global batch's moments (``rank_moments``), so the job trains the one-process model.
    synced: bool = False
    #: Whether :attr:`synced` is honoured by this kind of network's lowering.
    can_sync: ClassVar[bool] = True

    def __post_init__(self) -> None:
        for name, value in init_buffers(self.info).items():
            self.buffers.setdefault(name, value)

    def weights(self) -> dict[str, np.ndarray]:
        """Parameters and buffers by name: what checkpoints, exports and inference graphs hold."""
        return {**self.params, **self.buffers}

    # ----------------------------------------------------------- queries
    @property
    def classification(self) -> bool:
        return self.loss in ("cross_entropy", "bce")

    @property
    def folded(self) -> bool:
        layers = self.info.layers
        return bool(layers) and FOLDED.get(self.loss) == layers[-1].kind

    @property
    def per_position(self) -> bool:
        """Whether the model predicts per position (output [L, C]), e.g. a language model."""
        return len(self.info.output_shape) == 2

    @property
    def input_width(self) -> int:
        return int(np.prod(self.info.input_shape))

    @property
    def output_width(self) -> int:
        return int(self.info.output_shape[-1]) if self.info.output_shape else 1

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """The shapes of every weight a checkpoint holds: parameters, then buffers."""
        return {**self.info.param_shapes(), **self.info.buffer_shapes()}

    def check_supported(self) -> None:
        """Raise :class:`UnsupportedLayer` if some layer cannot be built yet."""
        self.build(1, training=False)

    # ---------------------------------------------------------- building
    def build(self, batch: int, training: bool, train_mode: bool = True) -> tuple[Graph, int, int | None]:
        """The graph for one batch size: returns (graph, output id, loss id).

        ``training``: logits (folded activation left out) and the loss, with
        the target input ``y``; otherwise the predictions only. ``train_mode``
        (with ``training``): dropout active and batchnorm on batch statistics,
        whose ``[2, C]`` moments follow the logits among the graph's outputs
        (:meth:`batchnorm_layers` order); otherwise evaluation behaviour.
        """
        g = Graph()
        dtype = "i64" if self.info.token_input else "f32"
        x = g.input("x", (batch, *self.info.input_shape), dtype)
        layers = list(self.info.layers)
        if self.folded:
            layers = layers[:-1]
        lower = _Lowering(self, g, training and train_mode)
        h = x
        for layer in layers:
            h = lower.layer(layer, h, str(layer.index))
        if not training:
            if self.loss == "cross_entropy":
                h = g.op("softmax", h, axis=-1)
            elif self.loss == "bce":
                h = g.op("sigmoid", h)
            g.set_outputs([h])
            return g, h, None
        out_shape = g.node(h).shape
        if self.loss == "cross_entropy" and self.per_position:
            # logits [B, L, C] → [B·L, C]; targets [B, L] → [B·L]; padding targets (0) ignored
            flat = g.op("reshape", h, shape=(-1, out_shape[-1]))
            y = g.input("y", (int(np.prod(out_shape[:-1])),), "i64")
            loss = per_position_cross_entropy(g, flat, y)
        elif self.loss == "cross_entropy":
            y = g.input("y", (batch,), "i64")
            loss = g.op("softmax_cross_entropy", h, y)
        elif self.loss == "bce":
            y = g.input("y", out_shape, "f32")
            loss = _bce_with_logits(g, h, y)
        else:
            y = g.input("y", out_shape, "f32")
            loss = g.op("mse", h, y)
        g.set_outputs([h, *lower.stats])
        return g, h, loss

    def batchnorm_layers(self) -> list[NormLayer]:
        """Every batchnorm (projections included) in the order the training
        graph outputs their batch moments."""
        found: list[NormLayer] = []

        def visit(layer: LayerInfo, path: str) -> None:
            for child in layer.children:
                visit(child, f"{path}.{child.index}")
            per_channel = math.prod(layer.output_shape[1:])  # H·W of an image, 1 of features
            if layer.kind == "batchnorm":
                momentum = float(option(layer, "momentum", _BN_MOMENTUM))  # type: ignore[arg-type]
                found.append(NormLayer(f"{path}.batchnorm", momentum, per_channel))
            if layer.kind == "residual" and layer.param_shapes:
                found.append(NormLayer(f"{path}.project.batchnorm", _BN_MOMENTUM, per_channel))

        for layer in self.info.layers:
            visit(layer, str(layer.index))
        return found

    def apply_batch_stats(self, stats: list[np.ndarray], batch: int) -> None:
        """Update the running statistics from one training step's batch moments
        (``[2, C]``: mean, biased variance) in place, as PyTorch's batchnorm:
        the running variance takes the unbiased batch variance (``n / (n - 1)``,
        n the values per channel in the batch)."""
        for norm, moments in zip(self.batchnorm_layers(), stats, strict=True):
            self.update_running(f"{norm.prefix}.running_mean", f"{norm.prefix}.running_var", norm.momentum,
                                batch * norm.per_channel, moments)

    def update_running(self, mean: str, var: str, momentum: float, count: int, moments: np.ndarray) -> None:
        """PyTorch's update of the running-statistics buffers ``mean`` and ``var`` from one
        batch's ``[2, C]`` moments over ``count`` values per channel (the variance made unbiased)."""
        keep, take = np.float32(1.0 - momentum), np.float32(momentum)
        for name, value in ((mean, moments[0]), (var, moments[1] * np.float32(count / max(count - 1, 1)))):
            running = self.buffers[name]
            running *= keep
            running += take * value.astype(running.dtype, copy=False)

    # --------------------------------------------------------- execution
    @property
    def has_train_mode(self) -> bool:
        """Whether training behaves otherwise than evaluation: an active `dropout`
        (p > 0) or a `batchnorm` (batch statistics), inside blocks too."""
        return any(
            layer.kind == "batchnorm" or (layer.kind == "residual" and bool(layer.param_shapes))
            or (layer.kind == "dropout" and bool(layer.args) and float(layer.args[0] or 0.0) > 0.0)  # type: ignore[arg-type]
            for layer in self.info.all_layers()
        )

    def mode(self, training: bool, train_mode: bool = True) -> str:
        """``infer``, ``train`` (loss and gradients in training mode) or ``eval`` (the
        same in evaluation mode: no dropout, running statistics)."""
        return "infer" if not training else ("train" if train_mode or not self.has_train_mode else "eval")

    def plan(self, batch: int, mode: str, backend: str = "cpu", determinism: str | None = None) -> ExecutionPlan:
        """The compiled plan of one mode and batch size on ``backend`` (from the plan cache)
        with ``determinism`` (default: the network's)."""
        graph, _, loss = self.build(batch, mode != "infer", train_mode=mode == "train")
        if mode != "infer":
            assert loss is not None
            graph, _ = training_graph(graph, loss, list(graph.params))
        return self._cache.get(graph, backend, determinism or self.determinism)

    def executor(self, batch: int, training: bool, train_mode: bool = True) -> tuple[CpuExecutor, ExecutionPlan]:
        """The (cached) executor for this batch size; each batch size gets its own plan.

        ``train_mode=False`` with ``training``: the loss graph in evaluation mode;
        the same graph as training when the model behaves the same in both.
        """
        key = (self.mode(training, train_mode), batch, self.synced)
        return self.bound_executor(key, lambda: self.plan(batch, key[0]))

    def bound_executor(
        self, key: tuple[str, int, bool], plan: Callable[[], ExecutionPlan]
    ) -> tuple[CpuExecutor, ExecutionPlan]:
        """The cached executor for ``key`` (``plan()`` makes its plan once). It reads the live
        weights in place (no copy per run), and is rebuilt when a weight array was replaced."""
        weights = self.weights()
        hit = self._executors.get(key)
        if hit is None:
            made = plan()
            hit = self._executors[key] = (CpuExecutor(made, bind=weights), made)
        elif hit[0].stale(weights):  # a weight array was replaced: bind the new ones
            hit = self._executors[key] = (CpuExecutor(hit[1], bind=weights), hit[1])
        return hit

    def feeds(self, x: np.ndarray, y: np.ndarray, step: int = 0, seed: int = 0) -> dict[str, np.ndarray]:
        """The non-weight inputs of a training/eval graph for one batch."""
        return {
            "x": self.prepare_inputs(x), "y": self.prepare_targets(y),
            "dropout_step": np.asarray(dropout_key(seed, step), np.int64),
        }

    def prepare_inputs(self, x: np.ndarray) -> np.ndarray:
        """A batch in the model's input shape: images stored flat (CSV rows of C·H·W
        values, row-major) become ``[B, C, H, W]`` and image arrays feed a flat
        input the same way — a view, never a copy."""
        return x.reshape(len(x), *self.info.input_shape) if x.shape[1:] != self.info.input_shape else x

    def prepare_targets(self, y: np.ndarray) -> np.ndarray:
        """Dataset targets in the dtype/shape the loss takes."""
        if self.loss == "cross_entropy":
            return np.asarray(y, np.int64).reshape(-1)
        y = np.asarray(y, np.float32)
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        return y

    def train_step(
        self, x: np.ndarray, y: np.ndarray, step: int = 0, seed: int = 0, *, train_mode: bool = True,
        copy_grads: bool = True,
    ) -> tuple[float, np.ndarray, dict[str, np.ndarray]]:
        """Forward and backward on one batch: (mean loss, logits, gradients by name).

        Reads the weights, changes nothing: in training mode the batch moments
        of every batchnorm are left in :attr:`batch_stats` for
        :meth:`apply_batch_stats` once the step is applied. ``copy_grads=False``
        (the training loop) returns the executor's gradient buffers themselves,
        valid until the next step at this batch size. ``step`` and ``seed`` key
        the dropout masks (a pure function of both); ``train_mode=False``
        evaluates (no dropout, running statistics).
        """
        ex, plan = self.executor(len(x), training=True, train_mode=train_mode)
        feeds = self.weights()  # bound to the executor: no copy
        feeds.update(self.feeds(x, y, step, seed))
        # Overflow is reported by the loop (E0620 names the step), not as a NumPy warning.
        with np.errstate(over="ignore", invalid="ignore"):
            outs = ex.run(feeds, copy=copy_grads)
        names = [plan.graph.name_of(p) for p in plan.graph.params]
        stats = len(outs) - 2 - len(names)  # moments between the logits and the loss
        self.batch_stats = [o.copy() for o in outs[1 : 1 + stats]]
        logits, loss = outs[0] if copy_grads else outs[0].copy(), outs[1 + stats]
        grads = dict(zip(names, outs[2 + stats :], strict=True))
        return float(loss), logits, grads

    def loss_on(self, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Mean loss and logits on one batch in evaluation mode (no gradients used)."""
        loss, logits, _ = self.train_step(x, y, train_mode=False)
        return loss, logits

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions (probabilities for classification) for a batch."""
        ex, _ = self.executor(len(x), training=False)
        feeds = self.weights()
        feeds["x"] = self.prepare_inputs(x)
        return ex.run(feeds)[0]

    def correct(self, logits: np.ndarray, y: np.ndarray) -> float:
        """How many predictions in a batch match the targets (classification).

        Per-position models count each example as the fraction of its
        non-padding positions predicted right.
        """
        if self.loss == "cross_entropy" and self.per_position:
            targets = np.asarray(y).reshape(logits.shape[:-1])
            real = targets != 0
            hits = (np.argmax(logits, axis=-1) == targets) & real
            return float(np.sum(hits.sum(axis=1) / np.maximum(real.sum(axis=1), 1)))
        if self.loss == "cross_entropy":
            return int(np.sum(np.argmax(logits, axis=-1) == np.asarray(y).reshape(-1)))
        target = np.asarray(y, np.float32).reshape(logits.shape)
        return int(np.sum((logits > 0) == (target > 0.5)))

    def fingerprint(self) -> str:
        """Fingerprint of the inference graph at batch 1 (names the architecture)."""
        graph, _, _ = self.build(1, training=False)
        return graph_fingerprint(graph)


@dataclass(frozen=True, slots=True)
class NormLayer:
    """A batchnorm of the network: its parameter prefix (``3.batchnorm``), momentum,
    and the values per channel of one example (H·W of an image, 1 of features)."""

    prefix: str
    momentum: float
    per_channel: int


class _Lowering:
    """One graph's lowering of the layer stack (``Network.build``): layers to IR
    ops, in training mode or not; ``stats`` collects the batch moments of
    training-mode batchnorms (in :meth:`Network.batchnorm_layers` order)."""

    def __init__(self, net: Network, g: Graph, train_mode: bool) -> None:
        self.net = net
        self.g = g
        self.train_mode = train_mode
        self.stats: list[int] = []

    def weight(self, name: str) -> int:
        return self.g.parameter(name, self.net.weights()[name].shape)

    def layer(self, layer: LayerInfo, h: int, path: str) -> int:
        g, kind, args = self.g, layer.kind, layer.args
        names = [name for name, _ in layer.param_shapes]
        if kind == "dense":  # parameters first: node ids (and fingerprints) as they always were
            w, b = self.weight(names[0]), self.weight(names[1])
            return g.op("add", g.op("matmul", h, w), b)
        if kind in _ACTIVATION_OPS:
            return g.op(_ACTIVATION_OPS[kind], h)
        if kind == "leaky_relu":
            alpha = float(args[0]) if args and args[0] is not None else 0.01  # type: ignore[arg-type]
            return g.op("leaky_relu", h, alpha=alpha)
        if kind == "softmax":
            return g.op("softmax", h, axis=-1)
        if kind == "dropout":
            return self.dropout(layer, h, path)
        if kind == "flatten":
            shape = g.node(h).shape
            return g.op("reshape", h, shape=(shape[0], int(np.prod(shape[1:]))))
        if kind == "layernorm":
            rank = len(g.node(h).shape)
            scale, shift = self.weight(names[0]), self.weight(names[1])
            mean = g.op("reduce_mean", h, axes=(rank - 1,), keepdims=True)
            centred = g.op("sub", h, mean)
            var = g.op("reduce_mean", g.op("mul", centred, centred), axes=(rank - 1,), keepdims=True)
            std = g.op("sqrt", g.op("add", var, g.constant(_LN_EPS)))
            return g.op("add", g.op("mul", g.op("div", centred, std), scale), shift)
        if kind == "conv":
            win = window(layer)
            inputs = [h, self.weight(names[0])] + ([self.weight(names[1])] if win.bias else [])
            return g.op("conv2d", *inputs, strides=(win.stride, win.stride), pads=win.pads,
                        dilations=(win.dilation, win.dilation), groups=win.groups)  # fmt: skip
        if kind in ("maxpool", "avgpool"):
            win = window(layer)
            kernel, strides = (win.kernel, win.kernel), (win.stride, win.stride)
            if kind == "maxpool":
                return g.op("max_pool2d", h, kernel=kernel, strides=strides, pads=win.pads)
            return g.op("avg_pool2d", h, kernel=kernel, strides=strides, pads=win.pads)
        if kind == "global_avg_pool":
            return g.op("reduce_mean", h, axes=(2, 3), keepdims=False)
        if kind == "batchnorm":
            eps = float(option(layer, "eps", _BN_EPS))  # type: ignore[arg-type]
            return self.batchnorm(h, f"{path}.batchnorm", eps)
        if kind == "residual":
            out = h
            for child in layer.children:
                out = self.layer(child, out, f"{path}.{child.index}")
            return g.op("add", out, self.projection(h, out, path) if layer.param_shapes else h)
        if kind in ("repeat", "copy"):
            for child in layer.children:
                h = self.layer(child, h, f"{path}.{child.index}")
            return h
        if kind in SEQUENCE_LAYERS:
            ids = g.inputs[0] if self.net.info.token_input else None
            return lower_sequence_layer(g, layer, h, self.net.params, ids)
        need = {
            "embedding": "the IR `gather` op", "positional": "token sequences (`embedding`)",
            "attention": "token sequences (`embedding`)", "transformer": "token sequences (`embedding`)",
            "last_token": "the IR `slice` op",
        }.get(kind, "no IR lowering")
        raise UnsupportedLayer(kind, f"needs {need}")

    def dropout(self, layer: LayerInfo, h: int, path: str) -> int:
        p = float(layer.args[0]) if layer.args else 0.0  # type: ignore[arg-type]
        if not self.train_mode or p == 0.0:
            return h
        # One scalar `dropout_step` input keys every mask (fed by train_step from the train
        # seed and step counter); the layer tells the masks apart: a top-level layer by its
        # index (as always), a layer inside a block by a hash of its path.
        g = self.g
        step = next((i for i in g.inputs if g.name_of(i) == "dropout_step"), None)
        if step is None:
            step = g.input("dropout_step", (), "i64")
        seed = layer.index if "." not in path else _path_seed(path)
        return g.op("dropout", h, step, p=p, seed=seed, training=True)

    def batchnorm(self, h: int, prefix: str, eps: float) -> int:
        """Normalise over axis 1 with the batch's moments (training mode) or the running statistics."""
        g = self.g
        scale, shift = self.weight(f"{prefix}.scale"), self.weight(f"{prefix}.shift")
        if self.train_mode:
            moments = g.op("moments", h)
            if self.net.synced:  # chained, so that every rank exchanges the moments in the same order
                shape = g.node(h).shape
                moments = g.op("rank_moments", moments, *self.stats[-1:], count=math.prod(shape) // shape[1])
            self.stats.append(moments)
            mean, var = moment_rows(g, moments, g.node(scale).shape)
        else:
            mean, var = self.weight(f"{prefix}.running_mean"), self.weight(f"{prefix}.running_var")
        return g.op("batchnorm", h, scale, shift, mean, var, eps=eps)

    def projection(self, x: int, out: int, path: str) -> int:
        """``residual project``: a 1×1 convolution without bias, strided by the spatial
        ratio, then batchnorm — the input mapped to the block output's shape."""
        g = self.g
        stride = projection_stride(g.node(x).shape[1:], g.node(out).shape[1:])
        assert stride is not None  # the checker rejected any other block
        conv = g.op("conv2d", x, self.weight(f"{path}.project.conv.weight"), strides=(stride, stride))
        return self.batchnorm(conv, f"{path}.project.batchnorm", _BN_EPS)


def _path_seed(path: str) -> int:
    """A dropout mask key for a layer inside a block (``4.1.0``): 31 bits from its path,
    above every top-level layer index."""
    digest = hashlib.sha256(path.encode("ascii")).digest()
    return (1 << 31) | int.from_bytes(digest[:4], "little") >> 1


def dropout_key(seed: int, step: int) -> int:
    """The dropout masks' key for one training step: a fixed mix of seed and step (63 bits)."""
    return (int(seed) * 0x9E3779B97F4A7C15 + int(step)) & ((1 << 63) - 1)


def _bce_with_logits(g: Graph, z: int, t: int) -> int:
    zero = g.constant(0.0)
    one = g.constant(1.0)
    absz = g.op("where", g.op("compare", z, zero, cmp="gt"), z, g.op("neg", z))
    softplus = g.op("add", g.op("relu", z), g.op("log", g.op("add", one, g.op("exp", g.op("neg", absz)))))
    per = g.op("sub", softplus, g.op("mul", z, t))
    rank = len(g.node(per).shape)
    return g.op("reduce_mean", per, axes=tuple(range(rank)), keepdims=False)
