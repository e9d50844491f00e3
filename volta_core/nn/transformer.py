"""IR lowering of the sequence layers (SPEC §2.1): ``embedding``, ``positional``,
``attention``, ``transformer``, ``mean_pool``, ``last_token``, and the
per-position cross-entropy of token models.

Everything is written with registry ops that have gradients (``embedding``,
``matmul``, ``transpose``, ``reshape``, ``softmax``, ``layernorm``, ``gelu``,
``where``, ``reduce_*``, …), so reverse-mode autograd sees the whole
computation; there is no opaque attention kernel.

Shapes (batch first): token ids ``i64[B, L]``, sequences ``f32[B, L, D]``.

Conventions:

- **Attention** (``H`` heads of width ``dh = D / H``): ``q = x·Wq + bq`` (and
  ``k``, ``v`` likewise, weights ``[D, D]`` computing ``x @ W``), scores
  ``q·kᵀ / sqrt(dh)`` per head, softmax over the keys, ``out = concat_h(p·v)·Wo
  + bo``. The ``attention`` layer returns ``x + out`` (residual); the
  ``transformer`` block is pre-norm: ``x = x + MHA(LN1(x))``, then
  ``x = x + FF2(gelu(FF1(LN2(x))))`` with exact (erf) GELU and ``eps = 1e-5``.
- **Causal masking excludes the masked keys** instead of adding a large
  negative number: with the 0/1 lower-triangular mask ``M`` (query ``i`` sees
  keys ``j ≤ i``), ``m = max_j where(M, s, rowmin(s))`` is the maximum over the
  *unmasked* scores (``rowmin`` is a real score of the same row, never larger
  than an unmasked one), ``e = exp(where(M, s, rowmin) - m) · M`` (every
  exponent ≤ 0) and ``p = e / Σ_j e``. Every
  row keeps its diagonal, so ``Σ_j e ≥ 1``: no division by zero, no ``-inf``,
  no overflow. The non-causal case uses the ``softmax`` op (max-subtracted).
- **Padding** is token id 0 (SPEC §2.2). ``mean_pool`` is a *masked* mean: the
  mean over the positions whose token id is not 0 (a row of padding only pools
  to zeros). Attention itself does not mask padding keys (padding sits at the
  end of a sequence, so with ``causal`` real tokens never see it anyway).
  ``last_token`` takes position ``L - 1`` as is (for causal LMs; on padded
  text prefer ``mean_pool``).
- **Per-position cross-entropy** (output ``[L, C]`` with integer targets
  ``[L]`` per example) is the mean over all positions of the batch whose target
  is not 0 — PyTorch's ``cross_entropy(..., ignore_index=0)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from volta_core.check.symbols import LayerInfo
from volta_core.ir import Graph

LN_EPS = 1e-5
SEQUENCE_LAYERS = frozenset({"embedding", "positional", "attention", "transformer", "mean_pool", "last_token"})


def lower_sequence_layer(
    g: Graph, layer: LayerInfo, h: int, params: Mapping[str, np.ndarray], ids: int | None
) -> int:
    """IR for one sequence layer applied to ``h``; ``ids`` is the token-id input
    (for the padding mask of ``mean_pool``), None for feature models."""
    kind = layer.kind
    names = [name for name, _ in layer.param_shapes]

    def p(i: int) -> int:
        return g.parameter(names[i], params[names[i]].shape)

    if kind == "embedding":
        return g.op("embedding", p(0), h)
    if kind == "positional":
        return g.op("add", h, p(0))
    if kind == "attention":
        causal = "causal" in layer.args
        heads = _heads(layer)
        return g.op("add", h, attention(g, h, heads, causal, [p(i) for i in range(8)]))
    if kind == "transformer":
        causal = "causal" in layer.args
        heads = _heads(layer)
        attn = [p(i) for i in range(8)]
        ln1s, ln1b, ln2s, ln2b, w1, b1, w2, b2 = (p(i) for i in range(8, 16))
        a = attention(g, g.op("layernorm", h, ln1s, ln1b, eps=LN_EPS), heads, causal, attn)
        h = g.op("add", h, a)
        f = g.op("layernorm", h, ln2s, ln2b, eps=LN_EPS)
        f = g.op("gelu", g.op("add", g.op("matmul", f, w1), b1))
        f = g.op("add", g.op("matmul", f, w2), b2)
        return g.op("add", h, f)
    if kind == "mean_pool":
        return masked_mean(g, h, ids)
    if kind == "last_token":
        b, length, d = g.node(h).shape
        last = g.op("slice", h, starts=(length - 1,), ends=(length,), axes=(1,))
        return g.op("reshape", last, shape=(b, d))
    raise ValueError(f"not a sequence layer: {kind}")


def _heads(layer: LayerInfo) -> int:
    value = layer.args[0] if layer.args else 1
    return value if isinstance(value, int) and value > 0 else 1


def attention(g: Graph, x: int, heads: int, causal: bool, w: list[int]) -> int:
    """Multi-head self-attention of ``x [B, L, D]`` without the residual:
    ``w`` = query, key, value, out weights then their biases."""
    b, length, d = g.node(x).shape
    dh = d // heads
    wq, wk, wv, wo, bq, bk, bv, bo = w

    def proj(weight: int, bias: int, perm: tuple[int, ...]) -> int:
        y = g.op("add", g.op("matmul", x, weight), bias)
        return g.op("transpose", g.op("reshape", y, shape=(b, length, heads, dh)), perm=perm)

    q = proj(wq, bq, (0, 2, 1, 3))  # [B, H, L, dh]
    kt = proj(wk, bk, (0, 2, 3, 1))  # [B, H, dh, L]
    v = proj(wv, bv, (0, 2, 1, 3))  # [B, H, L, dh]
    scores = g.op("mul", g.op("matmul", q, kt), g.constant(1.0 / math.sqrt(dh)))
    probs = causal_softmax(g, scores) if causal else g.op("softmax", scores, axis=-1)
    ctx = g.op("transpose", g.op("matmul", probs, v), perm=(0, 2, 1, 3))  # [B, L, H, dh]
    ctx = g.op("reshape", ctx, shape=(b, length, d))
    return g.op("add", g.op("matmul", ctx, wo), bo)


def causal_softmax(g: Graph, scores: int) -> int:
    """Softmax over the last axis of ``scores [.., L, L]`` restricted to keys
    ``j ≤ i`` (see the module docstring): masked keys get exactly 0."""
    length = g.node(scores).shape[-1]
    tri = np.tril(np.ones((length, length), dtype=bool))
    keep = g.constant(tri, "bool")
    keep_f = g.constant(tri.astype(np.float32))
    axis = len(g.node(scores).shape) - 1
    row_min = g.op("neg", g.op("reduce_max", g.op("neg", scores), axes=(axis,), keepdims=True))
    kept = g.op("where", keep, scores, row_min)  # masked keys: a real score ≤ every kept one
    m = g.op("reduce_max", kept, axes=(axis,), keepdims=True)
    e = g.op("mul", g.op("exp", g.op("sub", kept, m)), keep_f)  # exp(≤ 0): never overflows
    return g.op("div", e, g.op("reduce_sum", e, axes=(axis,), keepdims=True))


def masked_mean(g: Graph, h: int, ids: int | None) -> int:
    """Mean of ``h [B, L, D]`` over the positions whose id is not 0 (padding);
    plain mean when there are no token ids."""
    if ids is None or g.node(ids).shape != g.node(h).shape[:2]:
        return g.op("reduce_mean", h, axes=(1,), keepdims=False)
    mask = g.op("cast", g.op("compare", ids, g.constant(0, g.node(ids).dtype), cmp="gt"), dtype="f32")
    total = g.op("reduce_sum", g.op("mul", h, g.op("unsqueeze", mask, axes=(2,))), axes=(1,), keepdims=False)
    count = g.op("reduce_sum", mask, axes=(1,), keepdims=True)
    one = g.constant(1.0)
    count = g.op("where", g.op("compare", count, one, cmp="lt"), one, count)
    return g.op("div", total, count)


def per_position_cross_entropy(g: Graph, logits: int, targets: int) -> int:
    """Mean softmax cross-entropy of ``logits [N, C]`` and ids ``targets [N]``
    over the targets that are not 0 (padding); 0 when all are padding."""
    classes = g.node(logits).shape[-1]
    logp = g.op("log_softmax", logits, axis=-1)
    picked = g.op("reduce_sum", g.op("mul", logp, g.op("one_hot", targets, depth=classes)), axes=(1,), keepdims=False)
    mask = g.op("cast", g.op("compare", targets, g.constant(0, g.node(targets).dtype), cmp="gt"), dtype="f32")
    total = g.op("neg", g.op("reduce_sum", g.op("mul", picked, mask), axes=(0,), keepdims=False))
    count = g.op("reduce_sum", mask, axes=(0,), keepdims=False)
    one = g.constant(1.0)
    count = g.op("where", g.op("compare", count, one, cmp="lt"), one, count)
    return g.op("div", total, count)
