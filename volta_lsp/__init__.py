"""Volta language server (pygls 2.x): a thin adapter over ``volta_core.analyze``.

``python -m volta_lsp`` serves LSP over stdio (``--tcp HOST:PORT`` for a
socket); ``python -m volta_lsp --check`` only says whether it can start.
Importing this package does not import pygls; the server module is loaded
only when the server starts (or is checked).
"""

from __future__ import annotations

import argparse
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    """Run the language server until the client disconnects."""
    parser = argparse.ArgumentParser(prog="python -m volta_lsp", description="Volta language server")
    parser.add_argument("--stdio", action="store_true", help="serve over stdin/stdout (the default)")
    parser.add_argument("--tcp", metavar="HOST:PORT", help="serve over a TCP socket instead")
    parser.add_argument("--log-level", default="WARNING", help="logging level on stderr")
    parser.add_argument(
        "--check", action="store_true",
        help="exit 0 when the server can start (its frameworks import), else say why and exit 2",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(), format="volta-lsp %(levelname)s %(message)s")
    try:
        from volta_lsp.server import create_server
    except ImportError as exc:
        sys.stderr.write(f"volta_lsp: {exc}; install the `lsp` extra: pip install 'volta-lang[lsp]'\n")
        return 2
    if args.check:
        # The import above is everything starting needs; editors run this before starting the server.
        sys.stdout.write("volta_lsp: the language server can start\n")
        return 0
    server = create_server()
    server.collect_when_idle()  # this process is the server's: its garbage collector runs between edits
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if not port.isdigit():
            parser.error("--tcp expects HOST:PORT")
        server.start_tcp(host or "127.0.0.1", int(port))
        return 0
    from volta_lsp.transport import serve_stdio

    return serve_stdio(server)
