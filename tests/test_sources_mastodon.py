"""Mastodon: a real server on loopback reads a fake instance (tests/fake_mastodon.py) that
streams over a websocket and pages over REST; nothing contacts a real network."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from server import keys
from server.settings import Settings
from server.sources.html_text import text_of
from server.sources.mastodon import MastodonSource, to_post
from tests.alerting_world import neighbourhood
from tests.conftest import Api, ApiFactory, eventually
from tests.fake_mastodon import TOKEN, FakeMastodon, status


def sources_file(tmp_path: Path, base_url: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(f"""
sources:
  - id: masto
    type: mastodon
    base_url: {base_url}
    access_token_env: MASTO_TOKEN
    streams: [public:local, "hashtag:999uk", user]
    hashtags: [999uk]
    backoff: {{first_s: 0.01, max_s: 0.05}}
""", encoding="utf-8")
    return path


def stored(settings: Settings) -> dict[str, str]:
    db = sqlite3.connect(settings.sqlite_path)
    try:
        rows = db.execute("SELECT external_id, json_extract(doc, '$.text') FROM reports"
                          " WHERE source = 'masto'").fetchall()
    finally:
        db.close()
    return dict(rows)


def source(api: Api) -> MastodonSource:
    src = api.app[keys.SOURCES].sources[0]
    assert isinstance(src, MastodonSource)
    return src


async def live(api: Api) -> None:
    async def is_live() -> bool:
        return source(api).status.state.value == "live"

    await eventually(is_live)


@pytest.fixture
def masto_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MASTO_TOKEN", TOKEN)


@pytest.mark.usefixtures("masto_env")
async def test_streams_then_catches_up_over_rest_after_a_restart(
        make_api: ApiFactory, settings: Settings, tmp_path: Path) -> None:
    # A window long enough that a loaded machine still sends 4 requests within it.
    async with FakeMastodon(rate_limit=3, reset_s=1.0) as fake:
        tuned = replace(settings, sources_file=sources_file(tmp_path, fake.base_url))
        first = await make_api(settings=tuned)
        await neighbourhood(first)
        await live(first)
        placed = status(1, "<p>man on the ground by Trafalgar, not moving</p>")
        addressed = status(2, '<p><span class="h-card"><a href="x">@<span>metpolice</span>'
                              "</a></span> my ex is outside kicking my door in</p>",
                           mentions=("metpolice",))
        tagged = status(3, "<p>car on its roof on the bypass <a>#999uk</a></p>",
                        tags=("999uk",))
        elsewhere = status(4, "<p>lovely day for it</p>")
        for st in (placed, addressed, tagged, elsewhere):
            await fake.publish(st)

        async def three() -> bool:
            return len(stored(tuned)) == 3

        await eventually(three)
        assert stored(tuned)[placed["id"]] == "man on the ground by Trafalgar, not moving"
        await first.client.close()

        # While the server is down: 100 posts (every fourth placed) and three mentions.
        missed = set()
        for n in range(10, 110):
            text = f"<p>quiet pint near Trafalgar {n}</p>" if n % 4 == 0 else f"<p>hi {n}</p>"
            st = status(n, text)
            await fake.publish(st, live=False)
            if n % 4 == 0:
                missed.add(st["id"])
        for n in range(200, 203):
            st = status(n, f"<p>@metpolice someone's been in my shed {n}</p>",
                        mentions=("metpolice",), local=False)
            await fake.publish(st, live=False)
            missed.add(st["id"])

        second = await make_api(settings=tuned)
        await live(second)
        assert set(stored(tuned)) >= missed
        assert len(stored(tuned)) == 3 + len(missed)
        assert any("min_id=" in r for r in fake.requests)            # paged forward
        assert fake.throttled >= 1 and source(second).rate_limited >= 1  # waited, not lost
        late = status(300, "<p>fire in the flats behind Horse Guards</p>")
        await fake.publish(late)

        async def streamed() -> bool:
            return late["id"] in stored(tuned)

        await eventually(streamed)
        await fake.delete(late["id"])

        async def deleted() -> bool:
            return source(second).status.counts["deleted"] == 1

        await eventually(deleted)
        assert "fire" not in stored(tuned)[late["id"]]
        items = (await second.get("/v1/sources", role="control_room")).body["items"]
        assert items[0]["type"] == "mastodon" and items[0]["state"] == "live"


async def test_a_refused_token_is_a_failed_source(
        make_api: ApiFactory, settings: Settings, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MASTO_TOKEN", "wrong")
    async with FakeMastodon() as fake:
        api = await make_api(settings=replace(
            settings, sources_file=sources_file(tmp_path, fake.base_url)))

        async def failed() -> bool:
            items = (await api.get("/v1/sources", role="admin")).body["items"]
            return bool(items[0]["state"] == "failed")

        await eventually(failed)
        items = (await api.get("/v1/sources", role="admin")).body["items"]
        assert "refused" in items[0]["last_error"]


def test_a_boost_is_the_boosted_post_marked_as_a_repost() -> None:
    original = status(7, "<p>help, smoke everywhere at 4 Elm Row</p>")
    boost = status(8, "", boost_of={k: v for k, v in original.items() if k != "_local"})
    post = to_post("masto", boost)
    assert post is not None
    assert post.external_id == original["id"] and post.context == {"repost": True}
    assert post.text == "help, smoke everywhere at 4 Elm Row"


def test_html_content_becomes_plain_text() -> None:
    html = ('<p>Help at <a href="https://x.org/abc"><span class="invisible">https://</span>'
            '<span>x.org/abc</span></a> &amp; now</p><p>second<br>line</p>')
    assert text_of(html) == "Help at x.org/abc & now\nsecond\nline"


async def test_the_control_room_lists_reports_by_source_and_pages(make_api: ApiFactory) -> None:
    api = await make_api()
    for i in range(3):
        for src in ("masto", "bsky"):
            r = await api.post("/v1/reports", {"source": src, "external_id": f"{src}{i}",
                                               "text": f"quiet day {i}",
                                               "posted_at": "2026-11-30T08:00:00Z"},
                               role="ingest")
            assert r.status == 201
    page = (await api.get("/v1/reports?source=MASTO&limit=2", role="control_room")).body
    assert [r["external_id"] for r in page["items"]] == ["masto2", "masto1"]
    rest = (await api.get(f"/v1/reports?source=masto&limit=2&cursor={page['next_cursor']}",
                          role="control_room")).body
    assert [r["external_id"] for r in rest["items"]] == ["masto0"] and rest["next_cursor"] is None
    assert (await api.get("/v1/reports", role="officer")).status == 403
