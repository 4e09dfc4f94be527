"""Markdown generated from the package's own data, for the documentation site.

Each function returns the Markdown of one generated block in one language (``"zh"`` or
``"en"``).  A page asks for a block with a marker line ``<!-- gen:NAME -->``; the mkdocs hook
(``docs/gen/hooks.py``) replaces it.  Nothing here is copied by hand, so the site cannot drift
from the catalogue, the rulebook, the audit reference or the city-file schema.

Run it alone to print every block: ``PYTHONPATH=src python docs/gen/gen_rules.py [zh|en]``.
"""

from __future__ import annotations

import inspect
import re
import sys
import textwrap
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from typing import Any

__all__ = ["BLOCKS", "render"]


def _cell(value: Any) -> str:
    """A table cell: no line breaks, pipes escaped, empty for None."""
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return ""
    text = str(value).replace("\n", " ").replace("|", "\\|")
    return text


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _zh(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


# --- 业态 catalogue -------------------------------------------------------------------------------


def catalogue(lang: str) -> str:
    """The 业态 catalogue as a table: code, names, class, band, tier, slogans, source, confidence."""
    from lifecircle.taxonomy import CLASSES, load_catalogue

    cat = load_catalogue()
    band_min = dict(cat.bands)
    band_name = {
        "doorstep": _zh(lang, "家门口", "doorstep"),
        "surround": _zh(lang, "家周边", "surround"),
    }
    klass_name = {k: _zh(lang, v, k) for k, v in CLASSES.items()}
    header = (
        ["代码", "业态", "步行圈（分钟）", "商务部分级（分钟）", "口号", "可观测", "置信度"]
        if lang == "zh"
        else ["code", "业态", "English", "band (min)", "MOFCOM tier (min)", "slogans",
              "observable", "confidence"]
    )  # fmt: skip
    tables: dict[str, list[list[Any]]] = {k: [] for k in CLASSES}
    sources = []
    for c in cat.categories:
        minutes = band_min.get(c.band)
        band = f"{band_name.get(c.band, c.band)} {minutes:g}" if minutes is not None else c.band
        names = [c.name_zh] if lang == "zh" else [c.name_zh, c.name_en]
        tables.setdefault(c.klass, []).append(
            [
                f"`{c.code}`",
                *names,
                band,
                f"{c.tier_min:g}" if c.tier_min is not None else "",
                "、".join(c.slogans),
                _zh(lang, "是", "yes") if c.observable else _zh(lang, "否", "no"),
                c.confidence,
            ]
        )
        note = f" *{c.note}*" if c.note else ""
        sources.append(f"* `{c.code}` {c.name_zh} ({c.confidence}): {_cell(c.source)}{note}")
    body = "".join(
        f"\n**{klass_name.get(k, k)}**\n\n" + _table(header, rows)
        for k, rows in tables.items()
        if rows
    )
    counts = {k: sum(1 for c in cat.categories if c.klass == k) for k in CLASSES}
    intro = _zh(
        lang,
        f"业态目录版本 `{cat.version}`：{counts.get('basic', 0)} 类基本保障类、"
        f"{counts.get('quality', 0)} 类品质提升类（来自 `src/lifecircle/taxonomy/data/catalogue.toml`）。",
        f"Catalogue version `{cat.version}`: {counts.get('basic', 0)} basic and "
        f"{counts.get('quality', 0)} quality 业态 (from `src/lifecircle/taxonomy/data/catalogue.toml`).",
    )
    title = _zh(lang, "**各业态的依据**（英文，取自目录文件）：", "**The source of each 业态:**")
    return intro + "\n" + body + "\n" + title + "\n\n" + "\n".join(sources) + "\n"


def bands(lang: str) -> str:
    """Walking bands of the catalogue and the walking speeds."""
    from lifecircle.access.engine import DEFAULT_WALK_SPEED_KMH, WALK_SPEED_PRESETS
    from lifecircle.taxonomy import load_catalogue

    cat = load_catalogue()
    names = {
        "doorstep": _zh(lang, "家门口", "doorstep"),
        "surround": _zh(lang, "家周边", "surround"),
    }
    rows = []
    speed = DEFAULT_WALK_SPEED_KMH * 1000 / 60
    for key, minutes in cat.bands.items():
        rows.append([f"`{key}`", names.get(key, key), f"{minutes:g}", f"{minutes * speed:,.0f}"])
    header = (
        ["键", "名称", "分钟", f"默认速度下的米数（{DEFAULT_WALK_SPEED_KMH:g} km/h）"]
        if lang == "zh"
        else [
            "key",
            "name",
            "minutes",
            f"metres at the default speed ({DEFAULT_WALK_SPEED_KMH:g} km/h)",
        ]
    )
    out = _table(header, rows) + "\n"
    speeds = [
        [f"`{name}`", f"{kmh:g}", f"{kmh * 1000 / 60:.0f}", f"{15 * kmh * 1000 / 60:,.0f}"]
        for name, kmh in WALK_SPEED_PRESETS.items()
    ]
    header2 = (
        ["`walk_speed`", "km/h", "米/分钟", "15 分钟米数"]
        if lang == "zh"
        else ["`walk_speed`", "km/h", "m/min", "metres in 15 min"]
    )
    return out + _table(header2, speeds)


_FIGURE = """<figure markdown="0" class="lc-figure">
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 240" width="640" height="240" style="max-width:100%;height:auto;font-size:13px" role="img" aria-label="{title}">
<title>{title}</title>
<g stroke="#9e9e9e" stroke-width="6" stroke-linecap="round" fill="none">
<path d="M40 150 L250 150 L250 60 L600 60"/><path d="M250 150 L450 150 L450 60"/></g>
<path d="M120 150 L250 150 L250 60 L520 60" stroke="#00897b" stroke-width="3" fill="none" stroke-dasharray="8 5"/>
<line x1="120" y1="200" x2="120" y2="150" stroke="#e65100" stroke-width="3"/>
<rect x="100" y="200" width="40" height="28" fill="#ffcc80" stroke="#e65100"/>
<text x="150" y="222" fill="currentColor">{residence}</text>
<line x1="520" y1="25" x2="520" y2="60" stroke="#e65100" stroke-width="3"/>
<circle cx="520" cy="20" r="9" fill="#80cbc4" stroke="#00695c"/>
<text x="535" y="24" fill="currentColor">{outlet}</text>
<circle cx="120" cy="150" r="5"/><circle cx="520" cy="60" r="5"/>
<text x="40" y="140" fill="currentColor">{foot}</text><text x="470" y="82" fill="currentColor">{foot}</text>
<line x1="290" y1="190" x2="320" y2="190" stroke="#e65100" stroke-width="3"/>
<text x="328" y="194" fill="currentColor">{leg}</text>
<line x1="290" y1="214" x2="320" y2="214" stroke="#00897b" stroke-width="3" stroke-dasharray="8 5"/>
<text x="328" y="218" fill="currentColor">{path}</text>
</svg>
<figcaption>{title}</figcaption>
</figure>
"""


def walk_figure(lang: str) -> str:
    """The walking distance as a figure, inline SVG (it uses the page's fonts, CJK included)."""
    words = {
        "zh": {
            "title": "步行距离 = 接入段 + 路网最短路 + 接入段",
            "residence": "小区",
            "outlet": "网点",
            "foot": "垂足",
            "leg": "接入段（直线，到最近路段的垂足）",
            "path": "两垂足间的路网最短路（部分路段精确计入）",
        },
        "en": {
            "title": "walk = access leg + shortest network path + access leg",
            "residence": "residence (小区)",
            "outlet": "outlet",
            "foot": "foot",
            "leg": "access leg (straight, to the nearest edge)",
            "path": "shortest network path between the feet",
        },
    }
    return _FIGURE.format(**words[lang])


# --- rulebook ----------------------------------------------------------------------------------

_RULE_ZH = {
    "must_have": "必备业态（每组至少一个）",
    "must_have_within_min": "必备业态的步行分钟数",
    "min_basic": "基本保障类业态最少数",
    "min_quality": "品质提升类业态最少数",
    "coverage_share": "覆盖户数比例",
    "evaluation_min": "服务评价最低分",
    "satisfaction_min": "居民满意度下限",
    "require_evaluation": "必须有评价打分",
    "require_satisfaction": "必须有满意度问卷",
}
_RULE_EN = {
    "must_have": "must-have 业态 (at least one of each group)",
    "must_have_within_min": "walking minutes of the must-haves",
    "min_basic": "fewest basic 业态",
    "min_quality": "fewest quality 业态",
    "coverage_share": "share of households covered",
    "evaluation_min": "lowest service-evaluation score",
    "satisfaction_min": "lowest resident satisfaction",
    "require_evaluation": "evaluator scores required",
    "require_satisfaction": "survey required",
}


def _rule_value(
    name: str, value: Any, names: dict[str, str], attrs: dict[str, str], lang: str
) -> str:
    if name == "must_have" and isinstance(value, tuple):
        groups = []
        for group in value:
            alts = []
            for code in group:
                first, *rest = str(code).split("+")
                parts = [names.get(first, first)] + [attrs.get(p, p) for p in rest]
                alts.append(" + ".join(parts))
            groups.append(_zh(lang, " 或 ", " or ").join(alts))
        return "; ".join(f"({g})" for g in groups)
    if name == "must_have_within_min" and value is None:
        return _zh(lang, "各业态自己的步行圈", "each 业态's own band")
    if isinstance(value, bool):
        return _zh(lang, "是", "yes") if value else _zh(lang, "否", "no")
    if value is None:
        return "—"
    return f"{value:g}" if isinstance(value, float) else str(value)


def rulebook(lang: str) -> str:
    """Each grade of the default rulebook: its rules with value, source and confidence tag."""
    from lifecircle.assess import load_rulebook
    from lifecircle.taxonomy import load_catalogue

    rb = load_rulebook()
    cat = load_catalogue()
    names = {c.code: (c.name_zh if lang == "zh" else c.name_en) for c in cat.categories}
    attrs = {k: (a.label if lang == "zh" else a.label_en) for k, a in rb.attributes.items()}
    rule_names = _RULE_ZH if lang == "zh" else _RULE_EN
    meta = rb.meta
    out = [
        _zh(
            lang,
            f"**{meta.get('name', '')}**，版本 `{rb.version}`（{meta.get('as_of', '')}），"
            f"文件 `src/lifecircle/assess/data/rulebook_default.toml`。"
            + ("暂定：" if rb.provisional else "")
            + f"{meta.get('note', '')}",
            f"**{meta.get('name_en', '')}**, version `{rb.version}` ({meta.get('as_of', '')}), "
            f"file `src/lifecircle/assess/data/rulebook_default.toml`. {meta.get('note', '')}",
        ),
        "",
    ]
    header = (
        ["规则", "键", "取值", "依据", "置信度"]
        if lang == "zh"
        else ["rule", "key", "value", "source", "confidence"]
    )
    for grade in rb.grades:
        title = grade.label if lang == "zh" else f"{grade.label} ({grade.label_en})"
        out.append(f"### {title}\n")
        rows = []
        for key, rule in grade.rules.items():
            note = f" — {rule.note}" if rule.note else ""
            rows.append(
                [
                    rule_names.get(key, key),
                    f"`{key}`",
                    _rule_value(key, rule.value, names, attrs, lang),
                    rule.source + note,
                    rule.confidence,
                ]
            )
        out.append(_table(header, rows))
    return "\n".join(out)


def attributes(lang: str) -> str:
    """Outlet attributes of the default rulebook (早餐供应, 24 小时 …) and how they are detected."""
    from lifecircle.assess import load_rulebook

    rb = load_rulebook()
    header = (
        ["属性", "名称", "名称关键词", "服务字段", "营业早于", "依据", "置信度"]
        if lang == "zh"
        else [
            "attribute",
            "name",
            "name keywords",
            "services",
            "opens before",
            "source",
            "confidence",
        ]
    )
    rows = []
    for key, a in rb.attributes.items():
        opens = f"{a.opens_before // 60:02d}:{a.opens_before % 60:02d}" if a.opens_before else ""
        if a.open_24h:
            opens = _zh(lang, "24 小时营业", "open 24 h")
        rows.append(
            [
                f"`{key}`",
                a.label if lang == "zh" else a.label_en,
                "、".join(a.name_keywords),
                "、".join(a.services),
                opens,
                a.source,
                a.confidence,
            ]
        )
    return _table(header, rows)


def presets(lang: str) -> str:
    """The rulebook presets a city file can name."""
    from lifecircle.assess import PRESETS

    header = ["`rulebook`", _zh(lang, "文件", "file")]
    return _table(
        header, [[f"`{k}`", f"`src/lifecircle/assess/data/{v}`"] for k, v in PRESETS.items()]
    )


def grades(lang: str) -> str:
    """Every grade a circle can get, with its English name."""
    from lifecircle.assess import ALL_GRADES, GRADE_EN

    return ", ".join(f"**{g}** ({GRADE_EN.get(g, '')})" for g in ALL_GRADES) + "\n"


def kpis(lang: str) -> str:
    """The KPIs and their targets, from the table in :mod:`lifecircle.assess.kpis`'s docstring."""
    from lifecircle.assess import kpis as module

    doc = module.__doc__ or ""
    rows = []
    rules = [i for i, line in enumerate(doc.splitlines()) if re.fullmatch(r"=+(  +=+)+", line)]
    lines = doc.splitlines()
    for line in lines[rules[1] + 1 : rules[2]] if len(rules) >= 3 else []:
        # split on runs of 2+ spaces: CJK text is wider than its characters, so columns drift
        cells = re.split(r"\s{2,}", line.strip())
        rows.append([_rst_to_md(c) for c in [*cells, "", ""][:3]])
    header = (
        ["`kpi`", "含义（英文，取自代码文档）", "目标"]
        if lang == "zh"
        else ["`kpi`", "meaning", "target"]
    )
    return _table(header, rows)


# --- audit -------------------------------------------------------------------------------------


def audit_reference(lang: str) -> str:
    """The reference densities of the audit's ``category_density`` check."""
    from lifecircle._toml import tomllib  # tomllib, or tomli before Python 3.11
    from lifecircle.taxonomy import load_catalogue

    path = resources.files("lifecircle.project") / "data" / "audit_reference.toml"
    data = tomllib.loads(path.read_text("utf-8"))
    cat = load_catalogue()
    names = {c.code: c.name_zh for c in cat.categories}
    rule = data.get("rule", {})
    header = (
        ["业态", "代码", "低于即 fail（每万人）", "低于即 warn（每万人）", "依据"]
        if lang == "zh"
        else ["业态", "code", "fail below (per 10 k)", "warn below (per 10 k)", "source"]
    )
    rows = [
        [
            names.get(code, code),
            f"`{code}`",
            v.get("fail_below", ""),
            v.get("warn_below", ""),
            v.get("source", ""),
        ]
        for code, v in data.get("category", {}).items()
    ]
    intro = _zh(
        lang,
        f"参考文件 `src/lifecircle/project/data/audit_reference.toml`（版本 {data.get('version', '')}）。"
        f"内部参照：某片区密度低于同级片区中位数的 {rule.get('internal_fraction', '')} 倍时警告；"
        f"人口少于 {rule.get('min_population', '')} 的片区不检查。",
        f"Reference file `src/lifecircle/project/data/audit_reference.toml` (version "
        f"{data.get('version', '')}). Internal reference: a district below "
        f"{rule.get('internal_fraction', '')} × the median density of its level warns; districts "
        f"with fewer than {rule.get('min_population', '')} residents are not checked.",
    )
    return intro + "\n\n" + _table(header, rows)


def _docstring_sections(doc: str) -> list[tuple[str, str]]:
    """``name``/description pairs of a reST definition list (the audit's checks)."""
    items: list[tuple[str, str]] = []
    for m in re.finditer(r"^``(\w+)``\n((?:    .*\n?)+)", doc, flags=re.M):
        items.append((m.group(1), " ".join(line.strip() for line in m.group(2).splitlines())))
    return items


def audit_checks(lang: str) -> str:
    """The audit's checks, from the docstring of :mod:`lifecircle.project.audit`."""
    from lifecircle.project import audit

    header = ["`check`", _zh(lang, "检查内容（英文，取自代码文档）", "what it checks")]
    rows = [[f"`{k}`", _rst_to_md(v)] for k, v in _docstring_sections(audit.__doc__ or "")]
    return _table(header, rows)


# --- city file ---------------------------------------------------------------------------------


def _rst_to_md(text: str) -> str:
    text = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def _attribute_docs(cls: type) -> dict[str, str]:
    """Attribute descriptions of a numpydoc ``Attributes`` section (``a, b`` lines share one)."""
    doc = inspect.getdoc(cls) or ""
    body = doc.split("Attributes\n----------\n", 1)[-1] if "Attributes\n" in doc else ""
    out: dict[str, str] = {}
    names: list[str] = []
    desc: list[str] = []

    def flush() -> None:
        text = _rst_to_md(" ".join(desc))
        if len(names) > 1:  # one description for several names: say which one is which
            text = "(" + ", ".join(f"`{n}`" for n in names) + ") " + text
        for n in names:
            out[n] = text

    for line in body.splitlines():
        if line and not line.startswith(" "):
            if names and desc:
                flush()
                names, desc = [], []
            names += [n.strip() for n in line.split(",") if n.strip()]
        elif line.strip():
            desc.append(line.strip())
    if names:
        flush()
    return out


def city_keys(lang: str) -> str:
    """Every top-level key of a city file (``CITY_KEYS``), its default and what it means."""
    import dataclasses

    from lifecircle.project import spec

    docs = _attribute_docs(spec.CitySpec)
    defaults: dict[str, Any] = {}
    for f in dataclasses.fields(spec.CitySpec):
        if f.default is not dataclasses.MISSING:
            defaults[f.name] = f.default
    subkeys: dict[str, Iterable[str]] = {
        **{k: ["path", *v] for k, v in spec.LAYER_OPTIONS.items()},
        "boundary": ["path", *spec._BOUNDARY_OPTIONS],
        "districts": ["level", "path", "areas", *spec._AREA_OPTIONS],
        "circles": ["path", *spec._AREA_OPTIONS],
        "households": spec._HOUSEHOLD_KEYS,
        "audit": spec._AUDIT_CHECKS,
        "chains": spec._CHAIN_KEYS,
    }
    required = {"name", "network", "outlets", "residences"}
    header = (
        ["键", "必填", "默认值", "子键", "说明（英文，取自 CitySpec 文档）"]
        if lang == "zh"
        else ["key", "required", "default", "keys inside", "meaning (from CitySpec)"]
    )
    rows = []
    for key in spec.CITY_KEYS:
        default = defaults.get(key, "")
        if isinstance(default, tuple):
            default = list(default)
        if dataclasses.is_dataclass(default) or default is None:
            default = ""
        rows.append(
            [
                f"`{key}`",
                _zh(lang, "是", "yes") if key in required else "",
                f"`{default}`" if default != "" else "",
                ", ".join(f"`{s}`" for s in subkeys.get(key, ())),
                docs.get(key, ""),
            ]
        )
    return _table(header, rows)


def city_audit_defaults(lang: str) -> str:
    """Defaults of the ``[audit]`` and ``[households]`` tables."""
    import dataclasses

    from lifecircle.project import spec

    rows = []
    for table, cls in (("audit", spec.AuditSettings), ("households", spec.HouseholdPolicy)):
        for f in dataclasses.fields(cls):
            value = f.default
            if isinstance(value, tuple):
                value = list(value)
            rows.append([f"`{table}.{f.name}`", f"`{value}`" if value not in (None, ()) else ""])
    return _table(["key", _zh(lang, "默认值", "default")], rows)


def _literal_block(doc: str) -> str:
    """The first ``::`` literal block of a docstring, dedented."""
    m = re.search(r"::\n\n((?:(?:    .*)?\n)+)", doc)
    return textwrap.dedent(m.group(1)).strip("\n") + "\n" if m else ""


def city_schema(lang: str) -> str:
    """The annotated city file of :mod:`lifecircle.project.spec`'s docstring."""
    from lifecircle.project import spec

    return "```toml\n" + _literal_block(spec.__doc__ or "") + "```\n"


def batch_schema(lang: str) -> str:
    """The annotated batch file of :mod:`lifecircle.batch.config`'s docstring."""
    from lifecircle.batch import config

    return "```toml\n" + _literal_block(config.__doc__ or "") + "```\n"


def city_template(lang: str) -> str:
    """The template ``lifecircle init`` writes."""
    from lifecircle import __version__

    text = (resources.files("lifecircle.project") / "data" / "city_template.toml").read_text(
        "utf-8"
    )
    name = _zh(lang, "我的城市", "my_city")
    text = text.replace("{version}", __version__).replace("{name}", name).replace("{id}", "my_city")
    return "```toml\n" + text.rstrip("\n") + "\n```\n"


def xian_city_file(lang: str) -> str:
    """The example city file of the tutorial, as it is in the repository."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "xian_oldtown" / "city.toml"
    return (
        '```toml title="examples/xian_oldtown/city.toml"\n'
        + path.read_text("utf-8").rstrip("\n")
        + "\n```\n"
    )


# --- screenshots -------------------------------------------------------------------------------

#: Screenshots the browser and report tests leave in tests/artifacts (copied into the site's
#: ``assets/screens/`` by the hook): file → (Chinese caption, English caption).
SCREENS = {
    "report_page1.png": ("报告首页（report.pdf）", "The report's first page (report.pdf)"),
    "report_plan_page.png": ("报告中的 1+N 项目清单", "The 1+N project list in the report"),
    "web_resident_nearest.png": (
        "便民地图：身边的网点与步行距离",
        "Resident map: outlets nearby and the walk",
    ),
    "web_resident_elder.png": (
        "便民地图的长辈模式（适老化）",
        "Resident map in elderly mode (适老化)",
    ),
    "web_merchant.png": ("商户进图：商户提交网点", "Merchant submissions"),
    "web_survey.png": ("满意度问卷", "Satisfaction survey"),
    "web_planner.png": (
        "规划看板：等级、指标、待审核网点",
        "Planners' dashboard: grades, KPIs, outlets to review",
    ),
    "web_planner_scenario.png": ("规划看板：情景推演", "Planners' dashboard: a what-if scenario"),
    "web_board.png": ("公告栏", "Community board"),
}


def screens(lang: str) -> str:
    """The report and the platform's pages, as the tests last photographed them."""
    prefix = "assets/screens/" if lang == "zh" else "../assets/screens/"
    cells = []
    for name, (zh, en) in SCREENS.items():
        caption = zh if lang == "zh" else en
        cells.append(
            f'<figure class="lc-screen"><a href="{prefix}{name}"><img src="{prefix}{name}" '
            f'alt="{caption}" loading="lazy"></a><figcaption>{caption}</figcaption></figure>'
        )
    return '<div class="lc-screens" markdown="0">\n' + "\n".join(cells) + "\n</div>\n"


# --- HTTP API ----------------------------------------------------------------------------------


def openapi_schema() -> dict[str, Any]:
    """The platform's OpenAPI schema, from an app created in a temporary data folder."""
    import tempfile

    from lifecircle.web import Settings, create_app

    with tempfile.TemporaryDirectory() as folder:
        return dict(create_app(Settings(data_dir=folder, mode="dev")).openapi())


def _schema_name(schema: dict[str, Any]) -> str:
    ref = schema.get("$ref") or (schema.get("items") or {}).get("$ref")
    name = str(ref).rsplit("/", 1)[-1] if ref else schema.get("type", "")
    return f"{name}[]" if schema.get("type") == "array" and ref else str(name)


def http_api(lang: str) -> str:
    """Every endpoint of the web platform by tag: method, path, summary, parameters, body."""
    spec = openapi_schema()
    by_tag: dict[str, list[list[str]]] = {}
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            params = ", ".join(
                f"`{p['name']}`" + ("" if p.get("required") else "?")
                for p in op.get("parameters", [])
            )
            body = op.get("requestBody", {}).get("content", {})
            body_schema = next(iter(body.values()), {}).get("schema", {}) if body else {}
            doc = (op.get("description") or "").strip().split("\n\n")[0].replace("\n", " ")
            codes = ", ".join(sorted(op.get("responses", {})))
            row = [f"`{method.upper()}`", f"`{path}`", op.get("summary", ""), _rst_to_md(doc),
                   params, f"`{_schema_name(body_schema)}`" if body_schema else "", codes]  # fmt: skip
            by_tag.setdefault((op.get("tags") or ["other"])[0], []).append(row)
    header = (
        ["方法", "路径", "名称", "说明（英文）", "参数（? 为可选）", "请求体", "响应码"]
        if lang == "zh"
        else [
            "method",
            "path",
            "name",
            "what it does",
            "parameters (? optional)",
            "body",
            "responses",
        ]
    )
    info = spec.get("info", {})
    out = [
        f"**{info.get('title', '')}** {info.get('version', '')}, OpenAPI {spec.get('openapi', '')}",
        "",
    ]
    out.append(_rst_to_md(str(info.get("description", "")).strip()))
    for tag, rows in by_tag.items():
        out += ["", f"### {tag}", "", _table(header, rows)]
    return "\n".join(out) + "\n"


BLOCKS: dict[str, Callable[[str], str]] = {
    "catalogue": catalogue,
    "walk_figure": walk_figure,
    "bands": bands,
    "rulebook": rulebook,
    "attributes": attributes,
    "presets": presets,
    "grades": grades,
    "kpis": kpis,
    "audit_reference": audit_reference,
    "audit_checks": audit_checks,
    "city_keys": city_keys,
    "city_defaults": city_audit_defaults,
    "city_schema": city_schema,
    "batch_schema": batch_schema,
    "city_template": city_template,
    "xian_city_file": xian_city_file,
    "http_api": http_api,
    "screens": screens,
}


def render(name: str, lang: str) -> str:
    """The Markdown of block ``name`` in ``lang``; ``KeyError`` names the known blocks."""
    if name not in BLOCKS:
        raise KeyError(f"no generated block {name!r}; known: {', '.join(sorted(BLOCKS))}")
    return BLOCKS[name](lang)


if __name__ == "__main__":
    language = sys.argv[1] if len(sys.argv) > 1 else "zh"
    for block in BLOCKS:
        print(f"<!-- {block} -->\n{render(block, language)}")
