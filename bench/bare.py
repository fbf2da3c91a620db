"""The framework's ceiling: a bare aiohttp handler that returns a fixed JSON body."""

from __future__ import annotations

import argparse

from aiohttp import web

BODY = b'{"id": "rep_0", "incident_id": "inc_0", "priority": "P4", "category": "other"}'


async def handle(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=BODY, status=201, content_type="application/json")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_post("/v1/reports", handle)
    app.router.add_get("/readyz", lambda r: web.Response(text="ok"))
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
