"""Chain outlets (连锁网点): which outlets belong to a chain, by which brand, and how that was decided.

:func:`detect_chains` gives every outlet a ``brand``, ``is_chain`` and ``chain_method``, in this
order of evidence:

1. ``given`` — the outlets table's own ``is_chain`` value, or its ``brand`` (a named brand is a
   chain outlet unless ``is_chain`` says otherwise);
2. ``brand_list`` / ``city_list`` — a brand of the shipped national list
   (``assess/data/chain_brands.toml``, P) or of the city's own list found in the outlet's
   normalised name as a whole token;
3. ``repeated_name`` — the proxy: the outlet's normalised name is shared by at least
   ``min_outlets`` outlets of the city (default :data:`DEFAULT_MIN_OUTLETS`, P) and is not a
   generic shop name (``not_chains``);
4. ``none`` — an independent outlet as far as the data tell.

Normalised name: NFKC, case-folded, without spaces, and without the branch suffix — a trailing
bracket (``美宜佳(钟楼店)``, ``老百姓大药房（北大街分店）``, also unclosed), a trailing part after a dash
naming a branch (``美宜佳-钟楼店``; not ``雍村饭店-中餐厅``, a hall of one hotel) and a trailing store number (``…大药房NO.112``, ``…第3分店``).

Whole-token matching: Chinese names have no word breaks, so a name is cut into the longest
entries of the brand list (brands, aliases and the ``exclude`` phrases, which are known words that
are *not* the brand); a brand counts only where it is such a token.  So 中国邮政储蓄银行 is the
bank's token, not 中国邮政 followed by 储蓄银行, and 全家福 is not 全家.  Latin brands must stand
between non-letters (``ok`` is not in ``book``).  :func:`chain_brands_found` lists the brands
found, with their counts and method, for a planner to confirm or reject in the city file.

The proxy and the branch-suffix rules are proposals of this software (P): no policy text defines
how 连锁化率 is measured on map data (standards.md §8, §13 D9 give only the target, ≥ 30 %, V2).

Examples
--------
>>> import pandas as pd
>>> from lifecircle.assess.kpis import load_chain_brands
>>> outlets = pd.DataFrame({"name": ["中国邮政储蓄银行(钟楼支行)", "中国邮政(钟楼营业所)",
...                                  "怡康医药(东大街店)", "怡康医药(西大街店)", "怡康医药（北大街分店）"]})
>>> detect_chains(outlets, load_chain_brands())[["brand", "chain_method"]].values.tolist()
[['中国邮政储蓄银行', 'brand_list'], ['中国邮政', 'brand_list'], ['怡康医药', 'repeated_name'], \
['怡康医药', 'repeated_name'], ['怡康医药', 'repeated_name']]
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lifecircle.errors import Problems

if TYPE_CHECKING:
    from lifecircle.assess.kpis import ChainBrands

__all__ = [
    "CHAIN_METHODS",
    "DEFAULT_MIN_OUTLETS",
    "SERVICE_SUFFIXES",
    "brand_tokens",
    "chain_brands_found",
    "chain_method_label",
    "chain_settings",
    "detect_chains",
    "normalise_name",
]

#: Values of ``chain_method``, strongest evidence first.
CHAIN_METHODS = ("given", "city_list", "brand_list", "repeated_name", "none")
#: Repeated-name proxy default: the same normalised name at ≥ 3 outlets of the city is a chain
#: (P, this software; a city sets ``min_outlets`` in its chain settings, 0 switches it off).
DEFAULT_MIN_OUTLETS = 3
#: Trailing service-point words dropped before names are compared by the proxy, so a bank's
#: branch and its ATM are one brand (P).
SERVICE_SUFFIXES = (
    "24小时自助银行服务",
    "24小时自助银行",
    "24小时自助服务区",
    "附行式自助银行",
    "离行式自助服务区",
    "离行式自助银行",
    "自助银行",
    "自助服务区",
    "atm",
)

_METHOD_ZH = {
    "given": "数据自带",
    "city_list": "本市品牌名单",
    "brand_list": "全国品牌名单",
    "repeated_name": "同名网点≥{n}家",
}
_SPACE = re.compile(r"\s+")
_BRACKET = re.compile(r"[\(（\[【<《〔][^\(（\[【<《〔]*[\)）\]】>》〕]?$")
# a dash part is a branch only when it names one (雍村饭店-中餐厅 is a hall of one hotel, not a branch)
_DASH_TAIL = re.compile(
    r"(?<=.{2})[-—–_·•|/]+[^-—–_·•|/]*(?:店|支行|分行|营业所|营业部|分部|分社|网点|服务点|服务站)$"
)
_NUMBER_TAIL = re.compile(r"(?:no\.?\d+|第?[0-9一二三四五六七八九十]+(?:号|分)?(?:店|门店|分店))$")


def normalise_name(name: object) -> str:
    """A name as compared for brands: NFKC, case-folded, no spaces, branch suffix stripped.

    Examples
    --------
    >>> normalise_name("美宜佳(钟楼店)"), normalise_name("老百姓大药房（北大街分店）")
    ('美宜佳', '老百姓大药房')
    >>> normalise_name("秦唐九州通大药房NO.112"), normalise_name("美宜佳-钟楼店")
    ('秦唐九州通大药房', '美宜佳')
    """
    if name is None or (isinstance(name, float) and np.isnan(name)) or name is pd.NA:
        return ""
    text = _SPACE.sub("", unicodedata.normalize("NFKC", str(name))).casefold()
    while True:
        stripped = _BRACKET.sub("", text)
        stripped = _DASH_TAIL.sub("", stripped)
        stripped = _NUMBER_TAIL.sub("", stripped) if len(stripped) > 3 else stripped
        if stripped == text or not stripped:
            return stripped or text
        text = stripped


def _proxy_key(name: str) -> str:
    for suffix in SERVICE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)].rstrip("-—–_·•|/")
    return name


def _is_ascii_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _lexicon(brands: ChainBrands) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    """One pattern of every token (longest first) and the brand of each brand token."""
    brand_of: dict[str, str] = {}
    for key, brand in zip(brands.names, brands.brands(), strict=True):
        k = normalise_name(key)
        if k:
            brand_of.setdefault(k, brand)
    tokens = set(brand_of) | {normalise_name(x) for x in brands.excludes if normalise_name(x)}
    if not tokens:
        return None, brand_of
    parts = []
    for tok in sorted(tokens, key=lambda t: (-len(t), t)):
        left = r"(?<![a-z0-9])" if _is_ascii_alnum(tok[0]) else ""
        right = r"(?![a-z0-9])" if _is_ascii_alnum(tok[-1]) else ""
        parts.append(f"{left}{re.escape(tok)}{right}")
    return re.compile("|".join(parts)), brand_of


def brand_tokens(text: pd.Series, brands: ChainBrands) -> pd.Series:
    """The brand each text holds as a whole token (missing where none).

    Parameters
    ----------
    text
        Outlet names or brands.
    brands
        The brand list (:func:`lifecircle.assess.kpis.load_chain_brands`).

    Returns
    -------
    pandas.Series
        Index-aligned brand names (the list's own spelling), ``<NA>`` where no brand.

    Examples
    --------
    >>> from lifecircle.assess.kpis import ChainBrands
    >>> lst = ChainBrands(("中国邮政", "中国邮政储蓄银行", "全家", "ok"), excludes=("全家福",))
    >>> brand_tokens(pd.Series(["中国邮政储蓄银行", "全家福饺子", "Book店", "OK便利"]), lst).tolist()
    ['中国邮政储蓄银行', <NA>, <NA>, 'ok']
    """
    pattern, brand_of = _lexicon(brands)
    out: list[str | None] = []
    for value in text.to_numpy(dtype=object):
        found: str | None = None
        name = normalise_name(value)
        if pattern is not None and name:
            for m in pattern.finditer(name):
                if m.group(0) in brand_of:
                    found = brand_of[m.group(0)]
                    break
        out.append(found)
    return pd.Series(pd.array(out, dtype="string"), index=text.index)


def detect_chains(outlets: pd.DataFrame, brands: ChainBrands | None = None) -> pd.DataFrame:
    """Brand, chain flag and the method that decided it, for every outlet.

    Parameters
    ----------
    outlets
        Outlets with ``name`` and optionally ``brand`` and ``is_chain`` (as from
        :func:`lifecircle.ingest.read_outlets`).  The proxy counts names over all these rows,
        so pass the whole city.  Rows detected before (with ``chain_method`` and ``is_chain``,
        as :func:`~lifecircle.assess.assess_city` leaves them) keep their method.
    brands
        Brand list and proxy settings (default :func:`~lifecircle.assess.kpis.load_chain_brands`:
        the shipped national list, the proxy at :data:`DEFAULT_MIN_OUTLETS`).

    Returns
    -------
    pandas.DataFrame
        Index-aligned ``brand`` (string, ``<NA>`` for independents), ``is_chain`` (bool),
        ``chain_method`` (one of :data:`CHAIN_METHODS`).
    """
    if brands is None:
        from lifecircle.assess.kpis import load_chain_brands

        brands = load_chain_brands()
    n = len(outlets)
    index = outlets.index
    names = outlets["name"] if "name" in outlets.columns else pd.Series([None] * n, index=index)
    brand = pd.Series(pd.array([pd.NA] * n, dtype="string"), index=index)
    is_chain = np.zeros(n, dtype=bool)
    method = np.full(n, "none", dtype=object)
    open_ = np.ones(n, dtype=bool)

    # 1. given: is_chain / brand columns
    given_brand = (
        outlets["brand"].astype("string").str.strip().mask(lambda b: b == "")
        if "brand" in outlets.columns
        else pd.Series(pd.array([pd.NA] * n, dtype="string"), index=index)
    )
    has_brand = given_brand.notna().to_numpy(dtype=bool)
    own = (
        pd.array(outlets["is_chain"].to_numpy(dtype=object), dtype="boolean")
        if "is_chain" in outlets.columns
        else pd.array([pd.NA] * n, dtype="boolean")
    )
    own_known = ~np.asarray(pd.isna(own), dtype=bool)
    decided = own_known | has_brand
    is_chain[decided] = np.where(own_known, np.asarray(own.fillna(False), dtype=bool), has_brand)[
        decided
    ]
    method[decided] = "given"
    if "chain_method" in outlets.columns:  # detected before (assess_city): keep how
        prior = outlets["chain_method"].astype("string")
        again = (prior.isin(CHAIN_METHODS).fillna(False).to_numpy(dtype=bool)) & own_known
        method[again] = prior.to_numpy(dtype=object)[again]
    brand[has_brand] = given_brand[has_brand]
    open_ &= ~decided

    # 2. brand lists, on the normalised name (a given brand without is_chain also gets its
    #    list brand's spelling)
    listed = brand_tokens(names, brands)
    hit = listed.notna().to_numpy(dtype=bool)
    city = {b for b in brands.city}
    take = open_ & hit
    brand[take] = listed[take]
    is_chain[take] = True
    method[take] = [
        "city_list" if b in city else "brand_list" for b in listed[take].to_numpy(dtype=object)
    ]
    missing_brand = decided & is_chain & ~has_brand & hit
    brand[missing_brand] = listed[missing_brand]
    open_ &= ~take

    # 3. repeated-name proxy over the whole table
    if brands.min_outlets > 0:
        keys = pd.Series([_proxy_key(normalise_name(v)) for v in names], index=index)
        counts = keys[keys.str.len() >= 2].value_counts()
        rejected = {normalise_name(x) for x in brands.not_chains}
        many = {k for k, c in counts.items() if c >= brands.min_outlets and k not in rejected}
        take = open_ & keys.isin(many).to_numpy(dtype=bool)
        brand[take] = keys[take]
        is_chain[take] = True
        method[take] = "repeated_name"
    return pd.DataFrame({"brand": brand, "is_chain": is_chain, "chain_method": method}, index=index)


def chain_brands_found(
    outlets: pd.DataFrame, brands: ChainBrands | None = None, *, category: str = "category"
) -> pd.DataFrame:
    """The chain brands found in a city's outlets, with their counts, for a planner to check.

    Parameters
    ----------
    outlets
        The city's outlets (see :func:`detect_chains`).
    brands
        Brand list and proxy settings (default: shipped list, default proxy).
    category
        Column of 业态 codes listed per brand (skipped when absent).

    Returns
    -------
    pandas.DataFrame
        One row per brand: ``brand``, ``chain_method``, ``outlets`` (count), ``categories``
        (``;``-joined 业态 codes, most frequent first), ``examples`` (up to three names), sorted
        by count, descending, then brand.  A planner confirms a ``repeated_name`` brand by adding
        it to the city's ``brands`` or rejects it with ``not_chains``.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"name": ["罗森(钟楼店)", "罗森", "小店"],
    ...                       "category": ["convenience_store"] * 3})
    >>> chain_brands_found(frame)[["brand", "chain_method", "outlets"]].values.tolist()
    [['罗森', 'brand_list', 2]]
    """
    found = detect_chains(outlets, brands)
    chain = found[found["is_chain"] & found["brand"].notna()].copy()
    cols = ["brand", "chain_method", "outlets", "categories", "examples"]
    if chain.empty:
        return pd.DataFrame(columns=cols)
    chain["name"] = outlets.loc[chain.index, "name"] if "name" in outlets.columns else ""
    chain["category"] = (
        outlets.loc[chain.index, category].astype("string") if category in outlets.columns else ""
    )
    rows = []
    for (b, m), grp in chain.groupby(["brand", "chain_method"], sort=False):
        cats = grp["category"].dropna().value_counts()
        examples = list(dict.fromkeys(str(x) for x in grp["name"].dropna()))[:3]
        rows.append(
            {
                "brand": str(b),
                "chain_method": str(m),
                "outlets": len(grp),
                "categories": ";".join(str(c) for c in cats.index if str(c)),
                "examples": ";".join(examples),
            }
        )
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["outlets", "brand"], ascending=[False, True]).reset_index(drop=True)


def chain_method_label(methods: Iterable[str], min_outlets: int) -> str:
    """The methods behind a chain share, in Chinese, for the KPI label (``品牌名单+同名网点≥3家``)."""
    used = [m for m in CHAIN_METHODS if m in set(methods) and m in _METHOD_ZH]
    if not used:
        return "未识别出连锁网点"
    return "+".join(_METHOD_ZH[m].format(n=min_outlets) for m in used)


def proxy_settings(raw: object, problems: Problems) -> tuple[int, tuple[str, ...]]:
    """``min_outlets`` and ``not_chains`` of a ``[proxy]`` table, problems recorded."""
    if not isinstance(raw, Mapping):
        problems.add("[proxy] must be a table", field="proxy", fix="write [proxy]")
        return DEFAULT_MIN_OUTLETS, ()
    n = raw.get("min_outlets", DEFAULT_MIN_OUTLETS)
    if isinstance(n, bool) or not isinstance(n, int) or n < 0 or n == 1:
        problems.add(
            f"min_outlets must be 0 (off) or an integer ≥ 2, got {n!r}",
            field="proxy.min_outlets",
            fix="write min_outlets = 3",
        )
        n = DEFAULT_MIN_OUTLETS
    generic = _texts(raw, "not_chains", "proxy", "大众理发", problems)
    return int(n), generic


def _texts(
    raw: Mapping[str, Any], key: str, where: str, example: str, problems: Problems
) -> tuple[str, ...]:
    """A list of texts of a settings table (empty, with a problem recorded, when it is not)."""
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.add(
            f"{key} must be a list of texts, got {value!r}",
            field=f"{where}.{key}",
            fix=f'write {key} = ["{example}"]',
        )
        return ()
    return tuple(v.strip() for v in value if v.strip())


def chain_settings(settings: Any) -> ChainBrands:
    """The brand list and proxy settings of a city.

    Parameters
    ----------
    settings
        ``None`` (shipped national list, default proxy); a
        :class:`~lifecircle.assess.kpis.ChainBrands`; a brand-list file; or a mapping — the
        ``chains`` table of a city file — with optional ``file`` (a list replacing the shipped
        one), ``brands`` (the city's own chains, added), ``min_outlets`` (proxy threshold, 0 =
        off) and ``not_chains`` (names the proxy must not take, e.g. rejected after
        :func:`chain_brands_found`).

    Returns
    -------
    ChainBrands

    Examples
    --------
    >>> lst = chain_settings({"brands": ["怡康医药"], "min_outlets": 5, "not_chains": ["大众理发"]})
    >>> lst.city, lst.min_outlets, "大众理发" in lst.not_chains, "美宜佳" in lst.names
    (('怡康医药',), 5, True, True)
    """
    from dataclasses import replace

    from lifecircle.assess.kpis import ChainBrands, load_chain_brands

    if settings is None:
        return load_chain_brands()
    if isinstance(settings, ChainBrands):
        return settings
    if not isinstance(settings, Mapping):
        return load_chain_brands(settings)
    problems = Problems(file=None)
    unknown = sorted(set(settings) - {"file", "brands", "min_outlets", "not_chains"})
    for key in unknown:
        problems.add(
            f"unknown key {key!r} in the chain settings",
            field=f"chains.{key}",
            fix="use file, brands, min_outlets, not_chains",
        )
    city = _texts(settings, "brands", "chains", "怡康医药", problems)
    min_outlets, not_chains = proxy_settings(
        {k: v for k, v in settings.items() if k in ("min_outlets", "not_chains")}, problems
    )
    problems.raise_if_any("chain settings")
    base = load_chain_brands(settings.get("file"))
    out = base.extended(city) if city else base
    if "min_outlets" in settings:
        out = replace(out, min_outlets=min_outlets)
    return replace(out, not_chains=out.not_chains + not_chains)
