"""Training in a real Volta kernel: progress display, rich `inspect`, %step,
%plot, %ir, interrupting a long `train`, and shutdown."""

from __future__ import annotations

import base64
import re
import time
from pathlib import Path
from typing import Any

from .conftest import Kernel

SETUP = (
    "model m\n    layers 2 8 3\n    loss cross_entropy\n    seed 2\n"
    "dataset d\n    type blobs\n    samples 200\n    classes 3\n    split 0.8\n    seed 1"
)


def _displays(messages: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    return [(k, c) for k, c in messages if k in ("display_data", "update_display_data")]


def test_train_progress_is_one_updating_display(kernel: Kernel) -> None:
    kernel.run("%reset")
    assert kernel.run(SETUP).status == "ok"
    res = kernel.run("train m on d\n    epochs 40")
    assert res.status == "ok", res.stderr
    assert res.stdout.startswith("Auto configuration:\n    epochs = 40 (explicit)\n")
    assert "trained m: 40 epochs, 200 steps" in res.stdout
    assert "epoch 1/40" not in res.stdout  # no epoch lines: the display shows progress
    shown = _displays(res.messages)
    assert shown[0][0] == "display_data"
    ids = {c["transient"]["display_id"] for _, c in shown}
    assert len(ids) == 1
    assert all(k == "update_display_data" for k, _ in shown[1:])
    assert len(shown) <= 41  # at most one per step interval / epoch, never thousands
    last = shown[-1][1]["data"]["text/plain"]
    assert last.startswith("epoch 40/40  step 200") and "val_accuracy" in last
    # in HTML a narrow output wraps between fields, never inside a number
    markup = shown[-1][1]["data"]["text/html"]
    spans = re.findall(r'<span style="white-space:nowrap">([^<]*)</span>', markup)
    assert spans[:2] == ["epoch 40/40", "step 200"] and " ".join(spans) == " ".join(last.split("  "))
    assert any(re.fullmatch(r"val_accuracy \d\.\d{4}\)?", s) for s in spans)
    # a second train gets its own display
    again = kernel.run("train m on d\n    epochs 1")
    assert {c["transient"]["display_id"] for _, c in _displays(again.messages)}.isdisjoint(ids)


def test_inspect_statement_is_an_html_table_with_a_text_fallback(kernel: Kernel) -> None:
    kernel.run("%reset")
    kernel.run(SETUP)
    res = kernel.run("inspect m")
    assert res.status == "ok" and res.stdout == ""
    assert len(res.displays) == 1
    data = res.displays[0]
    plain, markup = data["text/plain"], data["text/html"]
    assert plain.startswith("model m: input [2] -> output [3], loss cross_entropy\n")
    assert "  0      dense 8   [8]               24" in plain and "  IR nodes: 11 (inference, batch 1)" in plain
    assert '<table class="volta-table">' in markup and "<td>dense 8</td>" in markup and "graph fingerprint" in markup
    # what `inspect` displays is what it prints in a fresh session: %replay agrees
    assert kernel.run("%replay").stdout.startswith("bit-identical: 2 cells replayed")


def test_shift_tab_on_earlier_cells_shows_what_inspect_shows(kernel: Kernel) -> None:
    kernel.run("%reset")
    kernel.run(SETUP + "\nrate 0.5")

    def inspect(code: str, cursor: int) -> dict[str, str]:
        reply = kernel.request("inspect", code, cursor)
        assert reply["status"] == "ok" and reply["found"], reply
        return dict(reply["data"])

    shown = kernel.run("inspect m").displays[0]
    model = inspect("print m", 7)
    assert model["text/plain"] == shown["text/plain"].rstrip("\n") and model["text/html"] == shown["text/html"]
    assert "graph fingerprint" in model["text/plain"]
    data = inspect("train m on d", 12)
    assert data["text/plain"].startswith("dataset d\n")
    assert re.search(r"^  type\s+blobs$", data["text/plain"], re.M) and re.search(r"^  samples\s+200$", data["text/plain"], re.M)
    assert "<td>blobs</td>" in data["text/html"]
    assert "examples: 160 train, 40 validation" in data["text/plain"]
    assert inspect("print rate", 7)["text/plain"] == "rate: float\n= 0.5"
    # %who calls them what they are
    plain = kernel.run("%who").displays[0]["text/plain"]
    assert re.search(r"^d\s+dataset\s+dataset", plain, re.M) and re.search(r"^m\s+model\s+model", plain, re.M)
    assert re.search(r"^rate\s+variable\s+float", plain, re.M)


def test_step_history_and_replay(kernel: Kernel) -> None:
    kernel.run("%reset")
    kernel.run(SETUP)
    first = kernel.run("%step m on d 3")
    assert first.status == "ok", first.stderr
    assert first.stdout.startswith("Auto configuration:\n")  # autopilot: the table, once
    assert "trained m: 1 epoch, 3 steps" in first.stdout
    second = kernel.run("%step m on d")
    assert second.status == "ok"
    # this step's counts, then the model's (same settings, no table)
    assert second.stdout.startswith("trained m: 1 epoch, 1 step (model total: 2 epochs, 4 steps)")
    assert kernel.run("print m.steps").stdout == "4\n"
    history = kernel.run("%history").stdout
    assert "# %step m on d 3\ntrain m on d\n    steps 3\n" in history
    assert "# %step m on d 1\ntrain m on d\n    steps 1\n    optimizer adam\n    lr 0.001\n    batch 32\n" in history
    assert kernel.run("%replay").stdout == "bit-identical: 4 cells replayed, outputs identical\n"


def test_step_after_train_reuses_its_settings(kernel: Kernel) -> None:
    kernel.run("%reset")
    kernel.run(SETUP)
    kernel.run("train m on d\n    epochs 1\n    optimizer sgd\n    lr 0.05\n    batch 16")
    res = kernel.run("%step m on d 2")
    assert res.status == "ok" and "Auto configuration" not in res.stdout
    assert "steps 2\n    optimizer sgd\n    lr 0.05\n    batch 16" in kernel.run("%history").stdout
    assert kernel.run("print m.steps").stdout == "12\n"


def test_step_errors(kernel: Kernel) -> None:
    kernel.run("%reset")
    kernel.run(SETUP)
    for magic, ename, text in (
        ("%step m", "UsageError", "takes a model, `on` and a dataset"),
        ("%step m on d 0", "UsageError", "positive integer"),
        ("%step mm on d", "UsageError", "`mm` is not defined"),
        ("%step m on m", "UsageError", "`m` is not a dataset"),
        ("%plot m", "NotTrained", "no training history yet"),
        ("%ir", "UsageError", "takes one model name"),
    ):
        res = kernel.run(magic)
        assert res.status == "error" and res.reply["ename"] == ename, (magic, res.reply)
        assert text in res.reply["evalue"], (magic, res.reply["evalue"])


def test_plot_is_a_png(kernel: Kernel) -> None:
    kernel.run("%reset")
    kernel.run(SETUP)
    kernel.run("train m on d\n    epochs 3")
    kernel.run("%step m on d 2")
    res = kernel.run("%plot m")
    assert res.status == "ok" and len(res.displays) == 1
    data = res.displays[0]
    assert base64.b64decode(data["image/png"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert data["text/plain"].startswith("training curves of m: 4 epochs, 17 steps\nepoch 1  step 5  loss ")
    # a redeclared model starts a new history
    kernel.run("model m\n    layers 2 4 3\n    loss cross_entropy")
    assert kernel.run("%plot m").reply["ename"] == "NotTrained"


def test_ir_prints_graphs_and_summaries(kernel: Kernel) -> None:
    kernel.run("%reset")
    kernel.run(SETUP)
    res = kernel.run("%ir m")
    assert res.status == "ok"
    assert "# forward graph of m (inference, batch 1)\n%0 = input" in res.stdout
    assert "%3 = matmul %0 %1 : f32[1, 8]" in res.stdout
    assert "# training graph of m (loss and gradients, batch 1)" in res.stdout
    found = re.search(r"# 11 nodes, 4 parameter tensors \(51 values\), peak [\d,]+ bytes, "
                      r"inference graph fingerprint ([0-9a-f]{16})", res.stdout)
    assert found and re.search(r"training graph fingerprint [0-9a-f]{16}", res.stdout)
    # the inference fingerprint is the one `inspect` shows, and %ir says so
    shown = kernel.run("inspect m").displays[0]["text/plain"]
    assert f"graph fingerprint: {found.group(1)}" in shown
    assert "# `inspect` shows the inference graph's fingerprint (batch 1)" in res.stdout
    # after training at batch 8, %ir's graphs are at batch 8 and it names inspect's batch-1 graph
    assert kernel.run("train m on d\n    epochs 1\n    batch 8").status == "ok"
    trained = kernel.run("%ir m").stdout
    assert "# forward graph of m (inference, batch 8)" in trained
    assert f"# `inspect` shows the inference graph at batch 1: 11 nodes, inference graph fingerprint {found.group(1)}" in trained


def test_interrupt_stops_training_at_a_step_boundary(kernel: Kernel) -> None:
    kernel.run("%reset")
    big = "model big\n    layers 2 64 64 3\n    loss cross_entropy\ndataset many\n    type blobs\n    samples 20000\n    classes 3\n    batch 8"
    assert kernel.run(big).status == "ok"
    client = kernel.client
    # stop_on_error=False: this cell is expected to fail (interrupted), and the kernel
    # must not abort the follow-up cells queued behind it (Jupyter's default does).
    msg_id = client.execute("train big on many\n    epochs 1000", stop_on_error=False)
    deadline = time.monotonic() + 60
    while True:  # wait until training has started (its progress display)
        msg = client.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") == msg_id and msg["header"]["msg_type"] == "display_data":
            break
        assert time.monotonic() < deadline
    time.sleep(0.3)
    kernel.manager.interrupt_kernel()
    while True:
        reply = client.get_shell_msg(timeout=60)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    content = reply["content"]
    assert content["status"] == "error" and content["ename"] == "E0607", content
    found = re.match(r"training interrupted after step (\d+) \(epoch \d+ complete\)", content["evalue"])
    assert found, content["evalue"]
    steps = int(found.group(1))
    assert steps > 0
    after = kernel.run("print big.steps")
    assert after.stdout == f"{steps}\n", (after.reply, after.stderr, after.messages)
    more = kernel.run("train big on many\n    steps 5")
    assert more.status == "ok", more.stderr
    assert kernel.run("print big.steps").stdout == f"{steps + 5}\n"
    # %replay names the interrupted cell instead of blaming the next one
    replayed = kernel.run("%replay")
    assert replayed.status == "error" and replayed.reply["ename"] == "ReplayStopped"
    assert replayed.reply["evalue"].startswith(
        f"replay stops at <cell {content['execution_count']}>: it was interrupted (error[E0607]: "
        f"training interrupted after step {steps}"
    ), replayed.reply["evalue"]
    assert "the 1 cell before it replayed with identical outputs" in replayed.reply["evalue"]


def test_shutdown(kernel_prefix: Path, tmp_path: Path) -> None:
    from jupyter_client.manager import KernelManager

    manager = KernelManager(kernel_name="volta")
    manager.start_kernel(cwd=str(tmp_path))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        msg_id = client.shutdown()
        while True:
            reply = client.get_control_msg(timeout=60)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        assert reply["content"]["status"] == "ok" and reply["content"]["restart"] is False
        # Then what Jupyter itself does: wait for the process to exit, killing it only
        # after the manager's grace period (a kernel that lingers is still shut down).
        manager.shutdown_kernel(now=False)
        assert not manager.is_alive()
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
