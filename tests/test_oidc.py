"""Production identity: the force IdP's JWTs checked against a JWKS served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from server.security import oidc
from server.settings import DEFAULT_RATE_LIMITS, Settings, SettingsError
from tests.conftest import Api, ApiFactory, eventually

ISSUER, AUDIENCE = "https://idp.police.example", "bluelight"


@dataclass
class FakeIdp:
    """A JWKS endpoint whose keys can be rotated; counts how often it was asked."""

    keys: dict[str, Any] = field(default_factory=dict)
    fetches: int = 0

    def add_rsa(self, kid: str) -> Any:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.keys[kid] = ("RS256", key)
        return key

    def add_ec(self, kid: str) -> Any:
        key = ec.generate_private_key(ec.SECP256R1())
        self.keys[kid] = ("ES256", key)
        return key

    async def jwks(self, request: web.Request) -> web.Response:
        self.fetches += 1
        out = []
        for kid, (alg, key) in self.keys.items():
            algo = RSAAlgorithm if alg == "RS256" else ECAlgorithm
            jwk = algo.to_jwk(key.public_key(), as_dict=True)
            out.append({**jwk, "kid": kid, "alg": alg, "use": "sig"})
        return web.json_response({"keys": out})

    def token(self, kid: str, *, roles: Any = "bluelight-control", aud: str = AUDIENCE,
              iss: str = ISSUER, ttl: int = 300, sub: str = "op-42") -> str:
        alg, key = self.keys[kid]
        now = datetime.now(UTC)
        claims = {"iss": iss, "aud": aud, "sub": sub, "groups": roles,
                  "iat": now, "exp": now + timedelta(seconds=ttl)}
        return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


@pytest.fixture
async def idp() -> AsyncIterator[tuple[FakeIdp, str]]:
    fake = FakeIdp()
    app = web.Application()
    app.router.add_get("/jwks", fake.jwks)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield fake, str(server.make_url("/jwks"))
    await server.close()


@pytest.fixture
async def oidc_api(make_api: ApiFactory, settings: Settings,
                   idp: tuple[FakeIdp, str]) -> Api:
    return await make_api(settings=replace(
        settings, auth="oidc", oidc_issuer=ISSUER, oidc_audience=AUDIENCE,
        oidc_jwks_url=idp[1], oidc_role_claim="groups",
        oidc_role_map=(("bluelight-control", "control_room"), ("bluelight-admins", "admin")),
        # These tests send floods of bad tokens on purpose; the failure limit has its own test.
        rate_limits=DEFAULT_RATE_LIMITS + ",auth_failures=1000/1000"))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_rs256_and_es256_tokens_map_to_roles(oidc_api: Api,
                                                   idp: tuple[FakeIdp, str]) -> None:
    fake, _ = idp
    fake.add_rsa("rsa-1")
    fake.add_ec("ec-1")
    r = await oidc_api.get("/v1/incidents", headers=bearer(fake.token("rsa-1")))
    assert r.status == 200
    r = await oidc_api.get("/v1/api-keys", headers=bearer(fake.token("ec-1")))
    assert r.status == 403  # control room, not admin
    admin = fake.token("ec-1", roles=["staff", "bluelight-admins"])
    assert (await oidc_api.get("/v1/api-keys", headers=bearer(admin))).status == 200
    assert fake.fetches == 1  # the keys were cached


async def test_bad_tokens_are_refused(oidc_api: Api, idp: tuple[FakeIdp, str]) -> None:
    fake, _ = idp
    fake.add_rsa("rsa-1")
    cases = {
        "wrong audience": fake.token("rsa-1", aud="another-app"),
        "wrong issuer": fake.token("rsa-1", iss="https://evil.example"),
        "expired": fake.token("rsa-1", ttl=-120),
        "no role": fake.token("rsa-1", roles=["canteen"]),
        "hs256": jwt.encode({"sub": "x"}, "s" * 32, algorithm="HS256",
                            headers={"kid": "rsa-1"}),
    }
    for name, token in cases.items():
        r = await oidc_api.get("/v1/incidents", headers=bearer(token))
        assert r.status == 401, name


async def test_unknown_kid_refreshes_the_keys(oidc_api: Api, idp: tuple[FakeIdp, str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oidc, "MIN_REFRESH_S", 0.3)
    fake, _ = idp
    fake.add_rsa("old")
    assert (await oidc_api.get("/v1/incidents", headers=bearer(fake.token("old")))).status == 200
    fake.add_rsa("rotated")  # the IdP rotates its keys

    async def accepted() -> bool:
        r = await oidc_api.get("/v1/incidents", headers=bearer(fake.token("rotated")))
        return r.status == 200

    await eventually(accepted, within=3)
    assert fake.fetches == 2
    forged = FakeIdp()
    forged.add_rsa("made-up")
    for _ in range(20):  # a flood of unknown kids refreshes at most once per interval
        r = await oidc_api.get("/v1/incidents", headers=bearer(forged.token("made-up")))
        assert r.status == 401
    assert fake.fetches <= 4


def test_oidc_settings_fail_fast() -> None:
    with pytest.raises(SettingsError, match="BLUELIGHT_OIDC_ISSUER"):
        Settings.from_env({"BLUELIGHT_AUTH": "oidc"})
    with pytest.raises(SettingsError, match="ROLE_MAP"):
        Settings.from_env({"BLUELIGHT_AUTH": "oidc", "BLUELIGHT_OIDC_ISSUER": ISSUER,
                           "BLUELIGHT_OIDC_AUDIENCE": AUDIENCE,
                           "BLUELIGHT_OIDC_JWKS_URL": "https://idp/jwks",
                           "BLUELIGHT_OIDC_ROLE_MAP": "group=superuser"})
    ok = Settings.from_env({"BLUELIGHT_AUTH": "oidc", "BLUELIGHT_OIDC_ISSUER": ISSUER,
                            "BLUELIGHT_OIDC_AUDIENCE": AUDIENCE,
                            "BLUELIGHT_OIDC_JWKS_URL": "https://idp/jwks",
                            "BLUELIGHT_OIDC_ROLE_MAP": "g1=admin, g2=officer"})
    assert ok.oidc_role_map == (("g1", "admin"), ("g2", "officer"))


def test_browser_sign_in_settings_come_all_together() -> None:
    base = {"BLUELIGHT_AUTH": "oidc", "BLUELIGHT_OIDC_ISSUER": ISSUER,
            "BLUELIGHT_OIDC_AUDIENCE": AUDIENCE, "BLUELIGHT_OIDC_JWKS_URL": "https://idp/jwks"}
    assert Settings.from_env(base).oidc_client_id is None
    with pytest.raises(SettingsError, match="BLUELIGHT_OIDC_TOKEN_URL"):
        Settings.from_env({**base, "BLUELIGHT_OIDC_CLIENT_ID": "web",
                           "BLUELIGHT_OIDC_AUTHORIZE_URL": "https://idp/authorize"})
    with pytest.raises(SettingsError, match="must be an http"):
        Settings.from_env({**base, "BLUELIGHT_OIDC_CLIENT_ID": "web",
                           "BLUELIGHT_OIDC_AUTHORIZE_URL": "idp/authorize",
                           "BLUELIGHT_OIDC_TOKEN_URL": "https://idp/token"})
    ok = Settings.from_env({**base, "BLUELIGHT_OIDC_CLIENT_ID": "web",
                            "BLUELIGHT_OIDC_AUTHORIZE_URL": "https://idp/authorize",
                            "BLUELIGHT_OIDC_TOKEN_URL": "https://idp/token"})
    assert ok.oidc_token_url == "https://idp/token"
