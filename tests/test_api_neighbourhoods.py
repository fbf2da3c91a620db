"""Neighbourhood routes through a real loopback server, with the real boundary files."""

from __future__ import annotations

from server import keys
from tests.conftest import (
    ALL_STORES,
    Api,
    ApiFactory,
    eventually,
    feature,
    load_boundaries,
    square,
)


async def test_put_get_list_delete(api: Api) -> None:
    r = await api.put("/v1/neighbourhoods/soho", feature(square(-0.14, 51.51), "Soho",
                                                          places=["Old Compton Street"]),
                      role="admin")
    assert r.status == 201 and r.body["name"] == "Soho" and r.body["repaired"] is False
    assert r.body["places"] == ["Old Compton Street"] and r.body["area_m2"] > 0
    r = await api.put("/v1/neighbourhoods/soho", feature(square(-0.14, 51.51), "Soho W1"),
                      role="admin")
    assert r.status == 200 and r.body["name"] == "Soho W1"
    r = await api.get("/v1/neighbourhoods/soho", role="control_room")
    assert r.status == 200 and r.body["geometry"]["type"] == "Polygon"
    r = await api.get("/v1/neighbourhoods", role="officer")
    assert r.body["count"] == 1 and "geometry" not in r.body["items"][0]
    r = await api.delete("/v1/neighbourhoods/soho", role="admin")
    assert r.status == 204
    r = await api.get("/v1/neighbourhoods/soho", role="admin")
    assert r.status == 404 and r.body["code"] == "neighbourhood_not_found"
    r = await api.delete("/v1/neighbourhoods/soho", role="admin")
    assert r.status == 404


async def test_locate_reflects_changes_at_once(api: Api) -> None:
    r = await api.get("/v1/neighbourhoods/locate?lat=51.515&lon=-0.135", role="officer")
    assert r.status == 200 and r.body["neighbourhood"] is None
    await api.put("/v1/neighbourhoods/soho", feature(square(-0.14, 51.51), "Soho"), role="admin")
    r = await api.get("/v1/neighbourhoods/locate?lat=51.515&lon=-0.135", role="officer")
    assert r.body["neighbourhood"] == {"id": "soho", "name": "Soho"}
    await api.delete("/v1/neighbourhoods/soho", role="admin")
    r = await api.get("/v1/neighbourhoods/locate?lat=51.515&lon=-0.135", role="officer")
    assert r.body["neighbourhood"] is None


async def test_locate_validates_query(api: Api) -> None:
    r = await api.get("/v1/neighbourhoods/locate?lat=91&lon=0", role="admin")
    assert r.status == 422 and r.body["errors"][0]["field"] == "lat"
    r = await api.get("/v1/neighbourhoods/locate?lat=1", role="admin")
    assert r.status == 422 and r.body["errors"][0]["field"] == "lon"
    r = await api.get("/v1/neighbourhoods/locate?lat=nan&lon=0", role="admin")
    assert r.status == 422


async def test_invalid_geometry_is_422_and_keeps_stored_data(api: Api) -> None:
    await api.put("/v1/neighbourhoods/a", feature(square(0, 0), "A"), role="admin")
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    r = await api.put("/v1/neighbourhoods/a", feature(bowtie, "A"), role="admin")
    assert r.status == 422 and "Self-intersection" in r.body["errors"][0]["message"]
    r = await api.get("/v1/neighbourhoods/a", role="admin")
    assert r.body["geometry"] == square(0, 0)
    r = await api.put("/v1/neighbourhoods/a?repair=true", feature(bowtie, "A"), role="admin")
    assert r.status == 200 and r.body["repaired"] is True


async def test_bad_ids_and_reserved_words(api: Api) -> None:
    r = await api.put("/v1/neighbourhoods/locate", feature(square(0, 0)), role="admin")
    assert r.status == 405 and r.headers["Allow"] == "GET"
    r = await api.put("/v1/neighbourhoods/-bad", feature(square(0, 0)), role="admin")
    assert r.status == 422 and r.body["errors"][0]["field"] == "id"


async def test_missing_name_is_named(api: Api) -> None:
    r = await api.put("/v1/neighbourhoods/a", {"type": "Feature", "geometry": square(0, 0),
                                               "properties": {}}, role="admin")
    assert r.status == 422 and r.body["errors"][0]["field"] == "properties.name"


async def test_import_keeps_good_features_and_reports_bad_ones(api: Api) -> None:
    collection = {"type": "FeatureCollection", "features": [
        feature(square(0, 0), "A", code="a"),
        feature({"type": "Point", "coordinates": [0, 0]}, "B", code="b"),
        feature(square(0.005, 0.005), "C", code="c"),  # overlaps A by a quarter
        {"type": "Feature", "geometry": square(2, 2), "properties": {"name": "no id"}},
        feature(square(3, 3), "A again", code="a"),
    ]}
    r = await api.post("/v1/neighbourhoods/import?id_property=code&name_property=name",
                       collection, role="admin")
    assert r.status == 200
    assert r.body["created"] == ["a", "c"] and r.body["counts"]["rejected"] == 3
    reasons = {x["index"]: x["reason"] for x in r.body["rejected"]}
    assert "Polygon or MultiPolygon" in reasons[1]
    assert "'code' is missing" in reasons[3]
    assert "earlier in this import" in reasons[4]
    [overlap] = r.body["overlaps"]
    assert (overlap["a"], overlap["b"]) == ("a", "c") and overlap["area_m2"] > 1e5
    r = await api.post("/v1/neighbourhoods/import?id_property=code&name_property=name",
                       collection, role="admin")
    assert r.body["updated"] == ["a", "c"] and r.body["created"] == []


async def test_import_rejects_a_non_collection(api: Api) -> None:
    r = await api.post("/v1/neighbourhoods/import", {"type": "Feature"}, role="admin")
    assert r.status == 422 and {e["field"] for e in r.body["errors"]} >= {"type", "features"}


async def test_import_all_london_wards(api: Api) -> None:
    wards = load_boundaries("london_wards_2016.geojson")
    r = await api.post("/v1/neighbourhoods/import?id_property=WD13CD&name_property=WD13NM",
                       wards, role="admin")
    assert r.status == 200
    assert r.body["counts"]["created"] == 649 and r.body["rejected"] == []
    r = await api.get("/v1/neighbourhoods/locate?lat=51.5080&lon=-0.1281", role="officer")
    assert r.body["neighbourhood"]["name"] == "St James's"  # Charing Cross
    r = await api.get("/readyz")
    assert r.body["geofence"]["neighbourhoods"] == 649


async def test_import_new_york_with_and_without_repair(api: Api) -> None:
    ntas = load_boundaries("nyc_nta2020.geojson")
    url = "/v1/neighbourhoods/import?id_property=NTA2020&name_property=NTAName"
    r = await api.post(url, ntas, role="admin")
    assert r.body["counts"] == {"created": 261, "updated": 0, "rejected": 1, "repaired": 0,
                                "overlaps": 0}
    [rejected] = r.body["rejected"]
    assert "Self-intersection" in rejected["reason"]
    r = await api.post(url + "&repair=true", ntas, role="admin")
    assert r.body["counts"]["created"] == 1 and r.body["repaired"] == [rejected["id"]]
    r = await api.get("/v1/neighbourhoods/locate?lat=40.7580&lon=-73.9855", role="officer")
    assert r.body["neighbourhood"]["name"] == "Midtown-Times Square"


@ALL_STORES
async def test_second_instance_sees_changes_within_seconds(make_api: ApiFactory) -> None:
    one, two = await make_api(), await make_api()
    await one.put("/v1/neighbourhoods/soho", feature(square(-0.14, 51.51), "Soho"), role="admin")

    async def two_sees_it() -> bool:
        r = await two.get("/v1/neighbourhoods/locate?lat=51.515&lon=-0.135", role="officer")
        return r.body["neighbourhood"] is not None

    await eventually(two_sees_it, within=5)
    assert two.app[keys.GEOFENCE].version == one.app[keys.GEOFENCE].version
