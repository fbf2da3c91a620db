"""The sources file: what it accepts and the message when it is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.sources.config import SourcesError, load, parse


def test_a_valid_file_gives_one_setting_per_source(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("""
sources:
  - id: bsky
    type: bluesky
    url: wss://jetstream2.us-east.bsky.network/subscribe
    mentions: ["@Met-Westminster.bsky.social"]
    hashtags: ["#WestminsterHelp"]
    reply: {pds_url: "https://bsky.social", handle: me.bsky.social,
            app_password_env: BSKY_APP_PASSWORD}
""", encoding="utf-8")
    (cfg,) = load(path, {"BSKY_APP_PASSWORD": "x"})
    assert cfg.id == "bsky" and cfg.backoff == (1.0, 60.0)
    assert cfg.interest.mentions == {"met-westminster.bsky.social"}
    assert cfg.interest.hashtags == {"westminsterhelp"}
    assert cfg.reply is not None and cfg.reply.app_password == "x"
    assert load(None, {}) == []


@pytest.mark.parametrize(("doc", "message"), [
    ({"sources": [{"id": "Bad Id", "type": "bluesky", "url": "wss://x"}]}, "id must be"),
    ({"sources": [{"id": "a", "type": "myspace", "url": "wss://x"}]}, "type 'myspace'"),
    ({"sources": [{"id": "a", "type": "bluesky", "url": "https://x"}]}, "ws:// or wss://"),
    ({"sources": [{"id": "a", "type": "bluesky", "url": "wss://x"},
                  {"id": "a", "type": "bluesky", "url": "wss://y"}]}, "used twice"),
    ({"sources": [{"id": "a", "type": "bluesky", "url": "wss://x",
                   "token_env": "NOT_SET"}]}, "'NOT_SET' is not set"),
    ({"sources": [{"id": "a", "type": "bluesky", "url": "wss://x",
                   "backoff": {"first_s": 5, "max_s": 1}}]}, "backoff"),
    ({"sources": [{"id": "a", "type": "bluesky", "url": "wss://x", "mentions": "me"}]},
     "mentions must be a list"),
    ({"sources": {"id": "a"}}, "a list under 'sources'"),
    ({"sources": [{"id": "a", "type": "bluesky", "url": "wss://x",
                   "reply": {"handle": "me"}}]}, "reply needs pds_url"),
    ({"sources": [{"id": "a", "type": "x", "bearer_token_env": "XB"}]}, "rules must list"),
    ({"sources": [{"id": "a", "type": "x", "bearer_token_env": "XB", "rules": ["a" * 1025]}]},
     "rules must list"),
    ({"sources": [{"id": "a", "type": "x", "rules": ["@me"]}]}, "bearer_token_env must"),
    ({"sources": [{"id": "a", "type": "x", "bearer_token_env": "XB", "rules": ["@me"],
                   "reply": {"user_token_env": "XU"}}]}, "'XU' is not set"),
])
def test_a_wrong_file_is_refused_with_a_reason(doc: object, message: str) -> None:
    with pytest.raises(SourcesError, match=message):
        parse(doc, {"XB": "token"})


def test_an_x_source_keeps_its_rules_once_each() -> None:
    (cfg,) = parse({"sources": [{"id": "x", "type": "x", "bearer_token_env": "XB",
                                 "rules": ["@999UK", "@999UK", "help near:me"]}]},
                   {"XB": "token"})
    assert cfg.rules == ("@999UK", "help near:me") and cfg.token == "token"
