"""A minimal LSP client that frames messages by hand, to send what a well-behaved
client (pytest-lsp) never would: wrong lengths, invalid parameters, garbage."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from typing import Any


class RawClient:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "volta_lsp"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        out = self.proc.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    self.messages.put(None)
                    return
                if line in (b"\r\n", b"\n"):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            assert length is not None
            self.messages.put(json.loads(out.read(length)))

    def send_bytes(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, message: dict[str, Any], length_delta: int = 0) -> None:
        body = json.dumps(message).encode()
        self.send_bytes(b"Content-Length: %d\r\n\r\n" % (len(body) + length_delta) + body)

    def request(self, msg_id: int, method: str, params: object) -> None:
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})

    def response(self, msg_id: int | None, timeout: float = 30.0) -> dict[str, Any] | None:
        """The response with ``msg_id`` (None: the server ended first)."""
        end = time.monotonic() + timeout
        while True:
            message = self.messages.get(timeout=max(0.01, end - time.monotonic()))
            if message is None:
                return None
            if "method" not in message and message.get("id") == msg_id:
                return message

    def initialize(self) -> None:
        self.request(1, "initialize", {"capabilities": {}, "processId": None, "rootUri": None})
        assert self.response(1) is not None
        self.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        self.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": "file:///a.vt", "languageId": "volta", "version": 1, "text": "x 1\nprint x\n"}}})

    def finish(self, timeout: float = 30.0) -> tuple[int, str]:
        """Wait for the server to exit: its status and stderr."""
        try:
            _, err = self.proc.communicate(timeout=timeout)
        finally:
            self.proc.kill()
        return self.proc.returncode, err.decode("utf-8", "replace")


def hover(line: int = 0, character: int = 0) -> dict[str, Any]:
    return {"textDocument": {"uri": "file:///a.vt"}, "position": {"line": line, "character": character}}
