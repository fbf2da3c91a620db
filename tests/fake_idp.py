"""A force identity provider on 127.0.0.1 for browser sign-in: the authorization endpoint
(a user already signed in at the IdP: it answers at once with a code), the token endpoint
(authorization_code with PKCE S256, checked as RFC 7636 says; CORS for the page), and the
JWKS the server verifies the RS256 access tokens with."""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import jwt
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER, AUDIENCE, CLIENT_ID = "https://idp.police.example", "bluelight", "bluelight-web"


class FakeIdp:
    """Signs in `user` with `groups`; records what the token endpoint was asked."""

    def __init__(self, user: str = "op-7", groups: tuple[str, ...] = ("cad-operators",)) -> None:
        self.user, self.groups = user, groups
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.codes: dict[str, dict[str, str]] = {}
        self.token_requests: list[dict[str, str]] = []
        self.refusals: list[str] = []
        app = web.Application()
        app.router.add_get("/authorize", self._authorize)
        app.router.add_post("/token", self._token)
        app.router.add_route("OPTIONS", "/token", self._preflight)
        app.router.add_get("/jwks", self._jwks)
        self.server = TestServer(app, host="127.0.0.1")

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    async def __aenter__(self) -> FakeIdp:
        await self.server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.close()

    async def _authorize(self, request: web.Request) -> web.Response:
        q = request.query
        if (q.get("response_type") != "code" or q.get("client_id") != CLIENT_ID
                or q.get("code_challenge_method") != "S256" or not q.get("code_challenge")):
            return web.Response(status=400, text="bad authorization request")
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"challenge": q["code_challenge"], "redirect_uri": q["redirect_uri"]}
        raise web.HTTPFound(f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}")

    def _cors(self, response: web.Response) -> web.Response:
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        return response

    async def _preflight(self, request: web.Request) -> web.Response:
        return self._cors(web.Response(status=204))

    def _refuse(self, why: str) -> web.Response:
        self.refusals.append(why)
        return self._cors(web.json_response({"error": "invalid_grant",
                                             "error_description": why}, status=400))

    async def _token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.token_requests.append({k: str(v) for k, v in form.items()})
        issued = self.codes.pop(str(form.get("code")), None)   # a code is single-use
        if issued is None:
            return self._refuse("unknown or used code")
        if form.get("redirect_uri") != issued["redirect_uri"] or form.get("client_id") != CLIENT_ID:
            return self._refuse("redirect_uri or client_id does not match")
        digest = hashlib.sha256(str(form.get("code_verifier", "")).encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != issued["challenge"]:
            return self._refuse("PKCE verification failed")
        now = datetime.now(UTC)
        claims: dict[str, Any] = {"iss": ISSUER, "aud": AUDIENCE, "sub": self.user,
                                  "groups": list(self.groups), "iat": now,
                                  "exp": now + timedelta(minutes=10)}
        access = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "k1"})
        return self._cors(web.json_response({"access_token": access, "token_type": "Bearer",
                                             "expires_in": 600}))

    async def _jwks(self, request: web.Request) -> web.Response:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return web.json_response({"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]})
