"""`python -m server demo`: a surge and a lone cry for help, end to end on a throwaway store."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from aiohttp import ClientSession, web

from . import demo_bluesky, keys
from .adapters.push_log import LogPush
from .app import create_app
from .auth import mint_token
from .domain.model import Role
from .settings import Settings

DATA = Path(__file__).parent / "data" / "boundaries" / "london_wards_2016.geojson"
BLAST = (51.5041, -0.1265)  # Whitehall, by Downing Street
LONE = (51.5072, -0.1247)  # by Charing Cross, 350 m away
POLICY = {"priorities": {
    "P1": {"waves": [{"radius_m": 1500, "officers": 3, "ack_timeout_s": 3},
                     {"radius_m": 4000, "officers": 5, "ack_timeout_s": 3,
                      "include_supervisors": True}]},
    "P2": {"waves": [{"radius_m": 3000, "officers": 2, "ack_timeout_s": 3}]},
    "P3": {"waves": []}, "P4": {"waves": []}}}


def say(text: str = "") -> None:
    print(text, flush=True)


class Client:
    """A tiny API client that signs each call with a token for the given role."""

    def __init__(self, session: ClientSession, base: str, secret: str) -> None:
        self.session, self.base, self.secret = session, base, secret

    async def call(self, method: str, path: str, role: Role, sub: str = "demo",
                   body: Any = None) -> Any:
        token = mint_token(self.secret, sub=sub, role=role, now=datetime.now(UTC), ttl_s=600)
        async with self.session.request(method, self.base + path, json=body,
                                        headers={"Authorization": f"Bearer {token}"}) as r:
            data = await r.json()
            if r.status >= 400:
                raise RuntimeError(f"{method} {path}: {r.status} {data}")
            return data


def post(i: int, text: str, at: tuple[float, float], rng: random.Random) -> dict[str, Any]:
    lat, lon = at[0] + rng.uniform(-8e-4, 8e-4), at[1] + rng.uniform(-8e-4, 8e-4)
    return {"source": "demo", "external_id": f"post-{i}", "text": text,
            "posted_at": datetime.now(UTC).isoformat(), "location": {"lat": lat, "lon": lon}}


async def _setup(api: Client, rng: random.Random) -> None:
    wards = json.loads(DATA.read_text(encoding="utf-8"))
    summary = await api.call("POST", "/v1/neighbourhoods/import?id_property=WD13CD"
                             "&name_property=WD13NM", Role.ADMIN, body=wards)
    say(f"Loaded {summary['counts']['created']} London wards as neighbourhoods.")
    for n in range(12):
        oid = f"pc-{n:02d}"
        rank = "supervisor" if n % 6 == 5 else "officer"
        await api.call("PUT", f"/v1/officers/{oid}", Role.ADMIN,
                       body={"name": f"Officer {n}", "callsign": f"CW{n:02d}", "rank": rank})
        lat, lon = BLAST[0] + rng.uniform(-0.02, 0.02), BLAST[1] + rng.uniform(-0.03, 0.03)
        await api.call("PUT", "/v1/me/duty", Role.OFFICER, oid, {"on_duty": True})
        await api.call("PUT", "/v1/me/location", Role.OFFICER, oid, {"lat": lat, "lon": lon})
        await api.call("PUT", f"/v1/me/devices/fcm-demo-{oid}-token", Role.OFFICER, oid,
                       {"platform": "android"})
    say("Put 12 simulated officers on duty around Westminster, each with a phone.")


async def _replay(api: Client, rng: random.Random) -> tuple[str, str]:
    texts = ["HUGE explosion on Whitehall", "massive blast near Downing St, smoke everywhere",
             "did anyone else hear that explosion??", "building on fire after a blast"]
    posts = [post(i, rng.choice(texts), BLAST, rng) for i in range(150)]
    posts.insert(90, post(999, "my dad can't breathe, please help", LONE, rng))
    posts += [post(1000 + i, t, BLAST, rng) for i, t in enumerate(
        ["this traffic is killing me", "new fire playlist just dropped"])]
    result = await api.call("POST", "/v1/reports/batch", Role.INGEST, body=posts)
    say(f"Replayed {len(posts)} posts in one minute: {result['counts']}.")
    surge = result["results"][0]["incident_id"]
    lone = result["results"][90]["incident_id"]
    return surge, lone


async def _acknowledge(api: Client, incident_id: str) -> str:
    """The first recipient of the incident's pending wave acknowledges it; on a slow machine
    a 3 s wave can expire first, so take the wave that is pending now."""
    for _ in range(10):
        detail = await api.call("GET", f"/v1/incidents/{incident_id}", Role.CONTROL_ROOM)
        pending = [a for a in detail["alerts"] if a["status"] == "pending"]
        if pending:
            taker = str(pending[-1]["recipients"][0])
            try:
                await api.call("POST", f"/v1/alerts/{pending[-1]['id']}/ack", Role.OFFICER,
                               taker)
                return taker
            except RuntimeError:   # it expired between the read and the ack: try again
                pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"no wave of {incident_id} could be acknowledged")


async def _show(api: Client, push: LogPush, surge: str, lone: str) -> None:
    incidents = await api.call("GET", "/v1/incidents?limit=10", Role.CONTROL_ROOM)
    say("\nIncidents:")
    for i in incidents["items"]:
        say(f"  {i['priority']} {i['category']:<17} {i['report_count']:>4} posts  "
            f"{i['status']:<10} {i['summary'][:50]!r}")
    alerts = [m for m in push.sent if m.data["type"] == "alert"]
    say(f"\nPushes sent: {len(alerts)} alerts, to the nearest officers of each incident:")
    for m in alerts:
        say(f"  -> {m.token[9:14]}  {m.title}: {m.body[:40] if m.body else ''}")
    taker = await _acknowledge(api, surge)
    say(f"\n{taker} acknowledged the explosion; the other recipients were told it is taken.")
    say("Nobody acknowledges the lone cry for help: watch it escalate wave by wave...")
    for _ in range(40):
        queue = await api.call("GET", "/v1/escalations", Role.CONTROL_ROOM)
        if any(x["incident_id"] == lone for x in queue["items"]):
            break
        await asyncio.sleep(0.25)
    detail = await api.call("GET", f"/v1/incidents/{lone}", Role.CONTROL_ROOM)
    say(f"\nTimeline of {lone} ({detail['incident']['summary']!r}):")
    for e in detail["timeline"]:
        extra = e["data"].get("reason") or e["data"].get("wave") or ""
        say(f"  {e['at'][11:23]}  {e['kind']:<16} {extra}")
    say(f"\nControl-room queue: {[x['incident_id'] for x in queue['items']]}")


async def run_demo() -> None:
    """Serve a throwaway app on loopback and drive it through its API."""
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="bluelight-demo-") as tmp:
        async with contextlib.AsyncExitStack() as stack:
            await _run(stack, Path(tmp), rng)


async def _run(stack: contextlib.AsyncExitStack, tmp: Path, rng: random.Random) -> None:
    policy = tmp / "policy.yaml"
    policy.write_text(yaml.safe_dump(POLICY))
    bluesky = None
    sources = templates = None
    if demo_bluesky.available():
        stream, pds, sources, templates = await demo_bluesky.start(stack, tmp)
        bluesky = (stream, pds)
    settings = Settings(store_url=f"sqlite:///{tmp}/demo.db", data_dir=tmp,
                        policy_file=policy, sweep_s=0.25, sources_file=sources,
                        reply_templates_file=templates)
    push = LogPush()
    app = create_app(settings, push=push)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with ClientSession() as session:
            api = Client(session, f"http://127.0.0.1:{port}",
                         settings.resolve_jwt_secret())
            await _setup(api, rng)
            surge, lone = await _replay(api, rng)
            await app[keys.TASKS].idle()
            await _show(api, push, surge, lone)
            if bluesky is not None:
                await demo_bluesky.act(api, *bluesky, _acknowledge, say)
    finally:
        await runner.cleanup()
