"""Reading a Server-Sent Events stream through the test client, as a page would."""

from __future__ import annotations

import asyncio
import json

from tests.conftest import Api, token


async def read_events(api: Api, path: str, role: str, sub: str, n: int,
                      headers: dict[str, str] | None = None) -> list[dict[str, object]]:
    """Open the stream at `path` as (role, sub) and read n events (5 s at most)."""
    found: list[dict[str, object]] = []
    hdrs = {"Authorization": f"Bearer {token(role, sub)}", **(headers or {})}
    async with api.client.get(path, headers=hdrs) as resp:
        assert resp.status == 200 and resp.content_type == "text/event-stream"
        current: dict[str, object] = {}
        async with asyncio.timeout(5):
            async for raw in resp.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("id: "):
                    current["id"] = int(line[4:])
                elif line.startswith("event: "):
                    current["event"] = line[7:]
                elif line.startswith("data: "):
                    current["data"] = json.loads(line[6:])
                elif line == "" and current:
                    found.append(current)
                    current = {}
                    if len(found) == n:
                        break
    return found
