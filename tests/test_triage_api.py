"""Triage through the API: bands, scores and cues on ingest, what a connector's context does,
the review queue, and learning from the control room's outcomes (export-feedback)."""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from server import keys
from server.__main__ import main
from server.domain.follow_up import FollowUps
from server.domain.records import Category, Priority, Report, Triage
from server.settings import Settings
from server.triage import language
from server.triage.triager import FILL_WORDS, SHIPPED_MODEL
from tests.alerting_world import WHITEHALL, neighbourhood, officer_on_duty, post
from tests.conftest import Api, ApiFactory, eventually

KNIFE = "he has a knife and he's coming at me, please help"


async def test_ingest_returns_band_score_cues_and_language(api: Api) -> None:
    await neighbourhood(api)
    r = await api.post("/v1/reports", post(KNIFE, "t1", lat=WHITEHALL[0], lon=WHITEHALL[1]),
                       role="ingest")
    assert r.status == 201 and r.body["band"] == "alert" and r.body["priority"] == "P1"
    assert 0.5 < r.body["score"] <= 1 and r.body["lang"] == "en"
    assert any(c.startswith("model:") for c in r.body["cues"])
    calm = await api.post("/v1/reports", post("what a lovely sunny afternoon", "t2"),
                          role="ingest")
    assert calm.body["band"] == "record" and calm.body["priority"] == "P4"
    foreign = await api.post("/v1/reports", post(
        "Pomocy! Ktoś włamuje się do mojego mieszkania, jestem sama w domu", "t3"),
        role="ingest")
    assert foreign.body["band"] == "review" and foreign.body["lang"] == "pl"
    assert foreign.body["score"] is None and "lang:pl" in foreign.body["cues"]
    # Review means a person looks: the control room's queue has it, with the reason.
    queue = (await api.get("/v1/escalations", role="control_room")).body["items"]
    assert foreign.body["incident_id"] in [x["incident_id"] for x in queue]
    detail = (await api.get(f"/v1/incidents/{foreign.body['incident_id']}",
                            role="control_room")).body
    report = next(x for x in detail["reports"] if x["id"] == foreign.body["id"])
    assert report["band"] == "review" and report["lang"] == "pl" and report["score"] is None


async def test_after_a_self_harm_post_the_authors_quiet_posts_reach_a_person(api: Api) -> None:
    """Alone, "that's me" is chatter (P4). After the same account's goodbye it is reviewed,
    with the reason; another account's "that's me" is not."""
    await neighbourhood(api)

    def by(author: str, text: str, ext: str) -> dict[str, object]:
        return {**post(text, ext), "author": author}

    before = await api.post("/v1/reports", by("alex", "that's me", "f0"), role="ingest")
    assert before.body["priority"] == "P4"
    cry = await api.post("/v1/reports", by(
        "alex", "i'm so sorry mum. i can't do this anymore. i've taken all of them", "f1"),
        role="ingest")
    assert cry.body["band"] == "alert" and cry.body["category"] == "self_harm", cry.body
    after = await api.post("/v1/reports", by("alex", "that's me", "f2"), role="ingest")
    assert after.body["priority"] == "P3" and "context:follows self_harm" in after.body["cues"]
    other = await api.post("/v1/reports", by("sam", "that's me", "f3"), role="ingest")
    assert other.body["priority"] == "P4"


async def test_the_authors_followed_up_are_followed_again_after_a_restart(
        make_api: ApiFactory) -> None:
    first = await make_api()
    await neighbourhood(first)
    cry = await first.post("/v1/reports", {**post(
        "sorry for everything. i won't be a burden much longer", "r1"), "author": "alex"},
        role="ingest")
    assert cry.body["band"] == "alert" and cry.body["category"] == "self_harm", cry.body
    await first.client.close()
    second = await make_api()   # the same database: a restart
    follow_ups = second.app[keys.REPORTS].follow_ups

    async def restored() -> bool:
        return len(follow_ups) == 1

    await eventually(restored, within=30)
    after = await second.post("/v1/reports", {**post("that's me", "r2"), "author": "alex"},
                              role="ingest")
    assert after.body["priority"] == "P3" and "context:follows self_harm" in after.body["cues"]


@pytest.mark.parametrize(("context", "cue"), [
    ({"repost": True}, "context:repost"),
    ({"links": ["https://www.bbc.co.uk/news/uk-england-london-1"]}, "context:news_link"),
])
async def test_connector_context_caps_an_alert_at_review(api: Api, context: dict[str, object],
                                                         cue: str) -> None:
    await neighbourhood(api)
    body = {**post(KNIFE, "c1", lat=WHITEHALL[0], lon=WHITEHALL[1]), "context": context}
    r = await api.post("/v1/reports", body, role="ingest")
    assert r.status == 201 and r.body["priority"] == "P3" and cue in r.body["cues"], r.body


async def test_far_away_and_old_posts_go_to_a_person_not_to_officers(api: Api) -> None:
    await neighbourhood(api)
    houston = {**post(KNIFE, "f1"), "location": {"lat": 29.76, "lon": -95.37}}
    r = await api.post("/v1/reports", houston, role="ingest")
    assert r.body["priority"] == "P3" and "context:far_away" in r.body["cues"]
    old = {**post(KNIFE, "f2", lat=WHITEHALL[0], lon=WHITEHALL[1]),
           "posted_at": (datetime.now(UTC) - timedelta(days=1)).isoformat()}
    r = await api.post("/v1/reports", old, role="ingest")
    assert r.body["priority"] == "P3" and "context:stale" in r.body["cues"]


async def test_a_post_tagged_with_a_far_place_goes_to_a_person_not_to_officers(
        api: Api) -> None:
    """An X post's place is often a whole city: too big to be its location, but if all of
    it is far from every neighbourhood, so is the post."""
    await neighbourhood(api)   # in Westminster
    beirut = {"west": 35.46, "south": 33.85, "east": 35.56, "north": 33.92}
    r = await api.post("/v1/reports", {**post(KNIFE, "b1"), "place": "Beirut, Lebanon",
                                       "place_bbox": beirut}, role="ingest")
    assert r.status == 201 and r.body["priority"] == "P3", r.body
    assert "context:far_away" in r.body["cues"]
    london = {"west": -0.51, "south": 51.28, "east": 0.33, "north": 51.69}
    r = await api.post("/v1/reports", {**post(KNIFE, "b2"), "place": "London, England",
                                       "place_bbox": london}, role="ingest")
    assert r.body["priority"] == "P1" and "context:far_away" not in r.body["cues"], r.body
    fiji = {"west": 177.0, "south": -19.2, "east": -179.8, "north": -16.0}   # over 180
    r = await api.post("/v1/reports", {**post(KNIFE, "b3"), "place_bbox": fiji},
                       role="ingest")
    assert "context:far_away" in r.body["cues"]
    upside_down = {**beirut, "south": 34.0}
    r = await api.post("/v1/reports", {**post(KNIFE, "b4"), "place_bbox": upside_down},
                       role="ingest")
    assert r.status == 422 and r.body["errors"] == [
        {"field": "place_bbox", "message": "south is north of north"}], r.body
    r = await api.post("/v1/reports", {**post(KNIFE, "b5"), "place_bbox": {"west": 1}},
                       role="ingest")
    assert r.status == 422 and "place_bbox" in json.dumps(r.body["errors"])


async def test_unknown_context_fields_are_refused(api: Api) -> None:
    body = {**post(KNIFE, "u1"), "context": {"retweets": 5}}
    r = await api.post("/v1/reports", body, role="ingest")
    assert r.status == 422 and "context" in json.dumps(r.body["errors"])


async def test_outcomes_become_training_labels(api: Api, settings: Settings, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    await neighbourhood(api)
    await officer_on_duty(api, "a", 51.5050, -0.1265)
    real = await api.post("/v1/reports", post(KNIFE, "o1", lat=WHITEHALL[0],
                                              lon=WHITEHALL[1]), role="ingest")
    hoax = await api.post("/v1/reports", post("man collapsed on the pavement, not breathing",
                                              "o2", lat=51.5030, lon=-0.1270), role="ingest")
    assert real.body["incident_id"] != hoax.body["incident_id"]
    r = await api.post(f"/v1/incidents/{real.body['incident_id']}/resolve",
                       {"outcome": "emergency", "note": "arrest made"}, role="control_room")
    assert r.status == 200 and r.body["outcome"] == "emergency"
    await api.post(f"/v1/incidents/{hoax.body['incident_id']}/resolve",
                   {"outcome": "not_an_emergency"}, role="control_room")
    bad = await api.post(f"/v1/incidents/{hoax.body['incident_id']}/resolve",
                         {"outcome": "maybe"}, role="control_room")
    assert bad.status == 422
    monkeypatch.setenv("BLUELIGHT_STORE", settings.store_url)
    monkeypatch.setenv("BLUELIGHT_DATA_DIR", str(tmp_path))
    out = tmp_path / "feedback.jsonl"
    # main() runs its own event loop, so it runs in a thread beside this test's loop.
    assert await asyncio.to_thread(main, ["triage", "export-feedback", "--out", str(out)]) == 0
    lines = sorted((json.loads(x) for x in out.read_text().splitlines()),
                   key=lambda d: d["text"])
    assert [(d["text"], d["urgent"]) for d in lines] == [
        (KNIFE, True), ("man collapsed on the pavement, not breathing", False)]
    assert all(d["origin"].startswith("x:") for d in lines)


async def test_the_server_loads_wordllama_and_the_identifier_after_start_up(
        make_api: ApiFactory, settings: Settings, tmp_path: Path) -> None:
    """Neither readiness nor the first post waits for the embedding table: the app loads
    it in a worker thread once started. (A copy of the model: the shipped one is loaded
    once per process, perhaps already warm from another test.)"""
    model = tmp_path / "model"
    shutil.copytree(SHIPPED_MODEL, model)
    # The language identifier is one per process: forgotten, so that the warm-up must load
    # it (a post that needs it must not load it on the event loop: 0.6 s).
    language._identifier.cache_clear()
    language._first_columns.cache_clear()
    api = await make_api(settings=replace(settings, triage_model_dir=model))
    features = api.app[keys.REPORTS].triager.model.features

    async def warm() -> bool:
        return features._embedder is not None

    await eventually(warm, within=30)
    # Then, with nobody waiting for it, the commonest words are made ahead.
    warmup = api.app[keys.REPORTS].warmup
    await asyncio.wait_for(warmup.finished.wait(), 30)
    assert api.app[keys.REPORTS].triager.model.word_rows().filled == FILL_WORDS
    assert language._identifier.cache_info().currsize == 1


class PagedReports:
    """A fake of the store's report reads: `total` self-harm alerts by as many authors,
    newest first, a page at a time; it counts the pages asked for."""

    def __init__(self, total: int) -> None:
        now = datetime.now(UTC)
        self.reports = [Report(id=f"rep_{i:05d}", source="x", external_id=str(i), text="t",
                               posted_at=now, received_at=now, author=f"a{i}",
                               triage=Triage(Category.SELF_HARM, Priority.P1))
                        for i in range(total)]
        self.pages = 0

    async def find_reports(self, *, source: str | None = None, since: datetime | None = None,
                           before_id: str | None = None, limit: int = 50) -> list[Report]:
        self.pages += 1
        start = 0 if before_id is None else next(
            i for i, r in enumerate(self.reports) if r.id == before_id) + 1
        return self.reports[start:start + limit]


async def test_restoring_the_follow_ups_pages_through_the_window_and_stops_at_its_bound(
        api: Api) -> None:
    service = api.app[keys.REPORTS]
    service.follow_ups = FollowUps()
    whole = PagedReports(1200)
    assert await service.restore_follow_ups(whole, datetime.now(UTC)) == 1200
    assert whole.pages == 3                       # 500, 500, then a short page
    service.follow_ups = FollowUps()
    bounded = PagedReports(1200)
    assert await service.restore_follow_ups(bounded, datetime.now(UTC), at_most=600) == 1000
    assert bounded.pages == 2                     # the newest first, no further
