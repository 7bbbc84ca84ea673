"""What serves a pool's peers: the lean server, or aiohttp's serving :attr:`app`.

Both answer through the same :class:`PeerHandler`. The lean one costs a fraction of
aiohttp's CPU per request; aiohttp's is the one that can serve what users add to the
application (routes, middlewares, sub-applications, signals), so ``"auto"`` picks lean
unless the application was changed after the pool built it.
"""

from __future__ import annotations

import ssl as ssl_module
from collections.abc import Callable
from typing import Literal, TypeAlias

from aiohttp import web

from .._errors import GroupcacheError
from .handler import PeerHandler, Reply
from .lean import LeanServer
from .server import AiohttpPeerApp, to_response

ServerKind: TypeAlias = Literal["auto", "lean", "aiohttp"]
SERVER_KINDS = ("auto", "lean", "aiohttp")


class PeerServing:
    """Chooses and runs the server of one pool.

    Args:
        handler: The protocol, shared by both servers.
        kind: ``"lean"``, ``"aiohttp"`` or ``"auto"``.
        max_body_bytes: Largest request body either server reads.
        shutdown_timeout: Grace in seconds for requests in progress at :meth:`aclose`.
    """

    def __init__(
        self, handler: PeerHandler, kind: ServerKind, max_body_bytes: int, shutdown_timeout: float
    ) -> None:
        if kind not in SERVER_KINDS:
            raise GroupcacheError(f"server must be 'auto', 'lean' or 'aiohttp', not {kind!r}")
        self._handler = handler
        self._kind = kind
        self._max_body = max_body_bytes
        self._shutdown_timeout = shutdown_timeout
        self._aiohttp = AiohttpPeerApp(handler)
        self.app = self._aiohttp.app(max_body_bytes)
        self._shape = _shape(self.app)
        self._endpoints: dict[str, Callable[[], Reply]] = {}
        self._runner: web.AppRunner | None = None
        self._lean: LeanServer | None = None

    @property
    def running(self) -> str:
        """``"lean"``, ``"aiohttp"``, or ``"none"`` (not started, or closed)."""
        if self._lean is not None:
            return "lean"
        return "aiohttp" if self._runner is not None else "none"

    def add_endpoint(self, path: str, render: Callable[[], tuple[str, bytes]]) -> None:
        """Serve ``GET path`` with ``render`` on either server (see ``HTTPPool``)."""
        if self.running != "none":
            raise GroupcacheError("add_endpoint() must come before start()")
        base = self._handler.base_path
        if not path.startswith("/") or path.startswith(base):
            raise GroupcacheError(f"an endpoint must be a path outside {base}: {path!r}")

        def reply() -> Reply:
            content_type, body = render()
            return Reply(200, body, content_type)

        async def handle(_: web.Request) -> web.StreamResponse:
            return to_response(reply())

        self._endpoints[path] = reply
        self.app.router.add_get(path, handle)
        self._shape = _shape(self.app)

    async def start(
        self, host: str, port: int, ssl: ssl_module.SSLContext | None, max_line_bytes: int
    ) -> int:
        """Listen on ``host:port``; return the bound port."""
        kind = self._kind
        changed = _shape(self.app) != self._shape
        if kind == "auto":
            kind = "aiohttp" if changed else "lean"
        elif kind == "lean" and changed:
            raise GroupcacheError(
                "pool.app was given routes, middlewares or signals of its own, which only "
                "server='aiohttp' serves: use it, or pool.add_endpoint() for a GET endpoint"
            )
        if kind == "lean":
            lean = LeanServer(
                self._handler,
                max_line_bytes=max_line_bytes,
                max_body_bytes=self._max_body,
                extra=self._endpoints,
            )
            bound_port = await lean.start(host, port, ssl)
            self._lean = lean
            return bound_port
        runner = web.AppRunner(
            self.app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=self._shutdown_timeout,
            max_line_size=max_line_bytes,
        )
        await runner.setup()
        self._runner = runner
        await web.TCPSite(runner, host, port, ssl_context=ssl).start()
        aiohttp_port: int = runner.addresses[0][1]
        return aiohttp_port

    async def aclose(self) -> None:
        """Stop serving, letting requests in progress finish for the grace period."""
        lean, self._lean = self._lean, None
        if lean is not None:
            await lean.aclose(self._shutdown_timeout)
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
            await self._aiohttp.join_connections()


def _shape(app: web.Application) -> tuple[int, ...]:
    """What the user may have added to ``app``: with any of it, only aiohttp serves it."""
    return (
        len(app.router.resources()),
        len(app.middlewares),
        len(app.on_startup),
        len(app.on_shutdown),
        len(app.on_cleanup),
        len(app.on_response_prepare),
        len(app.cleanup_ctx),
    )
