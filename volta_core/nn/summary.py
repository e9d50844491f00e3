"""The compiler's view of a model for `inspect` (CLI command, statement, kernel)."""

from __future__ import annotations

from volta_core.check.symbols import ModelInfo
from volta_core.ir.budget import TooLarge, check_fits
from volta_core.ir.summary import GraphSummary, summary
from volta_core.nn.network import Network, UnsupportedLayer, init_params
from volta_core.present import format_count

#: (label, value) lines that follow a layer table.
Facts = tuple[tuple[str, str], ...]


def inference_summary(info: ModelInfo, loss: str | None = None) -> GraphSummary | str:
    """Facts about ``info``'s inference graph at batch 1, or why there is none.

    The graph does not depend on weight values, so fresh seed-0 weights are
    used; the fingerprint equals the one of the trained model's graph. A
    model whose weights would not fit in memory has no summary (the reason).
    """
    try:
        check_fits(info.total_params * 4, f"its {format_count(info.total_params)} parameters")
    except TooLarge as err:
        return err.message
    net = Network(info, loss or info.loss or "mse", init_params(info, 0))
    try:
        graph, _, _ = net.build(1, training=False)
    except UnsupportedLayer as err:
        return str(err)
    return summary(graph)


def graph_facts(nodes: int, batch: int, peak_bytes: int, fingerprint: str) -> Facts:
    """``IR nodes``, ``peak planned memory`` and ``graph fingerprint`` of an inference graph."""
    return (
        ("IR nodes", f"{nodes} (inference, batch {batch})"),
        ("peak planned memory", f"{format_count(peak_bytes)} bytes"),
        ("graph fingerprint", fingerprint[:16]),
    )


def ir_facts(info: ModelInfo, loss: str | None = None) -> Facts:
    """The inference graph's facts at batch 1, or one ``IR`` fact saying why there is none."""
    facts = inference_summary(info, loss)
    if isinstance(facts, str):
        return (("IR", f"not available ({facts})"),)
    return graph_facts(facts["nodes"], 1, facts["peak_bytes"], facts["fingerprint"])
