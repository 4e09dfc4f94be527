"""lifecircle — 城市一刻钟便民生活圈 (15-minute convenience life circles).

Walking access from residences to everyday outlets (业态) along the street network, the
assessment of each circle and the planning of what is missing.

Heavy modules load on first use (``lifecircle.WalkNetwork`` imports the numerical stack then),
so that ``import lifecircle`` and ``lifecircle --help`` stay fast.
"""

from typing import TYPE_CHECKING, Any

from lifecircle.errors import CRSError, InputError, LifecircleError, NetworkError, Problem

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    if name == "WalkNetwork":
        from lifecircle.network import WalkNetwork

        return WalkNetwork
    raise AttributeError(f"module 'lifecircle' has no attribute {name!r}")
