"""Alerts as read back (transitions write them) and the record of each push of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..domain.records import Alert, Delivery


class AlertReads(Protocol):
    """Alerts: one per wave or assignment of an incident."""

    async def get_alert(self, aid: str) -> Alert | None:
        """One alert."""
        ...

    async def list_alerts(self, incident_id: str) -> list[Alert]:
        """An incident's alerts, oldest first."""
        ...

    async def list_alerts_of(self, incident_ids: Sequence[str]) -> dict[str, list[Alert]]:
        """list_alerts for several incidents in one read: every id asked is a key (an
        incident without alerts has an empty list)."""
        ...

    async def open_alerts_for(self, officer_id: str) -> list[Alert]:
        """Pending alerts sent to this officer."""
        ...

    async def pending_alerts(self, limit: int = 200) -> list[Alert]:
        """Alerts still waiting for an acknowledgement, oldest first."""
        ...


class DeliveryStore(Protocol):
    """One record per push to one device: what redelivery after a crash reads."""

    async def put_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """Insert or replace delivery records."""
        ...

    async def list_deliveries(self, alert_ids: Sequence[str]) -> list[Delivery]:
        """Deliveries of these alerts."""
        ...
