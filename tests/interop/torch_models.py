"""PyTorch models shared by the ONNX tests (imported only after torch is known to exist)."""

from __future__ import annotations

import torch


class Encoder(torch.nn.Module):
    """A hand-written pre-norm encoder block over token ids, mean-pooled.

    nn.TransformerEncoderLayer's legacy (dynamo=False) export crashes in torch
    2.13, so attention is spelled out. ``classes`` adds a linear head.
    """

    def __init__(self, d: int = 16, heads: int = 2, classes: int | None = None) -> None:
        super().__init__()
        self.heads = heads
        self.emb = torch.nn.Embedding(20, d)
        self.pos = torch.nn.Parameter(torch.randn(1, 5, d))
        self.qkv, self.proj = torch.nn.Linear(d, 3 * d), torch.nn.Linear(d, d)
        self.ln1, self.ln2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
        self.ff = torch.nn.Sequential(torch.nn.Linear(d, 32), torch.nn.GELU(), torch.nn.Linear(32, d))
        self.head = torch.nn.Linear(d, classes) if classes is not None else None

    def forward(self, ids):
        x = self.emb(ids) + self.pos[:, : ids.shape[1]]
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=-1)

        def split(z):
            return z.reshape(b, t, self.heads, d // self.heads).transpose(1, 2)

        q, k, v = split(q), split(k), split(v)
        att = torch.softmax(q @ k.transpose(-2, -1) / (d // self.heads) ** 0.5, dim=-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(b, t, d))
        x = x + self.ff(self.ln2(x))
        pooled = x.mean(dim=1)
        return pooled if self.head is None else self.head(pooled)
