"""X: a real server on loopback reads a fake X API (tests/fake_x.py): rules kept in sync,
the filtered stream, catch-up with recent search after a restart, X's reconnect schedule,
and replies that X only allows to posts that mention the force. No real network."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from server import keys
from server.settings import Settings
from server.sources.x import XBackoff, XHttpError, XSource, to_post
from tests.alerting_world import WHITEHALL, neighbourhood
from tests.conftest import Api, ApiFactory, eventually
from tests.fake_x import ACCOUNT, BEARER, USER_TOKEN, FakeX, tweet

MENTION, NEARBY = f"@{ACCOUNT}", "point_radius:[-0.1276 51.5072 25km] (help OR emergency)"


def sources_file(tmp_path: Path, base_url: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(f"""
sources:
  - id: x
    type: x
    base_url: {base_url}
    bearer_token_env: X_BEARER
    rules: ["{MENTION}", "{NEARBY}"]
    mentions: [{ACCOUNT}]
    reply: {{user_token_env: X_USER_TOKEN}}
    backoff_scale: 0.01
""", encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def x_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_BEARER", BEARER)
    monkeypatch.setenv("X_USER_TOKEN", USER_TOKEN)


def stored(settings: Settings) -> dict[str, str]:
    db = sqlite3.connect(settings.sqlite_path)
    try:
        rows = db.execute("SELECT external_id, json_extract(doc, '$.text') FROM reports"
                          " WHERE source = 'x'").fetchall()
    finally:
        db.close()
    return dict(rows)


def source(api: Api) -> XSource:
    src = api.app[keys.SOURCES].sources[0]
    assert isinstance(src, XSource)
    return src


async def live(api: Api) -> None:
    async def is_live() -> bool:
        return source(api).status.state.value == "live"

    await eventually(is_live)


async def test_rules_synced_stream_read_and_a_restart_caught_up_by_search(
        make_api: ApiFactory, settings: Settings, tmp_path: Path) -> None:
    async with FakeX(search_limit=2) as fake:
        fake.rules = {"1": {"id": "1", "value": "old rule", "tag": "bluelight:x"},
                      "2": {"id": "2", "value": "#traffic", "tag": "another-tool"}}
        tuned = replace(settings, sources_file=sources_file(tmp_path, fake.base_url))
        first = await make_api(settings=tuned)
        await neighbourhood(first)
        await live(first)
        assert sorted((r["value"], r["tag"]) for r in fake.rules.values()) == [
            ("#traffic", "another-tool"), (MENTION, "bluelight:x"), (NEARBY, "bluelight:x")]
        placed = tweet(1, "help, man collapsed on the pavement", rule=NEARBY,
                       lat=WHITEHALL[0], lon=WHITEHALL[1])
        addressed = tweet(2, f"{MENTION} my ex is outside kicking my door in", rule=MENTION,
                          mentions=(ACCOUNT,))
        unplaced = tweet(3, "emergency meeting of the book club", rule=NEARBY)
        for msg in (placed, addressed, unplaced):
            fake.publish(msg)

        async def two_stored_one_dropped() -> bool:
            # The unplaced tweet comes last: it may still be on its way once two are stored.
            return (len(stored(tuned)) == 2
                    and source(first).status.counts["dropped"] == 1)

        await eventually(two_stored_one_dropped)
        await first.client.close()

        # While the server is down: 230 tweets on the nearby rule, 5 mentions.
        missed = set()
        for n in range(10, 240):
            msg = tweet(n, f"help needed by Horse Guards {n}", rule=NEARBY,
                        lat=WHITEHALL[0], lon=WHITEHALL[1])
            fake.publish(msg, live=False)
            missed.add(msg["data"]["id"])
        for n in range(300, 305):
            msg = tweet(n, f"{MENTION} someone's in my garden with a torch {n}", rule=MENTION,
                        mentions=(ACCOUNT,))
            fake.publish(msg, live=False)
            missed.add(msg["data"]["id"])

        second = await make_api(settings=tuned)
        await live(second)
        assert set(stored(tuned)) >= missed and len(stored(tuned)) == 2 + len(missed)
        assert any("next_token" in q for q in fake.searches)           # paged
        assert all(q["since_id"] == unplaced["data"]["id"] for q in fake.searches)
        assert fake.throttled >= 1 and source(second).rate_limited >= 1  # waited, not lost
        late = tweet(400, "help fire in the flats behind Horse Guards", rule=NEARBY,
                     lat=WHITEHALL[0], lon=WHITEHALL[1])
        fake.publish(late)

        async def streamed() -> bool:
            return late["data"]["id"] in stored(tuned)

        await eventually(streamed)
        items = (await second.get("/v1/sources", role="control_room")).body["items"]
        assert items[0]["type"] == "x" and items[0]["state"] == "live"


async def test_refusals_and_a_cut_stream_are_retried_on_x_schedule(
        make_api: ApiFactory, settings: Settings, tmp_path: Path) -> None:
    async with FakeX() as fake:
        fake.refuse_with = [503, 429]
        api = await make_api(settings=replace(
            settings, sources_file=sources_file(tmp_path, fake.base_url)))
        await neighbourhood(api)
        await live(api)
        assert fake.connections == 3
        gaps = [b - a for a, b in zip(fake.connect_times, fake.connect_times[1:], strict=False)]
        assert gaps[1] > gaps[0]    # 429 waits longer (60 s x scale) than a 503 (5 s x scale)
        assert "429" in (source(api).status.last_error or "")
        fake.cut()

        async def reconnected() -> bool:
            return fake.connections == 4 and fake.open_streams == 1

        await eventually(reconnected)
        msg = tweet(9, "help there's a man with a knife on Whitehall", rule=NEARBY,
                    lat=WHITEHALL[0], lon=WHITEHALL[1])
        fake.publish(msg)

        async def kept() -> bool:
            return msg["data"]["id"] in stored(api.app[keys.SETTINGS])

        await eventually(kept)


async def test_a_reply_goes_to_a_post_that_mentioned_the_force_and_is_refused_otherwise(
        make_api: ApiFactory, settings: Settings, tmp_path: Path) -> None:
    async with FakeX() as fake:
        api = await make_api(settings=replace(
            settings, sources_file=sources_file(tmp_path, fake.base_url)))
        await neighbourhood(api)
        await live(api)
        fake.publish(tweet(20, f"{MENTION} help my neighbour collapsed on Whitehall",
                           rule=MENTION, mentions=(ACCOUNT,), lat=WHITEHALL[0],
                           lon=WHITEHALL[1]))
        fake.publish(tweet(21, "help there's a fire in the kitchen of the flat above",
                           rule=NEARBY, lat=WHITEHALL[0] + 0.01, lon=WHITEHALL[1]))

        async def both() -> bool:
            return len((await api.get("/v1/incidents", role="control_room")).body["items"]) == 2

        await eventually(both)
        results = {}
        for inc in (await api.get("/v1/incidents", role="control_room")).body["items"]:
            detail = (await api.get(f"/v1/incidents/{inc['id']}", role="control_room")).body
            rep = detail["reports"][0]
            r = await api.post(f"/v1/incidents/{inc['id']}/replies",
                               {"report_id": rep["id"], "text": "Police are on the way."},
                               role="control_room")
            assert r.status == 201
            results[rep["external_id"]] = r.body
        mentioned, other = (results[tweet(n, "", rule="")["data"]["id"]] for n in (20, 21))
        assert mentioned["status"] == "sent"
        assert fake.replies[0]["reply"]["in_reply_to_tweet_id"] == tweet(20, "", rule="")[
            "data"]["id"]
        assert other["status"] == "failed" and "mentioned" in other["reason"]


def test_x_backoff_schedule() -> None:
    b = XBackoff()
    assert [b.delay(None) for _ in range(3)] == [0.25, 0.5, 0.75]        # network: linear
    assert [b.delay(None) for _ in range(70)][-1] == 16.0                  # capped
    assert [b.delay(XHttpError(503, "")) for _ in range(8)] == [
        5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 320.0]                  # HTTP: doubling
    assert [b.delay(XHttpError(429, "")) for _ in range(3)] == [60.0, 120.0, 240.0]
    b.reset()
    assert b.delay(XHttpError(429, "")) == 60.0


def test_tweet_context_and_place() -> None:
    msg = tweet(5, "RT help", rule="r", retweet=True)
    small = {"id": "p1", "geo": {"bbox": [-0.1270, 51.5040, -0.1260, 51.5050]}}
    city = {"id": "p2", "full_name": "London, England",
            "geo": {"bbox": [-0.51, 51.28, 0.33, 51.69]}}
    msg["data"]["geo"] = {"place_id": "p1"}
    post = to_post("x", msg["data"], {**msg["includes"], "places": [small, city]})
    assert post is not None and post.context == {"repost": True}
    assert post.lat == pytest.approx(51.5045) and post.author == "poster5"
    msg["data"]["geo"] = {"place_id": "p2"}     # a whole city says nothing about where
    post = to_post("x", msg["data"], {**msg["includes"], "places": [small, city]})
    assert post is not None and post.lat is None
    # ... but its name may name a neighbourhood, and its box may be far from all of them.
    assert post.place == "London, England" and post.place_bbox == (-0.51, 51.28, 0.33, 51.69)
    body = post.body()
    assert body["place"] == "London, England" and "location" not in body
    assert body["place_bbox"] == {"west": -0.51, "south": 51.28, "east": 0.33, "north": 51.69}
