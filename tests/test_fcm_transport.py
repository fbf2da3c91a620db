"""Our transport under firebase-admin (server/adapters/fcm_transport.py) against the fake FCM
server on 127.0.0.1: OAuth tokens are refreshed off the event loop, once for many sends, and
again after a 401; failures come back as the httpx errors the SDK maps to FirebaseErrors.
(tests/test_push_fcm.py runs the whole SDK through it.)

Broken variants this was run against: the refresh called on the loop (the loop stalls until
the refresh returns); no lock around the refresh (five sends, five refreshes); a 401 not
retried (the send fails)."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

import httpx
import pytest
from google.auth import credentials as google_credentials

from server.adapters.fcm_transport import AiohttpFcmClient
from tests.fake_fcm import FakeFcm

PROJECT = "bluelight-test"


class SlowToken(google_credentials.Credentials):  # type: ignore[misc]
    """A credential whose refresh blocks, as google-auth's does (an HTTPS call to Google),
    until the test opens the gate. It starts with no token."""

    def __init__(self) -> None:
        super().__init__()
        self.refreshed_in: list[threading.Thread] = []
        self.gate = threading.Event()

    def refresh(self, request: Any) -> None:
        self.refreshed_in.append(threading.current_thread())
        self.gate.wait(10)
        self.token = f"token-{len(self.refreshed_in)}"


def url(base: str) -> str:
    return f"{base}/v1/projects/{PROJECT}/messages:send"


def message(token: str) -> dict[str, Any]:
    return {"message": {"token": token, "data": {"type": "alert"}}}


async def test_a_token_is_fetched_off_the_loop_once_for_many_sends(
        fcm: tuple[FakeFcm, str]) -> None:
    fake, base = fcm
    credential = SlowToken()
    client = AiohttpFcmClient(credential, timeout_s=5)
    sends = [asyncio.ensure_future(client.request("post", url(base), json=message(f"t{i}")))
             for i in range(5)]
    # The refresh is under way in a worker thread and the loop is still free: this
    # coroutine runs, and is the one that lets the refresh finish.
    async with asyncio.timeout(5):
        while not credential.refreshed_in:  # noqa: ASYNC110 (set by a worker thread)
            await asyncio.sleep(0)
    assert not any(s.done() for s in sends)
    credential.gate.set()
    answers = await asyncio.wait_for(asyncio.gather(*sends), 5)
    assert all(a.json()["name"].startswith(f"projects/{PROJECT}/messages/") for a in answers)
    assert len(credential.refreshed_in) == 1
    assert credential.refreshed_in[0] is not threading.main_thread()
    assert {r.authorization for r in fake.received} == {"Bearer token-1"}
    await client.aclose()


async def test_a_401_fetches_a_new_token_and_sends_once_more(fcm: tuple[FakeFcm, str]) -> None:
    fake, base = fcm
    credential = SlowToken()
    credential.gate.set()
    client = AiohttpFcmClient(credential, timeout_s=5)
    fake.scripts["t1"] = ["401", "ok"]
    answer = await client.request("post", url(base), json=message("t1"))
    assert answer.status_code == 200
    assert [r.authorization for r in fake.to("t1")] == ["Bearer token-1", "Bearer token-2"]

    fake.scripts["t2"] = ["401", "401"]   # still refused: the SDK gets the error
    with pytest.raises(httpx.HTTPStatusError) as refused:
        await client.request("post", url(base), json=message("t2"))
    assert refused.value.response.status_code == 401 and len(fake.to("t2")) == 2
    await client.aclose()


async def test_errors_come_back_as_the_httpx_errors_the_sdk_maps(
        fcm: tuple[FakeFcm, str]) -> None:
    fake, base = fcm
    credential = SlowToken()
    credential.gate.set()
    client = AiohttpFcmClient(credential, timeout_s=0.2)
    fake.scripts["t1"] = ["503"]
    with pytest.raises(httpx.HTTPStatusError) as unavailable:
        await client.request("post", url(base), json=message("t1"))
    assert unavailable.value.response.json()["error"]["status"] == "UNAVAILABLE"
    fake.scripts["t2"] = ["hang:5"]
    with pytest.raises(httpx.TimeoutException):
        await client.request("post", url(base), json=message("t2"))
    with socket.socket() as s:   # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(httpx.ConnectError):
        await client.request("post", url(closed), json=message("t3"))
    await client.aclose()
