"""Ports: the protocols that the services depend on and the adapters implement."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from .domain.model import Device, LocationFix, Neighbourhood, Officer, OfficerProfile


class Clock(Protocol):
    """Tells the time; tests pass a fake one."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return datetime.now(UTC)


class Store(Protocol):
    """Everything the domain persists. A returned call means the change is committed."""

    async def open(self) -> None:
        """Connect and bring the schema up to date."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...

    async def ping(self) -> None:
        """Raise if the store does not answer."""
        ...

    # Neighbourhoods
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

    # Officers
    async def put_officer(self, profile: OfficerProfile, now: datetime) -> tuple[Officer, bool]:
        """Create or update an officer's profile, keeping duty and location; True if created."""
        ...

    async def get_officer(self, oid: str) -> Officer | None:
        """One officer, or None."""
        ...

    async def list_officers(self) -> list[Officer]:
        """All officers ordered by id."""
        ...

    async def set_duty(self, oid: str, on_duty: bool, now: datetime) -> Officer | None:
        """Set duty state; None if no such officer."""
        ...

    async def update_location(self, oid: str, fix: LocationFix) -> tuple[Officer | None, bool]:
        """Store the fix unless an equal or newer one is stored; True if it was applied."""
        ...

    async def put_device(self, device: Device) -> str | None:
        """Register a token to an officer (moving it if another had it); the previous owner."""
        ...

    async def delete_device(self, oid: str, token: str) -> bool:
        """Remove an officer's token; False when the officer did not have it."""
        ...

    async def list_devices(self, oid: str) -> list[Device]:
        """An officer's registered devices."""
        ...
