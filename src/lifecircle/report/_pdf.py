"""PDF reports with reportlab platypus: A4, header with city and date, page numbers, CJK fonts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lifecircle.report._fonts import (
    PDF_CJK,
    PDF_LATIN,
    PDF_LATIN_BOLD,
    pdf_markup,
    register_pdf_fonts,
    split_runs,
)
from lifecircle.report._labels import text
from lifecircle.report._tables import DisplayTable

__all__ = ["PdfBlock", "build_pdf"]

_OK = "#1a7f37"
_BAD = "#c62828"
_STATE_COLOURS = {"ok": _OK, "bad": _BAD, "warn": "#9a6700"}


@dataclass
class PdfBlock:
    """One piece of a PDF report.

    ``kind`` is ``title`` / ``title2`` (smaller) / ``subtitle`` / ``heading`` / ``subheading`` /
    ``para`` / ``table`` / ``image`` / ``box`` (a table in a shaded box) / ``bullets`` /
    ``side`` / ``pagebreak``; ``value`` is
    text, a :class:`DisplayTable`, an image path (with ``height_share`` of the frame height at
    most), a list of strings, or for ``side`` a pair (list of ``para``/``table`` blocks, image
    path) set side by side.
    """

    kind: str
    value: Any = None
    caption: str | None = None
    height_share: float = 0.45
    width_share: float = 1.0
    font_size: float = 7.5


def _styles() -> dict[str, Any]:
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle

    base = ParagraphStyle("base", fontName=PDF_LATIN, fontSize=9, leading=12.5)
    heading = ParagraphStyle(
        "heading",
        parent=base,
        fontName=PDF_LATIN_BOLD,
        fontSize=12.5,
        leading=16,
        spaceBefore=10,
        spaceAfter=5,
        textColor=colors.HexColor("#0b4f8a"),
        keepWithNext=1,
    )
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=18, leading=24, spaceAfter=4),
        "title2": ParagraphStyle("title2", parent=base, fontSize=15, leading=19, spaceAfter=2),
        "subtitle": ParagraphStyle(
            "subtitle", parent=base, fontSize=10, textColor=colors.HexColor("#57606a"), spaceAfter=8
        ),
        "heading": heading,
        "subheading": ParagraphStyle(
            "subheading", parent=heading, fontSize=10, leading=13, spaceBefore=6, spaceAfter=3
        ),
        "para": ParagraphStyle("para", parent=base, spaceAfter=5),
        "caption": ParagraphStyle(
            "caption",
            parent=base,
            fontSize=8,
            leading=10,
            textColor=colors.HexColor("#57606a"),
            spaceAfter=8,
        ),
        "bullet": ParagraphStyle(
            "bullet",
            parent=base,
            fontSize=8.5,
            leading=11.5,
            leftIndent=10,
            bulletIndent=0,
            spaceAfter=3,
        ),
    }


def _cell_style(
    size: float, *, bold: bool = False, right: bool = False, colour: str | None = None
) -> Any:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle

    return ParagraphStyle(
        f"cell{size}{bold}{right}{colour}",
        fontName=PDF_LATIN_BOLD if bold else PDF_LATIN,
        fontSize=size,
        leading=size * 1.3,
        alignment=TA_RIGHT if right else 0,
        textColor=colors.HexColor(colour) if colour else colors.black,
        splitLongWords=True,
    )


def _table(table: DisplayTable, width: float, size: float, *, shaded: bool = False) -> Any:
    """A reportlab Table; a cell is a plain string when it fits in one font and one line
    (fast), else a wrapping Paragraph with per-run fonts."""
    from reportlab.lib import colors
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.platypus import Paragraph, Table, TableStyle

    total = sum(table.widths) or 1.0
    col_widths = [width * w / total for w in table.widths]
    pad = 3.0
    head = _cell_style(size, bold=True)
    para_styles = {
        (right, state): _cell_style(size, right=right, colour=_STATE_COLOURS.get(state or ""))
        for right in (False, True)
        for state in (None, *_STATE_COLOURS)
    }
    commands: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), PDF_LATIN),
        ("FONTSIZE", (0, 0), (-1, -1), size),
        ("LEADING", (0, 0), (-1, -1), size * 1.3),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#c0c7cf")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e4ebf3")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.0),
        ("LEFTPADDING", (0, 0), (-1, -1), pad),
        ("RIGHTPADDING", (0, 0), (-1, -1), pad),
    ]
    for j, numeric in enumerate(table.numeric):
        if numeric:
            commands.append(("ALIGN", (j, 1), (j, -1), "RIGHT"))

    def cell(value: str, i: int, j: int, style: Any) -> Any:
        runs = split_runs(value)
        if len(runs) <= 1 and "\n" not in value:
            font = PDF_CJK if runs and runs[0][0] else (PDF_LATIN_BOLD if i == 0 else PDF_LATIN)
            if stringWidth(value, font, size) <= col_widths[j] - 2 * pad:
                if font != PDF_LATIN:
                    commands.append(("FONTNAME", (j, i), (j, i), font))
                return value
        return Paragraph(pdf_markup(value), style)

    data = [[cell(h, 0, j, head) for j, h in enumerate(table.headers)]]
    for i, (row, status) in enumerate(zip(table.rows, table.status, strict=True), start=1):
        cells = []
        for j, value in enumerate(row):
            state = status[j]
            if state in _STATE_COLOURS:
                commands.append(
                    ("TEXTCOLOR", (j, i), (j, i), colors.HexColor(_STATE_COLOURS[state]))
                )
            cells.append(cell(value, i, j, para_styles[(table.numeric[j], state)]))
        data.append(cells)
    if shaded:
        commands.append(("BACKGROUND", (0, 1), (-1, -1), colors.HexColor("#f6f8fa")))
    else:
        commands.append(
            ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f7f9fb")])
        )
    out = Table(data, colWidths=col_widths, repeatRows=1, hAlign="LEFT")
    out.setStyle(TableStyle(commands))
    return out


def _image(path: Path, width: float, max_height: float) -> Any:
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import Image

    iw, ih = ImageReader(str(path)).getSize()
    w = width
    h = w * ih / iw
    if h > max_height:
        h = max_height
        w = h * iw / ih
    return Image(str(path), width=w, height=h)


def _draw_mixed(
    canvas: Any, x: float, y: float, value: str, size: float, align: str = "left"
) -> None:
    """Draw one line of mixed Latin/CJK text on the canvas."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    runs = [(PDF_CJK if cjk else PDF_LATIN, run) for cjk, run in split_runs(value)]
    total = sum(stringWidth(run, font, size) for font, run in runs)
    if align == "right":
        x -= total
    elif align == "center":
        x -= total / 2
    for font, run in runs:
        canvas.setFont(font, size)
        canvas.drawString(x, y, run)
        x += stringWidth(run, font, size)


def build_pdf(
    path: Path,
    blocks: Sequence[PdfBlock],
    *,
    header: str,
    lang: str,
    title: str,
    author: str = "lifecircle",
) -> Path:
    """Write the blocks to an A4 PDF with a running header and page numbers."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        ListFlowable,
        ListItem,
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    register_pdf_fonts()
    styles = _styles()
    page_w, page_h = A4
    margin = 16 * mm
    doc = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin + 6 * mm,
        bottomMargin=margin,
        title=title,
        author=author,
        initialFontName=PDF_LATIN,
        initialFontSize=9,
    )
    width = doc.width
    height = doc.height

    def on_page(canvas: Any, _doc: Any) -> None:
        canvas.saveState()
        canvas.setFillColor(colors.HexColor("#57606a"))
        top = page_h - margin + 2 * mm
        _draw_mixed(canvas, margin, top, header, 8)
        canvas.setStrokeColor(colors.HexColor("#c0c7cf"))
        canvas.setLineWidth(0.5)
        canvas.line(margin, top - 2 * mm, page_w - margin, top - 2 * mm)
        _draw_mixed(
            canvas,
            page_w / 2,
            margin - 8 * mm,
            text("page", lang, n=canvas.getPageNumber()),
            8,
            "center",
        )
        canvas.restoreState()

    story: list[Any] = []
    for block in blocks:
        if block.kind in ("title", "title2", "subtitle", "heading", "subheading", "para"):
            story.append(Paragraph(pdf_markup(block.value), styles[block.kind]))
        elif block.kind == "table":
            story.append(_table(block.value, width, block.font_size))
            story.append(Spacer(1, 6))
        elif block.kind == "box":
            story.append(_table(block.value, width, block.font_size, shaded=True))
            story.append(Spacer(1, 6))
        elif block.kind == "image":
            image = _image(
                Path(block.value), width * block.width_share, height * block.height_share
            )
            story.append(image)
            if block.caption:
                # keepWithNext (not KeepTogether) so that a heading before it stays with it
                image.keepWithNext = 1
                story.append(Paragraph(pdf_markup(block.caption), styles["caption"]))
        elif block.kind == "bullets":
            items = [
                ListItem(Paragraph(pdf_markup(v), styles["bullet"]), leftIndent=10)
                for v in block.value
            ]
            story.append(
                ListFlowable(
                    items,
                    bulletType="bullet",
                    start="•",
                    bulletFontName=PDF_LATIN,
                    bulletFontSize=8,
                )
            )
        elif block.kind == "side":
            left, image_path = block.value
            left_w, right_w = width * 0.56, width * 0.44
            left_flow = []
            for sub in left:
                if sub.kind == "table":
                    left_flow += [_table(sub.value, left_w - 6, sub.font_size), Spacer(1, 4)]
                else:
                    left_flow.append(Paragraph(pdf_markup(sub.value), styles[sub.kind]))
            right = _image(Path(image_path), right_w - 6, height * block.height_share)
            side = Table([[left_flow, right]], colWidths=[left_w, right_w], hAlign="LEFT")
            side.setStyle(
                TableStyle(
                    [
                        ("FONTNAME", (0, 0), (-1, -1), PDF_LATIN),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("LEFTPADDING", (0, 0), (-1, -1), 0),
                        ("RIGHTPADDING", (0, 0), (0, 0), 6),
                        ("ALIGN", (1, 0), (1, 0), "RIGHT"),
                    ]
                )
            )
            story += [side, Spacer(1, 6)]
        elif block.kind == "pagebreak":
            story.append(PageBreak())
    from reportlab import rl_config

    # ASCII85 only inflates binary streams (and is slow in pure Python); restore afterwards
    use_a85 = rl_config.useA85
    rl_config.useA85 = 0
    try:
        doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    finally:
        rl_config.useA85 = use_a85
    return path
