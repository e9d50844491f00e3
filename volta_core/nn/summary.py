"""The compiler's view of a model for `inspect` (CLI command, statement, kernel)."""

from __future__ import annotations

from volta_core.check.symbols import ModelInfo
from volta_core.ir.summary import GraphSummary, summary
from volta_core.nn.network import Network, UnsupportedLayer, init_params


def inference_summary(info: ModelInfo, loss: str | None = None) -> GraphSummary | str:
    """Facts about ``info``'s inference graph at batch 1, or why there is none.

    The graph does not depend on weight values, so fresh seed-0 weights are
    used; the fingerprint equals the one of the trained model's graph.
    """
    net = Network(info, loss or info.loss or "mse", init_params(info, 0))
    try:
        graph, _, _ = net.build(1, training=False)
    except UnsupportedLayer as err:
        return str(err)
    return summary(graph)


def summary_lines(info: ModelInfo, loss: str | None = None, indent: str = "") -> list[str]:
    """``IR nodes``, ``peak planned memory`` and ``graph fingerprint`` lines."""
    facts = inference_summary(info, loss)
    if isinstance(facts, str):
        return [f"{indent}IR: not available ({facts})"]
    return [
        f"{indent}IR nodes: {facts['nodes']} (inference, batch 1)",
        f"{indent}peak planned memory: {facts['peak_bytes']:,} bytes",
        f"{indent}graph fingerprint: {facts['fingerprint'][:16]}",
    ]
