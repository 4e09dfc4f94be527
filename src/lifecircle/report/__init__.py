"""Reports of an assessment: city and circle reports as HTML and PDF, and one Excel workbook.

Maps and charts are drawn with matplotlib (no tiles, no internet) in the network's metric CRS;
Chinese renders with a CJK font that ships with the package (Droid Sans Fallback, Apache-2.0).

>>> from lifecircle.report import write_reports  # doctest: +SKIP
>>> written = write_reports(assessment, "out", lang="zh")  # doctest: +SKIP
>>> sorted(written)[:3]  # doctest: +SKIP
['circles/A.html', 'circles/A.pdf', 'report.html']
"""

from lifecircle.report.writer import BLIND_SPOT_CATEGORIES, FORMATS, PLAN_SHEETS, write_reports

__all__ = ["BLIND_SPOT_CATEGORIES", "FORMATS", "PLAN_SHEETS", "write_reports"]
