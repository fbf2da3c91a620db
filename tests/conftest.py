"""Shared fixtures: settings on a temp SQLite file, a real loopback server, and tokens."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from server.adapters.mongo.base import maybe_await
from server.adapters.mongo.store import MongoStore
from server.app import create_app
from server.auth import mint_token
from server.domain.model import Role
from server.ports import Store
from server.settings import Settings
from tests.fake_fcm import FakeFcm
from tests.spec_check import SpecChecker
from tests.stores import MONGODB_URI, STORE_KINDS, mock_client, open_store

# Modules that must hold on every store set: pytestmark = ALL_STORES
ALL_STORES = pytest.mark.parametrize("store_kind", [k for k in STORE_KINDS if k != "sqlite"]
                                     + ["sqlite"])


def shared_mongo(kind: str) -> Any:
    """A client the apps of one test share, or None for SQLite."""
    if kind == "mongomock":
        return mock_client()
    if kind == "mongodb":
        from pymongo import AsyncMongoClient

        return AsyncMongoClient(MONGODB_URI)
    return None

SECRET = "test-secret-" + "x" * 40
DATA = Path(__file__).resolve().parents[1] / "server" / "data" / "boundaries"

_checker = SpecChecker()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for one test: its own SQLite file and a fast geofence refresh."""
    return Settings(store_url=f"sqlite:///{tmp_path / 'bluelight.db'}", data_dir=tmp_path,
                    jwt_secret=SECRET, geofence_refresh_s=0.1)


def token(role: str, sub: str = "tester", ttl: int = 600) -> str:
    """A valid bearer token for the test secret."""
    return mint_token(SECRET, sub=sub, role=Role(role), now=datetime.now(UTC), ttl_s=ttl)


@dataclass
class Resp:
    """A finished response: status, headers, and the body parsed if it is JSON."""

    status: int
    headers: Any
    body: Any
    text: str


class Api:
    """A client for the loopback server that checks every response against openapi.yaml."""

    def __init__(self, client: TestClient[web.Request, web.Application]) -> None:
        self.client = client
        self.app = client.server.app

    async def call(self, method: str, path: str, *, role: str | None = None,
                   sub: str = "tester", json_body: Any = None, data: Any = None,
                   headers: dict[str, str] | None = None) -> Resp:
        hdrs = dict(headers or {})
        if role is not None:
            hdrs["Authorization"] = f"Bearer {token(role, sub)}"
        if json_body is not None:
            data = json.dumps(json_body)
            hdrs.setdefault("Content-Type", "application/json")
        async with self.client.request(method, path, data=data, headers=hdrs) as r:
            raw = await r.read()
            ctype = r.content_type
            _checker.check(method, r.url.path, r.status, ctype, raw)
            text = raw.decode("utf-8", "replace")
            body = json.loads(raw) if ctype.endswith("json") and raw else None
            return Resp(r.status, r.headers, body, text)

    async def get(self, path: str, **kw: Any) -> Resp:
        return await self.call("GET", path, **kw)

    async def put(self, path: str, body: Any = None, **kw: Any) -> Resp:
        return await self.call("PUT", path, json_body=body, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> Resp:
        return await self.call("POST", path, json_body=body, **kw)

    async def delete(self, path: str, **kw: Any) -> Resp:
        return await self.call("DELETE", path, **kw)


ApiFactory = Callable[..., Awaitable[Api]]


@pytest.fixture(params=STORE_KINDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """Each store adapter, opened fresh (the contract suite runs on every one)."""
    async with open_store(request.param, tmp_path) as adapter:
        yield adapter


@pytest.fixture
def store_kind() -> str:
    """The store the apps of a test use; modules parametrise it to run on every store."""
    return "sqlite"


@pytest.fixture
async def make_api(settings: Settings, store_kind: str) -> AsyncIterator[ApiFactory]:
    """Start apps on real loopback servers; all are stopped at the end of the test.
    Apps of one test share one database, like instances behind a load balancer."""
    clients: list[TestClient[web.Request, web.Application]] = []
    shared = shared_mongo(store_kind)
    db_name = f"bluelight_api_{uuid.uuid4().hex[:12]}"

    async def factory(**overrides: Any) -> Api:
        if shared is not None and "store" not in overrides:
            overrides["store"] = MongoStore(shared, db_name, owns_client=False)
        port = overrides.pop("server_port", None)   # a fixed port: a restart at one address
        app = create_app(overrides.pop("settings", settings), **overrides)
        client = TestClient(TestServer(app, port=port))
        await client.start_server()
        clients.append(client)
        return Api(client)

    yield factory
    for client in reversed(clients):
        await client.close()
    if shared is not None and store_kind == "mongodb":
        await shared.drop_database(db_name)
        await maybe_await(shared.close())


@pytest.fixture
async def api(make_api: ApiFactory) -> Api:
    """One app on a loopback server."""
    return await make_api()


@pytest.fixture
async def fcm() -> AsyncIterator[tuple[FakeFcm, str]]:
    """The fake FCM server on 127.0.0.1: (its state, its base URL)."""
    fake = FakeFcm()
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    yield fake, str(server.make_url("")).rstrip("/")
    await server.close()


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    """Await until check() is true, failing after `within` seconds (no fixed sleeps)."""
    async with asyncio.timeout(within):
        # Polling is the point: the condition lives in another app or in the store.
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


def square(lon: float, lat: float, size: float = 0.01) -> dict[str, Any]:
    """A square GeoJSON Polygon with its south-west corner at (lon, lat)."""
    return {"type": "Polygon", "coordinates": [[
        [lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]]}


def feature(geometry: dict[str, Any], name: str = "Test", **props: Any) -> dict[str, Any]:
    """A GeoJSON Feature for a neighbourhood."""
    return {"type": "Feature", "geometry": geometry, "properties": {"name": name, **props}}


def load_boundaries(name: str) -> dict[str, Any]:
    """One of the shipped boundary files."""
    data: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return data
