"""Firebase Cloud Messaging through firebase-admin's async batch send."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import firebase_admin
from firebase_admin import _http_client, credentials, exceptions, messaging
from google.oauth2.credentials import Credentials as StaticTokenCredentials

from ..ports import PushMessage, PushOutcome
from .fcm_transport import AiohttpFcmClient

log = logging.getLogger(__name__)
_names = itertools.count(1)
# A send that takes longer than this is abandoned and retried by our own backoff (the
# SDK's client would wait 120 s, far past any acknowledgement window).
SEND_TIMEOUT_S = 5.0


def _retry_after(exc: exceptions.FirebaseError) -> float | None:
    response = getattr(exc, "http_response", None)
    raw = None if response is None else response.headers.get("Retry-After")
    try:
        return None if raw is None else max(0.0, float(raw))
    except ValueError:
        return None


def classify(exc: exceptions.FirebaseError) -> PushOutcome:
    """Map an FCM error to what Bluelight does next: forget, retry or give up."""
    code = type(exc).__name__
    if isinstance(exc, messaging.UnregisteredError | messaging.SenderIdMismatchError):
        return PushOutcome("unregistered", error_code=code)
    if isinstance(exc, exceptions.InvalidArgumentError):
        return PushOutcome("invalid", error_code=code)
    if isinstance(exc, messaging.QuotaExceededError | exceptions.ResourceExhaustedError
                  | exceptions.UnavailableError | exceptions.InternalError
                  | exceptions.DeadlineExceededError | exceptions.UnknownError):
        return PushOutcome("retry", error_code=code, retry_after_s=_retry_after(exc))
    return PushOutcome("failed", error_code=code)


def _webpush(m: PushMessage, ttl: int, link: str | None) -> messaging.WebpushConfig:
    """The officer app's browsers: an alert is a notification that stays until answered,
    tagged by alert so a repeat replaces it; the click opens the app. A silent update carries
    data only: the app's service worker shows it quietly in the alert's place."""
    notification = None
    if m.title is not None:
        notification = messaging.WebpushNotification(
            tag=m.data.get("alert_id"), require_interaction=True, renotify=True)
    return messaging.WebpushConfig(
        headers={"Urgency": "high", "TTL": str(ttl)}, notification=notification,
        fcm_options=messaging.WebpushFCMOptions(link=link) if link else None)


def to_fcm(m: PushMessage, web_link: str | None = None) -> messaging.Message:
    """Android high priority, APNs priority 10 and time-sensitive for alerts, web push
    urgency high; TTL on all. FCM applies the section of the token's platform."""
    ttl = max(1, m.ttl_s)
    if m.title is not None:
        apns = messaging.APNSConfig(
            headers={"apns-priority": "10", "apns-push-type": "alert",
                     "apns-expiration": str(int(time.time()) + ttl)},
            payload=messaging.APNSPayload(aps=messaging.Aps(
                sound="default", custom_data={"interruption-level": "time-sensitive"})))
        notification = messaging.Notification(title=m.title, body=m.body)
    else:  # a silent data message (e.g. "taken by someone else": the app clears the alert)
        apns = messaging.APNSConfig(
            headers={"apns-priority": "5", "apns-push-type": "background",
                     "apns-expiration": str(int(time.time()) + ttl)},
            payload=messaging.APNSPayload(aps=messaging.Aps(content_available=True)))
        notification = None
    # firebase-admin 7.7 deprecates Message.token for `fid`; both address the same device.
    return messaging.Message(
        fid=m.token, data=m.data, notification=notification, apns=apns,
        android=messaging.AndroidConfig(priority="high", ttl=timedelta(seconds=ttl)),
        webpush=_webpush(m, ttl, web_link))


class FcmPush:
    """Push port on FCM. `endpoint` replaces https://fcm.googleapis.com (staging, tests);
    `web_link` is the officer app's https address, opened by a click on a web notification."""

    def __init__(self, *, project_id: str, credentials_file: str | None = None,
                 access_token: str | None = None, endpoint: str | None = None,
                 send_timeout_s: float = SEND_TIMEOUT_S, web_link: str | None = None) -> None:
        self._timeout = send_timeout_s
        self._web_link = web_link
        cred: Any
        if access_token:  # a fixed OAuth bearer token: staging and tests only
            cred = StaticTokenCredentials(token=access_token)  # type: ignore[no-untyped-call]
        elif credentials_file:
            cred = credentials.Certificate(credentials_file)
        else:
            raise ValueError("FCM needs a service-account file or an access token")
        self._app = firebase_admin.initialize_app(
            cred, {"projectId": project_id, "httpTimeout": send_timeout_s},
            name=f"bluelight-{next(_names)}")
        self._service = messaging._get_messaging_service(self._app)
        # Our transport in place of the SDK's httpx client (fcm_transport.py says why). The
        # SDK's client also retried a 500 or 503 up to four times by itself, hidden from the
        # delivery record and blind to the ack window; each send here is one attempt, and
        # the notifier's backoff decides, per device. tests/test_push_fcm.py checks that a
        # 503 is sent once and that the SDK still sends through this attribute.
        self._service._async_client = AiohttpFcmClient(
            self._service._credential, timeout_s=send_timeout_s,
            headers=_http_client.METRICS_HEADERS)
        if endpoint:
            # The SDK has no endpoint setting: it keeps the URL in a private attribute.
            # tests/test_push_fcm.py fails loudly if an SDK upgrade moves it.
            base = endpoint.rstrip("/")
            self._service._fcm_url = f"{base}/v1/projects/{project_id}/messages:send"

    async def send(self, messages: Sequence[PushMessage]) -> list[PushOutcome]:
        """One request per message, side by side, each with its own timeout: a device whose
        sends hang costs at most the timeout and never holds back the others' pushes (a
        batch call waits for its slowest message). Errors come back per message."""
        return list(await asyncio.gather(*(self._one(m) for m in messages)))

    async def _one(self, message: PushMessage) -> PushOutcome:
        try:
            async with asyncio.timeout(min(self._timeout, max(1.0, message.ttl_s))):
                result = await messaging.send_each_async([to_fcm(message, self._web_link)],
                                                         app=self._app)
        except TimeoutError:
            return PushOutcome("retry", error_code="timeout")
        except exceptions.FirebaseError as exc:
            return classify(exc)
        r = result.responses[0]
        return (PushOutcome("sent", message_id=r.message_id) if r.success
                else classify(r.exception))

    async def close(self) -> None:
        """Close the async HTTP client, then delete the app off the loop (it would block)."""
        client = getattr(self._service, "_async_client", None)
        if client is not None:
            await client.aclose()
        await asyncio.to_thread(firebase_admin.delete_app, self._app)
