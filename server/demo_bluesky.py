"""The demo's last act: a post arrives from a Bluesky stream, an officer is alerted and
acknowledges, and the automatic receipt goes back to the poster in the post's thread.

The Jetstream server and the PDS are the test suite's fakes on 127.0.0.1 (tests/), so this
act runs from a checkout; nothing contacts the real Bluesky."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any

from .domain.model import Role

PLACE = "Vincent Square"   # a ward name: the gazetteer places a post that names it
TEXT = (f"someone's collapsed on the pavement by {PLACE}, not breathing, "
        "please send help @met-westminster.bsky.social")


def available() -> bool:
    """True if the fakes can be imported (a checkout with tests/)."""
    try:
        import tests.fake_jetstream
        import tests.fake_pds  # noqa: F401
    except ImportError:
        return False
    return True


async def start(stack: contextlib.AsyncExitStack, folder: Path) -> tuple[Any, Any, Path, Path]:
    """Start the fakes; (stream, pds, sources file, templates file with the receipt on)."""
    from tests.fake_jetstream import FakeJetstream
    from tests.fake_pds import PASSWORD, FakePds

    stream = await stack.enter_async_context(FakeJetstream([]))
    pds = await stack.enter_async_context(FakePds())
    os.environ["BLUELIGHT_DEMO_BSKY_PASSWORD"] = PASSWORD
    sources = folder / "sources.yaml"
    sources.write_text(f"""
sources:
  - id: bsky
    type: bluesky
    url: {stream.url}
    mentions: [met-westminster.bsky.social]
    reply: {{pds_url: "{pds.url}", handle: met-westminster.bsky.social,
             app_password_env: BLUELIGHT_DEMO_BSKY_PASSWORD}}
""", encoding="utf-8")
    templates = folder / "templates.yaml"
    templates.write_text("templates:\n  attending: Police here. Officers are on their way "
                         "to you now.\nreceipt: attending\n", encoding="utf-8")
    return stream, pds, sources, templates


async def act(api: Any, stream: Any, pds: Any, acknowledge: Any, say: Any) -> None:
    """Publish the post, follow it to an alert, acknowledge, show the reply."""
    from tests.fake_jetstream import post_frame

    frame = post_frame(1, TEXT)
    pds.add_post(frame["did"], frame["commit"]["rkey"], "bafydemo", frame["commit"]["record"])
    say(f"\nA post arrives on Bluesky (a local Jetstream): {TEXT!r}")
    stream.publish(frame)
    incident = None
    for _ in range(100):
        found = await api.call("GET", "/v1/incidents?limit=50", Role.CONTROL_ROOM)
        incident = next((i for i in found["items"] if PLACE.lower() in i["summary"].lower()),
                        None)
        if incident and incident["status"] != "open":
            break
        await asyncio.sleep(0.1)
    if incident is None:
        say("  (the post did not arrive)")
        return
    detail = await api.call("GET", f"/v1/incidents/{incident['id']}", Role.CONTROL_ROOM)
    recipients = detail["alerts"][0]["recipients"] if detail["alerts"] else []
    hood = await api.call("GET", f"/v1/neighbourhoods/{incident['neighbourhood_id']}",
                          Role.CONTROL_ROOM)
    say(f"  -> {incident['priority']} {incident['category']} in {hood['name']}"
        f", alerting {', '.join(recipients) or 'nobody'}")
    taker = await acknowledge(api, incident["id"])
    say(f"  {taker} acknowledged; the automatic receipt goes back to the poster...")
    for _ in range(50):
        if pds.created:
            break
        await asyncio.sleep(0.1)
    for created in pds.created:
        say(f"  Reply on Bluesky, in the post's thread: {created['record']['text']!r}")
    if not pds.created:
        say("  (no reply was sent)")
