"""Sockets and HTTP servers for the emulators: uvicorn, plus a way for an app to hang up."""

import socket
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tidings.emulators.http import DROP_EXTENSION

# A benchmark opens many connections at once; the kernel queues this many before accept.
BACKLOG = 2048
# A request held by a delay fault must not keep a stopping server alive for long.
GRACEFUL_SHUTDOWN_S = 1


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket listening on host:port; port 0 lets the system pick a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as error:
        sock.close()
        raise OSError(error.errno, f"cannot listen on {host}:{port}: {error.strerror}") from None
    return sock


class QuietHttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol without access lines: uvicorn decides whether to log them
    from the process-wide `uvicorn.access` logger, which a tidings server in the same
    process (the demo) switches on, and thousands of emulated deliveries would drown it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.access_log = False


def bound_port(sock: socket.socket) -> int:
    """The port a socket listens on."""
    port: int = sock.getsockname()[1]
    return port


class HttpServer:
    """One emulator's ASGI app served by uvicorn on a socket bound beforehand.

    Binding first means the port is known (and any conflict reported) before the server runs.
    """

    def __init__(self, app: ASGIApp, sock: socket.socket) -> None:
        self.app = app
        self.sock = sock
        self.server = uvicorn.Server(
            uvicorn.Config(
                self._serve_request,
                log_config=None,  # the process's logging stays as its owner set it up
                log_level="warning",
                access_log=False,
                http=QuietHttpProtocol,
                interface="asgi3",
                lifespan="off",
                ws="none",
                proxy_headers=False,
                server_header=False,
                backlog=BACKLOG,
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
            )
        )

    @property
    def started(self) -> bool:
        """Whether the server accepts connections."""
        return self.server.started

    async def serve(self) -> None:
        """Serve until `stop`."""
        await self.server.serve(sockets=[self.sock])

    def stop(self) -> None:
        """Ask the server to finish its requests and stop (from its event loop's thread)."""
        self.server.should_exit = True

    async def _serve_request(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["extensions"] = {**(scope.get("extensions") or {}), DROP_EXTENSION: self._drop}
        await self.app(scope, receive, send)

    def _drop(self, scope: Scope) -> None:
        # uvicorn keeps each connection's protocol; the one serving this client holds the socket.
        client: Any = scope.get("client")
        for connection in list(self.server.server_state.connections):
            if getattr(connection, "client", None) == client:
                connection.transport.close()
