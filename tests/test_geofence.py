"""Unit tests for the geofence index, including the real London and New York boundaries."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
import shapely

from server.adapters.sqlite.store import SqliteStore
from server.domain.geofence import GeofenceIndex, shapes_of
from server.services.geofence import GeofenceService
from server.services.neighbourhoods import NeighbourhoodService
from tests.conftest import eventually, feature, load_boundaries, square


def small_index() -> GeofenceIndex:
    return GeofenceIndex(shapes_of([
        ("big", square(0, 0, 1.0)),
        ("small", square(0.2, 0.2, 0.1)),
        ("east", square(1.0, 0, 1.0)),
    ]))


def test_smallest_containing_wins_where_they_overlap() -> None:
    index = small_index()
    assert index.locate(0.25, 0.25) == "small"
    assert index.locate(0.5, 0.5) == "big"
    assert index.locate(0.5, 1.5) == "east"
    assert index.locate(5, 5) is None


def test_batch_lookup_agrees_with_single_lookups() -> None:
    index = small_index()
    rng = random.Random(7)
    lats = [rng.uniform(-0.5, 1.5) for _ in range(2000)]
    lons = [rng.uniform(-0.5, 2.5) for _ in range(2000)]
    singles = [index.locate(a, o) for a, o in zip(lats, lons, strict=True)]
    assert index.locate_many(lats, lons) == singles


def test_how_far_a_point_or_a_place_is_from_the_neighbourhoods() -> None:
    index = small_index()   # its neighbourhoods span lon 0..2, lat 0..1
    assert index.distance_km(0.5, 1.0) == 0.0
    assert index.distance_km(0.0, 3.0) == pytest.approx(111.2)
    assert index.box_distance_km(-10, -10, 10, 10) == 0.0       # a country around them
    assert index.box_distance_km(3, 0, 4, 1) == pytest.approx(111.2)    # a city east
    assert index.box_distance_km(0, 2, 1, 3) == pytest.approx(111.2)    # and one north
    # Across the antimeridian (west > east): the short way round, 177 degrees.
    assert index.box_distance_km(179, 0, -179, 1) == pytest.approx(177 * 111.2)
    assert GeofenceIndex([]).box_distance_km(0, 0, 1, 1) is None


def test_empty_index() -> None:
    index = GeofenceIndex([])
    assert index.locate(0, 0) is None and index.locate_many([0], [0]) == [None]


def test_overlaps_report_area_and_ignore_shared_edges() -> None:
    overlaps = small_index().overlaps()
    assert [(o.a, o.b) for o in overlaps] == [("big", "small")]
    assert 1.0e8 < overlaps[0].area_m2 < 1.4e8  # 0.1 x 0.1 degrees near the equator
    assert small_index().overlaps(among={"east"}) == []


def london() -> GeofenceIndex:
    data = load_boundaries("london_wards_2016.geojson")
    return GeofenceIndex(shapes_of([(f["properties"]["WD13CD"], f["geometry"])
                                    for f in data["features"]]))


def test_london_known_points() -> None:
    data = load_boundaries("london_wards_2016.geojson")
    names = {f["properties"]["WD13CD"]: f["properties"]["WD13NM"] for f in data["features"]}
    index = london()
    assert len(index) == 649
    assert names[index.locate(51.5080, -0.1281) or ""] == "St James's"  # Charing Cross
    assert names[index.locate(51.5014, -0.1419) or ""] == "St James's"  # Buckingham Palace
    assert names[index.locate(51.5031, -0.1132) or ""] == "Bishop's"  # Waterloo station
    assert names[index.locate(51.5138, -0.0984) or ""] == "Castle Baynard"  # St Paul's
    assert index.locate(51.4545, -2.5879) is None  # Bristol is not in London


def test_nyc_known_points_with_multipolygons() -> None:
    data = load_boundaries("nyc_nta2020.geojson")
    index = GeofenceIndex(shapes_of([(f["properties"]["NTAName"], f["geometry"])
                                     for f in data["features"]]))
    assert index.locate(40.7580, -73.9855) == "Midtown-Times Square"
    assert index.locate(40.6892, -74.0445) is not None  # Liberty Island, an island part
    assert index.locate(40.7, -73.5) is None  # the Atlantic


def test_batch_matches_single_on_real_wards() -> None:
    index = london()
    rng = random.Random(1)
    minx, miny, maxx, maxy = shapely.total_bounds(index._geoms)
    lats = [rng.uniform(miny, maxy) for _ in range(3000)]
    lons = [rng.uniform(minx, maxx) for _ in range(3000)]
    singles = [index.locate(a, o) for a, o in zip(lats, lons, strict=True)]
    assert index.locate_many(lats, lons) == singles


def test_areas_far_apart_share_one_index() -> None:
    # Two cities with nothing between them: most of the grid is empty.
    index = GeofenceIndex(shapes_of([("west", square(-74.0, 40.7, 0.1)),
                                     ("east", square(-0.2, 51.5, 0.1))]))
    assert index.locate(40.75, -73.95) == "west" and index.locate(51.55, -0.15) == "east"
    assert index.locate(45.0, -30.0) is None
    assert index.locate_many([40.75, 51.55, 45.0], [-73.95, -0.15, -30.0]) == [
        "west", "east", None]


async def test_start_up_serves_from_the_tree_at_once_and_the_grid_follows(
        tmp_path: Path) -> None:
    """Issue 13: the grid (about a second for London's 649 wards) no longer holds back
    readiness; lookups answer the same before and after it arrives."""
    store = SqliteStore(tmp_path / "geo.db")
    await store.open()
    try:
        wards = load_boundaries("london_wards_2016.geojson")
        await NeighbourhoodService(store, GeofenceService(store)).import_collection(
            wards, id_property="WD13CD", name_property="WD13NM", repair=False,
            now=datetime.now(UTC))
        geofence = GeofenceService(store)
        await geofence.refresh(grid_later=True)
        assert geofence.index is not None and not geofence.index.gridded
        before = geofence.locate(51.5007, -0.1246)   # Westminster Bridge, St James's ward
        assert before is not None

        async def gridded() -> bool:
            return geofence.index is not None and geofence.index.gridded
        await eventually(gridded, within=30)
        assert geofence.locate(51.5007, -0.1246) == before
        await geofence.close()
    finally:
        await store.close()


async def test_a_held_grid_waits_for_its_release_and_lookups_use_the_tree_meanwhile(
        tmp_path: Path) -> None:
    """Issue 13: a server holds the grid until its start-up catch-up is done (the grid's
    thread would slow the catch-up); shutting down while it is held begins no build."""
    store = SqliteStore(tmp_path / "geo.db")
    await store.open()
    try:
        await NeighbourhoodService(store, GeofenceService(store)).import_collection(
            {"type": "FeatureCollection", "features": [
                feature(square(-0.2, 51.5, 0.1), "East", id="e"),
                feature(square(-74.0, 40.7, 0.1), "West", id="w")]},
            id_property="id", name_property="name", repair=False, now=datetime.now(UTC))
        held, free = GeofenceService(store), GeofenceService(store)
        held.hold_grid()
        await held.refresh(grid_later=True)
        await free.refresh(grid_later=True)

        async def gridded(service: GeofenceService) -> bool:
            return service.index is not None and service.index.gridded
        # Started together: the free one's grid is in, the held one's is not begun.
        await eventually(lambda: gridded(free))
        assert not await gridded(held)
        assert held.locate(51.55, -0.15) == free.locate(51.55, -0.15) is not None
        held.release_grid()
        await eventually(lambda: gridded(held))

        shutting = GeofenceService(store)
        shutting.hold_grid()
        await shutting.refresh(grid_later=True)
        await asyncio.wait_for(shutting.close(), 5)   # no wait for a grid never released
        assert not await gridded(shutting)
        await free.close()
        await held.close()
    finally:
        await store.close()
