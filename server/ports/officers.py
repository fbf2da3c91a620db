"""Officers (profiles, duty, status, location) and the devices their alerts are pushed to."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from ..domain.model import Device, LocationFix, Officer, OfficerProfile, OfficerStatus


class OfficerStore(Protocol):
    """Who the officers are, whether they are on duty, what they are doing, where they are."""

    async def put_officer(self, profile: OfficerProfile, now: datetime) -> tuple[Officer, bool]:
        """Create or update an officer's profile, keeping duty and location; True if created."""
        ...

    async def get_officer(self, oid: str) -> Officer | None:
        """One officer, or None."""
        ...

    async def list_officers(self) -> list[Officer]:
        """All officers ordered by id."""
        ...

    async def set_duty(self, oid: str, on_duty: bool, now: datetime,
                       session_id: str | None = None) -> Officer | None:
        """Go on duty, opening `session_id` if off duty (devices registered while off duty
        join it), or off duty, ending the session (its devices are pushed no more);
        None if no such officer."""
        ...

    async def set_status(self, oid: str, status: OfficerStatus, incident_id: str | None,
                         now: datetime, *, only_if_incident: str | None = None
                         ) -> Officer | None:
        """Set an officer's status (guarded by their current incident if given)."""
        ...

    async def update_location(self, oid: str, fix: LocationFix) -> tuple[Officer | None, bool]:
        """Store the fix unless an equal or newer one is stored; True if it was applied."""
        ...

    async def on_duty_officers(self, fresh_since: datetime) -> list[Officer]:
        """Officers on duty whose last fix is at or after `fresh_since`."""
        ...


class DeviceStore(Protocol):
    """Push tokens, each held by one officer's duty session."""

    async def put_device(self, device: Device) -> str | None:
        """Register a token to an officer (moving it if another had it) in the officer's
        current duty session; the previous owner."""
        ...

    async def delete_device(self, oid: str, token: str) -> bool:
        """Remove an officer's token; False when the officer did not have it."""
        ...

    async def list_devices(self, oid: str) -> list[Device]:
        """An officer's registered devices."""
        ...

    async def devices_for(self, officer_ids: Sequence[str]) -> list[Device]:
        """The devices of these officers' current duty sessions (the ones to push)."""
        ...

    async def forget_token(self, token: str) -> bool:
        """Remove a token that the push service says is dead."""
        ...
