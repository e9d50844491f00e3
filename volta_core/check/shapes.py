"""Static shape checking of model stacks (SPEC §2.1).

Shapes exclude the batch dimension: a feature vector of width N is ``(N,)``,
token ids of length L are ``(L,)`` with ``tokens=True``, a sequence of L
vectors of width D is ``(L, D)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from volta_core.check.symbols import LayerInfo
from volta_core.diagnostics import Diagnostic, Label
from volta_core.present import format_shape
from volta_core.syntax.source import Span

ACTIVATION_LAYERS = frozenset({"relu", "sigmoid", "tanh", "gelu", "silu", "leaky_relu", "softmax", "dropout"})


@dataclass(frozen=True, slots=True)
class LayerCall:
    """A layer with its resolved arguments and the span to blame."""

    kind: str
    args: tuple[object, ...]
    span: Span


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
    infos: list[LayerInfo] = []
    shape, is_tokens = input_shape, tokens
    for index, layer in enumerate(layers):
        kind, args = layer.kind, layer.args
        params: list[tuple[str, tuple[int, ...]]] = []
        out = shape
        out_tokens = False

        def bad(message: str, label: str, help_: str, layer: LayerCall = layer) -> None:
            diags.append(
                Diagnostic(
                    "E0501",
                    message,
                    layer.span,
                    label=label,
                    labels=(Label(input_span, f"input is {_shape_text(input_shape, tokens)}"),),
                    helps=(help_,),
                )
            )

        got = _shape_text(shape, is_tokens)
        if is_tokens and kind != "embedding":
            bad(
                f"`{kind}` cannot take token ids {got}",
                "expects vectors",
                "add `layer embedding VOCAB DIM` first to turn token ids into vectors",
            )
            shape, is_tokens = (*shape, 1), False
            got = format_shape(shape)
        if kind == "dense":
            n = _int(args, 0)
            width = shape[-1]
            params = [(f"{index}.dense.weight", (width, n)), (f"{index}.dense.bias", (n,))]
            out = (*shape[:-1], n)
        elif kind == "embedding":
            vocab, dim = _int(args, 0), _int(args, 1)
            params = [(f"{index}.embedding.table", (vocab, dim))]
            if not is_tokens:
                bad(
                    f"`embedding` needs token ids, got {got}",
                    "input is not token ids",
                    "declare the input as `input tokens L`, or use `dense` on feature vectors",
                )
            out = (shape[0], dim) if len(shape) >= 1 else (dim,)
        elif kind == "positional":
            length = _int(args, 0)
            if len(shape) != 2:
                bad(
                    f"`positional` needs a sequence [L, D], got {got}",
                    "not a sequence",
                    "put `positional` right after `embedding`",
                )
            else:
                params = [(f"{index}.positional.table", (length, shape[1]))]
                if length != shape[0]:
                    diags.append(
                        Diagnostic(
                            "E0504",
                            f"`positional {length}` does not match the sequence length {shape[0]}",
                            layer.span,
                            label=f"learns {length} positions",
                            labels=(Label(input_span, f"sequences have {shape[0]} tokens"),),
                            helps=(f"use `layer positional {shape[0]}`",),
                        )
                    )
        elif kind in ("attention", "transformer"):
            heads = _int(args, 0)
            if len(shape) != 2:
                bad(
                    f"`{kind}` needs a sequence [L, D], got {got}",
                    "not a sequence",
                    "attention works on token sequences: start with `input tokens L` and `embedding`",
                )
            else:
                d = shape[1]
                if heads > 0 and d % heads:
                    divisors = [h for h in range(1, d + 1) if d % h == 0 and h <= 64]
                    near = min(divisors, key=lambda h: (abs(h - heads), h))
                    diags.append(
                        Diagnostic(
                            "E0502",
                            f"{heads} heads do not divide the width {d}",
                            layer.span,
                            label=f"{d} is not divisible by {heads}",
                            helps=(f"use a head count that divides {d}, e.g. {near}",),
                        )
                    )
                p = f"{index}.{kind}"
                params = [
                    (f"{p}.{w}", (d, d)) for w in ("query", "key", "value", "out")
                ] + [(f"{p}.{w}_bias", (d,)) for w in ("query", "key", "value", "out")]
                if kind == "transformer":
                    ff = _int(args, 1)
                    params += [
                        (f"{p}.ln1.scale", (d,)), (f"{p}.ln1.shift", (d,)),
                        (f"{p}.ln2.scale", (d,)), (f"{p}.ln2.shift", (d,)),
                        (f"{p}.ff1.weight", (d, ff)), (f"{p}.ff1.bias", (ff,)),
                        (f"{p}.ff2.weight", (ff, d)), (f"{p}.ff2.bias", (d,)),
                    ]
        elif kind in ("mean_pool", "last_token"):
            if len(shape) != 2:
                bad(
                    f"`{kind}` needs a sequence [L, D], got {got}",
                    "nothing to pool",
                    "pooling reduces a sequence to one vector; remove it for feature inputs",
                )
            else:
                out = (shape[1],)
        elif kind == "flatten":
            size = 1
            for dim in shape:
                size *= dim
            out = (size,)
        elif kind == "layernorm":
            params = [(f"{index}.layernorm.scale", (shape[-1],)), (f"{index}.layernorm.shift", (shape[-1],))]
        count = sum(_prod(s) for _, s in params)
        infos.append(LayerInfo(index, kind, args, out, count, tuple(params)))
        shape, is_tokens = out, out_tokens
    return infos, shape, is_tokens


def _int(args: tuple[object, ...], i: int) -> int:
    value = args[i] if i < len(args) else 1
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 1


def _prod(shape: tuple[int, ...]) -> int:
    out = 1
    for d in shape:
        out *= d
    return out


def _shape_text(shape: tuple[int, ...], tokens: bool) -> str:
    return format_shape(shape, "tokens" if tokens else "")
