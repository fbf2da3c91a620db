"""The HTTP server as the process runs it (server/http/serve.py): a cap on open connections
(issue 14 item 8) and problem+json for the refusals aiohttp makes before any handler runs
(issue 14 item 11). Raw sockets on loopback, because these are refusals of raw bytes."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.app import create_app
from server.http.serve import Runner, connection_cap, server_options
from server.settings import Settings
from tests.conftest import eventually


class CappedTestServer(TestServer):
    """aiohttp's TestServer, but built on the runner the process uses."""

    def __init__(self, app: web.Application, cap: int) -> None:
        super().__init__(app)
        self.cap = cap

    async def _make_runner(self, **kwargs: Any) -> web.BaseRunner:
        return Runner(self.app, cap=self.cap, **kwargs)


async def raw(server: TestServer, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes on a new connection; the status, headers and body of the answer."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(5):
            data = await reader.read()
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.fixture
async def capped(settings: Settings) -> Any:
    server = CappedTestServer(create_app(settings), cap=3)
    await server.start_server(**server_options(settings))
    yield server
    await server.close()


HEALTH = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


async def test_connections_beyond_the_cap_get_a_503_problem_and_are_closed(
        capped: TestServer) -> None:
    idle = [await asyncio.open_connection(capped.host, capped.port) for _ in range(3)]
    await eventually(lambda: _open(capped, 3))

    status, headers, body = await raw(capped, HEALTH)

    assert status == 503 and headers["content-type"] == "application/problem+json"
    assert headers["retry-after"] == "1"
    assert json.loads(body)["code"] == "busy"
    # One idle connection goes away: the server answers again.
    idle[0][1].close()

    async def healthy() -> bool:
        return (await raw(capped, HEALTH))[0] == 200
    await eventually(healthy)
    for _, writer in idle[1:]:
        writer.close()


async def _open(server: TestServer, n: int) -> bool:
    assert server.runner is not None and server.runner.server is not None
    return len(server.runner.server.connections) == n


async def test_a_header_too_long_is_a_problem_not_plain_text(capped: TestServer) -> None:
    long = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n"

    status, headers, body = await raw(capped, long)

    assert status == 400 and headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["code"] == "bad_request" and len(problem["detail"]) <= 200


async def test_a_malformed_request_line_is_a_problem(capped: TestServer) -> None:
    status, headers, body = await raw(capped, b"\x16\x03\x01 not http at all\r\n\r\n")

    assert status == 400 and headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == 400


def test_the_automatic_cap_leaves_descriptors_for_the_process(settings: Settings) -> None:
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    cap = connection_cap(settings)
    assert 16 <= cap <= 4096 and (soft == resource.RLIM_INFINITY or cap <= max(16, soft - 128))
    assert connection_cap(replace(settings, max_connections=50)) == 50
