"""In-memory geofence index: which neighbourhood contains a point (smallest wins)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import shapely
from shapely.geometry.base import BaseGeometry

from .geogrid import OUTSIDE, UNRESOLVED, Grid
from .geojson import area_m2
from .model import Overlap

# Overlaps smaller than this are digitising slivers between neighbours, not real overlaps.
MIN_OVERLAP_M2 = 1.0


class GeofenceIndex:
    """An immutable STRtree over prepared neighbourhood polygons; rebuild it to change it.

    The grid that answers most lookups without a polygon test takes about a second for a
    city's 650 wards: `gridded=False` builds the index without it (lookups query the tree,
    same answers, slower) so a server can be ready at once, and `with_grid()` adds it."""

    def __init__(self, entries: Sequence[tuple[str, BaseGeometry]], *,
                 gridded: bool = True) -> None:
        self.ids: list[str] = [nid for nid, _ in entries]
        self._geoms = np.array([g for _, g in entries], dtype=object)
        for g in self._geoms:
            shapely.prepare(g)
        self._areas = shapely.area(self._geoms) if len(entries) else np.array([])
        self._tree = shapely.STRtree(self._geoms)
        # A point inside each area (a centroid can fall outside a crescent or an island set).
        inside = shapely.point_on_surface(self._geoms) if len(entries) else []
        self._inside = {nid: (float(p.y), float(p.x)) for nid, p in zip(self.ids, inside,
                                                                         strict=True)}
        self._grid = Grid(self._geoms, self._areas, self._tree) if gridded else None
        self._bounds = (tuple(float(b) for b in shapely.total_bounds(self._geoms))
                        if len(entries) else (0.0, 0.0, 0.0, 0.0))

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def gridded(self) -> bool:
        """True once the grid is built."""
        return self._grid is not None

    def with_grid(self) -> GeofenceIndex:
        """The same neighbourhoods as a new index with its grid (self if it has one). It is
        built from copies of the shapes: this runs in a thread while the tree-only index
        keeps answering on the loop, and one GEOS geometry (a prepared one above all) must
        never be used by two threads at once."""
        if self._grid is not None:
            return self
        copies = shapely.from_wkb(shapely.to_wkb(self._geoms))
        return GeofenceIndex(list(zip(self.ids, copies, strict=True)), gridded=True)

    def _by_tree(self, lat: float, lon: float) -> str | None:
        """Without the grid: the smallest polygon the tree says contains the point."""
        hits = self._tree.query(shapely.points(lon, lat), predicate="intersects")
        if len(hits) == 0:
            return None
        return self.ids[int(hits[np.argmin(self._areas[hits])])]

    def distance_km(self, lat: float, lon: float) -> float | None:
        """Roughly how far (lat, lon) is from the box around every neighbourhood (0 inside
        it), or None with no neighbourhoods: enough to tell "across town" from "abroad"."""
        return self.box_distance_km(lon, lat, lon, lat)

    def box_distance_km(self, west: float, south: float, east: float,
                        north: float) -> float | None:
        """The same for a place's bounding box (a city a network tags a post with): 0 if
        it touches the box around the neighbourhoods, so a country that holds them is not
        far. A box whose west is east of its east crosses the antimeridian."""
        if not self.ids:
            return None
        w, s, e, n = self._bounds
        dlat = max(s - north, 0.0, south - n)
        spans = [(west, east)] if west <= east else [(west, 180.0), (-180.0, east)]
        dlon = min(_lon_gap(a, b, w, e) for a, b in spans)
        # Degrees of longitude shrink away from the equator: at the place's nearest latitude
        # to it (a point's own).
        low = 0.0 if south <= 0.0 <= north else min(abs(south), abs(north))
        dlon *= math.cos(math.radians(min(low, 89.0)))
        return 111.2 * math.hypot(dlat, dlon)

    def inside_point(self, nid: str) -> tuple[float, float] | None:
        """(lat, lon) of a point inside the neighbourhood, to dispatch to when a post has
        no coordinates."""
        return self._inside.get(nid)

    def locate(self, lat: float, lon: float) -> str | None:
        """The id of the smallest neighbourhood containing (lat, lon), or None."""
        if self._grid is None:
            return self._by_tree(lat, lon)
        cell = self._grid.cell(lat, lon)
        if cell == OUTSIDE:
            return None
        found = int(self._grid.answer[cell])
        if found >= 0:
            return self.ids[found]
        if found == OUTSIDE:
            return None
        for i in self._grid.candidates[cell]:  # smallest area first
            if shapely.intersects_xy(self._geoms[i], lon, lat):
                return self.ids[int(i)]
        return None

    def locate_many(self, lats: Sequence[float], lons: Sequence[float]) -> list[str | None]:
        """Vectorised locate: one id (or None) per point, smallest containing area first."""
        n = len(lats)
        result: list[str | None] = [None] * n
        if n == 0 or not self.ids:
            return result
        if self._grid is None:
            return [self._by_tree(lat, lon) for lat, lon in zip(lats, lons, strict=True)]
        lat_a, lon_a = np.asarray(lats, dtype=float), np.asarray(lons, dtype=float)
        cells = self._grid.cells(lat_a, lon_a)
        answers = np.where(cells >= 0, self._grid.answer[np.maximum(cells, 0)], OUTSIDE)
        for p in np.flatnonzero(answers >= 0):
            result[int(p)] = self.ids[int(answers[p])]
        todo = np.flatnonzero(answers == UNRESOLVED)
        if len(todo) == 0:
            return result
        # Each unresolved point against its cell's candidates, tested polygon by polygon
        # (one vectorised call per polygon on its prepared geometry).
        lists = [self._grid.candidates[int(c)] for c in cells[todo]]
        pt = np.repeat(todo, [len(x) for x in lists])
        poly = np.concatenate(lists)
        hit = np.zeros(len(pt), dtype=bool)
        order = np.argsort(poly, kind="stable")
        bounds = np.flatnonzero(np.r_[True, poly[order][1:] != poly[order][:-1], True])
        for s, e in itertools.pairwise(bounds):
            sel = order[s:e]
            hit[sel] = shapely.intersects_xy(self._geoms[poly[sel[0]]], lon_a[pt[sel]],
                                             lat_a[pt[sel]])
        # Candidates are listed smallest area first: the first hit of each point wins.
        for p, g in zip(pt[hit], poly[hit], strict=True):
            if result[int(p)] is None:
                result[int(p)] = self.ids[int(g)]
        return result

    def overlaps(self, among: set[str] | None = None) -> list[Overlap]:
        """Pairs of neighbourhoods whose areas overlap (optionally only pairs touching `among`)."""
        left, right = self._tree.query(self._geoms, predicate="intersects")
        keep = left < right
        left, right = left[keep], right[keep]
        if among is not None:
            mask = [self.ids[a] in among or self.ids[b] in among
                    for a, b in zip(left, right, strict=True)]
            left, right = left[mask], right[mask]
        found: list[Overlap] = []
        if len(left) == 0:
            return found
        shared = shapely.intersection(self._geoms[left], self._geoms[right])
        for a, b, geom in zip(left, right, shared, strict=True):
            if geom.is_empty or shapely.area(geom) == 0:
                continue
            m2 = area_m2(geom)
            if m2 >= MIN_OVERLAP_M2:
                found.append(Overlap(self.ids[int(a)], self.ids[int(b)], round(m2, 1)))
        return found


def shapes_of(entries: Sequence[tuple[str, dict[str, Any]]]) -> list[tuple[str, BaseGeometry]]:
    """Turn stored GeoJSON geometries into Shapely shapes for the index."""
    # orjson: json.dumps took 50 ms of a restart for a city's 649 neighbourhoods (1 MB)
    shapes = shapely.from_geojson([orjson.dumps(g) for _, g in entries])
    return [(nid, shape) for (nid, _), shape in zip(entries, shapes, strict=True)]


def _lon_gap(a: float, b: float, west: float, east: float) -> float:
    """Degrees of longitude between the spans [a, b] and [west, east], the short way."""
    gap = max(west - b, 0.0, a - east)
    return min(gap, 360.0 - gap) if gap > 0 else 0.0
