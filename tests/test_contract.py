"""The served routes and openapi.yaml agree, and every /v1 route declares its roles."""

from __future__ import annotations

from openapi_spec_validator import validate

from server import keys
from server.http.openapi import HTTP_METHODS, load_spec
from tests.conftest import Api


def served_routes(api: Api) -> set[tuple[str, str]]:
    return {(r.method, r.resource.canonical) for r in api.app.router.routes()
            if r.resource is not None and r.method != "HEAD"}


def spec_routes() -> set[tuple[str, str]]:
    return {(m.upper(), p) for p, item in load_spec()["paths"].items()
            for m in item if m in HTTP_METHODS}


def test_spec_is_valid_openapi() -> None:
    validate(load_spec())


async def test_served_routes_match_the_spec(api: Api) -> None:
    assert served_routes(api) == spec_routes()


async def test_roles_in_code_match_x_roles_in_spec(api: Api) -> None:
    spec = load_spec()
    table = api.app[keys.ROUTE_ROLES]
    for method, path in spec_routes():
        declared = spec["paths"][path][method.lower()]["x-roles"]
        roles = table[(method, path)]
        if path.startswith("/v1"):
            assert roles, f"{method} {path} declares no roles"
        assert sorted(r.value for r in roles or ()) == sorted(declared), (method, path)
