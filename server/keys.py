"""Every typed application key, in one place."""

from __future__ import annotations

from aiohttp import web

from .auth import Verifier
from .http.openapi import RequestValidator
from .http.routing import RouteRoles
from .metrics import Metrics
from .ports import Clock, Push, Store
from .security.apikeys import ApiKeys
from .security.ratelimit import Rate, RateLimiter
from .security.revocations import Revocations
from .security.signatures import SeenSignatures
from .services.audit import AuditLog
from .services.escalation import Escalation
from .services.feed import EventFeed
from .services.geofence import GeofenceService
from .services.neighbourhoods import NeighbourhoodService
from .services.officers import OfficerService
from .services.replies import ReplyService
from .services.reports import ReportService
from .services.scheduler import StepScheduler
from .services.tasks import TaskSet
from .settings import Settings
from .sources.supervisor import Supervisor

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
STORE = web.AppKey("store", Store)
VERIFIER = web.AppKey("verifier", Verifier)
ROUTE_ROLES = web.AppKey("route_roles", RouteRoles)
REQUEST_VALIDATOR = web.AppKey("request_validator", RequestValidator)
GEOFENCE = web.AppKey("geofence", GeofenceService)
NEIGHBOURHOODS = web.AppKey("neighbourhoods", NeighbourhoodService)
OFFICERS = web.AppKey("officers", OfficerService)
PUSH = web.AppKey("push", Push)
TASKS = web.AppKey("tasks", TaskSet)
FEED = web.AppKey("feed", EventFeed)
SCHEDULER = web.AppKey("scheduler", StepScheduler)
ESCALATION = web.AppKey("escalation", Escalation)
REPORTS = web.AppKey("reports", ReportService)
API_KEYS = web.AppKey("api_keys", ApiKeys)
REVOCATIONS = web.AppKey("revocations", Revocations)
AUDIT = web.AppKey("audit", AuditLog)
RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)
AUTH_FAILURES = web.AppKey("auth_failures", Rate)
SEEN_SIGNATURES = web.AppKey("seen_signatures", SeenSignatures)
SOURCES = web.AppKey("sources", Supervisor)
METRICS = web.AppKey("metrics", Metrics)
REPLIES = web.AppKey("replies", ReplyService)
