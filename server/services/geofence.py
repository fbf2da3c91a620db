"""Keeps the in-memory geofence index current with the store, on this and other instances."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from ..domain.gazetteer import Gazetteer
from ..domain.geofence import GeofenceIndex, shapes_of
from ..domain.model import Neighbourhood
from ..ports import NeighbourhoodStore

log = logging.getLogger(__name__)


def _build(items: Sequence[Neighbourhood], gridded: bool) -> tuple[GeofenceIndex, Gazetteer]:
    index = GeofenceIndex(shapes_of([(n.id, n.geometry) for n in items]), gridded=gridded)
    return index, Gazetteer((n.id, (n.name, *n.places)) for n in items)


class GeofenceService:
    """Holds the current index; swaps in a rebuilt one whenever the store's version moves."""

    def __init__(self, store: NeighbourhoodStore, *, grid_in_background: bool = False) -> None:
        self._store = store
        # A server builds the grid behind a tree-only index; a one-shot command (an import)
        # builds it at once, so no thread is left working when the process exits.
        self._grid_in_background = grid_in_background
        self._lock = asyncio.Lock()
        self.index: GeofenceIndex | None = None
        self.gazetteer = Gazetteer([])
        self.names: dict[str, str] = {}
        self.version = -1
        self._gridding: asyncio.Task[None] | None = None
        # Set unless held: a server holds the first grid until its start-up catch-up of
        # overdue escalation steps is done, which the grid's thread (a second of CPU for a
        # city) would otherwise slow down. The tree-only index gives the same answers.
        self._grid_go = asyncio.Event()
        self._grid_go.set()

    def hold_grid(self) -> None:
        """Build no grid until release_grid (lookups use the tree meanwhile)."""
        self._grid_go.clear()

    def release_grid(self) -> None:
        """Let a held grid build begin."""
        self._grid_go.set()

    @property
    def loaded(self) -> bool:
        """True once an index has been built."""
        return self.index is not None

    async def refresh(self, *, grid_later: bool | None = None) -> bool:
        """Rebuild if the store changed since the last build; True if rebuilt.
        `grid_later` (the service's setting unless given): serve from a tree-only index at
        once (same answers) and add the grid, a second for a city, in the background, so
        neither a restart nor an import through the API waits for it."""
        if grid_later is None:
            grid_later = self._grid_in_background
        async with self._lock:
            version = await self._store.neighbourhoods_version()
            if version == self.version:
                return False
            items = await self._store.list_neighbourhoods()
            # Building parses and prepares every polygon: keep it off the event loop.
            index, gazetteer = await asyncio.to_thread(_build, items, not grid_later)
            # One assignment: a reader sees either the old index or the new one.
            self.index, self.gazetteer, self.names, self.version = (
                index, gazetteer, {n.id: n.name for n in items}, version)
            log.info("geofence index: %d neighbourhoods (version %d)", len(items), version)
            if not index.gridded:
                self._cancel_gridding()
                self._gridding = asyncio.create_task(self._add_grid(index, version),
                                                     name="geofence-grid")
            return True

    async def _add_grid(self, index: GeofenceIndex, version: int) -> None:
        await self._grid_go.wait()
        full = await asyncio.to_thread(index.with_grid)
        async with self._lock:
            if self.version == version:   # not replaced meanwhile by a newer build
                self.index = full
                log.info("geofence grid ready (version %d)", version)

    def _cancel_gridding(self) -> None:
        if self._gridding is not None and not self._gridding.done():
            self._gridding.cancel()

    async def close(self) -> None:
        """Wait for a grid still being built (at most about a second): its thread must not
        be running GEOS while the process shuts down. A grid still held is not begun."""
        if not self._grid_go.is_set():
            self._cancel_gridding()
        if self._gridding is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._gridding

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

    def locate_many(self, lats: Sequence[float], lons: Sequence[float]) -> list[str | None]:
        """locate for many points at once (vectorised: a batch's posts)."""
        if self.index is None:
            return [None] * len(lats)
        return self.index.locate_many(lats, lons)

    def distance_km(self, lat: float, lon: float) -> float | None:
        """How far the point is from the neighbourhoods (see GeofenceIndex.distance_km)."""
        return None if self.index is None else self.index.distance_km(lat, lon)

    def box_distance_km(self, west: float, south: float, east: float,
                        north: float) -> float | None:
        """How far a place's bounding box is from the neighbourhoods (0 if it touches)."""
        return None if self.index is None else self.index.box_distance_km(
            west, south, east, north)

    def centroid(self, nid: str | None) -> tuple[float, float] | None:
        """A point inside the neighbourhood, or None."""
        return None if self.index is None or nid is None else self.index.inside_point(nid)
