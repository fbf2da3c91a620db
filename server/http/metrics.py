"""GET /metrics: Prometheus text format, for administrators (or on BLUELIGHT_METRICS_PORT)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily

from .. import keys
from .routing import ADMIN, Route


async def metrics(request: web.Request) -> web.Response:
    """Every metric of this process."""
    body = generate_latest(request.app[keys.METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def live_gauges(app: web.Application) -> Iterator[GaugeMetricFamily]:
    """What the process is doing now, read at scrape time."""
    geofence = GaugeMetricFamily("bluelight_geofence_version",
                                 "Neighbourhood index version in use")
    geofence.add_metric([], app[keys.GEOFENCE].version)
    yield geofence
    overdue = GaugeMetricFamily("bluelight_overdue_steps",
                                "Escalation steps past due at the last sweep")
    overdue.add_metric([], app[keys.SCHEDULER].last_due)
    yield overdue
    lag = GaugeMetricFamily("bluelight_source_lag_seconds",
                            "Seconds since the newest event a source read", labels=["source"])
    seen = GaugeMetricFamily("bluelight_source_posts", "Posts a source read, by what became "
                             "of them (since the process started)", labels=["source", "count"])
    for item in app[keys.SOURCES].snapshot():
        if item["lag_s"] is not None:
            lag.add_metric([str(item["id"])], float(str(item["lag_s"])))
        counts = item["counts"]
        assert isinstance(counts, dict)
        for name, value in counts.items():
            seen.add_metric([str(item["id"]), name], value)
    yield lag
    yield seen


async def metrics_port_ctx(app: web.Application) -> AsyncIterator[None]:
    """With BLUELIGHT_METRICS_PORT, a second listener that serves only /metrics, without
    authentication (for a Prometheus on a private network)."""
    port = app[keys.SETTINGS].metrics_port
    if port is None:
        yield
        return
    side = web.Application()
    side[keys.METRICS] = app[keys.METRICS]
    side.router.add_get("/metrics", metrics)
    runner = web.AppRunner(side, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, app[keys.SETTINGS].host, port).start()
    yield
    await runner.cleanup()


ROUTES = [Route("GET", "/metrics", metrics, ADMIN)]
