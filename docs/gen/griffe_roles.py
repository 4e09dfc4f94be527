"""Griffe extension: Sphinx roles in the docstrings become plain code for mkdocstrings.

The package's numpydoc docstrings cross-reference with Sphinx roles (``:func:`read_inputs```,
``:class:`~lifecircle.project.CitySpec```); mkdocstrings would print the role's name.  They are
shown as code (the last dotted part where the target starts with ``~``), and reST's double
back-ticks as Markdown's single ones.
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|exc|obj|const):`(~?)([^`]+)`")


def _plain(match: re.Match[str]) -> str:
    target = match.group(2)
    return f"`{target.rsplit('.', 1)[-1] if match.group(1) else target}`"


class SphinxRolesAsCode(Extension):
    """Rewrite the roles of every docstring once it is loaded."""

    def on_object(self, *, obj: Any, **kwargs: Any) -> None:
        """Rewrite ``obj``'s docstring."""
        if obj.docstring is not None:
            text = _ROLE.sub(_plain, obj.docstring.value)
            obj.docstring.value = re.sub(r"``([^`]+)``", r"`\1`", text)
