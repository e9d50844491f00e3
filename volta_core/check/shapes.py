"""Static shape checking of model stacks (SPEC §2.1, §2.1a).

Shapes exclude the batch dimension: a feature vector of width N is ``(N,)``,
token ids of length L are ``(L,)`` with ``tokens=True``, a sequence of L
vectors of width D is ``(L, D)``, an image of C channels of H×W pixels is
``(C, H, W)``.

Each layer kind has one shape rule in :data:`_RULES`: it returns the output
shape and the layer's parameters and buffers, and reports what does not fit
with a span. Blocks (``residual``, ``repeat``) check their inner stacks
recursively; a layer inside a block at position L is named ``L.j.kind.param``
(``L.r.j.kind.param`` inside copy r of a ``repeat``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from volta_core.check.symbols import LayerInfo
from volta_core.diagnostics import Diagnostic, Label
from volta_core.present import format_shape
from volta_core.syntax.source import Span

Shape = tuple[int, ...]
Named = tuple[tuple[str, Shape], ...]

ACTIVATION_LAYERS = frozenset({"relu", "sigmoid", "tanh", "gelu", "silu", "leaky_relu", "softmax", "dropout"})


@dataclass(frozen=True, slots=True)
class LayerCall:
    """A layer with its resolved arguments, the span to blame, its named
    options as written (``(("stride", 2),)``) and, for a block, its inner layers."""

    kind: str
    args: tuple[object, ...]
    span: Span
    options: tuple[tuple[str, object], ...] = ()
    body: tuple[LayerCall, ...] = ()


@dataclass(frozen=True, slots=True)
class LayerStack:
    """A model's expanded layers and its input, before shapes are inferred.

    ``complete`` is False when a layer line was invalid: the layers before it
    are still checked, but no model is built.
    """

    calls: list[LayerCall]
    input_shape: tuple[int, ...]
    tokens: bool
    input_span: Span
    complete: bool = True


@dataclass(frozen=True, slots=True)
class Window:
    """The geometry of a convolution or pooling window over an image."""

    kernel: int
    stride: int
    pads: tuple[int, int, int, int]  # top, left, bottom, right
    dilation: int = 1
    groups: int = 1
    bias: bool = True

    def out_size(self, size: int, axis: int) -> int:
        """Output length of spatial ``axis`` (0: height, 1: width) for an input of ``size``."""
        padded = size + self.pads[axis] + self.pads[axis + 2]
        return (padded - self.dilation * (self.kernel - 1) - 1) // self.stride + 1


def projection_stride(shape: Shape, out: Shape) -> int | None:
    """The stride of the 1×1 convolution that maps images ``shape`` to ``out``'s
    height and width (``residual project``), or None when no stride does."""
    stride = -(-shape[1] // out[1]) if out[1] else 0
    if stride < 1 or any((size - 1) // stride + 1 != want for size, want in zip(shape[1:], out[1:], strict=True)):
        return None
    return stride


def option(layer: LayerCall | LayerInfo, name: str, default: object) -> object:
    """The value of named option ``name`` as written, else ``default``."""
    return next((v for k, v in layer.options if k == name), default)


def window(layer: LayerCall | LayerInfo) -> Window:
    """The window of a ``conv``, ``maxpool`` or ``avgpool`` layer, defaults applied.

    ``pad same`` pads by ``dilation·(K-1)`` in all, the extra pixel after (bottom,
    right), as ``torch.nn.Conv2d(padding="same")``; pools step by K unless given.
    """
    kernel = _int(layer.args, 1 if layer.kind == "conv" else 0)
    dilation = int(option(layer, "dilation", 1))  # type: ignore[call-overload]
    pad = option(layer, "pad", 0)
    if pad == "same":
        total = dilation * (kernel - 1)
        pads = (total // 2, total // 2, total - total // 2, total - total // 2)
    else:
        p = int(pad)  # type: ignore[call-overload]
        pads = (p, p, p, p)
    stride = int(option(layer, "stride", 1 if layer.kind == "conv" else kernel))  # type: ignore[call-overload]
    groups = int(option(layer, "groups", 1))  # type: ignore[call-overload]
    return Window(kernel, stride, pads, dilation, groups, option(layer, "bias", True) is True)


@dataclass
class _Walk:
    """One pass over a stack: where problems are reported and what the input was."""

    diags: list[Diagnostic]
    input_span: Span
    input_text: str
    infos: list[LayerInfo] = field(default_factory=list)
    #: The layer whose output the next layer takes, and that output (None: the model's input).
    feeder: tuple[Span, str] | None = None

    def bad(self, layer: LayerCall, message: str, label: str, help_: str, code: str = "E0501") -> None:
        """An error at ``layer``, with a label where its input comes from: the layer before it and
        what it gives, or the model's input line."""
        span, text = self.feeder or (self.input_span, f"input is {self.input_text}")
        self.diags.append(Diagnostic(code, message, layer.span, label=label, labels=(Label(span, text),), helps=(help_,)))

    def stack(self, calls: tuple[LayerCall, ...] | list[LayerCall], shape: Shape, tokens: bool,
              prefix: str) -> tuple[list[LayerInfo], Shape, bool]:  # fmt: skip
        infos: list[LayerInfo] = []
        for index, call in enumerate(calls):
            info, shape, tokens = self.layer(call, index, f"{prefix}{index}", shape, tokens)
            infos.append(info)
            self.feeder = (call.span, f"gives {_shape_text(shape, tokens)}")
        return infos, shape, tokens

    def layer(self, call: LayerCall, index: int, path: str, shape: Shape, tokens: bool) -> tuple[LayerInfo, Shape, bool]:
        if call.kind in ("residual", "repeat"):
            return self.block(call, index, path, shape, tokens)
        got = _shape_text(shape, tokens)
        if tokens and call.kind != "embedding":
            self.bad(call, f"`{call.kind}` cannot take token ids {got}", "expects vectors",
                     "add `layer embedding VOCAB DIM` first to turn token ids into vectors")  # fmt: skip
            shape, tokens = (*shape, 1), False
        rule = _RULES.get(call.kind, _same)
        out, params, buffers = rule(self, call, path, shape, tokens)
        count = sum(math.prod(s) for _, s in params)
        info = LayerInfo(index, call.kind, call.args, out, count, params, options=call.options, buffer_shapes=buffers)
        return info, out, False

    def block(self, call: LayerCall, index: int, path: str, shape: Shape, tokens: bool) -> tuple[LayerInfo, Shape, bool]:
        if call.kind == "repeat":
            copies: list[LayerInfo] = []
            out, out_tokens = shape, tokens
            for r in range(_int(call.args, 0)):
                inner, after, out_tokens = self.stack(call.body, out, out_tokens, f"{path}.{r}.")
                copies.append(LayerInfo(r, "copy", (), after, sum(i.params for i in inner), children=tuple(inner)))
                out = after
            return LayerInfo(index, "repeat", call.args, out, sum(c.params for c in copies), children=tuple(copies)), out, out_tokens
        inner, out, out_tokens = self.stack(call.body, shape, tokens, f"{path}.")
        params: Named = ()
        buffers: Named = ()
        if "project" in call.args:
            params, buffers = self.projection(call, path, shape, out)
        elif out != shape:
            self.diags.append(Diagnostic(
                "E0507", f"the residual block maps {format_shape(shape)} to {format_shape(out)}: "
                "its input cannot be added to its output", call.span, label="shapes differ",
                helps=("write `residual project` to learn a projection of the input (images), or make "
                       "the inner layers keep the shape",),
            ))  # fmt: skip
        total = sum(i.params for i in inner) + sum(math.prod(s) for _, s in params)
        info = LayerInfo(index, "residual", call.args, out, total, params, children=tuple(inner), buffer_shapes=buffers)
        return info, out, out_tokens

    def projection(self, call: LayerCall, path: str, shape: Shape, out: Shape) -> tuple[Named, Named]:
        """``residual project``: a 1×1 conv (no bias) with the spatial ratio as stride, then batchnorm."""
        if len(shape) != 3 or len(out) != 3:
            self.diags.append(Diagnostic(
                "E0507", f"`residual project` needs images: the block maps {format_shape(shape)} to "
                f"{format_shape(out)}", call.span, label="not an image block",
                helps=("use `residual` without `project`, with inner layers that keep the shape",),
            ))  # fmt: skip
            return (), ()
        stride = projection_stride(shape, out)
        if stride is None:
            self.diags.append(Diagnostic(
                "E0507", f"`residual project` cannot map {format_shape(shape)} to {format_shape(out)} "
                "with a strided 1×1 convolution", call.span, label="spatial sizes do not divide",
                helps=("make the inner layers shrink height and width by the same whole factor",),
            ))  # fmt: skip
            return (), ()
        p = f"{path}.project"
        params = ((f"{p}.conv.weight", (out[0], shape[0], 1, 1)), *_norm_params(f"{p}.batchnorm", out[0]))
        return params, _norm_buffers(f"{p}.batchnorm", out[0])


def _same(walk: _Walk, call: LayerCall, path: str, shape: Shape, tokens: bool) -> tuple[Shape, Named, Named]:
    """Activations and dropout keep the shape and have no parameters."""
    return shape, (), ()


def _needs_image(walk: _Walk, call: LayerCall, shape: Shape) -> bool:
    if len(shape) == 3:
        return True
    walk.bad(call, f"`{call.kind}` needs an image [C, H, W], got {format_shape(shape)}", "not an image",
             "declare the input as `input image C H W`")  # fmt: skip
    return False


def _not_image(walk: _Walk, call: LayerCall, shape: Shape, help_: str) -> bool:
    if len(shape) != 3:
        return True
    walk.bad(call, f"`{call.kind}` cannot take an image {format_shape(shape)}", "expects vectors", help_)
    return False


def _dense(walk: _Walk, call: LayerCall, path: str, shape: Shape, tokens: bool) -> tuple[Shape, Named, Named]:
    n = _int(call.args, 0)
    if not _not_image(walk, call, shape, "add `layer flatten` or `layer global_avg_pool` before `dense`"):
        return (n,), (), ()
    width = shape[-1]
    return (*shape[:-1], n), ((f"{path}.dense.weight", (width, n)), (f"{path}.dense.bias", (n,))), ()


def _embedding(walk: _Walk, call: LayerCall, path: str, shape: Shape, tokens: bool) -> tuple[Shape, Named, Named]:
    vocab, dim = _int(call.args, 0), _int(call.args, 1)
    if not tokens:
        walk.bad(call, f"`embedding` needs token ids, got {_shape_text(shape, tokens)}", "input is not token ids",
                 "declare the input as `input tokens L`, or use `dense` on feature vectors")  # fmt: skip
    out = (shape[0], dim) if len(shape) >= 1 else (dim,)
    return out, ((f"{path}.embedding.table", (vocab, dim)),), ()


def _positional(walk: _Walk, call: LayerCall, path: str, shape: Shape, tokens: bool) -> tuple[Shape, Named, Named]:
    length = _int(call.args, 0)
    if len(shape) != 2:
        walk.bad(call, f"`positional` needs a sequence [L, D], got {format_shape(shape)}", "not a sequence",
                 "put `positional` right after `embedding`")  # fmt: skip
        return shape, (), ()
    if length != shape[0]:
        walk.diags.append(Diagnostic(
            "E0504", f"`positional {length}` does not match the sequence length {shape[0]}", call.span,
            label=f"learns {length} positions", labels=(Label(walk.input_span, f"sequences have {shape[0]} tokens"),),
            helps=(f"use `layer positional {shape[0]}`",),
        ))  # fmt: skip
    return shape, ((f"{path}.positional.table", (length, shape[1])),), ()


def _attention(walk: _Walk, call: LayerCall, path: str, shape: Shape, tokens: bool) -> tuple[Shape, Named, Named]:
    heads = _int(call.args, 0)
    if len(shape) != 2:
        walk.bad(call, f"`{call.kind}` needs a sequence [L, D], got {format_shape(shape)}", "not a sequence",
                 "attention works on token sequences: start with `input tokens L` and `embedding`")  # fmt: skip
        return shape, (), ()
    d = shape[1]
    if heads > 0 and d % heads:
        divisors = [h for h in range(1, min(d, 64) + 1) if d % h == 0]  # never a loop over a huge width
        near = min(divisors, key=lambda h: (abs(h - heads), h))
        walk.diags.append(Diagnostic(
            "E0502", f"{heads} heads do not divide the width {d}", call.span,
            label=f"{d} is not divisible by {heads}", helps=(f"use a head count that divides {d}, e.g. {near}",),
        ))  # fmt: skip
    p = f"{path}.{call.kind}"
    params: list[tuple[str, Shape]] = [(f"{p}.{w}", (d, d)) for w in ("query", "key", "value", "out")]
    params += [(f"{p}.{w}_bias", (d,)) for w in ("query", "key", "value", "out")]
    if call.kind == "transformer":
        ff = _int(call.args, 1)
        params += [
            (f"{p}.ln1.scale", (d,)), (f"{p}.ln1.shift", (d,)), (f"{p}.ln2.scale", (d,)), (f"{p}.ln2.shift", (d,)),
            (f"{p}.ff1.weight", (d, ff)), (f"{p}.ff1.bias", (ff,)), (f"{p}.ff2.weight", (ff, d)), (f"{p}.ff2.bias", (d,)),
        ]  # fmt: skip
    return shape, tuple(params), ()


def _pool_sequence(walk: _Walk, call: LayerCall, path: str, shape: Shape, tokens: bool) -> tuple[Shape, Named, Named]:
    if len(shape) != 2:
        help_ = ("use `layer global_avg_pool` on images" if len(shape) == 3
                 else "pooling reduces a sequence to one vector; remove it for feature inputs")  # fmt: skip
        walk.bad(call, f"`{call.kind}` needs a sequence [L, D], got {format_shape(shape)}", "nothing to pool", help_)
        return shape, (), ()
    return (shape[1],), (), ()


def _flatten(walk: _Walk, call: LayerCall, path: str, shape: Shape, tokens: bool) -> tuple[Shape, Named, Named]:
    return (math.prod(shape),), (), ()


def _layernorm(walk: _Walk, call: LayerCall, path: str, shape: Shape, tokens: bool) -> tuple[Shape, Named, Named]:
    if not _not_image(walk, call, shape, "use `layer batchnorm` on images"):
        return shape, (), ()
    return shape, ((f"{path}.layernorm.scale", (shape[-1],)), (f"{path}.layernorm.shift", (shape[-1],))), ()


def _conv(walk: _Walk, call: LayerCall, path: str, shape: Shape, tokens: bool) -> tuple[Shape, Named, Named]:
    out_channels = _int(call.args, 0)
    if not _needs_image(walk, call, shape):
        return shape, (), ()
    w = window(call)
    c = shape[0]
    if c % w.groups or out_channels % w.groups:
        walk.bad(call, f"`groups {w.groups}` must divide the input channels ({c}) and the output channels "
                 f"({out_channels})", "channels not divisible by groups",
                 f"use a number of groups that divides both, e.g. {math.gcd(c, out_channels)}", "E0508")  # fmt: skip
        return shape, (), ()
    if option(call, "pad", 0) == "same" and w.stride != 1:
        walk.bad(call, "`pad same` needs `stride 1`", "stride with pad same",
                 "give the padding as a number (e.g. `pad 1` for a 3×3 kernel)", "E0508")  # fmt: skip
        return shape, (), ()
    out = _windowed(walk, call, w, shape, out_channels)
    params: Named = ((f"{path}.conv.weight", (out_channels, c // w.groups, w.kernel, w.kernel)),)
    if w.bias:
        params += ((f"{path}.conv.bias", (out_channels,)),)
    return out, params, ()


def _pool(walk: _Walk, call: LayerCall, path: str, shape: Shape, tokens: bool) -> tuple[Shape, Named, Named]:
    if not _needs_image(walk, call, shape):
        return shape, (), ()
    w = window(call)
    if 2 * w.pads[0] > w.kernel:
        walk.bad(call, f"`pad {w.pads[0]}` is more than half of the window {w.kernel}", "padding too large",
                 f"use a padding of at most {w.kernel // 2}", "E0508")  # fmt: skip
        return shape, (), ()
    return _windowed(walk, call, w, shape, shape[0]), (), ()


def _windowed(walk: _Walk, call: LayerCall, w: Window, shape: Shape, channels: int) -> Shape:
    """The output [C, H', W'] of a window over ``shape``, or an error when the window does not fit."""
    h, wd = w.out_size(shape[1], 0), w.out_size(shape[2], 1)
    if h < 1 or wd < 1:
        span = w.dilation * (w.kernel - 1) + 1
        padded = f"{shape[1] + w.pads[0] + w.pads[2]}×{shape[2] + w.pads[1] + w.pads[3]}"
        walk.bad(call, f"the {span}×{span} window of `{call.kind}` is larger than its padded input {padded}",
                 "window larger than the input",
                 "use a smaller kernel, more padding, or fewer downsampling layers before it", "E0508")  # fmt: skip
        return (channels, max(h, 1), max(wd, 1))
    return (channels, h, wd)


def _global_pool(walk: _Walk, call: LayerCall, path: str, shape: Shape, tokens: bool) -> tuple[Shape, Named, Named]:
    if not _needs_image(walk, call, shape):
        return shape, (), ()
    return (shape[0],), (), ()


def _batchnorm(walk: _Walk, call: LayerCall, path: str, shape: Shape, tokens: bool) -> tuple[Shape, Named, Named]:
    if len(shape) == 2:
        walk.bad(call, f"`batchnorm` needs an image [C, H, W] or features [D], got the sequence "
                 f"{format_shape(shape)}", "a sequence", "use `layer layernorm` on sequences")  # fmt: skip
        return shape, (), ()
    p = f"{path}.batchnorm"
    return shape, _norm_params(p, shape[0]), _norm_buffers(p, shape[0])


def _norm_params(prefix: str, channels: int) -> Named:
    return ((f"{prefix}.scale", (channels,)), (f"{prefix}.shift", (channels,)))


def _norm_buffers(prefix: str, channels: int) -> Named:
    return ((f"{prefix}.running_mean", (channels,)), (f"{prefix}.running_var", (channels,)))


_Rule = Callable[[_Walk, LayerCall, str, Shape, bool], tuple[Shape, Named, Named]]

#: The shape rule of every layer kind that is not shape-preserving.
_RULES: Final[dict[str, _Rule]] = {
    "dense": _dense,
    "embedding": _embedding,
    "positional": _positional,
    "attention": _attention,
    "transformer": _attention,
    "mean_pool": _pool_sequence,
    "last_token": _pool_sequence,
    "flatten": _flatten,
    "layernorm": _layernorm,
    "conv": _conv,
    "maxpool": _pool,
    "avgpool": _pool,
    "global_avg_pool": _global_pool,
    "batchnorm": _batchnorm,
}


def infer_stack(
    input_shape: tuple[int, ...],
    tokens: bool,
    layers: list[LayerCall],
    diags: list[Diagnostic],
    input_span: Span,
) -> tuple[list[LayerInfo], tuple[int, ...], bool]:
    """Propagate shapes through ``layers``; append diagnostics for mismatches.

    Returns the layer table, the output shape and whether the output is
    still token ids. After an error the layer's output is a best guess so
    later layers are still checked.
    """
    walk = _Walk(diags, input_span, _shape_text(input_shape, tokens))
    return walk.stack(layers, input_shape, tokens, "")


def _int(args: tuple[object, ...], i: int) -> int:
    value = args[i] if i < len(args) else 1
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 1


def _shape_text(shape: tuple[int, ...], tokens: bool) -> str:
    return format_shape(shape, "tokens" if tokens else "")
