"""Complete retrieval under a per-query result cap: split a cell into four until it is under the cap.

A provider answers an area query with at most ``cap`` results (Amap's polygon search about 900,
Baidu's bounds search 150 in practice, the ``count``/``total`` fields saying so).  A cell whose
first page reports ``cap`` or more is not paged through; it is split into four quadrants and each is
queried in turn, recursively, until every cell is under the cap.  Only then are its pages read.
Cells that do not touch the boundary are skipped.  The traversal is deterministic (same cells,
same order, same rounded coordinates), so a re-run asks the cache exactly the same questions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__: list[str] = []

Cell = tuple[float, float, float, float]  # west, south, east, north, in the provider's CRS


@dataclass
class Page:
    """One page of results: the provider's total for the query and the items of the page."""

    total: int
    items: list[dict[str, Any]]


@dataclass
class Harvest:
    """What a harvest did: items (duplicates across cells included), cells and their fate."""

    items: list[dict[str, Any]] = field(default_factory=list)
    cells_queried: int = 0
    cells_split: int = 0
    cells_skipped: int = 0
    truncated: list[Cell] = field(default_factory=list)


def _round(v: float) -> float:
    return round(v, 6)


def split(cell: Cell) -> list[Cell]:
    """The four quadrants of ``cell`` (SW, SE, NW, NE), corners rounded to 6 decimals.

    Examples
    --------
    >>> split((0.0, 0.0, 1.0, 1.0))[0]
    (0.0, 0.0, 0.5, 0.5)
    """
    w, s, e, n = cell
    mx, my = _round((w + e) / 2), _round((s + n) / 2)
    return [(w, s, mx, my), (mx, s, e, my), (w, my, mx, n), (mx, my, e, n)]


def harvest(
    fetch: Callable[[Cell, int], Page],
    start: Cell,
    *,
    cap: int,
    page_size: int,
    touches: Callable[[Cell], bool],
    min_size: float = 1e-4,
    progress: Callable[[int], None] | None = None,
) -> Harvest:
    """Query ``start`` and its quadrants until each cell is under ``cap``; read every page.

    Parameters
    ----------
    fetch
        ``fetch(cell, page)`` with ``page`` counted from 0.
    start
        The first cell (the boundary's bounding box in the provider's CRS).
    cap
        The provider's result cap: a total of ``cap`` or more means "maybe more".
    page_size
        Items per page.
    touches
        Whether a cell touches the area of interest (cells that do not are skipped).
    min_size
        Cells narrower than this (degrees) are not split further; if still at the cap they are
        listed in ``truncated`` (hundreds of POIs on one spot).
    progress
        Called with the number of requests made by each step.
    """
    out = Harvest()
    stack = [start]
    while stack:
        cell = stack.pop()
        if not touches(cell):
            out.cells_skipped += 1
            continue
        first = fetch(cell, 0)
        out.cells_queried += 1
        if progress is not None:
            progress(1)
        w, s, e, n = cell
        if first.total >= cap and min(e - w, n - s) / 2 >= min_size:
            out.cells_split += 1
            stack.extend(reversed(split(cell)))  # SW first
            continue
        if first.total >= cap:
            out.truncated.append(cell)
        out.items.extend(first.items)
        pages = math.ceil(min(first.total, cap) / page_size)
        for page in range(1, pages):
            got = fetch(cell, page)
            if progress is not None:
                progress(1)
            if not got.items:
                break
            out.items.extend(got.items)
    return out
