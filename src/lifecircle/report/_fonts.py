"""Fonts for the reports: a bundled CJK font plus matplotlib's DejaVu Sans for Latin text.

Droid Sans Fallback (Apache-2.0, shipped in ``report/fonts``) covers Chinese but has no Latin
glyphs; DejaVu Sans (shipped with matplotlib) covers Latin, digits and symbols such as ✓ ✗ ≥.
matplotlib combines them with its per-glyph font fallback; reportlab gets both registered and
each run of text is set in the font that has its glyphs (:func:`pdf_markup`).
"""

from __future__ import annotations

import functools
import html
import os
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

__all__ = [
    "CJK_FONT_FAMILY_CSS",
    "CJK_FONT_FILE",
    "PDF_CJK",
    "PDF_LATIN",
    "PDF_LATIN_BOLD",
    "latin_font_file",
    "mpl_context",
    "pdf_markup",
    "register_pdf_fonts",
    "split_runs",
]

FONT_DIR = Path(__file__).with_name("fonts")
#: The bundled CJK font.
CJK_FONT_FILE = FONT_DIR / "DroidSansFallbackFull.ttf"
CJK_LICENSE_FILE = FONT_DIR / "DroidSansFallback-LICENSE.txt"
#: Family name given to the bundled font in the HTML's ``@font-face``.
CJK_FONT_FAMILY_CSS = "LifecircleCJK"
#: reportlab names of the registered fonts.
PDF_CJK = "LifecircleCJK"
PDF_LATIN = "LifecircleLatin"
PDF_LATIN_BOLD = "LifecircleLatin-Bold"


def latin_font_file(bold: bool = False) -> Path:
    """DejaVu Sans as bundled with matplotlib."""
    import matplotlib

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name


@functools.lru_cache(maxsize=1)
def _mpl_cjk_family() -> str:
    from matplotlib import font_manager

    font_manager.fontManager.addfont(os.fspath(CJK_FONT_FILE))
    return str(font_manager.FontProperties(fname=os.fspath(CJK_FONT_FILE)).get_name())


def mpl_context() -> AbstractContextManager[Any]:
    """A matplotlib ``rc_context`` with DejaVu Sans first and the CJK font as fallback."""
    import matplotlib

    family = _mpl_cjk_family()
    return matplotlib.rc_context(
        {
            "font.family": ["DejaVu Sans", family],
            "axes.unicode_minus": False,
            "svg.fonttype": "none",
        }
    )


@functools.lru_cache(maxsize=1)
def register_pdf_fonts() -> tuple[frozenset[int], frozenset[int]]:
    """Register the fonts with reportlab (once); return the code points of (Latin, CJK) fonts."""
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    latin = TTFont(PDF_LATIN, os.fspath(latin_font_file()))
    latin_bold = TTFont(PDF_LATIN_BOLD, os.fspath(latin_font_file(bold=True)))
    cjk = TTFont(PDF_CJK, os.fspath(CJK_FONT_FILE))
    for font in (latin, latin_bold, cjk):
        pdfmetrics.registerFont(font)
    addMapping(PDF_LATIN, 0, 0, PDF_LATIN)
    addMapping(PDF_LATIN, 1, 0, PDF_LATIN_BOLD)
    addMapping(PDF_LATIN, 0, 1, PDF_LATIN)
    addMapping(PDF_LATIN, 1, 1, PDF_LATIN_BOLD)
    addMapping(PDF_CJK, 0, 0, PDF_CJK)
    addMapping(PDF_CJK, 1, 0, PDF_CJK)
    addMapping(PDF_CJK, 0, 1, PDF_CJK)
    addMapping(PDF_CJK, 1, 1, PDF_CJK)
    return frozenset(latin.face.charToGlyph), frozenset(cjk.face.charToGlyph)


def split_runs(value: str) -> list[tuple[bool, str]]:
    """Split text into runs ``(is_cjk, text)``: a character goes to the Latin font if it has it.

    Characters that neither font has stay in the Latin run (they would show as a box).
    """
    latin, cjk = register_pdf_fonts()
    runs: list[tuple[bool, str]] = []
    for ch in value:
        code = ord(ch)
        is_cjk = code not in latin and code in cjk
        if runs and runs[-1][0] == is_cjk:
            runs[-1] = (is_cjk, runs[-1][1] + ch)
        else:
            runs.append((is_cjk, ch))
    return runs


def pdf_markup(value: object) -> str:
    """reportlab Paragraph markup for ``value``: escaped, CJK runs wrapped in the CJK font."""
    parts = []
    for is_cjk, run in split_runs(str(value)):
        escaped = html.escape(run, quote=False).replace("\n", "<br/>")
        parts.append(f'<font name="{PDF_CJK}">{escaped}</font>' if is_cjk else escaped)
    return "".join(parts)
