"""Exceptions and warnings raised by lifecircle.

Every input problem is reported as a :class:`Problem` naming the file, the row (1-based data row,
as a spreadsheet user counts it), the field and the fix.  Validators gather *all* problems of an
input and raise one :class:`InputError` that lists them, so that a user fixes a file in one pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CRSError",
    "CoordinateOffsetWarning",
    "InputError",
    "LifecircleError",
    "LifecircleWarning",
    "NetworkError",
    "Problem",
    "Problems",
]


class LifecircleError(Exception):
    """Base class of every error raised by lifecircle."""


class LifecircleWarning(UserWarning):
    """Base class of every warning issued by lifecircle."""


class CoordinateOffsetWarning(LifecircleWarning):
    """A layer sits systematically off the network, as GCJ-02/BD-09 data declared WGS-84 do."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input.

    Parameters
    ----------
    message
        What is wrong, in plain words (what was expected and what arrived).
    file
        The file the problem is in, if any.
    row
        1-based data row (header not counted), if the problem is in one row.
    field
        The column or attribute concerned, if any.
    fix
        How to fix it.
    """

    message: str
    file: str | None = None
    row: int | None = None
    field: str | None = None
    fix: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field is not None:
            where.append(f"field '{self.field}'")
        text = (", ".join(where) + ": " if where else "") + self.message
        if self.fix:
            text += f" Fix: {self.fix}"
        return text


class InputError(LifecircleError, ValueError):
    """An input (file, table or parameter) is not usable; lists every problem found."""

    def __init__(self, problems: Iterable[Problem] | Problem | str, what: str = "input") -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        self.what = what
        n = len(self.problems)
        if n == 1:
            text = f"Invalid {what}: {self.problems[0]}"
        else:
            shown = "\n".join(f"  - {p}" for p in self.problems[:50])
            more = f"\n  ... and {n - 50} more" if n > 50 else ""
            text = f"Invalid {what}: {n} problems found:\n{shown}{more}"
        super().__init__(text)

    def __reduce__(self) -> tuple[Any, ...]:
        # keep the problem list when the error crosses processes (Dask workers, multiprocessing)
        return (type(self), (self.problems, self.what))


class CRSError(InputError):
    """Coordinates are in the wrong or in no coordinate reference system."""


class NetworkError(InputError):
    """A street network cannot be used for walking (no walkable edges, no CRS, ...)."""


@dataclass
class Problems:
    """Collects the problems of one input, then raises them together.

    Examples
    --------
    >>> found = Problems(file="outlets.csv")
    >>> found.add("value is not a number", row=3, field="lon", fix="write decimal degrees")
    >>> len(found)
    1
    """

    file: str | None = None
    items: list[Problem] = field(default_factory=list)

    def add(
        self,
        message: str,
        *,
        row: int | None = None,
        field: str | None = None,
        fix: str | None = None,
    ) -> None:
        """Record one problem of this input."""
        self.items.append(Problem(message, self.file, row, field, fix))

    def __len__(self) -> int:
        return len(self.items)

    def raise_if_any(self, what: str = "input", error: type[InputError] = InputError) -> None:
        """Raise ``error`` listing every problem recorded, if there is any."""
        if self.items:
            raise error(self.items, what)
