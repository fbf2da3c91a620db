"""The composition root: create_app(settings, **overrides) wires every part together."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

from aiohttp import web

from . import keys
from .adapters.push_log import LogPush
from .adapters.replies.bluesky import BlueskyReplier
from .adapters.replies.mastodon import MastodonReplier
from .adapters.replies.x import XReplier
from .adapters.sqlite import owner
from .adapters.sqlite.store import SqliteStore
from .adapters.timer_apscheduler import ApschedulerTimer
from .auth import TokenVerifier, Verifier
from .domain.allowance import Allowance
from .domain.grouping import GroupingRules
from .http import (
    admin,
    alerts,
    dashboard,
    docs,
    events,
    health,
    incidents,
    neighbourhoods,
    observe,
    officer_app,
    officer_events,
    officers,
    reports,
    signin,
    sources,
)
from .http import metrics as metrics_http
from .http import replies as replies_http
from .http.auth import AUTH_FAILURES, auth_middleware
from .http.guard import (
    audit_middleware,
    cors_middleware,
    rate_limit_middleware,
    security_headers,
    timeout_middleware,
)
from .http.openapi import RequestValidator, load_spec
from .http.problem import problem_middleware
from .http.routing import RouteRoles, register
from .metrics import Metrics, metered
from .ports import Clock, Push, ReplySender, Store, SystemClock, Timer
from .rules import load_policy, load_receipt, load_reply_templates, load_triager
from .security.apikeys import ApiKeys
from .security.ratelimit import RateLimiter, parse_rates
from .security.revocations import Revocations
from .security.signatures import SeenSignatures
from .services.audit import AuditLog
from .services.escalation import Escalation
from .services.feed import EventFeed
from .services.geofence import GeofenceService
from .services.intake import Intake
from .services.neighbourhoods import NeighbourhoodService
from .services.notify import Notifier
from .services.officers import OfficerService
from .services.replies import ReplyService
from .services.reports import ReportService
from .services.retention import Retention
from .services.scheduler import StepScheduler
from .services.tasks import TaskSet
from .settings import Settings
from .sources import config as sources_config
from .sources.bluesky import JetstreamConfig
from .sources.config import SourceConfig
from .sources.mastodon import MastodonConfig
from .sources.supervisor import Supervisor
from .sources.x import XConfig

log = logging.getLogger(__name__)
# WordLlama starts loading this long after start-up at the latest, caught up or not.
WARM_AFTER_S = 3.0
# Request checks compiled after start-up rather than by the first post.
INGEST_OPERATIONS = (("POST", "/v1/reports"), ("POST", "/v1/reports/batch"))


def make_store(settings: Settings) -> Store:
    """The store adapter the settings select."""
    if settings.store_kind == "sqlite":
        return SqliteStore(settings.sqlite_path, synchronous=settings.sqlite_synchronous)
    # Imported here: pymongo (and firebase-admin below) cost ~0.1-0.2 s of start-up each,
    # and only a server that uses them should pay it (issue 13: ready in under 1 s).
    from .adapters.mongo.store import MongoStore

    return MongoStore.from_uri(settings.store_url)


def repliers(configs: Sequence[SourceConfig]) -> dict[str, ReplySender]:
    """The reply account of each source that has one, by source id."""
    out: dict[str, ReplySender] = {}
    for c in configs:
        if isinstance(c, JetstreamConfig) and c.reply is not None:
            out[c.id] = BlueskyReplier(c.reply.pds_url, c.reply.handle, c.reply.app_password)
        elif isinstance(c, MastodonConfig) and c.reply:
            out[c.id] = MastodonReplier(c.base_url, c.token)
        elif isinstance(c, XConfig) and c.reply_token:
            out[c.id] = XReplier(c.base_url, c.reply_token)
    return out


def make_verifier(settings: Settings) -> Verifier:
    """The bearer-token check the settings select."""
    if settings.auth == "oidc":
        from .security.oidc import OidcVerifier  # PyJWT's import: only when used

        return OidcVerifier(issuer=settings.oidc_issuer or "",
                            audience=settings.oidc_audience or "",
                            jwks_url=settings.oidc_jwks_url or "",
                            role_claim=settings.oidc_role_claim, role_map=settings.oidc_role_map)
    return TokenVerifier(settings.resolve_jwt_secret())


def make_push(settings: Settings) -> Push:
    """The push adapter the settings select (no network until the first send)."""
    if settings.push == "fcm":
        from .adapters.push_fcm import FcmPush

        return FcmPush(project_id=settings.fcm_project_id or "",
                       credentials_file=settings.fcm_credentials,
                       access_token=settings.fcm_access_token, endpoint=settings.fcm_endpoint,
                       web_link=settings.fcm_web.app_url if settings.fcm_web else None)
    return LogPush()


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    store = app[keys.STORE]
    sqlite = store.path if isinstance(store, SqliteStore) else None
    if sqlite is not None:
        owner.claim(sqlite)  # one server process per SQLite file (see adapters/sqlite/owner)
    try:
        await store.open()
        yield
        await store.close()
    finally:
        if sqlite is not None:
            owner.release(sqlite)


async def _push_ctx(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[keys.PUSH].close()
    await app[keys.REPLIES].close()
    await app[keys.VERIFIER].close()


async def _retention_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    retention = Retention(app[keys.STORE], app[keys.CLOCK], settings.retention_days)
    task = asyncio.create_task(retention.run(settings.retention_check_s), name="retention")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _geofence_ctx(app: web.Application) -> AsyncIterator[None]:
    geofence = app[keys.GEOFENCE]
    geofence.hold_grid()   # released with the triage warm-up, after the catch-up
    await geofence.refresh(grid_later=True)   # ready at once; the grid follows later
    task = asyncio.create_task(geofence.run(app[keys.SETTINGS].geofence_refresh_s),
                               name="geofence-refresh")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await geofence.close()


async def _triage_warm_ctx(app: web.Application) -> AsyncIterator[None]:
    # WordLlama loads and the geofence grid is built, each in a worker thread, after the
    # start-up catch-up (services/warmup.py): both would slow it. A post that needs WordLlama
    # first loads it at once; lookups use the geofence's tree until the grid is in.
    warmup, geofence = app[keys.REPORTS].warmup, app[keys.GEOFENCE]

    async def after_catch_up() -> None:
        try:
            await warmup.start_after(app[keys.SCHEDULER].caught_up.wait(), WARM_AFTER_S)
        finally:
            geofence.release_grid()
        try:   # after a restart, the authors whose recent posts alerted are followed again
            await app[keys.REPORTS].restore_follow_ups(app[keys.STORE], app[keys.CLOCK].now())
        except Exception:   # posts are still triaged; only the follow-ups start empty
            log.exception("could not restore the authors followed up")
        try:
            await asyncio.to_thread(app[keys.REQUEST_VALIDATOR].prepare, *INGEST_OPERATIONS)
            for module in ("jwt", "cryptography.fernet"):   # see auth.py, apikeys.py
                await asyncio.to_thread(importlib.import_module, module)
        except Exception:   # the first request then does it, and meets the fault itself
            log.exception("could not prepare the ingest request checks")

    waiting = asyncio.create_task(after_catch_up(), name="triage-warm")
    yield
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    await warmup.close()


async def _close_streams(app: web.Application) -> None:
    app[keys.FEED].close()


async def _sources_ctx(app: web.Application) -> AsyncIterator[None]:
    # Started last and stopped first: no post arrives before the store and the timers are up,
    # and every cursor is saved while the store is still open.
    supervisor = app[keys.SOURCES]
    supervisor.start()
    yield
    await supervisor.close()


async def _timers_ctx(app: web.Application) -> AsyncIterator[None]:
    await app[keys.SCHEDULER].start()
    yield
    await app[keys.SCHEDULER].shutdown()
    await app[keys.TASKS].close()


def create_app(settings: Settings, *, store: Store | None = None, clock: Clock | None = None,
               push: Push | None = None, timer: Timer | None = None) -> web.Application:
    """Build the application; overrides replace adapters (tests pass fakes: a timer driven
    by their clock makes deadlines deterministic). Nothing connects until the app starts."""
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[
        observe.observe_middleware, cors_middleware(settings.cors_origins),
        problem_middleware, timeout_middleware,
        auth_middleware, rate_limit_middleware(settings.rate_limits), audit_middleware])
    app.on_response_prepare.append(security_headers)
    app.on_response_prepare.append(observe.request_id_header)
    app[keys.SETTINGS] = settings
    clock = app[keys.CLOCK] = clock or SystemClock()
    raw_store = app[keys.STORE] = store or make_store(settings)
    metrics = app[keys.METRICS] = Metrics()
    metrics.watch(lambda: metrics_http.live_gauges(app))
    store = metered(raw_store, metrics)   # what the services use: timed and counted
    app[keys.PUSH] = push or make_push(settings)
    app[keys.VERIFIER] = make_verifier(settings)
    app[keys.API_KEYS] = ApiKeys(store, settings.resolve_jwt_secret())
    app[keys.REVOCATIONS] = Revocations(store)
    app[keys.AUDIT] = AuditLog(store, clock)
    app[keys.RATE_LIMITER] = RateLimiter()
    app[keys.AUTH_FAILURES] = parse_rates(settings.rate_limits).get("auth_failures",
                                                                    AUTH_FAILURES)
    app[keys.SEEN_SIGNATURES] = SeenSignatures()
    app[keys.REQUEST_VALIDATOR] = RequestValidator(load_spec)
    geofence = app[keys.GEOFENCE] = GeofenceService(store, grid_in_background=True)
    app[keys.NEIGHBOURHOODS] = NeighbourhoodService(store, geofence)
    app[keys.OFFICERS] = OfficerService(store)
    tasks = app[keys.TASKS] = TaskSet()
    feed = app[keys.FEED] = EventFeed(store)
    scheduler = app[keys.SCHEDULER] = StepScheduler(store, clock,
                                                    timer or ApschedulerTimer(clock),
                                                    settings.sweep_s)
    notifier = Notifier(store, app[keys.PUSH], clock, tasks,
                        stale=timedelta(seconds=settings.push_stale_s))
    escalation = app[keys.ESCALATION] = Escalation(
        store, load_policy(settings.policy_file), notifier, geofence, clock, scheduler, feed)
    reports_service = app[keys.REPORTS] = ReportService(
        store, geofence, load_triager(settings),
        GroupingRules(timedelta(seconds=settings.group_window_s), settings.group_radius_m),
        escalation, feed, clock)

    async def repair() -> None:
        await reports_service.regroup_orphans()
        await escalation.start_waiting()
        await escalation.redeliver()

    source_configs = sources_config.load(settings.sources_file, os.environ)
    app[keys.SOURCES] = Supervisor(sources_config.build(
        source_configs, Intake(reports_service, geofence, store), store, app[keys.AUDIT],
        clock), clock)
    templates = load_reply_templates(settings.reply_templates_file)
    senders = repliers(source_configs)
    app[keys.REPLIES] = replies = ReplyService(
        store, senders, templates, app[keys.AUDIT], feed, clock,
        allowances={c.id: Allowance(c.reply_per_hour) for c in source_configs
                    if c.id in senders},
        receipt=load_receipt(settings.reply_templates_file, templates), tasks=TaskSet())
    escalation.on_acknowledged.append(replies.acknowledged)
    scheduler.bind(escalation.run_due, repair)
    table: RouteRoles = {}
    for module in (health, neighbourhoods, officers, reports, incidents, alerts, events, admin,
                   sources, metrics_http, dashboard, replies_http, officer_app,
                   officer_events, signin, docs):
        register(app, module.ROUTES, table)
    app[keys.ROUTE_ROLES] = table
    app.on_shutdown.append(_close_streams)
    for ctx in (_store_ctx, _push_ctx, _geofence_ctx, _timers_ctx, _retention_ctx,
                _sources_ctx, metrics_http.metrics_port_ctx, _triage_warm_ctx):
        app.cleanup_ctx.append(ctx)
    return app
