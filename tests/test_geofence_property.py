"""The geofence against an independent answer: brute force over every real polygon.

Broken variant it catches: the grid treating a cell that merely intersects a polygon as
covered by it (then points near a boundary land in the wrong neighbourhood)."""

from __future__ import annotations

from functools import cache

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.geofence import GeofenceIndex, shapes_of
from tests.conftest import load_boundaries

CITIES = {"london": ("london_wards_2016.geojson", "WD13CD"),
          "nyc": ("nyc_nta2020.geojson", "NTA2020")}


@cache
def city(name: str) -> tuple[GeofenceIndex, list[str], np.ndarray]:
    path, key = CITIES[name]
    entries = shapes_of([(f["properties"][key], f["geometry"])
                         for f in load_boundaries(path)["features"]])
    geoms = np.array([g for _, g in entries], dtype=object)
    return GeofenceIndex(entries), [nid for nid, _ in entries], geoms


def brute_force(name: str, lats: np.ndarray, lons: np.ndarray) -> list[str | None]:
    """The smallest polygon containing each point, by testing every polygon."""
    _, ids, geoms = city(name)
    areas = shapely.area(geoms)
    best = np.full(len(lats), -1)
    for i in np.argsort(areas, kind="stable")[::-1]:   # largest first: smaller ones overwrite
        best[shapely.intersects_xy(geoms[i], lons, lats)] = i
    return [ids[i] if i >= 0 else None for i in best]


def points(name: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    _, _, geoms = city(name)
    west, south, east, north = shapely.total_bounds(geoms)
    rng = np.random.default_rng(seed)
    return rng.uniform(south, north, n), rng.uniform(west, east, n)


def test_batch_lookup_equals_brute_force_on_10000_points_per_city() -> None:
    for name in CITIES:
        lats, lons = points(name, 10_000, 7)
        index = city(name)[0]
        assert index.locate_many(list(lats), list(lons)) == brute_force(name, lats, lons), name


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(CITIES)), st.floats(0, 1), st.floats(0, 1))
def test_single_lookup_equals_brute_force(name: str, fy: float, fx: float) -> None:
    index, _, geoms = city(name)
    west, south, east, north = shapely.total_bounds(geoms)
    lat, lon = south + fy * (north - south), west + fx * (east - west)
    assert index.locate(lat, lon) == brute_force(name, np.array([lat]), np.array([lon]))[0]


def test_the_index_without_its_grid_gives_the_same_answers() -> None:
    """A restarted server serves from the tree alone until the grid is built (a second for
    a city): the answers must not change when the grid arrives."""
    for name in CITIES:
        gridded = city(name)[0]
        entries = list(zip(city(name)[1], city(name)[2], strict=True))
        bare = GeofenceIndex(entries, gridded=False)
        lats, lons = points(name, 1_500, 11)
        truth = brute_force(name, lats, lons)
        assert not bare.gridded and gridded.gridded
        assert [bare.locate(a, b) for a, b in zip(lats, lons, strict=True)] == truth, name
        assert bare.locate_many(list(lats), list(lons)) == truth, name
        full = bare.with_grid()
        assert full.gridded and not bare.gridded    # a new index: readers of the old one
        assert full.locate_many(list(lats), list(lons)) == truth, name
