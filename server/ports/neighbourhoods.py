"""The neighbourhoods: geofenced areas that posts are placed in and officers patrol."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..domain.model import Neighbourhood


class NeighbourhoodStore(Protocol):
    """Neighbourhoods, with a version counter so each instance's geofence index can tell
    when another instance changed them."""

    async def put_neighbourhoods(self, items: Sequence[Neighbourhood]) -> list[bool]:
        """Create or replace neighbourhoods in one unit; True for each that was created."""
        ...

    async def get_neighbourhood(self, nid: str) -> Neighbourhood | None:
        """One neighbourhood, or None."""
        ...

    async def list_neighbourhoods(self, *, with_geometry: bool = True) -> list[Neighbourhood]:
        """All neighbourhoods ordered by id."""
        ...

    async def delete_neighbourhood(self, nid: str) -> bool:
        """Delete one neighbourhood; False when it did not exist."""
        ...

    async def neighbourhoods_version(self) -> int:
        """A counter that rises with every neighbourhood change (for index refresh)."""
        ...
