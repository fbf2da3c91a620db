"""The sources file (BLUELIGHT_SOURCES_FILE): which networks to read, and how.

Secrets are never in the file: it names environment variables (`..._env` keys) and the
values are read from the environment when the server starts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from .. import yamlio
from ..ports import Clock, CursorStore
from ..services.audit import AuditLog
from ..services.intake import Intake, Interest
from .bluesky import BlueskyAccount, JetstreamConfig, JetstreamSource
from .mastodon import MastodonConfig, MastodonSource
from .supervisor import Source
from .x import XConfig, XSource, rules_of

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_STREAM = re.compile(r"^(public|public:local|user|hashtag:[^\s#/?]{1,100})$")
TYPES = ("bluesky", "mastodon", "x")
SourceConfig = JetstreamConfig | MastodonConfig | XConfig


class SourcesError(ValueError):
    """The sources file is wrong; the message says where."""


def _interest(doc: Mapping[str, Any], where: str) -> Interest:
    mentions, tags = doc.get("mentions", []), doc.get("hashtags", [])
    for name, value in (("mentions", mentions), ("hashtags", tags)):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SourcesError(f"{where}: {name} must be a list of strings")
    return Interest.of(mentions, tags)


def _backoff(doc: Mapping[str, Any], where: str) -> tuple[float, float]:
    raw = doc.get("backoff", {}) or {}
    try:
        first, longest = float(raw.get("first_s", 1.0)), float(raw.get("max_s", 60.0))
    except (TypeError, ValueError, AttributeError):
        raise SourcesError(f"{where}: backoff needs numbers first_s and max_s") from None
    if not 0 < first <= longest <= 3600:
        raise SourcesError(f"{where}: backoff must have 0 < first_s <= max_s <= 3600")
    return first, longest


# Replies an account may send in any rolling hour unless the file says: below each
# network's own cap (Bluesky 1,666 creates an hour; Mastodon 300 statuses in 3 hours).
REPLY_PER_HOUR = {"bluesky": 300, "mastodon": 90, "x": 50}


def _per_hour(doc: Mapping[str, Any], where: str, kind: str) -> int:
    value = doc.get("reply_per_hour", REPLY_PER_HOUR.get(kind, 50))
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 10_000:
        raise SourcesError(f"{where}: reply_per_hour must be a whole number from 1 to 10000")
    return value


def _bluesky(item: Mapping[str, Any], where: str, common: dict[str, Any],
             env: Mapping[str, str]) -> JetstreamConfig:
    url = item.get("url")
    if not isinstance(url, str) or not url.startswith(("ws://", "wss://")):
        raise SourcesError(f"{where}: url must be a ws:// or wss:// Jetstream address")
    raw = item.get("reply")
    account = None
    if raw is not None:
        if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) for k in (
                "pds_url", "handle", "app_password_env")):
            raise SourcesError(f"{where}: reply needs pds_url, handle and app_password_env")
        if raw["app_password_env"] not in env:
            raise SourcesError(f"{where}: environment variable {raw['app_password_env']!r} "
                               "is not set")
        account = BlueskyAccount(raw["pds_url"], raw["handle"], env[raw["app_password_env"]])
    return JetstreamConfig(url=url, reply=account, **common)


def _mastodon(item: Mapping[str, Any], where: str, common: dict[str, Any],
              env: Mapping[str, str]) -> MastodonConfig:
    base = item.get("base_url")
    if not isinstance(base, str) or not base.startswith(("http://", "https://")):
        raise SourcesError(f"{where}: base_url must be the instance's http(s) address")
    token_env = item.get("access_token_env")
    if not isinstance(token_env, str):
        raise SourcesError(f"{where}: access_token_env must name an environment variable")
    streams = item.get("streams", ["public:local"])
    if not isinstance(streams, list) or not streams or not all(
            isinstance(x, str) and _STREAM.match(x) for x in streams):
        raise SourcesError(f"{where}: streams must list public, public:local, user or "
                           "hashtag:NAME")
    return MastodonConfig(base_url=base, token=env[token_env], streams=tuple(streams),
                          reply=bool(item.get("reply", False)), **common)


def _x(item: Mapping[str, Any], where: str, common: dict[str, Any],
       env: Mapping[str, str]) -> XConfig:
    token_env = item.get("bearer_token_env")
    if not isinstance(token_env, str):
        raise SourcesError(f"{where}: bearer_token_env must name an environment variable")
    rules = item.get("rules")
    if not isinstance(rules, list) or not rules or not all(
            isinstance(r, str) and 0 < len(r) <= 1024 for r in rules):
        raise SourcesError(f"{where}: rules must list 1-1024 character filter rules")
    base = item.get("base_url", "https://api.x.com")
    if not isinstance(base, str) or not base.startswith(("http://", "https://")):
        raise SourcesError(f"{where}: base_url must be an http(s) address")
    raw = item.get("reply")
    reply_token = None
    if raw is not None:
        if not isinstance(raw, dict) or not isinstance(raw.get("user_token_env"), str):
            raise SourcesError(f"{where}: reply needs user_token_env (an OAuth 2.0 user token "
                               "with tweet.write)")
        if raw["user_token_env"] not in env:
            raise SourcesError(f"{where}: environment variable {raw['user_token_env']!r} "
                               "is not set")
        reply_token = env[raw["user_token_env"]]
    scale = item.get("backoff_scale", 1.0)
    if not isinstance(scale, int | float) or not 0 < scale <= 10:
        raise SourcesError(f"{where}: backoff_scale must be a number in (0, 10]")
    common = {**common, "silence_s": float(item.get("silence_s", 30.0))}
    return XConfig(token=env[token_env], rules=rules_of(rules), base_url=base,
                   reply_token=reply_token, backoff_scale=float(scale), **common)


def parse(doc: Any, env: Mapping[str, str]) -> list[SourceConfig]:
    """Validated source settings from the parsed YAML."""
    if not isinstance(doc, dict) or not isinstance(doc.get("sources", []), list):
        raise SourcesError("the sources file needs a list under 'sources'")
    out: list[SourceConfig] = []
    seen: set[str] = set()
    for i, item in enumerate(doc.get("sources", [])):
        where = f"sources[{i}]"
        if not isinstance(item, dict):
            raise SourcesError(f"{where}: must be a mapping")
        sid, kind = item.get("id"), item.get("type")
        if not isinstance(sid, str) or not _ID.match(sid):
            raise SourcesError(f"{where}: id must be 1-32 of a-z, 0-9, '_' and '-'")
        if sid in seen:
            raise SourcesError(f"{where}: id {sid!r} is used twice")
        seen.add(sid)
        if kind not in TYPES:
            raise SourcesError(f"{where}: type {kind!r} is not one of {', '.join(TYPES)}")
        for key, value in item.items():
            if key.endswith("_env") and value not in env:
                raise SourcesError(f"{where}: environment variable {value!r} is not set")
        common = {"id": sid, "interest": _interest(item, where),
                  "ping_s": float(item.get("ping_s", 20.0)),
                  "silence_s": float(item.get("silence_s", 120.0 if kind == "mastodon"
                                              else 60.0)),
                  "backoff": _backoff(item, where),
                  "reply_per_hour": _per_hour(item, where, kind)}
        if kind == "bluesky":
            out.append(_bluesky(item, where, common, env))
        elif kind == "mastodon":
            out.append(_mastodon(item, where, common, env))
        else:
            out.append(_x(item, where, common, env))
    return out


def load(path: Path | None, env: Mapping[str, str]) -> list[SourceConfig]:
    """The sources in the file (none without a file)."""
    if path is None:
        return []
    try:
        doc = yamlio.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SourcesError(f"{path}: {exc}") from None
    try:
        return parse(doc, env)
    except SourcesError as exc:
        raise SourcesError(f"{path}: {exc}") from None


def build(configs: Sequence[SourceConfig], intake: Intake, cursors: CursorStore,
          audit: AuditLog, clock: Clock) -> list[Source]:
    """One running source per setting."""
    out: list[Source] = []
    for c in configs:
        if isinstance(c, JetstreamConfig):
            out.append(JetstreamSource(c, intake, cursors, audit, clock))
        elif isinstance(c, MastodonConfig):
            out.append(MastodonSource(c, intake, cursors, clock))
        else:
            out.append(XSource(c, intake, cursors, clock))
    return out
