"""业态 (business-type) catalogue and classifier of the 15-minute convenience life circle.

The catalogue (``data/catalogue.toml``, versioned) lists the 2021 Guide's 14 基本保障类 and 12
品质提升类 业态 plus a few flagged proposals, each with a walking band (家门口 doorstep 10 min /
家周边 surround 15 min, configurable in ``[bands]``).  The mapping files beside it turn OSM tags,
Amap typecodes/types, Baidu tags and name keywords into 业态; their precedence is documented in
``data/README.md`` and in :func:`classify`.

Examples
--------
>>> from lifecircle.taxonomy import load_catalogue
>>> cat = load_catalogue()
>>> cat.get("convenience_store").name_zh, cat.band_minutes("便利店")
('便利店', 10.0)
"""

from __future__ import annotations

from lifecircle.taxonomy._catalogue import (
    CLASSES,
    SLOGANS,
    UNCLASSIFIED,
    Catalogue,
    Category,
    load_catalogue,
    normalise_name,
)
from lifecircle.taxonomy._classify import SOURCES, classify, unclassified_report

__all__ = [
    "CLASSES",
    "SLOGANS",
    "SOURCES",
    "UNCLASSIFIED",
    "Catalogue",
    "Category",
    "classify",
    "load_catalogue",
    "normalise_name",
    "unclassified_report",
]
