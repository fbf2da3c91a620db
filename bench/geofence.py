"""Geofence lookups: ours (Shapely STRtree in memory) against PostGIS ST_Contains + GiST."""

from __future__ import annotations

import json
import random
import time
from typing import Any

import shapely

from server.domain.geofence import GeofenceIndex
from server.domain.geojson import parse_polygon

from .common import BOUNDARIES, Result, free_port, median
from .postgis import PostGIS, Unavailable

AREAS = {"London wards": ("london_wards_2016.geojson", "WD13CD"),
         "New York NTAs": ("nyc_nta2020.geojson", "NTA2020")}


def load(file: str, id_prop: str) -> list[tuple[str, Any]]:
    """The boundaries as we store them: validated, invalid rings repaired."""
    data = json.loads((BOUNDARIES / file).read_text())
    return [(f["properties"][id_prop], parse_polygon(f["geometry"], repair=True).shape)
            for f in data["features"]]


def points(shapes: list[tuple[str, Any]], n: int, seed: int = 1) -> list[tuple[float, float]]:
    """n random (lat, lon) inside the area's bounding box."""
    minx, miny, maxx, maxy = shapely.total_bounds([s for _, s in shapes])
    rng = random.Random(seed)
    minx, miny, maxx, maxy = float(minx), float(miny), float(maxx), float(maxy)
    return [(rng.uniform(miny, maxy), rng.uniform(minx, maxx)) for _ in range(n)]


def timed(fn: Any, *args: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def ours_single(index: GeofenceIndex, pts: list[tuple[float, float]]) -> list[str | None]:
    return [index.locate(lat, lon) for lat, lon in pts]


def ours_batch(index: GeofenceIndex, pts: list[tuple[float, float]]) -> list[str | None]:
    return index.locate_many([p[0] for p in pts], [p[1] for p in pts])


class PostgisPeer:
    """The same polygons and points in PostGIS, queried as a force's GIS team would."""

    def __init__(self, db: PostGIS, shapes: list[tuple[str, Any]],
                 pts: list[tuple[float, float]]) -> None:
        self.conn = db.connect()
        c = self.conn
        c.execute("DROP TABLE IF EXISTS hoods; DROP TABLE IF EXISTS pts")
        c.execute("CREATE TABLE hoods (id text, area float8, geom geometry(Geometry, 4326))")
        with c.cursor().copy("COPY hoods (id, area, geom) FROM STDIN") as cp:
            for nid, shape in shapes:
                cp.write_row((nid, shape.area, f"SRID=4326;{shape.wkt}"))
        c.execute("CREATE INDEX ON hoods USING gist (geom)")
        c.execute("CREATE TABLE pts (id int, geom geometry(Point, 4326))")
        with c.cursor().copy("COPY pts (id, geom) FROM STDIN") as cp:
            for i, (lat, lon) in enumerate(pts):
                cp.write_row((i, f"SRID=4326;POINT({lon!r} {lat!r})"))
        c.execute("CREATE INDEX ON pts USING gist (geom); ANALYZE hoods; ANALYZE pts")

    def batch(self) -> list[str | None]:
        rows = self.conn.execute(
            "SELECT p.id, (SELECT h.id FROM hoods h WHERE ST_Contains(h.geom, p.geom)"
            " ORDER BY h.area LIMIT 1) FROM pts p ORDER BY p.id").fetchall()
        return [r[1] for r in rows]

    def single(self, pts: list[tuple[float, float]]) -> list[str | None]:
        out = []
        query = ("SELECT id FROM hoods WHERE ST_Contains(geom, ST_SetSRID(ST_MakePoint(%s, %s),"
                 " 4326)) ORDER BY area LIMIT 1")
        with self.conn.cursor() as cur:
            for lat, lon in pts:
                cur.execute(query, (lon, lat), prepare=True)
                row = cur.fetchone()
                out.append(None if row is None else row[0])
        return out

    def close(self) -> None:
        self.conn.close()


def agreement(a: list[str | None], b: list[str | None]) -> float:
    return sum(x == y for x, y in zip(a, b, strict=True)) / max(1, len(a))


def run(n_points: int, n_single: int, use_postgis: bool, rounds: int = 2) -> list[Result]:
    """Points a second for single and batch lookups over each area, ours and PostGIS's."""
    results: list[Result] = []
    db: PostGIS | None = None
    skip = ""
    if use_postgis:
        try:
            db = PostGIS(free_port()).__enter__()
        except Unavailable as exc:
            skip = f"PostGIS skipped: {exc}"
            print(skip)
    else:
        skip = "PostGIS skipped (--no-postgis)"
    try:
        for area, (file, prop) in AREAS.items():
            shapes = load(file, prop)
            index = GeofenceIndex(shapes)
            pts = points(shapes, n_points)
            sample = pts[:n_single]
            peer = PostgisPeer(db, shapes, pts) if db else None
            o_batch, o_single, p_batch, p_single = [], [], [], []
            for _ in range(rounds):  # alternate ours and the peer's on the same machine
                t, ours_b = timed(ours_batch, index, pts)
                o_batch.append(len(pts) / t)
                t, ours_s = timed(ours_single, index, sample)
                o_single.append(len(sample) / t)
                if peer:
                    t, peer_b = timed(peer.batch)
                    p_batch.append(len(pts) / t)
                    t, _ = timed(peer.single, sample)
                    p_single.append(len(sample) / t)
            assert ours_b[:len(sample)] == ours_s, "batch and single lookups disagree"
            note = skip
            if peer:
                same = agreement(ours_b, peer_b)
                note = f"same answer for {same:.4%} of {len(pts):,} points"
                peer.close()
            goal = ">= 10x PostGIS"
            for kind, ours_v, peer_v in (("batch", o_batch, p_batch),
                                         ("single", o_single, p_single)):
                r = Result(f"geofence {kind}: {area}", median(ours_v), "points/s",
                           median(peer_v) if peer_v else None,
                           "PostGIS 3 ST_Contains + GiST" + (
                               " (one query per point over loopback)" if kind == "single"
                               else " (points table joined)"),
                           goal=goal, note=note)
                r.met = None if r.ratio is None else r.ratio >= 10
                results.append(r)
    finally:
        if db:
            db.__exit__()
    return results
