"""TOML helpers shared by the configuration readers: reading with a clear error, line numbers.

``tomllib`` gives no positions, so :class:`LineIndex` finds the line of each key and table with a
small scanner (best effort: keys written one per line, tables and arrays of tables).  Messages
then say ``(line 12)`` so that a user finds the key in the file.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from lifecircle.errors import InputError, Problem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["LineIndex", "at_line", "read_toml"]


def read_toml(path: Path, what: str, fix: str) -> tuple[dict[str, Any], str]:
    """The parsed document and its text; an :class:`InputError` naming the line when invalid."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            Problem("file not found", file=str(path), fix=f"give the path of the {what}"), what
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            Problem(f"cannot read the file ({exc})", file=str(path), fix="save it as UTF-8 text"),
            what,
        ) from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise InputError(
            Problem(f"not valid TOML ({exc})", file=str(path), fix=fix), what
        ) from None


def at_line(line: int | None) -> str:
    """`` (line N)`` or nothing."""
    return f" (line {line})" if line else ""


class LineIndex:
    """Line numbers of TOML keys and tables (best effort; tomllib gives none).

    Paths are tuples of keys; the n-th table of an array of tables ``[[city]]`` is
    ``("city", "n")`` with n counted from 1.

    Examples
    --------
    >>> idx = LineIndex('name = "x"\\n[[city]]\\nname = "a"\\n[[city]]\\nnetwork = "n.gpkg"\\n')
    >>> idx.find(("name",)), idx.find(("city", "2", "network")), idx.find(("city", "2", "crs"))
    (1, 5, 4)
    """

    _KEY = r'(?:[A-Za-z0-9_-]+|"[^"\n]*"|\'[^\'\n]*\')'
    _DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
    _HEADER = re.compile(rf"^\s*\[\s*({_DOTTED})\s*\]\s*(?:#.*)?$")
    _ARRAY = re.compile(rf"^\s*\[\[\s*({_DOTTED})\s*\]\]\s*(?:#.*)?$")
    _ASSIGN = re.compile(rf"^\s*({_DOTTED})\s*=")

    def __init__(self, text: str) -> None:
        self.lines: dict[tuple[str, ...], int] = {}
        counts: dict[tuple[str, ...], int] = {}
        table: tuple[str, ...] = ()
        depth = 0
        for number, line in enumerate(text.splitlines(), start=1):
            if depth > 0:  # inside a multi-line array or inline table
                depth += _balance(line)
                continue
            array = self._ARRAY.match(line)
            header = None if array else self._HEADER.match(line)
            if array or header:
                path = self._split((array or header).group(1))  # type: ignore[union-attr]
                table = self._resolve(path, counts)
                if array:
                    counts[table] = counts.get(table, 0) + 1
                    table = (*table, str(counts[table]))
                self.lines.setdefault(table, number)
                continue
            assign = self._ASSIGN.match(line)
            if assign:
                self.lines.setdefault((*table, *self._split(assign.group(1))), number)
                depth = max(0, _balance(line[assign.end() :]))

    @staticmethod
    def _resolve(path: tuple[str, ...], counts: dict[tuple[str, ...], int]) -> tuple[str, ...]:
        """``[[city]]`` then ``[city.x]``: the sub-table of the latest array element."""
        out: tuple[str, ...] = ()
        for key in path[:-1]:
            out = (*out, key)
            if out in counts:
                out = (*out, str(counts[out]))
        return (*out, path[-1]) if path else out

    @classmethod
    def _split(cls, dotted: str) -> tuple[str, ...]:
        parts = re.findall(cls._KEY, dotted)
        return tuple(p[1:-1] if p[:1] in "\"'" else p for p in parts)

    def find(self, path: tuple[str, ...]) -> int | None:
        """Line of ``path``, else of its nearest enclosing table written in the file."""
        for n in range(len(path), 0, -1):
            if path[:n] in self.lines:
                return self.lines[path[:n]]
        return None


def _balance(text: str) -> int:
    """Open minus closed brackets/braces outside strings and comments."""
    depth = 0
    quote = ""
    for ch in text:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
    return depth
