"""The server process runs Python's cyclic garbage collector between edits, not after every
analysis (``VoltaServer.collect_when_idle``): in-process, with a short idle time."""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

import pytest

from volta_lsp import server as S


def _cycle() -> None:
    a: list[Any] = []
    a.append(a)


def test_the_collector_waits_for_a_quiet_spell(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(S, "IDLE_GC_S", 0.2)
    srv = S.VoltaServer()
    runs: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "stop":
            runs.append(info["generation"])

    async def scenario() -> None:
        srv.collect_when_idle()
        assert not gc.isenabled()
        srv.last_edit["file:///a.vt"] = time.monotonic()
        srv._start_collector()
        for _ in range(8):  # editing: one edit every 50 ms, faster than the idle time
            _cycle()
            srv.last_edit["file:///a.vt"] = time.monotonic()
            await asyncio.sleep(0.05)
        assert runs == []
        srv.analysing.add("file:///a.vt")  # quiet, but an analysis is running
        await asyncio.sleep(0.4)
        assert runs == []
        srv.analysing.clear()
        await asyncio.sleep(0.4)
        assert runs and runs[0] == 2  # a full collection, once quiet
        assert srv._gc_task is not None
        srv._gc_task.cancel()

    gc.callbacks.append(seen)
    try:
        asyncio.run(scenario())
    finally:
        gc.callbacks.remove(seen)
        gc.enable()


def test_without_the_policy_the_server_leaves_the_collector_alone() -> None:
    srv = S.VoltaServer()
    assert gc.isenabled() and not srv.idle_gc
    srv._start_collector()
    assert srv._gc_task is None and gc.isenabled()
