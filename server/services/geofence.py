"""Keeps the in-memory geofence index current with the store, on this and other instances."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from ..domain.gazetteer import Gazetteer
from ..domain.geofence import GeofenceIndex, shapes_of
from ..domain.model import Neighbourhood
from ..ports import Store

log = logging.getLogger(__name__)


def _build(items: Sequence[Neighbourhood]) -> tuple[GeofenceIndex, Gazetteer]:
    index = GeofenceIndex(shapes_of([(n.id, n.geometry) for n in items]))
    return index, Gazetteer((n.id, (n.name, *n.places)) for n in items)


class GeofenceService:
    """Holds the current index; swaps in a rebuilt one whenever the store's version moves."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = asyncio.Lock()
        self.index: GeofenceIndex | None = None
        self.gazetteer = Gazetteer([])
        self.names: dict[str, str] = {}
        self.version = -1

    @property
    def loaded(self) -> bool:
        """True once an index has been built."""
        return self.index is not None

    async def refresh(self) -> bool:
        """Rebuild if the store changed since the last build; True if rebuilt."""
        async with self._lock:
            version = await self._store.neighbourhoods_version()
            if version == self.version:
                return False
            items = await self._store.list_neighbourhoods()
            # Building parses and prepares every polygon: keep it off the event loop.
            index, gazetteer = await asyncio.to_thread(_build, items)
            # One assignment: a reader sees either the old index or the new one.
            self.index, self.gazetteer, self.names, self.version = (
                index, gazetteer, {n.id: n.name for n in items}, version)
            log.info("geofence index: %d neighbourhoods (version %d)", len(items), version)
            return True

    async def run(self, interval_s: float) -> None:
        """Poll for changes made by other instances until cancelled."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.refresh()
            except Exception:  # a store hiccup must not kill the refresher
                log.exception("geofence refresh failed; keeping the current index")

    def locate(self, lat: float, lon: float) -> str | None:
        """The smallest neighbourhood containing the point, per the current index."""
        return None if self.index is None else self.index.locate(lat, lon)

    def distance_km(self, lat: float, lon: float) -> float | None:
        """How far the point is from the neighbourhoods (see GeofenceIndex.distance_km)."""
        return None if self.index is None else self.index.distance_km(lat, lon)

    def centroid(self, nid: str | None) -> tuple[float, float] | None:
        """A point inside the neighbourhood, or None."""
        return None if self.index is None or nid is None else self.index.inside_point(nid)
