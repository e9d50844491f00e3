"""Every request is answered and a broken stream ends the server with a message
(issue 24, item 13). A hand-framing client sends what pytest-lsp never would."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .raw_client import RawClient, hover


@pytest.fixture
def client() -> Iterator[RawClient]:
    c = RawClient()
    c.initialize()
    yield c
    c.proc.kill()
    c.proc.wait()


@pytest.mark.parametrize(("params", "needle"), [
    (hover(line=-1), "$.params.position"),
    ({"bogus": 1}, "required field missing @ $.params.text_document"),
])
def test_invalid_params_get_an_error_response(client: RawClient, params: object, needle: str) -> None:
    client.request(7, "textDocument/hover", params)
    response = client.response(7)
    assert response is not None and response["error"]["code"] == -32602, response
    assert needle in response["error"]["message"]
    client.request(8, "textDocument/hover", hover())  # and the server goes on
    assert client.response(8) is not None


def test_requests_after_shutdown_get_an_error_and_exit_ends_the_server(client: RawClient) -> None:
    client.request(2, "shutdown", None)
    assert client.response(2) == {"jsonrpc": "2.0", "id": 2, "result": None}
    client.request(3, "textDocument/hover", hover())
    response = client.response(3)
    assert response is not None and response["error"]["code"] == -32600
    client.send({"jsonrpc": "2.0", "method": "exit"})
    assert client.finish()[0] == 0


def test_a_body_that_is_not_json_gets_a_parse_error(client: RawClient) -> None:
    client.send_bytes(b"Content-Length: 9\r\n\r\n{not json")
    response = client.response(None)
    assert response is not None and response["error"]["code"] == -32700
    client.request(4, "textDocument/hover", hover())
    assert client.response(4) is not None


@pytest.mark.parametrize("delta", [-3, 12])
def test_a_wrong_content_length_ends_the_server_with_a_message(client: RawClient, delta: int) -> None:
    client.send({"jsonrpc": "2.0", "id": 5, "method": "textDocument/hover", "params": hover()}, length_delta=delta)
    client.request(6, "textDocument/hover", hover())
    client.request(7, "textDocument/hover", hover())
    status, err = client.finish()
    assert status == 1
    assert "volta-lsp: the LSP message framing is lost" in err and "restarts the server" in err


def test_a_header_line_that_is_not_a_header_ends_the_server(client: RawClient) -> None:
    client.send_bytes(b"hello there\r\n\r\n")
    status, err = client.finish()
    assert status == 1 and "expected a header line (`Name: value`), got `hello there`" in err
