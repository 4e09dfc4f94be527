"""Access engine: exact walking distances from residences to outlets along the network."""

from lifecircle.access._snap import Snapped, snap_points
from lifecircle.access.engine import (
    DEFAULT_BANDS_MIN,
    DEFAULT_MAX_SNAP_M,
    DEFAULT_WALK_SPEED_KMH,
    WALK_SPEED_PRESETS,
    AccessResult,
    compute_access,
    node_access,
    walk_speed_m_per_min,
)

__all__ = [
    "DEFAULT_BANDS_MIN",
    "DEFAULT_MAX_SNAP_M",
    "DEFAULT_WALK_SPEED_KMH",
    "WALK_SPEED_PRESETS",
    "AccessResult",
    "Snapped",
    "compute_access",
    "node_access",
    "snap_points",
    "walk_speed_m_per_min",
]
