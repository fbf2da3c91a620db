"""Neighbourhood use cases: put, import, list, delete, locate."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from ..domain.errors import NotFound, ValidationFailed
from ..domain.model import ImportSummary, Neighbourhood
from ..domain.neighbourhoods import (
    MAX_IMPORT_FEATURES,
    check_id,
    parse_collection,
    parse_feature,
)
from ..ports import NeighbourhoodStore
from .geofence import GeofenceService


class NeighbourhoodService:
    """Validates and stores neighbourhoods and keeps the geofence index in step."""

    def __init__(self, store: NeighbourhoodStore, geofence: GeofenceService) -> None:
        self._store = store
        self._geofence = geofence

    async def put(self, nid: str, feature: Any, *, repair: bool,
                  now: datetime) -> tuple[Neighbourhood, bool, bool]:
        """Create or replace one; returns (stored, created, repaired)."""
        parsed = await asyncio.to_thread(parse_feature, feature, nid=nid, name_property="name",
                                         repair=repair, now=now)
        existing = await self._store.get_neighbourhood(nid)
        [created] = await self._store.put_neighbourhoods([parsed.neighbourhood])
        await self._geofence.refresh()
        stored = parsed.neighbourhood
        if existing is not None:
            stored = replace(stored, created_at=existing.created_at)
        return stored, created, parsed.repaired

    async def import_collection(self, collection: Any, *, id_property: str, name_property: str,
                                repair: bool, now: datetime,
                                progress: Callable[[int], object] | None = None) -> ImportSummary:
        """Store every valid feature; report the rejected ones and any overlaps."""
        features = collection.get("features") if isinstance(collection, dict) else None
        if not isinstance(features, list):
            raise ValidationFailed("expected a GeoJSON FeatureCollection with a features array")
        if len(features) > MAX_IMPORT_FEATURES:
            raise ValidationFailed(f"at most {MAX_IMPORT_FEATURES} features per import")
        good, rejected = await asyncio.to_thread(
            parse_collection, features, id_property=id_property, name_property=name_property,
            repair=repair, now=now, progress=progress)
        created_flags = await self._store.put_neighbourhoods([p.neighbourhood for p in good])
        await self._geofence.refresh()
        ids = {p.neighbourhood.id for p in good}
        index = self._geofence.index
        overlaps = await asyncio.to_thread(index.overlaps, ids) if index and ids else []
        return ImportSummary(
            created=[p.neighbourhood.id for p, c in zip(good, created_flags, strict=True) if c],
            updated=[p.neighbourhood.id for p, c in zip(good, created_flags, strict=True)
                     if not c],
            rejected=rejected,
            repaired=[p.neighbourhood.id for p in good if p.repaired],
            overlaps=overlaps,
        )

    async def get(self, nid: str) -> Neighbourhood:
        """One neighbourhood or NotFound."""
        found = await self._store.get_neighbourhood(nid)
        if found is None:
            raise NotFound("neighbourhood", nid)
        return found

    async def list_all(self, *, with_geometry: bool = False) -> list[Neighbourhood]:
        """All neighbourhoods (without geometry unless asked)."""
        return await self._store.list_neighbourhoods(with_geometry=with_geometry)

    async def delete(self, nid: str) -> None:
        """Delete one or raise NotFound."""
        check_id(nid)
        if not await self._store.delete_neighbourhood(nid):
            raise NotFound("neighbourhood", nid)
        await self._geofence.refresh()

    async def locate(self, lat: float, lon: float) -> tuple[str, str] | None:
        """(id, name) of the neighbourhood containing the point, or None."""
        nid = self._geofence.locate(lat, lon)
        return None if nid is None else (nid, self._geofence.names.get(nid, nid))
