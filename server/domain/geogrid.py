"""A uniform grid over the neighbourhoods: most cells lie inside exactly one polygon, so most
lookups are arithmetic and one array read, with no point-in-polygon test at all."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely

UNRESOLVED = -1  # the cell needs a real test (it holds a boundary, or overlapping areas)
OUTSIDE = -2  # no neighbourhood reaches into the cell


class Grid:
    """Cell -> the one polygon covering it, else the candidates to test (smallest first)."""

    def __init__(self, geoms: Any, areas: Any, tree: shapely.STRtree) -> None:
        n = len(geoms)
        self.size = int(min(512, max(64, math.sqrt(max(n, 1)) * 20)))
        minx, miny, maxx, maxy = (float(v) for v in shapely.total_bounds(geoms)) if n else (
            0.0, 0.0, 1.0, 1.0)
        self.minx, self.miny = minx, miny
        self.dx = max((maxx - minx) / self.size, 1e-12)
        self.dy = max((maxy - miny) / self.size, 1e-12)
        grid_x, grid_y = np.meshgrid(np.arange(self.size), np.arange(self.size), indexing="ij")
        ix, iy = grid_x.ravel(), grid_y.ravel()
        boxes = shapely.box(minx + ix * self.dx, miny + iy * self.dy,
                            minx + (ix + 1) * self.dx, miny + (iy + 1) * self.dy)
        self.answer = np.full(self.size * self.size, OUTSIDE, dtype=np.int64)
        self.candidates: dict[int, np.ndarray[Any, Any]] = {}
        if n == 0:
            return
        cell_idx, poly_idx = tree.query(boxes, predicate="intersects")
        covers = shapely.contains_properly(geoms[poly_idx], boxes[cell_idx])
        order = np.lexsort((areas[poly_idx], cell_idx))
        cell_idx, poly_idx, covers = cell_idx[order], poly_idx[order], covers[order]
        starts = np.flatnonzero(np.r_[True, cell_idx[1:] != cell_idx[:-1]])
        ends = np.r_[starts[1:], len(cell_idx)]
        for s, e in zip(starts, ends, strict=True):
            cell = int(cell_idx[s])
            if e - s == 1 and covers[s]:
                self.answer[cell] = poly_idx[s]
            else:
                self.answer[cell] = UNRESOLVED
                self.candidates[cell] = poly_idx[s:e]

    def cell(self, lat: float, lon: float) -> int:
        """The cell of a point, or OUTSIDE beyond the grid."""
        ix = int((lon - self.minx) // self.dx)
        iy = int((lat - self.miny) // self.dy)
        if not (0 <= ix < self.size and 0 <= iy < self.size):
            return OUTSIDE
        return ix * self.size + iy

    def cells(self, lats: Any, lons: Any) -> Any:
        """Vectorised `cell`."""
        ix = np.floor((lons - self.minx) / self.dx).astype(np.int64)
        iy = np.floor((lats - self.miny) / self.dy).astype(np.int64)
        inside = (ix >= 0) & (ix < self.size) & (iy >= 0) & (iy < self.size)
        return np.where(inside, ix * self.size + iy, OUTSIDE)
