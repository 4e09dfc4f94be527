"""Readers and validators for a city's inputs: street network, outlets, residences.

Each input kind has one reader that validates it and reports every problem at once, naming the
file, row, field and the fix.
"""

from lifecircle.ingest.network import WalkRules, read_network
from lifecircle.ingest.outlets import read_outlets
from lifecircle.ingest.residences import read_residences

__all__ = ["WalkRules", "read_network", "read_outlets", "read_residences"]
