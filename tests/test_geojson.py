"""Unit tests for GeoJSON polygon validation (pure, no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from server.domain.errors import ValidationFailed
from server.domain.geojson import MAX_VERTICES, area_m2, parse_polygon
from tests.conftest import square


def errors_of(geometry: Any, **kw: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as info:
        parse_polygon(geometry, **kw)
    return [(e.field, e.message) for e in info.value.errors]


def test_accepts_polygon_and_multipolygon() -> None:
    assert parse_polygon(square(0, 0)).shape.geom_type == "Polygon"
    multi = {"type": "MultiPolygon", "coordinates": [square(0, 0)["coordinates"],
                                                     square(1, 1)["coordinates"]]}
    parsed = parse_polygon(multi)
    assert parsed.shape.geom_type == "MultiPolygon" and not parsed.repaired


def test_rejects_other_geometry_types() -> None:
    [(field, message)] = errors_of({"type": "Point", "coordinates": [0, 0]})
    assert field == "geometry.type" and "Polygon or MultiPolygon" in message


def test_rejects_unclosed_ring() -> None:
    g = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0.5]]]}
    [(field, message)] = errors_of(g)
    assert field == "geometry.coordinates[0]" and "closed" in message


def test_rejects_too_few_positions() -> None:
    g = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}
    [(_, message)] = errors_of(g)
    assert "at least 4 positions" in message


def test_rejects_out_of_range_coordinates_naming_the_position() -> None:
    g = {"type": "Polygon", "coordinates": [[[0, 0], [181, 0], [1, 1], [0, 0]]]}
    [(field, message)] = errors_of(g)
    assert field == "geometry.coordinates[0][1]" and "longitude 181" in message
    g = {"type": "Polygon", "coordinates": [[[0, 0], [1, 95], [1, 1], [0, 0]]]}
    assert "latitude 95" in errors_of(g)[0][1]


def test_rejects_non_numeric_positions() -> None:
    g = {"type": "Polygon", "coordinates": [[[0, 0], ["a", 0], [1, 1], [0, 0]]]}
    assert errors_of(g)[0][0] == "geometry.coordinates[0][1]"
    g = {"type": "Polygon", "coordinates": [[[0, 0], [True, 0], [1, 1], [0, 0]]]}
    assert errors_of(g)[0][0] == "geometry.coordinates[0][1]"


def test_self_intersection_is_rejected_or_repaired() -> None:
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    [(_, message)] = errors_of(bowtie)
    assert "Self-intersection" in message
    parsed = parse_polygon(bowtie, repair=True)
    assert parsed.repaired and parsed.shape.is_valid and parsed.shape.area > 0
    assert parsed.geojson["type"] in ("Polygon", "MultiPolygon")


def test_zero_area_is_rejected() -> None:
    flat = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [2, 0], [0, 0]]]}
    assert errors_of(flat, repair=True)


def test_size_limit() -> None:
    n = MAX_VERTICES + 10
    ring = [[i / n, 0.0] for i in range(n)] + [[1, 1], [0, 0]]
    ring[0] = [0.0, 0.0]
    messages = [m for _, m in errors_of({"type": "Polygon", "coordinates": [ring]})]
    assert any("at most" in m for m in messages)


def test_error_list_is_capped_for_huge_bad_input() -> None:
    ring = [[500, 500]] * 1000
    assert len(errors_of({"type": "Polygon", "coordinates": [ring]})) <= 20


def test_area_in_square_metres_is_plausible() -> None:
    # 0.01 x 0.01 degrees at the equator is about 1.11 km x 1.11 km.
    assert area_m2(parse_polygon(square(0, 0)).shape) == pytest.approx(1.2e6, rel=0.05)
