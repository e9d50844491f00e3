"""Sequence layers against PyTorch (the test-only oracle): forward outputs,
losses and parameter gradients of whole Volta models built from source.

Tolerances (float32 on both sides): outputs and losses ``rtol=1e-5,
atol=1e-5``; gradients ``rtol=1e-4, atol=1e-5`` (attention sums over keys and
heads in a different order than PyTorch's kernels).
"""

from __future__ import annotations

import numpy as np
import pytest

from volta_core.analysis import analyze
from volta_core.nn.network import Network, init_params

torch = pytest.importorskip("torch")
F = torch.nn.functional

OUT_TOL = {"rtol": 1e-5, "atol": 1e-5}
GRAD_TOL = {"rtol": 1e-4, "atol": 1e-5}
B, L, V, D = 3, 6, 11, 8


def _net(layers: str, loss: str = "mse", length: int = L) -> Network:
    src = f"model m\n    input tokens {length}\n" + "".join(f"    layer {x}\n" for x in layers.split(";")) + f"    loss {loss}\n"
    analysis = analyze(src, "m.vt")
    assert analysis.diagnostics == []
    info = analysis.symbols.models["m"]
    net = Network(info, loss, init_params(info, 3))
    rng = np.random.default_rng(5)
    for name, value in net.params.items():  # non-trivial biases / norms / positions
        net.params[name] = (value + rng.normal(0, 0.1, value.shape)).astype(np.float32)
    return net


def _ids(seed: int = 0, pad: bool = False) -> np.ndarray:
    ids = np.random.default_rng(seed).integers(1, V, (B, L))
    if pad:
        ids[0, 4:] = 0
        ids[1, 1:] = 0
    return ids


def _t(net: Network, name: str) -> torch.Tensor:
    return torch.tensor(net.params[name], requires_grad=True)


def _check(net: Network, x: np.ndarray, y: np.ndarray, out: torch.Tensor, loss: torch.Tensor,
           tensors: dict[str, torch.Tensor]) -> None:
    got_loss, got_out, grads = net.train_step(x, y)
    loss.backward()
    np.testing.assert_allclose(got_out, out.detach().numpy(), **OUT_TOL)
    np.testing.assert_allclose(got_loss, loss.item(), **OUT_TOL)
    assert set(tensors) == set(grads)
    for name, tensor in tensors.items():
        assert tensor.grad is not None, name
        np.testing.assert_allclose(grads[name], tensor.grad.numpy(), err_msg=name, **GRAD_TOL)


def _mse_target(shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(9).normal(size=shape).astype(np.float32)


def test_embedding_positional_layernorm_match_torch() -> None:
    net = _net(f"embedding {V} {D};positional {L};layernorm")
    x, y = _ids(), _mse_target((B, L, D))
    t = {n: _t(net, n) for n in net.params}
    emb = torch.nn.Embedding(V, D)
    ln = torch.nn.LayerNorm(D, eps=1e-5)
    with torch.no_grad():
        emb.weight.copy_(t["0.embedding.table"])
        ln.weight.copy_(t["2.layernorm.scale"])
        ln.bias.copy_(t["2.layernorm.shift"])
    h = ln(emb(torch.tensor(x)) + t["1.positional.table"])
    loss = F.mse_loss(h, torch.tensor(y))
    loss.backward()
    got_loss, got_out, grads = net.train_step(x, y)
    np.testing.assert_allclose(got_out, h.detach().numpy(), **OUT_TOL)
    np.testing.assert_allclose(got_loss, loss.item(), **OUT_TOL)
    np.testing.assert_allclose(grads["0.embedding.table"], emb.weight.grad.numpy(), **GRAD_TOL)
    np.testing.assert_allclose(grads["1.positional.table"], t["1.positional.table"].grad.numpy(), **GRAD_TOL)
    np.testing.assert_allclose(grads["2.layernorm.scale"], ln.weight.grad.numpy(), **GRAD_TOL)
    np.testing.assert_allclose(grads["2.layernorm.shift"], ln.bias.grad.numpy(), **GRAD_TOL)


@pytest.mark.parametrize("act", ["gelu", "silu"])
def test_gelu_silu_match_torch(act: str) -> None:
    net = _net(f"embedding {V} {D};dense {D};{act}")
    x, y = _ids(1), _mse_target((B, L, D))
    t = {n: _t(net, n) for n in net.params}
    h = t["0.embedding.table"][torch.tensor(x)] @ t["1.dense.weight"] + t["1.dense.bias"]
    h = torch.nn.GELU()(h) if act == "gelu" else torch.nn.SiLU()(h)
    _check(net, x, y, h, F.mse_loss(h, torch.tensor(y)), t)


def _mha(t: dict[str, torch.Tensor], p: str, heads: int) -> torch.nn.MultiheadAttention:
    """A torch MultiheadAttention holding Volta's weights (x @ W ↔ W.T)."""
    mha = torch.nn.MultiheadAttention(D, heads, batch_first=True, dropout=0.0)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([t[f"{p}.{w}"].T for w in ("query", "key", "value")]))
        mha.in_proj_bias.copy_(torch.cat([t[f"{p}.{w}_bias"] for w in ("query", "key", "value")]))
        mha.out_proj.weight.copy_(t[f"{p}.out"].T)
        mha.out_proj.bias.copy_(t[f"{p}.out_bias"])
    return mha


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("heads", [1, 2, 4])
def test_attention_matches_torch_multihead_attention(heads: int, causal: bool) -> None:
    net = _net(f"embedding {V} {D};attention {heads}{' causal' if causal else ''}")
    x, y = _ids(2), _mse_target((B, L, D))
    t = {n: _t(net, n) for n in net.params}
    mha = _mha(t, "1.attention", heads)
    e = t["0.embedding.table"][torch.tensor(x)]
    mask = torch.triu(torch.ones(L, L, dtype=torch.bool), 1) if causal else None
    a, _ = mha(e, e, e, attn_mask=mask, need_weights=False)
    h = e + a
    loss = F.mse_loss(h, torch.tensor(y))
    loss.backward()
    got_loss, got_out, grads = net.train_step(x, y)
    np.testing.assert_allclose(got_out, h.detach().numpy(), **OUT_TOL)
    np.testing.assert_allclose(got_loss, loss.item(), **OUT_TOL)
    np.testing.assert_allclose(grads["0.embedding.table"], t["0.embedding.table"].grad.numpy(), **GRAD_TOL)
    in_w = mha.in_proj_weight.grad.numpy()
    in_b = mha.in_proj_bias.grad.numpy()
    for i, w in enumerate(("query", "key", "value")):
        np.testing.assert_allclose(grads[f"1.attention.{w}"], in_w[i * D : (i + 1) * D].T, err_msg=w, **GRAD_TOL)
        np.testing.assert_allclose(grads[f"1.attention.{w}_bias"], in_b[i * D : (i + 1) * D], err_msg=w, **GRAD_TOL)
    np.testing.assert_allclose(grads["1.attention.out"], mha.out_proj.weight.grad.numpy().T, **GRAD_TOL)
    np.testing.assert_allclose(grads["1.attention.out_bias"], mha.out_proj.bias.grad.numpy(), **GRAD_TOL)


@pytest.mark.parametrize("causal", [False, True])
def test_attention_core_matches_scaled_dot_product_attention(causal: bool) -> None:
    # The same projections through F.scaled_dot_product_attention.
    heads, dh = 2, D // 2
    net = _net(f"embedding {V} {D};attention {heads}{' causal' if causal else ''}")
    x, y = _ids(3), _mse_target((B, L, D))
    t = {n: _t(net, n) for n in net.params}
    e = t["0.embedding.table"][torch.tensor(x)]

    def split(w: str) -> torch.Tensor:
        return (e @ t[f"1.attention.{w}"] + t[f"1.attention.{w}_bias"]).reshape(B, L, heads, dh).transpose(1, 2)

    ctx = F.scaled_dot_product_attention(split("query"), split("key"), split("value"), is_causal=causal)
    h = e + ctx.transpose(1, 2).reshape(B, L, D) @ t["1.attention.out"] + t["1.attention.out_bias"]
    _check(net, x, y, h, F.mse_loss(h, torch.tensor(y)), t)


@pytest.mark.parametrize("causal", [False, True])
def test_transformer_block_matches_torch_encoder_layer(causal: bool) -> None:
    ff, heads = 16, 2
    net = _net(f"embedding {V} {D};positional {L};transformer {heads} {ff}{' causal' if causal else ''}")
    x, y = _ids(4), _mse_target((B, L, D))
    t = {n: _t(net, n) for n in net.params}
    layer = torch.nn.TransformerEncoderLayer(
        D, heads, ff, dropout=0.0, activation="gelu", batch_first=True, norm_first=True, layer_norm_eps=1e-5
    )
    p = "2.transformer"
    with torch.no_grad():
        layer.self_attn.in_proj_weight.copy_(torch.cat([t[f"{p}.{w}"].T for w in ("query", "key", "value")]))
        layer.self_attn.in_proj_bias.copy_(torch.cat([t[f"{p}.{w}_bias"] for w in ("query", "key", "value")]))
        layer.self_attn.out_proj.weight.copy_(t[f"{p}.out"].T)
        layer.self_attn.out_proj.bias.copy_(t[f"{p}.out_bias"])
        layer.norm1.weight.copy_(t[f"{p}.ln1.scale"])
        layer.norm1.bias.copy_(t[f"{p}.ln1.shift"])
        layer.norm2.weight.copy_(t[f"{p}.ln2.scale"])
        layer.norm2.bias.copy_(t[f"{p}.ln2.shift"])
        layer.linear1.weight.copy_(t[f"{p}.ff1.weight"].T)
        layer.linear1.bias.copy_(t[f"{p}.ff1.bias"])
        layer.linear2.weight.copy_(t[f"{p}.ff2.weight"].T)
        layer.linear2.bias.copy_(t[f"{p}.ff2.bias"])
    layer.train()  # the slow path: plain autograd, no fused inference kernel
    e = t["0.embedding.table"][torch.tensor(x)] + t["1.positional.table"]
    mask = torch.triu(torch.full((L, L), float("-inf")), 1) if causal else None
    h = layer(e, src_mask=mask)
    loss = F.mse_loss(h, torch.tensor(y))
    loss.backward()
    got_loss, got_out, grads = net.train_step(x, y)
    np.testing.assert_allclose(got_out, h.detach().numpy(), **OUT_TOL)
    np.testing.assert_allclose(got_loss, loss.item(), **OUT_TOL)
    for name in ("0.embedding.table", "1.positional.table"):
        np.testing.assert_allclose(grads[name], t[name].grad.numpy(), err_msg=name, **GRAD_TOL)
    pairs = {
        "ln1.scale": layer.norm1.weight, "ln1.shift": layer.norm1.bias,
        "ln2.scale": layer.norm2.weight, "ln2.shift": layer.norm2.bias,
        "ff1.bias": layer.linear1.bias, "ff2.bias": layer.linear2.bias,
        "out_bias": layer.self_attn.out_proj.bias,
    }
    for leaf, param in pairs.items():
        np.testing.assert_allclose(grads[f"{p}.{leaf}"], param.grad.numpy(), err_msg=leaf, **GRAD_TOL)
    for leaf, param in {"ff1.weight": layer.linear1.weight, "ff2.weight": layer.linear2.weight,
                        "out": layer.self_attn.out_proj.weight}.items():
        np.testing.assert_allclose(grads[f"{p}.{leaf}"], param.grad.numpy().T, err_msg=leaf, **GRAD_TOL)
    in_w = layer.self_attn.in_proj_weight.grad.numpy()
    in_b = layer.self_attn.in_proj_bias.grad.numpy()
    for i, w in enumerate(("query", "key", "value")):
        np.testing.assert_allclose(grads[f"{p}.{w}"], in_w[i * D : (i + 1) * D].T, err_msg=w, **GRAD_TOL)
        np.testing.assert_allclose(grads[f"{p}.{w}_bias"], in_b[i * D : (i + 1) * D], err_msg=w, **GRAD_TOL)


def test_causal_attention_ignores_the_future() -> None:
    # Changing later tokens leaves earlier positions bit-identical.
    net = _net(f"embedding {V} {D};positional {L};transformer 2 16 causal")
    x = _ids(6)
    x2 = x.copy()
    x2[:, 3:] = (x2[:, 3:] % (V - 1)) + 1
    a, b = net.predict(x), net.predict(x2)
    assert np.array_equal(a[:, :3], b[:, :3])
    assert not np.allclose(a[:, 3:], b[:, 3:])


def test_causal_softmax_is_stable_for_huge_scores() -> None:
    net = _net(f"embedding {V} {D};attention 1 causal")
    net.params["0.embedding.table"] *= 1e4  # scores around 1e8
    out = net.predict(_ids(7))
    assert np.isfinite(out).all()


def test_masked_mean_pool_and_last_token_match_torch() -> None:
    for pool in ("mean_pool", "last_token"):
        net = _net(f"embedding {V} {D};{pool};dense 3")
        x, y = _ids(8, pad=True), _mse_target((B, 3))
        t = {n: _t(net, n) for n in net.params}
        ids = torch.tensor(x)
        e = t["0.embedding.table"][ids]
        if pool == "mean_pool":
            mask = (ids != 0).float().unsqueeze(-1)
            pooled = (e * mask).sum(1) / mask.sum(1).clamp(min=1)
        else:
            pooled = e[:, -1]
        h = pooled @ t["2.dense.weight"] + t["2.dense.bias"]
        _check(net, x, y, h, F.mse_loss(h, torch.tensor(y)), t)


def test_mean_pool_of_padding_only_is_zero() -> None:
    net = _net(f"embedding {V} {D};mean_pool")
    x = _ids(9)
    x[2] = 0
    assert np.array_equal(net.predict(x)[2], np.zeros(D, np.float32))


def test_per_position_cross_entropy_matches_torch_ignore_index() -> None:
    net = _net(f"embedding {V} {D};positional {L};transformer 2 16 causal;layernorm;dense {V}", "cross_entropy")
    x = _ids(10)
    y = np.random.default_rng(11).integers(0, V, (B, L))
    y[0, :2] = 0  # padding targets are ignored
    t = {n: _t(net, n) for n in net.params}
    got_loss, logits, grads = net.train_step(x, y)
    probs = net.predict(x)
    np.testing.assert_allclose(probs, F.softmax(torch.tensor(logits), -1).numpy(), **OUT_TOL)
    loss = F.cross_entropy(torch.tensor(logits).reshape(-1, V), torch.tensor(y).reshape(-1), ignore_index=0)
    np.testing.assert_allclose(got_loss, loss.item(), **OUT_TOL)
    # gradient w.r.t. the last dense layer (the logits' producer)
    lg = torch.tensor(logits, requires_grad=True)
    F.cross_entropy(lg.reshape(-1, V), torch.tensor(y).reshape(-1), ignore_index=0).backward()
    assert lg.grad is not None
    hidden = _hidden_before_dense(net, x)
    want_w = hidden.reshape(-1, D).T @ lg.grad.numpy().reshape(-1, V)
    np.testing.assert_allclose(grads["4.dense.weight"], want_w, **GRAD_TOL)
    np.testing.assert_allclose(grads["4.dense.bias"], lg.grad.numpy().sum((0, 1)), **GRAD_TOL)
    assert t  # parameters exist for every layer


def _hidden_before_dense(net: Network, x: np.ndarray) -> np.ndarray:
    """Output of the stack up to (not including) the last dense layer, via a model without it."""
    src = f"model h\n    input tokens {L}\n    layer embedding {V} {D}\n    layer positional {L}\n" \
          f"    layer transformer 2 16 causal\n    layer layernorm\n    loss mse\n"
    info = analyze(src, "h.vt").symbols.models["h"]
    sub = Network(info, "mse", {k: v for k, v in net.params.items() if not k.startswith("4.")})
    return sub.predict(x)
