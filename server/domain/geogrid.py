"""A uniform grid over the neighbourhoods: most cells lie inside exactly one polygon, so most
lookups are arithmetic and one array read, with no point-in-polygon test at all."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely

UNRESOLVED = -1  # the cell needs a real test (it holds a boundary, or overlapping areas)
OUTSIDE = -2  # no neighbourhood reaches into the cell
STRIP = 16  # grid columns built at a time


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
        self.answer = np.full(self.size * self.size, OUTSIDE, dtype=np.int64)
        self.candidates: dict[int, np.ndarray[Any, Any]] = {}
        if n == 0:
            return
        # A strip of columns at a time: all cells' boxes at once would cost ~100 MB.
        for first in range(0, self.size, STRIP):
            self._fill(geoms, areas, tree, first, min(self.size, first + STRIP))

    def _fill(self, geoms: Any, areas: Any, tree: shapely.STRtree, x0: int, x1: int) -> None:
        grid_x, grid_y = np.meshgrid(np.arange(x0, x1), np.arange(self.size), indexing="ij")
        ix, iy = grid_x.ravel(), grid_y.ravel()
        boxes = shapely.box(self.minx + ix * self.dx, self.miny + iy * self.dy,
                            self.minx + (ix + 1) * self.dx, self.miny + (iy + 1) * self.dy)
        found, poly_idx = tree.query(boxes, predicate="intersects")
        if len(found) == 0:
            return  # no neighbourhood reaches this strip (say, the sea between two cities)
        cell_idx = ix[found] * self.size + iy[found]
        covers = shapely.contains_properly(geoms[poly_idx], boxes[found])
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
