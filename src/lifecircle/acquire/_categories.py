"""Which provider types (Amap type codes, Baidu tags) to query for the 业态 chosen."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from importlib import resources

from lifecircle.errors import InputError, Problem

__all__: list[str] = []


def resolve_categories(names: Sequence[str] | None) -> set[str]:
    """Catalogue codes of the 业态 named (codes, Chinese or English names, aliases); all by default.

    Raises
    ------
    InputError
        Listing every name that is not a 业态, with the closest valid names.
    """
    from lifecircle.taxonomy import load_catalogue

    cat = load_catalogue()
    if not names:
        return set(cat.codes())
    out: set[str] = set()
    problems = []
    for name in names:
        code = cat.resolve(name)
        if code is None:
            problems.append(
                Problem(
                    f"{name!r} is not a 业态 of the catalogue",
                    field="categories",
                    fix=f"use a code or name such as {', '.join(cat.suggest(name)) or '药店'}",
                )
            )
        else:
            out.add(code)
    if problems:
        raise InputError(problems, "categories")
    return out


def _mapping_rows(file: str) -> list[dict[str, str]]:
    data = resources.files("lifecircle.taxonomy").joinpath("data", file)
    with data.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _wanted(row: dict[str, str], codes: set[str]) -> bool:
    refine = {r for r in (row.get("refine") or "").split("|") if r and r != "*"}
    return row["category"] in codes or bool(refine & codes)


def amap_typecodes(codes: set[str]) -> list[str]:
    """Amap type codes mapping to the 业态 ``codes``, without codes their parent already covers.

    Amap includes the sub-types of a big or middle class (``050000`` covers ``0503xx``).

    Examples
    --------
    >>> amap_typecodes({"pharmacy"})  # pharmacies and the supermarkets that may be one
    ['060400', '090600']
    """
    chosen = {r["typecode"] for r in _mapping_rows("amap_typecodes.csv") if _wanted(r, codes)}

    def covered(code: str) -> bool:
        parents = {code[:2] + "0000", code[:4] + "00"} - {code}
        return bool(parents & chosen)

    return sorted(c for c in chosen if not covered(c))


def baidu_queries(codes: set[str]) -> list[tuple[str, str | None]]:
    """Baidu ``(query, tag)`` pairs for the 业态 ``codes``: ``("药店", "医疗")``; ``("丽人", None)``.

    Examples
    --------
    >>> baidu_queries({"pharmacy"})
    [('超市', '购物'), ('药店', '医疗')]
    """
    out: dict[tuple[str, str | None], None] = {}
    for row in _mapping_rows("baidu_tags.csv"):
        if not _wanted(row, codes):
            continue
        first, _, second = row["tag"].partition(";")
        out[(first, None) if second in ("", "*") else (second, first)] = None
    # a whole first-level class asked once covers its second-level tags
    return [(q, t) for q, t in out if t is None or (t, None) not in out]
