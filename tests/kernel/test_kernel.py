"""End-to-end: jupyter_client against a real Volta kernel process (one per module)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from volta_core.analysis import analyze
from volta_core.present import layer_table

from .conftest import Kernel, kernelspec, strip_ansi


def test_kernel_info_and_kernelspec(kernel: Kernel, kernel_prefix: Path) -> None:
    info = kernel.request("kernel_info")
    assert info["implementation"] == "volta_kernel"
    lang = info["language_info"]
    assert (lang["name"], lang["file_extension"], lang["mimetype"]) == ("volta", ".vt", "text/x-volta")
    spec = kernelspec(kernel_prefix)
    assert spec["display_name"] == "Volta" and spec["language"] == "volta"
    assert spec["argv"] == [sys.executable, "-m", "volta_kernel", "-f", "{connection_file}"]


def test_print_streams_and_state_persists_across_cells(kernel: Kernel) -> None:
    kernel.run("%reset")
    first = kernel.run('rate 0.5\nfn double(x)\n    return x * 2\nprint "rate", rate\nprint double(21)')
    assert first.status == "ok"
    assert first.stdout == "rate 0.5\n42\n"
    # one stream message per printed line, as it is printed
    assert [s for s in first.streams if s[0] == "stdout"] == [("stdout", "rate 0.5\n"), ("stdout", "42\n")]
    # unused top-level declarations are not warned about: later cells use them
    assert first.stderr == ""
    second = kernel.run("for i in 0..3\n    print double(i) + rate")
    assert second.status == "ok" and second.stdout == "0.5\n2.5\n4.5\n"


def test_errors_are_rendered_with_the_cells_own_line_numbers(kernel: Kernel) -> None:
    kernel.run("%reset")
    kernel.run("total 1")
    bad = kernel.run("total = 2\nprint totl")
    count = bad.reply["execution_count"]
    assert bad.status == "error"
    assert bad.reply["ename"] == "E0301" and "undefined variable `totl`" in bad.reply["evalue"]
    assert f"--> <cell {count}>:2:7" in bad.stderr
    assert "did you mean `total`?" in bad.stderr
    assert "\x1b[" in bad.reply["traceback"][0]  # coloured for Jupyter
    # an analysis error runs nothing: total is still 1, and the session still works
    assert kernel.run("print total").stdout == "1\n"


def test_runtime_error_keeps_finished_statements_and_session(kernel: Kernel) -> None:
    kernel.run("%reset")
    bad = kernel.run("k 1\nprint k\n\nprint k / 0")
    assert bad.status == "error" and bad.reply["ename"] == "E0601"
    assert bad.stdout == "1\n"
    assert f"<cell {bad.reply['execution_count']}>:4:" in bad.stderr
    assert kernel.run("print k + 1").stdout == "2\n"


def test_warnings_are_shown_but_the_cell_succeeds(kernel: Kernel) -> None:
    res = kernel.run("inspct 3")
    assert res.status == "ok"
    # a display, not stderr: notebooks paint stderr (and errors) pink, and this is a hint
    assert res.stderr == "" and not any(name == "stderr" for name, _ in res.streams)
    assert len(res.displays) == 1 and set(res.displays[0]) == {"text/plain"}
    plain = strip_ansi(res.displays[0]["text/plain"])
    assert "warning[W0101]" in plain and "did you mean the keyword `inspect`" in plain


def test_a_misspelt_print_with_its_value_is_an_error(kernel: Kernel) -> None:
    res = kernel.run('prnt "x"')
    assert res.status == "error" and res.reply["ename"] == "E0101"
    assert "did you mean `print`?" in res.stderr


def test_a_misspelt_property_key_is_an_error_and_nothing_runs(kernel: Kernel) -> None:
    kernel.run("%reset")
    res = kernel.run("model m\n    layers 2 1\ndataset d\n    type xor\ntrain m on d\n    epoch 100")
    assert res.status == "error" and res.reply["ename"] == "E0201"
    assert "did you mean `epochs`?" in res.stderr
    assert res.stdout == ""


def test_model_statements_run(kernel: Kernel) -> None:
    res = kernel.run("model m\n    layers 2 3 1")
    assert res.status == "ok"
    res = kernel.run('export m as "m.onnx"')
    assert res.status == "ok", res.stderr


def test_history_who_replay_and_reset(kernel: Kernel) -> None:
    kernel.run("%reset")
    a = kernel.run('greeting "hi"\nprint greeting')
    b = kernel.run("fn sq(x)\n    return x * x\ntotal 0\nfor i in 4\n    total = total + sq(i)\nprint total")
    assert b.stdout == "14\n"
    hist = kernel.run("%history")
    assert hist.status == "ok"
    assert f"# <cell {a.reply['execution_count']}>\ngreeting \"hi\"" in hist.stdout
    assert f"# <cell {b.reply['execution_count']}>\nfn sq(x)" in hist.stdout

    who = kernel.run("%who")
    assert who.status == "ok" and len(who.displays) == 1
    plain, markup = who.displays[0]["text/plain"], who.displays[0]["text/html"]
    assert "greeting  variable  str   \"hi\"" in plain, plain
    assert "fn sq(x)" in plain and "total" in plain and "14" in plain
    assert markup.startswith('<table class="volta-table">') and "<td>sq</td>" in markup

    replay = kernel.run("%replay")
    assert replay.status == "ok"
    assert replay.stdout == "bit-identical: 2 cells replayed, outputs identical\n"

    reset = kernel.run("%reset")
    assert reset.status == "ok"
    assert kernel.run("%history").stdout == "history is empty\n"
    gone = kernel.run("print total")
    assert gone.status == "error" and gone.reply["ename"] == "E0301"


def test_replay_stops_at_a_cell_that_failed_part_way(kernel: Kernel) -> None:
    kernel.run("%reset")
    kernel.run("v 1")
    # fails part-way: `v = 5` keeps its effect, but the cell is not recorded
    bad = kernel.run("v = 5\nprint 1 / 0")
    assert bad.status == "error"
    kernel.run("print v")
    res = kernel.run("%replay")
    assert res.status == "error" and res.reply["ename"] == "ReplayStopped"
    assert res.reply["evalue"].startswith(
        f"replay stops at <cell {bad.reply['execution_count']}>: it failed part-way (error[E0601]"
    )
    assert "the 1 cell before it replayed with identical outputs" in res.reply["evalue"]


def test_replay_skips_cells_that_ran_nothing(kernel: Kernel) -> None:
    kernel.run("%reset")
    # an analysis error runs nothing: no partial effects, replay goes on
    assert kernel.run("w = 1").status == "error"
    kernel.run("v 1\nprint v")
    assert kernel.run("%replay").stdout == "bit-identical: 1 cell replayed, outputs identical\n"


def test_magic_errors(kernel: Kernel) -> None:
    unknown = kernel.run("%histroy")
    assert unknown.status == "error" and unknown.reply["ename"] == "UsageError"
    assert "did you mean `%history`?" in unknown.reply["evalue"]
    res = kernel.run("%plot nothing")
    assert res.status == "error" and res.reply["ename"] == "UsageError"
    assert "`nothing` is not defined" in res.reply["evalue"] and "`nothing` is not defined" in res.stderr
    mixed = kernel.run("%who\nprint 1")
    assert mixed.status == "error" and "separate cells" in mixed.reply["evalue"]
    args = kernel.run("%who extra")
    assert args.status == "error" and "takes no arguments" in args.reply["evalue"]


def test_is_complete(kernel: Kernel) -> None:
    def check(code: str) -> tuple[str, str]:
        reply = kernel.request("is_complete", code)
        return reply["status"], reply.get("indent", "")

    assert check("print 1") == ("complete", "")
    assert check("loop 3") == ("incomplete", "    ")
    assert check("fn f(x)\n    if x > 1") == ("incomplete", "        ")
    assert check("fn f(x)\n    return x") == ("incomplete", "    ")
    assert check("fn f(x)\n    return x\n") == ("complete", "")
    assert check("model m  # a model") == ("incomplete", "    ")
    assert check("train m on d") == ("incomplete", "    ")
    assert check("train m on d\n    ") == ("complete", "")
    assert check('print "open') == ("invalid", "")
    # Volta has no continuation lines: an open bracket or a stray one cannot be completed
    assert check("print (1 +") == ("invalid", "")
    assert check("print (1 + 2") == ("invalid", "")
    assert check("print 1 )") == ("invalid", "")
    assert check("x = = 3") == ("invalid", "")
    assert check("fn f(x)\n    return (1 +") == ("invalid", "")
    assert check("if x\n    print 1\nelse") == ("incomplete", "    ")
    assert check("%who") == ("complete", "")


def test_complete(kernel: Kernel) -> None:
    kernel.run("%reset")
    kernel.run("alpha 1\nalbum 2")

    def matches(code: str, cursor: int | None = None) -> tuple[list[str], int, int]:
        reply = kernel.request("complete", code, len(code) if cursor is None else cursor)
        assert reply["status"] == "ok"
        return reply["matches"], reply["cursor_start"], reply["cursor_end"]

    found, start, end = matches("pr")
    assert "print" in found and (start, end) == (0, 2)
    assert matches("print al")[0] == ["album", "alpha"]
    assert "activation" in matches("model m\n    layers 2 3\n    act")[0]
    assert matches("model m\n    activation re")[0] == ["relu"]
    assert matches("model m\n    layer dense 3 si")[0] == ["sigmoid", "silu"]
    assert "transformer" in matches("model m\n    layer tr")[0]
    assert "epochs" in matches("train m on d\n    ep")[0]
    assert matches("%re")[0] == ["replay", "reset"]
    # the cell's own declarations count too
    assert "beta" in matches("beta 3\nprint be")[0]


def test_inspect(kernel: Kernel) -> None:
    kernel.run("%reset")
    kernel.run('label "abc"')

    def inspect(code: str, cursor: int) -> dict[str, str]:
        reply = kernel.request("inspect", code, cursor)
        assert reply["status"] == "ok" and reply["found"], reply
        return dict(reply["data"])

    code = "model net\n    layers 4 8 3\n    activation relu\n    output softmax\n    loss cross_entropy"
    data = inspect(code, 8)
    plain = data["text/plain"]
    assert "layer" in plain and "output shape" in plain and "params" in plain
    assert plain == layer_table(analyze(code).symbols.models["net"]).text()
    assert "0      dense 8" in plain and "[8]" in plain and "total  4 layers" in plain and "67" in plain
    assert '<table class="volta-table">' in data["text/html"] and "**model net:" in data["text/markdown"]
    assert "Activation between the dense layers" in inspect(code, code.index("activation") + 3)["text/plain"]
    assert "str" in inspect("print label", 8)["text/plain"] and '"abc"' in inspect("print label", 8)["text/plain"]
    assert "runs the indented block N times" in inspect("loop 3", 2)["text/plain"]
    # A model defined in an earlier cell shows its layer table, not `= <model net>`.
    assert kernel.run(code).status == "ok"
    earlier = inspect("print net", 7)
    # ... the table the `inspect` statement shows, with the inference graph's facts
    assert earlier["text/plain"].startswith(plain + "\n\n  IR nodes: 11 (inference, batch 1)")
    assert "<model" not in earlier["text/plain"]
    assert not kernel.request("inspect", "print nothing_here", 10)["found"]


def test_interrupt_stops_a_long_loop_and_the_session_survives(kernel: Kernel) -> None:
    kernel.run("%reset")
    kernel.run("count 0")
    client = kernel.client
    msg_id = client.execute("loop 100000000\n    count = count + 1", stop_on_error=False)  # expected to fail
    time.sleep(1.0)
    kernel.manager.interrupt_kernel()
    while True:
        reply = client.get_shell_msg(timeout=60)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    content = reply["content"]
    assert content["status"] == "error" and content["ename"] == "E0607"
    after = kernel.run("print count > 0")
    assert after.status == "ok" and after.stdout == "true\n"


def test_silent_execution_prints_nothing_but_updates_the_session(kernel: Kernel) -> None:
    kernel.run("%reset")
    client = kernel.client
    reply = client.execute_interactive('quiet 7\nprint "hidden"', silent=True, store_history=False, timeout=60)
    assert reply["content"]["status"] == "ok"
    assert kernel.run("print quiet").stdout == "7\n"
    history = kernel.run("%history").stdout
    assert "# <silent 1>\nquiet 7" in history
    assert kernel.run("%replay").status == "ok"
