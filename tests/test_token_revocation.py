"""Issue 14 item 11: a leaked bearer token is revoked by its jti before it expires."""

from __future__ import annotations

from datetime import UTC, datetime

from server.auth import mint_token, token_id
from server.domain.model import Role
from tests.conftest import ALL_STORES, SECRET, ApiFactory

pytestmark = ALL_STORES


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


async def test_a_revoked_token_is_refused_and_other_tokens_are_not(
        make_api: ApiFactory) -> None:
    api = await make_api()
    now = datetime.now(UTC)
    leaked = mint_token(SECRET, sub="op-7", role=Role.CONTROL_ROOM, now=now, ttl_s=3600)
    other = mint_token(SECRET, sub="op-7", role=Role.CONTROL_ROOM, now=now, ttl_s=3600)
    jti = token_id(leaked)
    assert jti and jti != token_id(other)
    assert (await api.call("GET", "/v1/incidents", headers=bearer(leaked))).status == 200

    revoked = await api.call("DELETE", f"/v1/tokens/{jti}", role="admin")

    assert revoked.status == 204
    refused = await api.call("GET", "/v1/incidents", headers=bearer(leaked))
    assert refused.status == 401 and "revoked" in refused.body["detail"]
    assert (await api.call("GET", "/v1/incidents", headers=bearer(other))).status == 200
    # Idempotent, and only for admins.
    assert (await api.call("DELETE", f"/v1/tokens/{jti}", role="admin")).status == 204
    assert (await api.call("DELETE", f"/v1/tokens/{token_id(other)}",
                           role="control_room")).status == 403


async def test_a_malformed_token_id_is_a_clear_422(make_api: ApiFactory) -> None:
    api = await make_api()

    bad = await api.call("DELETE", "/v1/tokens/short", role="admin")

    assert bad.status == 422 and bad.body["code"] == "validation_failed"
