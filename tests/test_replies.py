"""Replies to posters, through the real server, to a fake Bluesky PDS and a fake Mastodon
on loopback (tests/fake_pds.py, tests/fake_mastodon.py); no real network is contacted."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from server import keys
from server.settings import Settings
from tests.alerting_world import WHITEHALL, neighbourhood, officer_on_duty, post
from tests.conftest import Api, ApiFactory, eventually
from tests.fake_jetstream import FakeJetstream, post_frame
from tests.fake_mastodon import TOKEN, FakeMastodon, status
from tests.fake_pds import FORCE_DID, PASSWORD, FakePds


async def first_report(api: Api) -> tuple[str, str]:
    async def one() -> bool:
        items = (await api.get("/v1/incidents", role="control_room")).body["items"]
        return bool(items)

    await eventually(one)
    iid = (await api.get("/v1/incidents", role="control_room")).body["items"][0]["id"]
    detail = (await api.get(f"/v1/incidents/{iid}", role="control_room")).body
    return iid, detail["reports"][0]["id"]


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BSKY_APP_PASSWORD", PASSWORD)
    monkeypatch.setenv("MASTO_TOKEN", TOKEN)


@pytest.mark.usefixtures("secrets")
async def test_bluesky_reply_in_the_thread_once_recorded_and_audited(
        make_api: ApiFactory, settings: Settings, tmp_path: Path) -> None:
    async with FakeJetstream([]) as stream, FakePds() as pds:
        path = tmp_path / "sources.yaml"
        path.write_text(f"""
sources:
  - id: bsky
    type: bluesky
    url: {stream.url}
    reply: {{pds_url: "{pds.url}", handle: met-westminster.bsky.social,
             app_password_env: BSKY_APP_PASSWORD}}
""", encoding="utf-8")
        api = await make_api(settings=replace(settings, sources_file=path))
        await neighbourhood(api)
        frame = post_frame(1, "smoke pouring out of the flats by Trafalgar, kids inside")
        did, rkey = frame["did"], frame["commit"]["rkey"]
        pds.add_post(did, rkey, "bafyoriginal", frame["commit"]["record"])
        stream.publish(frame)
        iid, rid = await first_report(api)

        r = await api.post(f"/v1/incidents/{iid}/replies", {"report_id": rid,
                                                            "template": "seen"},
                           role="control_room", sub="op1")
        assert r.status == 201 and r.body["status"] == "sent", r.body
        assert r.body["remote_id"].startswith(f"at://{FORCE_DID}/app.bsky.feed.post/")
        (created,) = pds.created
        parent = {"uri": f"at://{did}/app.bsky.feed.post/{rkey}", "cid": "bafyoriginal"}
        assert created["record"]["reply"] == {"root": parent, "parent": parent}
        assert created["record"]["text"].startswith("Seen by police.")

        again = await api.post(f"/v1/incidents/{iid}/replies", {"report_id": rid,
                                                                "template": "seen"},
                               role="officer", sub="pc1")   # a double tap, from anyone
        assert again.status == 200 and again.body["id"] == r.body["id"]
        assert len(pds.created) == 1 and pds.sessions == 1

        refused = await api.post(f"/v1/incidents/{iid}/replies", {"report_id": rid,
                                                                  "text": "on our way"},
                                 role="officer", sub="pc1")
        assert refused.status == 403 and refused.body["code"] == "templates_only"

        detail = (await api.get(f"/v1/incidents/{iid}", role="admin")).body
        assert [x["status"] for x in detail["replies"]] == ["sent"]
        assert "reply_sent" in [e["kind"] for e in detail["timeline"]]
        audit = (await api.get("/v1/audit", role="admin")).body["items"]
        assert any(e["action"] == "reply_sent" and e["actor"] == "op1" for e in audit)
        templates = (await api.get("/v1/reply-templates", role="officer")).body["templates"]
        assert "seen" in templates


@pytest.mark.usefixtures("secrets")
async def test_mastodon_reply_is_idempotent_and_a_refusal_is_recorded(
        make_api: ApiFactory, settings: Settings, tmp_path: Path) -> None:
    async with FakeMastodon() as fake:
        path = tmp_path / "sources.yaml"
        path.write_text(f"""
sources:
  - id: masto
    type: mastodon
    base_url: {fake.base_url}
    access_token_env: MASTO_TOKEN
    streams: [public:local]
    reply: true
    backoff: {{first_s: 0.01, max_s: 0.05}}
""", encoding="utf-8")
        api = await make_api(settings=replace(settings, sources_file=path))
        await neighbourhood(api)

        async def live() -> bool:
            return bool(api.app[keys.SOURCES].sources[0].status.state.value == "live")

        await eventually(live)
        st: dict[str, Any] = status(5, "<p>someone's been stabbed outside the pub by Horse "
                                       "Guards</p>")
        await fake.publish(st)
        iid, rid = await first_report(api)

        fake.refuse_posts = True
        failed = await api.post(f"/v1/incidents/{iid}/replies",
                                {"report_id": rid, "text": "Police are on the way."},
                                role="control_room")
        assert failed.status == 201 and failed.body["status"] == "failed"
        assert "422" in failed.body["reason"]

        fake.refuse_posts = False
        sent = await api.post(f"/v1/incidents/{iid}/replies",
                              {"report_id": rid, "text": "Police are on the way."},
                              role="control_room")
        assert sent.status == 201 and sent.body["status"] == "sent"
        posted = fake.posted[sent.body["id"]]   # the reply id is the Idempotency-Key
        assert posted["in_reply_to_id"] == st["id"]
        assert "@user5" in posted["content"] and "Police are on the way." in posted["content"]
        detail = (await api.get(f"/v1/incidents/{iid}", role="admin")).body
        assert [x["status"] for x in detail["replies"]] == ["failed", "sent"]


async def test_a_source_without_a_reply_account_is_409(make_api: ApiFactory) -> None:
    api = await make_api()
    await neighbourhood(api)
    r = await api.post("/v1/reports", {"source": "x", "external_id": "n1", "text":
                                       "help at Trafalgar", "posted_at":
                                       "2026-11-30T08:00:00Z"}, role="ingest")
    r2 = await api.post(f"/v1/incidents/{r.body['incident_id']}/replies",
                        {"report_id": r.body["id"], "template": "seen"}, role="control_room")
    assert r2.status == 409 and r2.body["code"] == "reply_unsupported"


def masto_sources(tmp_path: Path, base_url: str, per_hour: int = 90) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(f"""
sources:
  - id: masto
    type: mastodon
    base_url: {base_url}
    access_token_env: MASTO_TOKEN
    streams: [public:local]
    reply: true
    reply_per_hour: {per_hour}
    backoff: {{first_s: 0.01, max_s: 0.05}}
""", encoding="utf-8")
    return path


async def masto_live(api: Api) -> None:
    async def live() -> bool:
        return bool(api.app[keys.SOURCES].sources[0].status.state.value == "live")

    await eventually(live)


@pytest.mark.usefixtures("secrets")
async def test_an_account_over_its_hourly_allowance_is_refused_with_429_not_sent(
        make_api: ApiFactory, settings: Settings, tmp_path: Path) -> None:
    async with FakeMastodon() as fake:
        api = await make_api(settings=replace(
            settings, sources_file=masto_sources(tmp_path, fake.base_url, per_hour=1)))
        await neighbourhood(api)
        await masto_live(api)
        await fake.publish(status(6, "<p>man with a machete outside Horse Guards</p>"))
        iid, rid = await first_report(api)
        first = await api.post(f"/v1/incidents/{iid}/replies",
                               {"report_id": rid, "template": "call"}, role="control_room")
        assert first.status == 201 and first.body["status"] == "sent"
        second = await api.post(f"/v1/incidents/{iid}/replies",
                                {"report_id": rid, "template": "safe"}, role="control_room")
        assert second.status == 429 and second.body["code"] == "reply_rate_limited"
        assert 3500 <= int(second.headers["Retry-After"]) <= 3600
        assert len(fake.posted) == 1


@pytest.mark.usefixtures("secrets")
async def test_the_automatic_receipt_goes_to_the_poster_when_an_officer_acknowledges(
        make_api: ApiFactory, settings: Settings, tmp_path: Path) -> None:
    templates = tmp_path / "templates.yaml"
    templates.write_text("templates:\n  attending: Officers are on their way to you now.\n"
                         "receipt: attending\n", encoding="utf-8")
    async with FakeMastodon() as fake:
        api = await make_api(settings=replace(
            settings, sources_file=masto_sources(tmp_path, fake.base_url),
            reply_templates_file=templates))
        await neighbourhood(api)
        await officer_on_duty(api, "pc1", 51.5046, -0.1263)
        await masto_live(api)
        st = status(7, "<p>my neighbour collapsed on the stairs by Horse Guards, not "
                       "breathing</p>")
        await fake.publish(st)
        iid, _ = await first_report(api)
        assert fake.posted == {}          # nothing is sent before someone takes it
        alert = (await api.get("/v1/me/alerts", role="officer", sub="pc1")).body["items"][0]
        assert (await api.post(f"/v1/alerts/{alert['id']}/ack", role="officer",
                               sub="pc1")).status == 200

        async def receipt_sent() -> bool:
            return len(fake.posted) == 1

        await eventually(receipt_sent)
        (posted,) = fake.posted.values()
        assert posted["in_reply_to_id"] == st["id"]
        assert "Officers are on their way to you now." in posted["content"]
        timeline = (await api.get(f"/v1/incidents/{iid}", role="admin")).body["timeline"]
        sent = [e for e in timeline if e["kind"] == "reply_sent"]
        assert len(sent) == 1 and sent[0]["actor"] == "bluelight:receipt"


@pytest.mark.usefixtures("secrets")
async def test_an_officer_replies_with_a_template_to_the_first_post_without_naming_it(
        make_api: ApiFactory, settings: Settings, tmp_path: Path) -> None:
    async with FakeMastodon() as fake:
        api = await make_api(settings=replace(
            settings, sources_file=masto_sources(tmp_path, fake.base_url)))
        await neighbourhood(api)
        await masto_live(api)
        st = status(8, "<p>two lads fighting with a bottle outside Horse Guards</p>")
        await fake.publish(st)
        iid, _ = await first_report(api)
        r = await api.post(f"/v1/incidents/{iid}/replies", {"template": "seen"},
                           role="officer", sub="pc1")
        assert r.status == 201 and r.body["status"] == "sent"
        (posted,) = fake.posted.values()
        assert posted["in_reply_to_id"] == st["id"]
    bare = await make_api()
    await neighbourhood(bare)
    made = await bare.post("/v1/reports", post("help, he has a knife", "k1", lat=WHITEHALL[0],
                                               lon=WHITEHALL[1]), role="ingest")
    r = await bare.post(f"/v1/incidents/{made.body['incident_id']}/replies",
                        {"template": "seen"}, role="officer", sub="pc1")
    assert r.status == 409 and r.body["code"] == "reply_unsupported"
