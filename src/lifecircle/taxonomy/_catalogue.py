"""The 业态 catalogue: data classes, loading, validation and city overrides (private)."""

from __future__ import annotations

import difflib
import functools
import logging
import re
import sys
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from lifecircle.errors import InputError, Problem
from lifecircle.taxonomy._rules import UNCLASSIFIED, Rules, read_rules

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "CATALOGUE_CONFIDENCE",
    "CLASSES",
    "SLOGANS",
    "UNCLASSIFIED",
    "UNCLASSIFIED_NAMES",
    "Catalogue",
    "Category",
    "load_catalogue",
    "normalise_name",
]

logger = logging.getLogger(__name__)

#: 业态 classes: 基本保障类 and 品质提升类.
CLASSES: Mapping[str, str] = MappingProxyType({"basic": "基本保障类", "quality": "品质提升类"})
#: Policy slogans (一店一早 / 一菜一修 / 一老一小, standards.md §2.2).
SLOGANS: frozenset[str] = frozenset({"一店", "一早", "一菜", "一修", "一老", "一小"})
#: Confidence tags of catalogue entries (standards.md §0).
CATALOGUE_CONFIDENCE: frozenset[str] = frozenset({"V1", "V2", "R", "A", "U", "P"})

_DATA = "data"
_MAPPING_KEYS = ("baidu", "amap_typecode", "amap_type", "osm", "keywords")
_TOP_KEYS = ("version", "as_of", "bands", "mappings", "category")
_OVERRIDE_KEYS = ("version", "as_of", "bands", "aliases", "keywords", "category_band", "category")
_CATEGORY_KEYS = (
    "code",
    "name_zh",
    "name_en",
    "class",
    "band",
    "tier_min",
    "slogans",
    "aliases",
    "source",
    "confidence",
    "note",
    "observable",
)
_REQUIRED = ("code", "name_zh", "name_en", "class", "band", "source", "confidence")
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_SPACE = re.compile(r"\s+")
#: Values of a ``category`` column that mean "explicitly not a 业态".
UNCLASSIFIED_NAMES: frozenset[str] = frozenset({UNCLASSIFIED, "未分类", "无", "其他"})


def normalise_name(text: str) -> str:
    """Normalise a 业态 name or code for lookup.

    NFKC (full-width brackets, letters and spaces become half-width), all whitespace removed,
    case-folded.

    Examples
    --------
    >>> normalise_name(" 生鲜超市（菜店） ")
    '生鲜超市(菜店)'
    >>> normalise_name("Convenience Store")
    'conveniencestore'
    """
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).casefold()


@dataclass(frozen=True)
class Category:
    """One 业态 (business type) of the catalogue.

    Attributes
    ----------
    code
        Stable ASCII identifier, e.g. ``"convenience_store"``.
    name_zh, name_en
        The Guide's Chinese name (e.g. 便利店) and an English gloss.
    klass
        ``"basic"`` (基本保障类) or ``"quality"`` (品质提升类); ``class`` in the data file.
    band
        Walking band name, a key of :attr:`Catalogue.bands` (``"doorstep"`` 家门口,
        ``"surround"`` 家周边).
    tier_min
        MOFCOM's 5/8/15-minute tier (informative), or ``None``.
    slogans
        Policy slogans the 业态 answers (一店, 一早, 一菜, 一修, 一老, 一小).
    aliases
        Other names accepted in a ``category`` column.
    source, confidence
        Where the entry comes from and its confidence tag (V1/V2/R/A/U/P; P = proposal).
    note
        Interpretation note, or ``None``.
    observable
        ``False`` for a 业态 that map data do not show (前置仓): its absence in the POI data is
        not evidence of a gap, so it is never proposed as a project unless the city supplied
        outlets of it.
    """

    code: str
    name_zh: str
    name_en: str
    klass: str
    band: str
    tier_min: float | None = None
    slogans: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    source: str = ""
    confidence: str = "P"
    note: str | None = None
    observable: bool = True

    @property
    def is_proposal(self) -> bool:
        """True for entries that are proposals of this software (confidence P), not policy."""
        return self.confidence == "P"


@dataclass(frozen=True)
class Catalogue:
    """The 业态 catalogue with its walking bands and source mappings.

    Build it with :func:`load_catalogue`.

    Attributes
    ----------
    version
        Catalogue version (``"2026.11.1"``; a city override appends ``+<its version>``).
    bands
        Band name → walking minutes (``doorstep`` 10, ``surround`` 15 by default).
    categories
        The 业态, in catalogue order.
    rules
        Source mappings used by :func:`lifecircle.taxonomy.classify`.
    files
        The files the catalogue was read from.
    """

    version: str
    bands: Mapping[str, float]
    categories: tuple[Category, ...]
    rules: Rules = field(repr=False, compare=False)
    files: tuple[str, ...] = ()
    _by_code: Mapping[str, Category] = field(init=False, repr=False, compare=False)
    _lookup: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_code = {c.code: c for c in self.categories}
        lookup: dict[str, str] = {}
        for cat in self.categories:
            for text in (cat.code, cat.name_zh, cat.name_en, *cat.aliases):
                lookup.setdefault(normalise_name(text), cat.code)
        object.__setattr__(self, "bands", MappingProxyType(dict(self.bands)))
        object.__setattr__(self, "_by_code", MappingProxyType(by_code))
        object.__setattr__(self, "_lookup", MappingProxyType(lookup))

    def __len__(self) -> int:
        return len(self.categories)

    def __iter__(self) -> Iterator[Category]:
        return iter(self.categories)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def get(self, code: str) -> Category | None:
        """The 业态 with this code, or ``None``."""
        return self._by_code.get(code)

    def resolve(self, name_or_code: str) -> str | None:
        """The code of a 业态 given its code, Chinese or English name or an alias.

        Full-width/half-width brackets, whitespace and letter case do not matter.

        Examples
        --------
        >>> cat = load_catalogue()
        >>> cat.resolve("生鲜超市(菜店)"), cat.resolve("菜店"), cat.resolve("Pharmacy")
        ('fresh_grocery', 'fresh_grocery', 'pharmacy')
        >>> cat.resolve("加油站") is None
        True
        """
        if not isinstance(name_or_code, str):
            return None
        return self._lookup.get(normalise_name(name_or_code))

    def suggest(self, text: str, n: int = 3) -> list[str]:
        """Closest valid names (Chinese name, code or alias) to ``text``, best first."""
        key = normalise_name(str(text))
        display: dict[str, str] = {}
        for cat in self.categories:
            for name in (cat.name_zh, cat.code, cat.name_en, *cat.aliases):
                display.setdefault(normalise_name(name), name)
        close = difflib.get_close_matches(key, list(display), n=n, cutoff=0.4)
        if not close:
            close = [k for k in display if key and (key in k or k in key)][:n]
        return [display[k] for k in close]

    def band_minutes(self, code: str) -> float:
        """Walking minutes of the band of a 业态 (code, name or alias).

        Examples
        --------
        >>> cat = load_catalogue()
        >>> cat.band_minutes("convenience_store"), cat.band_minutes("社区养老服务机构")
        (10.0, 15.0)
        """
        resolved = self.resolve(code)
        if resolved is None:
            raise InputError(
                Problem(
                    f"{code!r} is not a 业态 of catalogue {self.version}",
                    field="category",
                    fix=f"use a catalogue code or name, e.g. {', '.join(self.suggest(code))}",
                ),
                "业态",
            )
        return float(self.bands[self._by_code[resolved].band])

    def codes(self, klass: str | None = None) -> list[str]:
        """Codes of the 业态 in catalogue order, all or only those of class ``klass``."""
        if klass is not None and klass not in CLASSES:
            raise InputError(
                Problem(
                    f"class {klass!r} is not known",
                    field="klass",
                    fix=f"use one of {', '.join(CLASSES)} or None",
                ),
                "业态 class",
            )
        return [c.code for c in self.categories if klass is None or c.klass == klass]

    def to_frame(self) -> pd.DataFrame:
        """One row per 业态: code, names, class, band and its minutes, tier, slogans, aliases, source.

        Examples
        --------
        >>> frame = load_catalogue().to_frame()
        >>> frame.loc["pharmacy", "name_zh"], frame.loc["pharmacy", "class"]
        ('药店', 'basic')
        """
        rows = [
            {
                "code": c.code,
                "name_zh": c.name_zh,
                "name_en": c.name_en,
                "class": c.klass,
                "class_zh": CLASSES[c.klass],
                "band": c.band,
                "band_minutes": float(self.bands[c.band]),
                "tier_min": c.tier_min,
                "slogans": "、".join(c.slogans),
                "aliases": "、".join(c.aliases),
                "source": c.source,
                "confidence": c.confidence,
                "note": c.note,
            }
            for c in self.categories
        ]
        return pd.DataFrame(rows).set_index("code", drop=False).rename_axis(None)


def load_catalogue(
    path: str | Path | None = None, *, overrides: str | Path | None = None
) -> Catalogue:
    """Load and validate a 业态 catalogue.

    Parameters
    ----------
    path
        A catalogue TOML file; ``None`` loads the bundled default (version 2026.11.1, built from
        standards.md §2, §10, §12, §13).  Its ``[mappings]`` table names the mapping files
        (relative to the file); kinds it does not name use the bundled files.
    overrides
        A city override TOML file applied on top: ``[bands]`` (change or add bands),
        ``[category_band]`` (code → band), ``[aliases]`` (code → extra names),
        ``[keywords]`` (code → extra name keywords), ``[[category]]`` (new 业态),
        ``version``.

    Returns
    -------
    Catalogue

    Raises
    ------
    InputError
        Listing every problem found (file, table, field and fix): unknown keys, duplicate codes
        or aliases, bad class or band, bad mapping rows.

    Examples
    --------
    >>> cat = load_catalogue()
    >>> cat.version, len(cat.codes("basic")) >= 14, len(cat.codes("quality")) >= 12
    ('2026.11.1', True, True)
    """
    if path is None and overrides is None:
        return _default_catalogue()
    return _load(path, overrides)


@functools.lru_cache(maxsize=1)
def _default_catalogue() -> Catalogue:
    return _load(None, None)


def _data_dir() -> Path:
    return Path(str(resources.files("lifecircle.taxonomy").joinpath(_DATA)))


def _read_toml(path: Path, what: str) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(
            Problem(f"{what} file not found", file=str(path), fix="give the path of a TOML file"),
            what,
        )
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(
            Problem(
                f"not valid TOML ({exc})",
                file=str(path),
                fix="check the syntax near the position given (quotes, brackets, commas)",
            ),
            what,
        ) from None


def _load(path: str | Path | None, overrides: str | Path | None) -> Catalogue:
    data_dir = _data_dir()
    base = Path(path) if path is not None else data_dir / "catalogue.toml"
    file = str(base)
    problems: list[Problem] = []
    doc = _read_toml(base, "业态 catalogue")

    for key in doc:
        if key not in _TOP_KEYS:
            problems.append(
                Problem(
                    f"unknown top-level key {key!r}",
                    file=file,
                    field=key,
                    fix=f"remove it or check the spelling; allowed: {', '.join(_TOP_KEYS)}",
                )
            )
    version = doc.get("version")
    if not isinstance(version, str) or not version.strip():
        problems.append(
            Problem(
                f"version must be a non-empty string, got {version!r}",
                file=file,
                field="version",
                fix='write e.g. version = "2026.11.1" at the top',
            )
        )
        version = "?"
    bands = _parse_bands(doc.get("bands"), file, problems, required=True)
    files = _mapping_files(doc.get("mappings", {}), base, data_dir, file, problems)

    raw_categories = doc.get("category", [])
    if not isinstance(raw_categories, list) or not raw_categories:
        problems.append(
            Problem(
                "no [[category]] tables",
                file=file,
                field="category",
                fix="write one [[category]] table per 业态",
            )
        )
        raw_categories = []
    entries: list[_Entry] = []
    for i, raw in enumerate(raw_categories, start=1):
        cat = _parse_category(raw, i, file, problems)
        if cat is not None:
            entries.append(_Entry(cat, file, i))

    extra_keywords: list[tuple[str, str, str]] = []
    sources = [file]
    if overrides is not None:
        ov_path = Path(overrides)
        sources.append(str(ov_path))
        ov_version = _apply_override(
            _read_toml(ov_path, "city override"),
            str(ov_path),
            bands,
            entries,
            extra_keywords,
            problems,
        )
        version = f"{version}+{ov_version or ov_path.stem}"

    _check_categories(entries, bands, problems)
    categories = [e.category for e in entries]
    rules = read_rules(files, [c.code for c in categories], problems, extra_keywords)
    if problems:
        raise InputError(problems, "业态 catalogue")
    logger.debug("catalogue %s: %d 业态 from %s", version, len(categories), ", ".join(sources))
    return Catalogue(
        version=version,
        bands=bands,
        categories=tuple(categories),
        rules=rules,
        files=tuple(sources),
    )


def _parse_bands(
    raw: Any, file: str, problems: list[Problem], *, required: bool
) -> dict[str, float]:
    if raw is None and not required:
        return {}
    if not isinstance(raw, dict) or not raw:
        problems.append(
            Problem(
                "[bands] table is missing or empty",
                file=file,
                field="bands",
                fix="write [bands] with doorstep = 10 and surround = 15 (minutes)",
            )
        )
        return {}
    bands: dict[str, float] = {}
    for name, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            problems.append(
                Problem(
                    f"band {name!r} must be a positive number of minutes, got {value!r}",
                    file=file,
                    field=f"bands.{name}",
                    fix=f"write e.g. {name} = 10",
                )
            )
            continue
        bands[str(name)] = float(value)
    return bands


def _mapping_files(
    raw: Any, base: Path, data_dir: Path, file: str, problems: list[Problem]
) -> dict[str, Path]:
    files = {
        "baidu": data_dir / "baidu_tags.csv",
        "amap_typecode": data_dir / "amap_typecodes.csv",
        "amap_type": data_dir / "amap_types.csv",
        "osm": data_dir / "osm_tags.csv",
        "keywords": data_dir / "keywords.csv",
    }
    if not isinstance(raw, dict):
        problems.append(
            Problem(
                "[mappings] must be a table of file names",
                file=file,
                field="mappings",
                fix='write e.g. [mappings] keywords = "keywords.csv"',
            )
        )
        return files
    for kind, name in raw.items():
        if kind not in _MAPPING_KEYS:
            problems.append(
                Problem(
                    f"unknown mapping kind {kind!r}",
                    file=file,
                    field=f"mappings.{kind}",
                    fix=f"use {', '.join(_MAPPING_KEYS)}",
                )
            )
        elif not isinstance(name, str) or not name:
            problems.append(
                Problem(
                    f"mapping file name must be a string, got {name!r}",
                    file=file,
                    field=f"mappings.{kind}",
                    fix="write the CSV file name relative to the catalogue file",
                )
            )
        else:
            files[kind] = base.parent / name
    return files


@dataclass
class _Entry:
    """A parsed 业态 with the file and [[category]] position it came from."""

    category: Category
    file: str
    pos: int

    @property
    def label(self) -> str:
        return f"[[category]] #{self.pos} ({self.category.code})"


def _where(i: int, raw: Any) -> str:
    code = raw.get("code") if isinstance(raw, dict) else None
    return f"[[category]] #{i}" + (f" ({code})" if isinstance(code, str) else "")


def _parse_category(raw: Any, i: int, file: str, problems: list[Problem]) -> Category | None:
    where = _where(i, raw)
    if not isinstance(raw, dict):
        problems.append(
            Problem("is not a table", file=file, field=where, fix="write [[category]] tables")
        )
        return None
    n_before = len(problems)

    def bad(key: str, message: str, fix: str) -> None:
        problems.append(Problem(message, file=file, field=f"{where}.{key}", fix=fix))

    for key in raw:
        if key not in _CATEGORY_KEYS:
            bad(key, f"unknown key {key!r}", f"remove it; allowed: {', '.join(_CATEGORY_KEYS)}")
    for key in _REQUIRED:
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            bad(key, f"{key} must be a non-empty string, got {value!r}", f'write {key} = "..."')
    code = raw.get("code")
    if isinstance(code, str) and code and (not _CODE.match(code) or code == UNCLASSIFIED):
        bad(
            "code",
            f"code {code!r} is not a lower-case ASCII identifier (or is reserved)",
            'write e.g. code = "convenience_store" (a-z, 0-9, _)',
        )
    klass = raw.get("class")
    if isinstance(klass, str) and klass not in CLASSES:
        bad("class", f"class {klass!r} is not known", 'write class = "basic" or "quality"')
    confidence = raw.get("confidence")
    if isinstance(confidence, str) and confidence not in CATALOGUE_CONFIDENCE:
        bad(
            "confidence",
            f"confidence {confidence!r} is not a known tag",
            f"use one of {', '.join(sorted(CATALOGUE_CONFIDENCE))} (standards.md §0)",
        )
    tier = raw.get("tier_min")
    if tier is not None and (
        isinstance(tier, bool) or not isinstance(tier, int | float) or tier <= 0
    ):
        bad("tier_min", f"tier_min must be a positive number, got {tier!r}", "write e.g. 8")
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("slogans", "aliases"):
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            bad(key, f"{key} must be a list of strings, got {value!r}", f'write {key} = ["..."]')
            lists[key] = ()
        else:
            lists[key] = tuple(v.strip() for v in value)
    unknown_slogans = [s for s in lists["slogans"] if s not in SLOGANS]
    if unknown_slogans:
        bad(
            "slogans",
            f"unknown slogans {unknown_slogans}",
            f"use a subset of {', '.join(sorted(SLOGANS))}",
        )
    note = raw.get("note")
    if note is not None and not isinstance(note, str):
        bad("note", f"note must be a string, got {note!r}", 'write note = "..."')
    observable = raw.get("observable", True)
    if not isinstance(observable, bool):
        bad(
            "observable",
            f"observable must be true or false, got {observable!r}",
            "observable = false",
        )
    if not isinstance(code, str) or not code:
        return None

    def text(key: str) -> str:
        value = raw.get(key)
        return value.strip() if isinstance(value, str) else ""

    # A category with problems is still returned (the load fails anyway), so that the later
    # checks (bands, duplicates, mapping rows naming it) report only problems of their own.
    if len(problems) > n_before:
        logger.debug("%s has problems", where)
    valid_tier = isinstance(tier, int | float) and not isinstance(tier, bool) and tier > 0
    return Category(
        code=code,
        name_zh=text("name_zh"),
        name_en=text("name_en"),
        klass=text("class"),
        band=text("band"),
        tier_min=float(tier) if valid_tier and tier is not None else None,
        slogans=lists["slogans"],
        aliases=lists["aliases"],
        source=text("source"),
        confidence=text("confidence"),
        note=note if isinstance(note, str) else None,
        observable=observable if isinstance(observable, bool) else True,
    )


def _check_categories(
    entries: list[_Entry], bands: Mapping[str, float], problems: list[Problem]
) -> None:
    """Duplicate codes and names, and bands that do not exist."""
    seen_code: dict[str, _Entry] = {}
    seen_name: dict[str, str] = {}
    for entry in entries:
        cat = entry.category
        if cat.code in seen_code:
            first = seen_code[cat.code]
            problems.append(
                Problem(
                    f"code {cat.code!r} is used twice (first by {first.label} in {first.file})",
                    file=entry.file,
                    field=f"{entry.label}.code",
                    fix="give every 业态 its own code",
                )
            )
            continue
        seen_code[cat.code] = entry
        if cat.band and cat.band not in bands:
            problems.append(
                Problem(
                    f"band {cat.band!r} is not defined in [bands] ({', '.join(bands)})",
                    file=entry.file,
                    field=f"{entry.label}.band",
                    fix=f"use one of {', '.join(bands) or 'doorstep, surround'}, "
                    "or add it to [bands]",
                )
            )
        own: set[str] = set()
        for key, text in (
            ("code", cat.code),
            ("name_zh", cat.name_zh),
            ("name_en", cat.name_en),
            *(("aliases", a) for a in cat.aliases),
        ):
            norm = normalise_name(text)
            if not norm or norm in own:
                continue
            own.add(norm)
            other = seen_name.get(norm)
            if other is not None:
                problems.append(
                    Problem(
                        f"{key} {text!r} is already a name or alias of 业态 {other!r}",
                        file=entry.file,
                        field=f"{entry.label}.{key}",
                        fix="every name and alias must point to one 业态 only; remove one of them",
                    )
                )
            else:
                seen_name[norm] = cat.code


def _apply_override(
    doc: dict[str, Any],
    file: str,
    bands: dict[str, float],
    entries: list[_Entry],
    extra_keywords: list[tuple[str, str, str]],
    problems: list[Problem],
) -> str | None:
    """Apply a city override to ``bands`` and ``entries`` in place; return its version."""
    for key in doc:
        if key not in _OVERRIDE_KEYS:
            problems.append(
                Problem(
                    f"unknown top-level key {key!r}",
                    file=file,
                    field=key,
                    fix=f"remove it or check the spelling; allowed: {', '.join(_OVERRIDE_KEYS)}",
                )
            )
    version = doc.get("version")
    if version is not None and (not isinstance(version, str) or not version.strip()):
        problems.append(
            Problem(
                f"version must be a non-empty string, got {version!r}",
                file=file,
                field="version",
                fix='write e.g. version = "xian-2026.1"',
            )
        )
        version = None
    bands.update(_parse_bands(doc.get("bands"), file, problems, required=False))

    raw_new = doc.get("category", [])
    if not isinstance(raw_new, list):
        problems.append(
            Problem(
                "category must be [[category]] tables",
                file=file,
                field="category",
                fix="write one [[category]] table per new 业态",
            )
        )
        raw_new = []
    codes = {e.category.code for e in entries}
    for i, raw in enumerate(raw_new, start=1):
        cat = _parse_category(raw, i, file, problems)
        if cat is None:
            continue
        if cat.code in codes:
            problems.append(
                Problem(
                    f"code {cat.code!r} already exists in the catalogue",
                    file=file,
                    field=f"[[category]] #{i} ({cat.code}).code",
                    fix="an override adds new 业态 only; change an existing one with "
                    "[category_band] or [aliases]",
                )
            )
            continue
        codes.add(cat.code)
        entries.append(_Entry(cat, file, i))

    by_code = {e.category.code: e for e in entries}

    def table(name: str) -> dict[str, Any]:
        value = doc.get(name, {})
        if not isinstance(value, dict):
            problems.append(
                Problem(
                    f"[{name}] must be a table of 业态 code = value",
                    file=file,
                    field=name,
                    fix=f"write [{name}] then lines like convenience_store = ...",
                )
            )
            return {}
        return value

    def known(code: str, name: str) -> _Entry | None:
        entry = by_code.get(code)
        if entry is None:
            problems.append(
                Problem(
                    f"unknown 业态 code {code!r}",
                    file=file,
                    field=f"{name}.{code}",
                    fix="use a catalogue code (see load_catalogue().codes())",
                )
            )
        return entry

    for code, band in table("category_band").items():
        entry = known(code, "category_band")
        if entry is None:
            continue
        if not isinstance(band, str) or band not in bands:
            problems.append(
                Problem(
                    f"band {band!r} is not defined in [bands] ({', '.join(bands)})",
                    file=file,
                    field=f"category_band.{code}",
                    fix=f"use one of {', '.join(bands)}, or add the band to [bands]",
                )
            )
            continue
        entry.category = replace(entry.category, band=band)
    for code, names in table("aliases").items():
        entry = known(code, "aliases")
        if entry is None:
            continue
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            problems.append(
                Problem(
                    f"aliases must be a list of strings, got {names!r}",
                    file=file,
                    field=f"aliases.{code}",
                    fix='write e.g. convenience_store = ["小卖部"]',
                )
            )
            continue
        entry.category = replace(entry.category, aliases=(*entry.category.aliases, *names))
    for code, patterns in table("keywords").items():
        items = [patterns] if isinstance(patterns, str) else patterns
        if not isinstance(items, list) or not all(isinstance(p, str) and p for p in items):
            problems.append(
                Problem(
                    f"keywords must be a string or a list of strings, got {patterns!r}",
                    file=file,
                    field=f"keywords.{code}",
                    fix='write e.g. breakfast = ["肉夹馍", "甑糕"]',
                )
            )
            continue
        extra_keywords.append((code, "|".join(items), file))
    return version
