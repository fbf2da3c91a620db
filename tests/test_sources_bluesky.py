"""Bluesky through Jetstream: a real server on loopback reads a fake Jetstream (tests/
fake_jetstream.py) that speaks the v1 protocol; nothing contacts the real network."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

from server import keys
from server.settings import Settings
from server.sources.bluesky import REWIND_US, to_post
from tests.alerting_world import neighbourhood
from tests.conftest import Api, ApiFactory, eventually
from tests.fake_jetstream import T0_US, FakeJetstream, delete_frame, other_frames, post_frame

FORCE_DID = "did:plc:metwestminster"


def sources_file(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(f"""
sources:
  - id: bsky
    type: bluesky
    url: {url}
    mentions: ["{FORCE_DID}", met-westminster.bsky.social]
    hashtags: [WestminsterHelp]
    backoff: {{first_s: 0.01, max_s: 0.05}}
""", encoding="utf-8")
    return path


def stored(settings: Settings) -> dict[str, str]:
    """external_id -> text of every Bluesky report, read straight from the SQLite file."""
    db = sqlite3.connect(settings.sqlite_path)
    try:
        rows = db.execute("SELECT external_id, json_extract(doc, '$.text') FROM reports"
                          " WHERE source = 'bsky'").fetchall()
    finally:
        db.close()
    return dict(rows)


def saved_cursor(settings: Settings) -> str | None:
    db = sqlite3.connect(settings.sqlite_path)
    try:
        row = db.execute("SELECT cursor FROM source_cursors WHERE id = 'bsky'").fetchone()
    finally:
        db.close()
    return None if row is None else str(row[0])


def counts(api: Api) -> dict[str, Any]:
    return dict(api.app[keys.SOURCES].sources[0].status.counts)


async def start(make_api: ApiFactory, settings: Settings, fake: FakeJetstream,
                tmp_path: Path) -> tuple[Api, Settings]:
    tuned = replace(settings, sources_file=sources_file(tmp_path, fake.url))
    api = await make_api(settings=tuned)
    return api, tuned


async def test_keeps_posts_that_concern_the_force_and_drops_the_rest(
        make_api: ApiFactory, settings: Settings, tmp_path: Path) -> None:
    async with FakeJetstream([]) as fake:
        api, tuned = await start(make_api, settings, fake, tmp_path)
        await neighbourhood(api)
        placed = post_frame(1, "man collapsed by the fountains at Trafalgar, not breathing")
        mention = post_frame(2, "@met-westminster.bsky.social my neighbour is screaming for help",
                             facets=[{"features": [{"$type": "app.bsky.richtext.facet#mention",
                                                    "did": FORCE_DID}]}])
        tagged = post_frame(3, "someone please check the flats on Elm Row #WestminsterHelp")
        elsewhere = post_frame(4, "lovely sunset over the bay tonight")
        for frame in (placed, mention, *other_frames(T0_US + 3500), tagged, elsewhere):
            fake.publish(frame)

        async def all_read() -> bool:
            # "seen" counts a post as it is read: wait until the last one is decided too.
            status = api.app[keys.SOURCES].sources[0].status
            return status.cursor == str(elsewhere["time_us"])

        await eventually(all_read)
        assert counts(api) | {"reconnects": 0} == {
            "seen": 4, "kept": 3, "ingested": 3, "dropped": 1, "reconnects": 0}
        texts = stored(tuned)
        assert sorted(texts) == sorted(
            f"at://{f['did']}/app.bsky.feed.post/{f['commit']['rkey']}"
            for f in (placed, mention, tagged))
        r = await api.get("/v1/incidents", role="control_room")
        assert r.status == 200 and r.body["items"][0]["priority"] == "P1"
        status = (await api.get("/v1/sources", role="control_room")).body["items"][0]
        assert status["id"] == "bsky" and status["state"] in ("live", "catching_up")
        assert status["cursor"] == str(elsewhere["time_us"])
        assert (await api.get("/v1/sources", role="officer")).status == 403
        ready = (await api.get("/readyz")).body
        assert sum(ready["sources"].values()) == 1


async def test_a_deleted_post_loses_its_content(make_api: ApiFactory, settings: Settings,
                                                tmp_path: Path) -> None:
    async with FakeJetstream([]) as fake:
        api, tuned = await start(make_api, settings, fake, tmp_path)
        await neighbourhood(api)
        post = post_frame(1, "fight outside the pub near Horse Guards, someone's got a bottle")
        fake.publish(post)

        async def ingested() -> bool:
            return counts(api).get("ingested", 0) == 1

        await eventually(ingested)
        fake.publish(delete_frame(2, post, post["time_us"] + 10))

        async def deleted() -> bool:
            return counts(api).get("deleted", 0) == 1

        await eventually(deleted)
        assert "bottle" not in next(iter(stored(tuned).values()))


async def test_restart_resumes_before_the_saved_cursor_and_a_skip_is_a_recorded_gap(
        make_api: ApiFactory, settings: Settings, tmp_path: Path) -> None:
    frames = [post_frame(n, f"coffee near Trafalgar {n}", time_us=T0_US + n * 1_000_000)
              for n in range(20)]
    async with FakeJetstream([]) as fake:
        first, tuned = await start(make_api, settings, fake, tmp_path)
        await neighbourhood(first)
        for frame in frames[:10]:
            fake.publish(frame)

        async def ten() -> bool:
            return counts(first).get("ingested", 0) == 10

        await eventually(ten)
        await first.client.close()   # shutdown saves the cursor
        saved = frames[9]["time_us"]
        assert saved_cursor(tuned) == str(saved)
        for frame in frames[10:]:
            fake.publish(frame)
        fake.floor = 15              # frames 10-14 have aged out of the server's window

        second = await make_api(settings=tuned)

        async def caught_up() -> bool:
            # "seen" counts a frame before its post is stored: wait for both (a clean-clone
            # run under load read the store between the two).
            return counts(second).get("seen", 0) == 5 and counts(second).get("ingested", 0) == 5

        await eventually(caught_up)
        assert fake.cursors[-1] == str(saved - REWIND_US)
        assert counts(second)["gaps"] == 1
        audit = (await second.get("/v1/audit", role="admin")).body["items"]
        gap = [e for e in audit if e["action"] == "source_gap"]
        assert gap and gap[0]["target"] == "bsky"
        assert gap[0]["detail"]["after_time_us"] == saved
        assert len(stored(tuned)) == 15   # 0-9 and 15-19; 10-14 were never served


async def test_chaos_every_matching_post_is_ingested_exactly_once(
        make_api: ApiFactory, settings: Settings, tmp_path: Path) -> None:
    """5,000 posts, the connection cut every ~300 frames (cleanly or by dropping TCP), and
    the server restarted twice mid-stream."""
    frames: list[dict[str, Any]] = []
    matching: set[str] = set()
    step = 100_000   # 10 posts a second: the 5 s rewind re-reads ~50 frames per reconnect
    for n in range(5000):
        stamp = T0_US + n * step
        if n % 5 == 0:
            frame = post_frame(n, f"quiet coffee near Trafalgar, table {n}", time_us=stamp)
            matching.add(f"at://{frame['did']}/app.bsky.feed.post/{frame['commit']['rkey']}")
        else:
            frame = post_frame(n, f"nice walk in the park, lap {n}", time_us=stamp)
        frames.append(frame)
        if n % 250 == 0:
            frames.extend(other_frames(stamp + 1))
    async with FakeJetstream([], cut_every=300, seed=7) as fake:
        api, tuned = await start(make_api, settings, fake, tmp_path)
        await neighbourhood(api)
        for frame in frames:
            fake.publish(frame)
        for target in (len(matching) // 3, 2 * len(matching) // 3):
            async def enough(goal: int = target) -> bool:
                return len(stored(tuned)) >= goal

            await eventually(enough, within=60)
            await api.client.close()       # a restart mid-stream
            api = await make_api(settings=tuned)

        async def all_stored() -> bool:
            # Every match stored, and the non-matching frames after the last one read too.
            status = api.app[keys.SOURCES].sources[0].status
            return (len(stored(tuned)) >= len(matching)
                    and status.cursor == str(frames[-1]["time_us"]))

        await eventually(all_stored, within=90)
        assert set(stored(tuned)) == matching
        assert len([c for c in fake.cursors if c is not None]) >= 10   # many reconnects
        await api.client.close()
        assert saved_cursor(tuned) == str(frames[-1]["time_us"])


async def test_a_failing_source_backs_off_without_stopping_the_other(
        make_api: ApiFactory, settings: Settings, tmp_path: Path) -> None:
    async with FakeJetstream([]) as dead:
        dead_url = dead.url   # a port where nothing listens any more
    async with FakeJetstream([]) as fake:
        path = tmp_path / "two.yaml"
        path.write_text(f"""
sources:
  - {{id: broken, type: bluesky, url: "{dead_url}", backoff: {{first_s: 0.01, max_s: 0.05}}}}
  - {{id: bsky, type: bluesky, url: "{fake.url}", backoff: {{first_s: 0.01, max_s: 0.05}}}}
""", encoding="utf-8")
        api = await make_api(settings=replace(settings, sources_file=path))
        await neighbourhood(api)
        fake.publish(post_frame(1, "smoke pouring out of a flat by Trafalgar, kids inside"))

        async def both_seen() -> bool:
            items = (await api.get("/v1/sources", role="admin")).body["items"]
            by_id = {i["id"]: i for i in items}
            return (by_id["bsky"]["counts"]["ingested"] == 1
                    and by_id["broken"]["counts"]["errors"] >= 3)

        await eventually(both_seen)
        items = {i["id"]: i for i in (await api.get("/v1/sources", role="admin")).body["items"]}
        assert items["broken"]["state"] in ("connecting", "backing_off")
        assert items["broken"]["last_error"]
        assert items["bsky"]["last_error"] is None
        assert (await api.get("/healthz")).status == 200


def test_a_jetstream_post_maps_to_what_the_ingest_api_takes() -> None:
    frame = post_frame(5, "@met-westminster.bsky.social help at 4 Elm Row #SOS https://bbc.co.uk/x",
                       facets=[{"features": [
                           {"$type": "app.bsky.richtext.facet#mention", "did": FORCE_DID},
                           {"$type": "app.bsky.richtext.facet#link",
                            "uri": "https://bbc.co.uk/x"}]}],
                       reply_to="at://did:plc:other/app.bsky.feed.post/3parent")
    frame["commit"]["record"]["embed"] = {"$type": "app.bsky.embed.record",
                                          "record": {"uri": "at://x", "cid": "y"}}
    post = to_post("bsky", frame)
    assert post is not None
    body = post.body()
    assert body["external_id"] == f"at://{frame['did']}/app.bsky.feed.post/3k00000000005"
    assert body["url"] == f"https://bsky.app/profile/{frame['did']}/post/3k00000000005"
    assert body["lang"] == "en" and body["author"] == frame["did"]
    assert body["context"] == {"quote": True, "links": ["https://bbc.co.uk/x"],
                               "reply_to": "at://did:plc:other/app.bsky.feed.post/3parent"}
    assert FORCE_DID in post.mentions and "met-westminster.bsky.social" in post.mentions
    assert post.tags == ("SOS",)
    assert to_post("bsky", {**frame, "commit": {**frame["commit"], "record": {}}}) is None
