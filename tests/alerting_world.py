"""Shared set-up for alert-loop tests: Whitehall, officers on duty around it, and posts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import Api, feature

# A box around Whitehall and St James's (lon -0.145..-0.115, lat 51.495..51.515).
WHITEHALL_BOX = {"type": "Polygon", "coordinates": [[
    [-0.145, 51.495], [-0.115, 51.495], [-0.115, 51.515], [-0.145, 51.515], [-0.145, 51.495]]]}
WHITEHALL = (51.5045, -0.1263)


def token_of(officer_id: str) -> str:
    """A plausible FCM registration token for an officer's phone."""
    return f"fcm:{officer_id}:" + "A" * 40


async def neighbourhood(api: Api) -> None:
    await api.put("/v1/neighbourhoods/whitehall",
                  feature(WHITEHALL_BOX, "Whitehall", places=["Horse Guards", "Trafalgar"]),
                  role="admin")


async def officer_on_duty(api: Api, oid: str, lat: float, lon: float, *,
                          rank: str = "officer", hoods: tuple[str, ...] = ("whitehall",)) -> None:
    r = await api.put(f"/v1/officers/{oid}", {"name": oid, "callsign": oid.upper(), "rank": rank,
                                               "neighbourhood_ids": list(hoods)}, role="admin")
    assert r.status in (200, 201), r.body
    await api.put("/v1/me/duty", {"on_duty": True}, role="officer", sub=oid)
    await api.put("/v1/me/location", {"lat": lat, "lon": lon}, role="officer", sub=oid)
    r = await api.put(f"/v1/me/devices/{token_of(oid)}", {"platform": "android"},
                      role="officer", sub=oid)
    assert r.status in (200, 201), r.body


def post(text: str, ext: str, *, lat: float | None = None, lon: float | None = None,
         place: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"source": "x", "external_id": ext, "text": text,
                            "posted_at": datetime.now(UTC).isoformat()}
    if lat is not None:
        body["location"] = {"lat": lat, "lon": lon}
    if place is not None:
        body["place"] = place
    return body


def policy_file(tmp_path: Path, waves: list[dict[str, Any]], p2: list[dict[str, Any]] | None = None
                ) -> Path:
    """A short policy for timer tests."""
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump({"priorities": {"P1": {"waves": waves},
                                                   "P2": {"waves": p2 or []},
                                                   "P3": {"waves": []}, "P4": {"waves": []}}}))
    return path
