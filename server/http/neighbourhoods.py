"""Handlers for /v1/neighbourhoods: admin edits, imports, and point lookups."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .. import keys
from ..domain.model import ImportSummary, Neighbourhood
from .io import json_response, query_bool, query_float, query_str, read_json
from .routing import ADMIN, STAFF, Route


def neighbourhood_json(n: Neighbourhood, *, geometry: bool = True) -> dict[str, Any]:
    """The API shape of a neighbourhood."""
    data: dict[str, Any] = {"id": n.id, "name": n.name, "places": list(n.places),
                            "area_m2": n.area_m2, "created_at": n.created_at,
                            "updated_at": n.updated_at}
    if geometry:
        data["geometry"] = n.geometry
    return data


def summary_json(s: ImportSummary) -> dict[str, Any]:
    """The API shape of an import summary."""
    return {
        "counts": {"created": len(s.created), "updated": len(s.updated),
                   "rejected": len(s.rejected), "repaired": len(s.repaired),
                   "overlaps": len(s.overlaps)},
        "created": s.created, "updated": s.updated, "repaired": s.repaired,
        "rejected": [{"index": r.index, "id": r.id, "reason": r.reason} for r in s.rejected],
        "overlaps": [{"a": o.a, "b": o.b, "area_m2": o.area_m2} for o in s.overlaps],
    }


async def put_neighbourhood(request: web.Request) -> web.Response:
    """Create or replace one neighbourhood from a GeoJSON Feature."""
    body = await read_json(request, large=True)
    stored, created, repaired = await request.app[keys.NEIGHBOURHOODS].put(
        request.match_info["id"], body, repair=query_bool(request, "repair"),
        now=request.app[keys.CLOCK].now())
    return json_response({**neighbourhood_json(stored), "repaired": repaired},
                         201 if created else 200)


async def import_neighbourhoods(request: web.Request) -> web.Response:
    """Import a FeatureCollection; bad features are reported, good ones stored."""
    id_property = query_str(request, "id_property", "id")
    name_property = query_str(request, "name_property", "name")
    repair = query_bool(request, "repair")
    body = await read_json(request, large=True)
    summary = await request.app[keys.NEIGHBOURHOODS].import_collection(
        body, id_property=id_property, name_property=name_property, repair=repair,
        now=request.app[keys.CLOCK].now())
    return json_response(summary_json(summary))


async def list_neighbourhoods(request: web.Request) -> web.Response:
    """All neighbourhoods; with ?geometry=true their shapes too (for a map)."""
    shapes = query_bool(request, "geometry")
    items = await request.app[keys.NEIGHBOURHOODS].list_all(with_geometry=shapes)
    return json_response({"items": [neighbourhood_json(n, geometry=shapes) for n in items],
                          "count": len(items)})


async def get_neighbourhood(request: web.Request) -> web.Response:
    """One neighbourhood with its geometry."""
    found = await request.app[keys.NEIGHBOURHOODS].get(request.match_info["id"])
    return json_response(neighbourhood_json(found))


async def delete_neighbourhood(request: web.Request) -> web.Response:
    """Delete one neighbourhood."""
    await request.app[keys.NEIGHBOURHOODS].delete(request.match_info["id"])
    return web.Response(status=204)


async def locate(request: web.Request) -> web.Response:
    """The neighbourhood containing a point (the smallest, where they overlap)."""
    lat = query_float(request, "lat", -90.0, 90.0)
    lon = query_float(request, "lon", -180.0, 180.0)
    found = await request.app[keys.NEIGHBOURHOODS].locate(lat, lon)
    hood = None if found is None else {"id": found[0], "name": found[1]}
    return json_response({"lat": lat, "lon": lon, "neighbourhood": hood})


# {id} never matches the fixed words, so /locate and /import answer 405 with an exact Allow.
ID_PATH = "/v1/neighbourhoods/{id:(?!(?:locate|import)$)[^/]+}"
ROUTES = [
    # Fixed paths first: aiohttp matches in order, and {id} would swallow them.
    Route("GET", "/v1/neighbourhoods/locate", locate, STAFF),
    Route("POST", "/v1/neighbourhoods/import", import_neighbourhoods, ADMIN),
    Route("GET", "/v1/neighbourhoods", list_neighbourhoods, STAFF),
    Route("PUT", ID_PATH, put_neighbourhood, ADMIN),
    Route("GET", ID_PATH, get_neighbourhood, STAFF),
    Route("DELETE", ID_PATH, delete_neighbourhood, ADMIN),
]
