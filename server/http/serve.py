"""How the process serves HTTP: a cap on open connections, problem+json for the errors aiohttp
answers itself (a request line or header too long, a malformed request), and the run loop.

aiohttp has no connection cap, and its protocol-level errors bypass our middlewares, so both
live in a `web.Server` / `RequestHandler` pair that `Runner` builds instead of aiohttp's own.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import resource
import signal
from contextlib import suppress
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from .. import keys
from ..settings import Settings
from .observe import AccessLogger
from .problem import HTTP_CODES, PROBLEM_TYPE

log = logging.getLogger(__name__)

FD_HEADROOM = 128      # descriptors kept for the store, FCM, sources and the log files
MAX_AUTO = 4096


def server_options(settings: Settings) -> dict[str, Any]:
    """How the HTTP server treats connections: our access log, and a connection that sends
    no complete request within the idle timeout is closed (slow or unfinished headers
    otherwise hold a socket for aiohttp's 75 s default)."""
    return {"access_log_class": AccessLogger, "keepalive_timeout": settings.idle_timeout_s}


def connection_cap(settings: Settings) -> int:
    """The configured cap, or the soft file-descriptor limit less some headroom."""
    if settings.max_connections:
        return settings.max_connections
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_AUTO
    return max(16, min(MAX_AUTO, soft - FD_HEADROOM))


def _problem_bytes(status: int, detail: str, code: str | None = None) -> bytes:
    code = code or HTTP_CODES.get(status, f"http_{status}")
    return json.dumps({"type": f"https://bluelight.invalid/problems/{code}",
                       "title": HTTPStatus(status).phrase, "status": status,
                       "detail": detail, "code": code}).encode()


class ProblemRequestHandler(RequestHandler):
    """aiohttp's connection handler, answering its own refusals as problem+json."""

    def handle_error(self, request: BaseRequest, status: int = 500,
                     exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if status >= 500:
            log.error("error handling request from %s", request.remote, exc_info=exc)
        else:   # a client's malformed request: not our fault, and cheap to flood
            log.debug("refused a malformed request from %s: %s", request.remote, exc)
        if request.writer.output_size > 0:
            raise ConnectionError("a response was partly sent; cannot send the error")
        detail = ("the server could not handle the request" if status >= 500
                  else _detail(exc, message, status))
        resp = web.Response(status=status, body=_problem_bytes(status, detail),
                            content_type=PROBLEM_TYPE)
        resp.force_close()
        return resp


def _detail(exc: BaseException | None, message: str | None, status: int) -> str:
    text = getattr(exc, "message", None) or message or HTTPStatus(status).description
    # aiohttp's messages can quote the offending bytes: keep the answer short.
    return str(text).splitlines()[0][:200]


BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: " + PROBLEM_TYPE.encode()
        + b"\r\nRetry-After: 1\r\nConnection: close\r\n")


class CappedServer(web.Server):
    """Closes a connection at once, with a 503, when `cap` are already open."""

    def __init__(self, *args: Any, cap: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cap = cap
        self.refused = 0

    def __call__(self) -> RequestHandler:
        return ProblemRequestHandler(self, loop=self._loop, **self._kwargs)

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        if len(self._connections) < self.cap:
            super().connection_made(handler, transport)
            return
        self.refused += 1
        if self.refused % 1000 == 1:
            log.warning("connection cap of %d reached: refused %d so far", self.cap,
                        self.refused)
        body = _problem_bytes(503, f"more than {self.cap} open connections; retry shortly",
                              "busy")
        transport.write(BUSY + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        transport.close()


class Runner(web.AppRunner):
    """An AppRunner whose server caps connections and answers its own errors as problems."""

    def __init__(self, app: web.Application, *, cap: int, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.cap = cap
        self.handler_kwargs = {k: v for k, v in kwargs.items()
                               if k not in ("handle_signals", "shutdown_timeout")}
        self.handler_kwargs.setdefault("access_log_class", AccessLogger)

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()   # starts the app (cleanup_ctx, on_startup)
        return CappedServer(plain.request_handler, request_factory=plain.request_factory,
                            cap=self.cap, **self.handler_kwargs)


async def _freeze_when_warm(app: web.Application) -> None:
    """Once start-up has built what lives as long as the process (the triage model's
    vocabularies and embedding table are hundreds of thousands of objects), move it out of
    the garbage collector's reach: a full collection under load then no longer walks it all
    (without this, each paused the loop for 55-110 ms, several times a minute)."""
    await app[keys.REPORTS].warmup.finished.wait()
    gc.freeze()


def run(app: web.Application, settings: Settings) -> None:
    """Serve until SIGINT or SIGTERM, then shut down in order: the signal only wakes main,
    which stops the runner while every other task is still running (aiohttp's own handlers
    raise out of the loop instead, and asyncio.run then cancels every task at once, a step
    half done and the cleanup that should wait for it among them)."""
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        runner = Runner(app, cap=connection_cap(settings), handle_signals=False,
                        **server_options(settings))
        await runner.setup()
        freeze = asyncio.create_task(_freeze_when_warm(app), name="gc-freeze")
        try:
            await web.TCPSite(runner, settings.host, settings.port).start()
            await stop.wait()
        finally:
            freeze.cancel()
            await runner.cleanup()

    with suppress(KeyboardInterrupt):
        asyncio.run(main())
