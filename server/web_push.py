"""FCM web push for the officer app: the force's Firebase web app (BLUELIGHT_FCM_WEB_CONFIG).

The file is the config the Firebase console shows for a web app (apiKey, projectId,
messagingSenderId, appId), plus the project's public VAPID key (`vapidKey`, Cloud Messaging
> Web Push certificates) and, optionally, `appUrl`: the app's public https address, which
a notification's click opens. None of it is secret: Firebase web configs are public
identifiers, so the page may be given all of it without a token.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The Google endpoints the Firebase messaging SDK calls from the page: Installations (the
# browser's auth token) and FCM registrations (the subscription becomes an FCM token).
SDK_ORIGINS = ("https://firebaseinstallations.googleapis.com",
               "https://fcmregistrations.googleapis.com")
REQUIRED = ("apiKey", "projectId", "messagingSenderId", "appId", "vapidKey")


@dataclass(frozen=True)
class WebPushConfig:
    """A Firebase web app the officer app subscribes with."""

    api_key: str
    project_id: str
    messaging_sender_id: str
    app_id: str
    vapid_key: str
    app_url: str | None = None

    def page_json(self) -> dict[str, Any]:
        """What the page needs: the SDK's initializeApp() argument and the VAPID key."""
        return {"enabled": True, "vapid_key": self.vapid_key,
                "firebase": {"apiKey": self.api_key, "projectId": self.project_id,
                             "messagingSenderId": self.messaging_sender_id,
                             "appId": self.app_id}}


def parse(raw: Any) -> WebPushConfig:
    """Validate the decoded file; ValueError names what is wrong."""
    if not isinstance(raw, dict):
        raise ValueError("must be a JSON object")
    missing = [k for k in REQUIRED if not isinstance(raw.get(k), str) or not raw[k].strip()]
    if missing:
        raise ValueError(f"missing or empty: {', '.join(missing)}")
    _check_vapid(raw["vapidKey"])
    app_url = raw.get("appUrl")
    # FCM refuses a click link that is not https (and so does firebase-admin, before sending).
    if app_url is not None and (not isinstance(app_url, str)
                                or not app_url.startswith("https://")):
        raise ValueError("appUrl must be an https:// URL")
    return WebPushConfig(api_key=raw["apiKey"], project_id=raw["projectId"],
                         messaging_sender_id=raw["messagingSenderId"], app_id=raw["appId"],
                         vapid_key=raw["vapidKey"], app_url=app_url)


def load(path: Path) -> WebPushConfig:
    """Read and validate the file."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {str(path)!r}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{str(path)!r} is not JSON: {exc.msg} (line {exc.lineno})") from None
    return parse(raw)


def _check_vapid(key: str) -> None:
    """A VAPID public key is an uncompressed P-256 point: 65 bytes, base64url. A pasted
    private key or a typo would otherwise only fail on a phone, in pushManager.subscribe."""
    try:
        point = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    except (binascii.Error, ValueError):
        point = b""
    if len(point) != 65 or point[0] != 4:
        raise ValueError("vapidKey must be the base64url public key (65 bytes) of the "
                         "project's Web Push certificate")
