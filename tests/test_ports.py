"""The store's role ports: each adapter plays every role, `Store` is exactly their union,
and services ask for roles, never the whole store.

`mypy` (strict) checks this module too (pyproject.toml): `roles_of` below fails the type
check if an adapter lacks a role's method or has an incompatible signature. The tests
check the same at run time (names, async-ness, parameter names, kinds and defaults), so a
drift shows up under pytest as well."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import server.services
from server.adapters.mongo.store import MongoStore
from server.adapters.sqlite.store import SqliteStore
from server.ports import (
    ROLES,
    AlertReads,
    ApiKeyStore,
    AuditStore,
    CursorStore,
    DeliveryStore,
    DeviceStore,
    EventLog,
    IncidentReads,
    IngestStore,
    Lifecycle,
    NeighbourhoodStore,
    OfficerStore,
    RedactionStore,
    ReplyStore,
    ReportQueries,
    RevocationStore,
    StepQueue,
    Store,
    TransitionStore,
)

ADAPTERS = [SqliteStore, MongoStore]


def roles_of(store: SqliteStore | MongoStore) -> list[object]:
    """The adapter as each role port, statically (mypy rejects a role it does not play)."""
    lifecycle: Lifecycle = store
    neighbourhoods: NeighbourhoodStore = store
    officers: OfficerStore = store
    devices: DeviceStore = store
    ingest: IngestStore = store
    transitions: TransitionStore = store
    steps: StepQueue = store
    incidents: IncidentReads = store
    alerts: AlertReads = store
    deliveries: DeliveryStore = store
    events: EventLog = store
    audit: AuditStore = store
    api_keys: ApiKeyStore = store
    revocations: RevocationStore = store
    redaction: RedactionStore = store
    cursors: CursorStore = store
    replies: ReplyStore = store
    reports: ReportQueries = store
    return [lifecycle, neighbourhoods, officers, devices, ingest, transitions, steps,
            incidents, alerts, deliveries, events, audit, api_keys, revocations, redaction,
            cursors, replies, reports]


def members(protocol: type) -> dict[str, Callable[..., object]]:
    """The methods a protocol declares, its own and its bases' (not Protocol's)."""
    found: dict[str, Callable[..., object]] = {}
    for cls in reversed(protocol.__mro__):
        if getattr(cls, "_is_protocol", False) and cls.__module__.startswith("server."):
            found.update({name: fn for name, fn in vars(cls).items()
                          if not name.startswith("_") and callable(fn)})
    return found


def shape(fn: Callable[..., object]) -> list[tuple[str, object, object]]:
    """What a caller relies on: each parameter's name, kind and default."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def test_the_static_check_names_every_role(tmp_path: Path) -> None:
    # No I/O happens until open(): the instance only feeds roles_of.
    assert len(roles_of(SqliteStore(tmp_path / "unused.db"))) == len(set(ROLES)) == len(ROLES)


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda a: a.__name__)
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.__name__)
def test_each_adapter_plays_every_role(adapter: type, role: type) -> None:
    declared = members(role)
    assert declared, f"{role.__name__} declares no methods"
    for name, port_fn in declared.items():
        impl = getattr(adapter, name, None)
        assert impl is not None, f"{adapter.__name__} lacks {role.__name__}.{name}"
        assert (inspect.iscoroutinefunction(impl)
                == inspect.iscoroutinefunction(port_fn)), f"{adapter.__name__}.{name}"
        assert shape(impl) == shape(port_fn), f"{adapter.__name__}.{name} differs from " \
                                              f"{role.__name__}.{name}"


def test_store_is_exactly_the_union_of_the_roles_and_they_do_not_overlap() -> None:
    seen: dict[str, str] = {}
    for role in ROLES:
        for name in members(role):
            assert name not in seen, f"{name} is in both {seen[name]} and {role.__name__}"
            seen[name] = role.__name__
    assert set(members(Store)) == set(seen)
    assert set(Store.__mro__[1:]) >= set(ROLES)


def test_services_ask_for_roles_not_the_whole_store() -> None:
    for info in pkgutil.iter_modules(server.services.__path__):
        module = importlib.import_module(f"server.services.{info.name}")
        assert getattr(module, "Store", None) is not Store, (
            f"server/services/{info.name}.py depends on the whole Store")


def test_the_ports_and_the_store_adapters_do_not_load_cryptography() -> None:
    """The ports are imported by everything; cryptography belongs to the key service."""
    code = ("import sys, server.ports, server.adapters.sqlite.store, "
            "server.adapters.mongo.store; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'cryptography'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_building_the_app_loads_neither_pyjwt_nor_firebase_admin() -> None:
    """Issue 13: readiness does not wait for PyJWT (cryptography with it, ~40 ms) nor for
    firebase-admin; tokens import PyJWT when first read (or the warm-up does), and
    firebase-admin comes only with BLUELIGHT_PUSH=fcm."""
    code = ("import os, sys; from server.app import create_app; "
            "from server.settings import Settings; "
            "create_app(Settings.from_env({**os.environ, 'BLUELIGHT_JWT_SECRET': 'x' * 32})); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'jwt', 'firebase_admin', 'cryptography'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
