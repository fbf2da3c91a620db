"""SQLite table where built-in sources keep their cursors."""

from __future__ import annotations

from datetime import datetime

from .base import SqliteBase


class CursorTable(SqliteBase):
    """One row per source: its last saved cursor."""

    async def get_cursor(self, source_id: str) -> str | None:
        """The cursor last saved for a source, or None."""
        row = await self._fetchone("SELECT cursor FROM source_cursors WHERE id = ?",
                                   (source_id,))
        return None if row is None else str(row[0])

    async def put_cursor(self, source_id: str, cursor: str, now: datetime) -> None:
        """Save a source's cursor."""
        await self._unit(lambda db: db.execute(
            "INSERT INTO source_cursors (id, cursor, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET cursor = excluded.cursor,"
            " updated_at = excluded.updated_at", (source_id, cursor, now.timestamp())))
