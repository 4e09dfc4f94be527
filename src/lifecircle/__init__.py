"""lifecircle — 城市一刻钟便民生活圈 (15-minute convenience life circles).

Walking access from residences to everyday outlets (业态) along the street network, the
assessment of each circle and the planning of what is missing.
"""

from lifecircle.errors import CRSError, InputError, LifecircleError, NetworkError, Problem
from lifecircle.network import WalkNetwork

__version__ = "0.1.0"

__all__ = [
    "CRSError",
    "InputError",
    "LifecircleError",
    "NetworkError",
    "Problem",
    "WalkNetwork",
    "__version__",
]
