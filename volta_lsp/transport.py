"""LSP over stdio with strict framing: every request is answered, and a broken
stream ends the server with a message instead of leaving it deaf.

pygls' own reader skips any line it does not recognise while it looks for a
``Content-Length`` header. After one message whose ``Content-Length`` is
wrong, the next header is glued to the end of the previous body, never
matches again, and the server stays alive without answering anything. Here
every header line must be ``Name: value``, a message must have one
``Content-Length``, and a body must arrive whole; otherwise the framing is
lost and :func:`serve_stdio` returns 1 after writing why to stderr, so the
client (VS Code's language client restarts a server that exits) starts a
fresh one.

A body that is not JSON is answered with a JSON-RPC parse error; the stream
goes on, and if its length was wrong the next header shows it. Requests whose
parameters do not fit the method's schema, and requests after ``shutdown``,
are answered with JSON-RPC errors by :class:`VoltaProtocol`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import threading
from typing import Any, BinaryIO, Final

from cattrs import ClassValidationError, transform_error
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException, JsonRpcInvalidRequest, JsonRpcParseError
from pygls.io_ import StdinAsyncReader, StdoutWriter
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import RPCRequest
from pygls.server import JsonRPCServer

log = logging.getLogger("volta_lsp")

#: Bodies beyond this are refused as a framing error (far above the document limit).
MAX_MESSAGE_BYTES: Final = 256 * 1024**2
_HEADER: Final = re.compile(rb"([A-Za-z][A-Za-z0-9-]*):[ \t]*([^\r\n]*)\r?\n")


class FramingError(Exception):
    """The byte stream is not LSP messages any more (what was wrong, in words)."""


class _Rejected:
    """A request whose parameters could not be read: answered with ``error``."""

    def __init__(self, msg_id: int | str, error: lsp.ResponseError) -> None:
        self.id = msg_id
        self.error = error


class VoltaProtocol(LanguageServerProtocol):
    """pygls' protocol, answering what it would leave unanswered: requests with
    invalid parameters (InvalidParams) and requests after ``shutdown``
    (InvalidRequest, as the LSP specification asks)."""

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if "method" in data and isinstance(data.get("id"), (int, str)):
                error = exc.to_response_error()
                if isinstance(exc.__cause__, ClassValidationError):  # say which field, as cattrs words it
                    details = "; ".join(transform_error(exc.__cause__)[:3])
                    error.message = f"invalid params for `{data['method']}`: {details}"
                return _Rejected(data["id"], error)
            raise  # a notification: nothing to answer

    def handle_message(self, message: Any) -> None:
        if isinstance(message, _Rejected):
            self._send_response(message.id, None, message.error)
            return
        if self._shutdown and isinstance(message, RPCRequest) and message.method != lsp.EXIT:
            error = JsonRpcInvalidRequest(message="the server is shutting down: no requests after `shutdown`")
            self._send_response(message.id, None, error.to_response_error())
            return
        super().handle_message(message)


async def read_message(reader: StdinAsyncReader) -> bytes | None:
    """One message body; None when the input ends between messages.

    Raises :class:`FramingError` for a line that is not a header, a missing or
    malformed ``Content-Length``, a body over :data:`MAX_MESSAGE_BYTES`, or an
    input that ends inside a message.
    """
    length: int | None = None
    started = False
    while True:
        line = await reader.readline()
        if not line:
            if started:
                raise FramingError("the input ended inside a message header")
            return None
        started = True
        if line in (b"\r\n", b"\n"):
            break
        match = _HEADER.fullmatch(line)
        if match is None:
            shown = line[:60].decode("utf-8", "replace").rstrip()
            raise FramingError(f"expected a header line (`Name: value`), got `{shown}`")
        if match.group(1).lower() == b"content-length":
            value = match.group(2).strip()
            if length is not None or not value.isdigit():
                raise FramingError("a message has a missing, repeated or malformed Content-Length")
            length = int(value)
    if length is None:
        raise FramingError("a message has no Content-Length header")
    if length > MAX_MESSAGE_BYTES:
        raise FramingError(f"a message of {length:,} bytes exceeds the limit of {MAX_MESSAGE_BYTES:,}")
    body = await reader.readexactly(length)
    if len(body) < length:
        raise FramingError("the input ended inside a message body")
    return body


def _answer_unidentified(protocol: VoltaProtocol, error: JsonRpcException) -> None:
    """A JSON-RPC error response with ``id: null`` (the request's id is unknown)."""
    response = {"jsonrpc": "2.0", "id": None, "error": protocol._converter.unstructure(error.to_response_error())}
    protocol._send_data(response)


def _dispatch(protocol: VoltaProtocol, body: bytes) -> bool:
    """Hand one body to the protocol; True when it was the ``exit`` notification."""
    try:
        message = json.loads(body, object_hook=protocol.structure_message)
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        _answer_unidentified(protocol, JsonRpcParseError(message=f"the message body is not JSON: {exc}"))
        return False
    except JsonRpcException:
        log.exception("volta-lsp: a notification could not be read")
        return False
    if not isinstance(message, _Rejected) and not hasattr(message, "jsonrpc"):
        _answer_unidentified(protocol, JsonRpcInvalidRequest(message="a message must be a JSON-RPC object"))
        return False
    try:
        protocol.handle_message(message)
    except Exception:
        log.exception("volta-lsp: a message could not be handled")
    return getattr(message, "method", None) == lsp.EXIT


async def _serve(server: JsonRPCServer, stdin: BinaryIO, stdout: BinaryIO, stop: threading.Event) -> int:
    protocol = server.protocol
    assert isinstance(protocol, VoltaProtocol)
    protocol.set_writer(StdoutWriter(stdout))
    reader = StdinAsyncReader(stdin, server.thread_pool)
    while not stop.is_set():
        try:
            body = await read_message(reader)
        except FramingError as exc:
            sys.stderr.write(f"volta-lsp: the LSP message framing is lost ({exc}); exiting so that the client "
                             "restarts the server\n")
            return 1
        if body is None:
            return 0
        if _dispatch(protocol, body):
            return 0 if protocol._shutdown else 1
    return 0


def serve_stdio(server: JsonRPCServer, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> int:
    """Serve LSP over stdin/stdout until ``exit``, the end of input or a framing
    error; the exit status (0 after ``shutdown`` then ``exit``)."""
    stop = threading.Event()
    server._stop_event = stop
    try:
        return asyncio.run(_serve(server, stdin or sys.stdin.buffer, stdout or sys.stdout.buffer, stop))
    except BrokenPipeError:
        sys.stderr.write("volta-lsp: the connection to the client is lost; exiting\n")
        return 1
    finally:
        server.shutdown()
