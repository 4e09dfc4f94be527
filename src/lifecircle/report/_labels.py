"""Every user-facing string of the reports, in Chinese and English, in one place."""

from __future__ import annotations

from typing import Literal

from lifecircle.assess.model import GRADE_EN, GRADES, NOT_GRADED, UNVERIFIED

__all__ = [
    "COLUMNS",
    "KPI_EN",
    "LANGS",
    "PARAMETERS",
    "Lang",
    "column_label",
    "grade_label",
    "text",
]

Lang = Literal["zh", "en"]
LANGS: tuple[str, ...] = ("zh", "en")

#: Report text: key → (Chinese, English).  ``{name}`` placeholders are filled with ``str.format``.
_TEXT: dict[str, tuple[str, str]] = {
    # titles
    "title_city": ("一刻钟便民生活圈评估报告", "15-minute convenience life circle assessment"),
    "title_circle": ("生活圈评估：{name}", "Life circle assessment: {name}"),
    "city": ("城市/区域", "City / area"),
    "date": ("日期", "Date"),
    "page": ("第 {n} 页", "Page {n}"),
    "back_to_city": ("← 返回城市报告", "← Back to the city report"),
    "circle_pages": ("各生活圈报告", "Circle reports"),
    # snapshot box
    "snapshot": ("数据快照", "Data snapshot"),
    "snapshot_inputs": ("输入文件（SHA-256）", "Input files (SHA-256)"),
    "snapshot_rulebook_version": ("评级规则版本", "Rulebook version"),
    "snapshot_catalogue_version": ("业态目录版本", "Business-type catalogue version"),
    "snapshot_software_version": ("软件版本", "Software version"),
    "snapshot_date": ("评估日期", "Assessment date"),
    "snapshot_parameters": ("参数", "Parameters"),
    "snapshot_rulebook": ("评级规则", "Rulebook"),
    "snapshot_rulebook_sha256": ("评级规则文件 SHA-256", "Rulebook SHA-256"),
    "snapshot_catalogue": ("业态目录版本", "Business-type catalogue version"),
    "snapshot_counts": ("数据规模", "Data size"),
    "snapshot_counts_text": (
        "网点 {outlets}；小区 {residences}（未纳入 {excluded}）；生活圈 {circles}",
        "{outlets} outlets; {residences} residences ({excluded} left out); {circles} circles",
    ),
    "provisional": ("暂定 (P)", "provisional (P)"),
    "version": ("版本 {v}", "version {v}"),
    "snapshot_item": ("项目", "Item"),
    "snapshot_value": ("内容", "Value"),
    # data audit and districts
    "audit": ("数据体检", "Data audit"),
    "audit_text": (
        "共 {n} 项检查：{ok} 项正常、{warn} 项提示、{fail} 项不合格。不合格的数据所涉生活圈评为"
        "“待核实”，而不是“未达标”：缺的可能是数据，而不是服务。下表列出提示与不合格项（全部见 audit.csv）。",
        "{n} checks: {ok} ok, {warn} warnings, {fail} failed. Circles whose grade depends on data "
        "that failed are graded “unverified” rather than “not graded”: the data, not the service, "
        "may be missing. The table lists the warnings and failures (all in audit.csv).",
    ),
    "audit_status": ("状态", "Status"),
    "audit_check": ("检查项", "Check"),
    "audit_scope": ("范围", "Scope"),
    "audit_message": ("说明", "Finding"),
    "status_ok": ("正常", "ok"),
    "status_warn": ("提示", "warning"),
    "status_fail": ("不合格", "failed"),
    "by_district": ("分区统计", "By district"),
    "map_districts": (
        "分区图（{level}）：位于基础型及以上生活圈的户数占比",
        "Districts ({level}): share of households in circles at the basic grade or better",
    ),
    "district_level": ("层级", "Level"),
    "district_name": ("片区", "District"),
    "figures_text": (
        "口径：参与评估的小区 {res} 个（读入 {res_read} 个，其余在研究范围外或未接入步行网络），"
        "户数 {hh}（已知 {hh_known}，按{method}估算 {hh_est}），人口 {pop}；参与评估的网点 {outlets} 个"
        "（读入 {outlets_read} 个）。按户加权的指标用这些户数，“小区占比”按小区个数计，每万人指标除以上述人口。",
        "Basis: {res} residences assessed ({res_read} read; the others lie outside the study area "
        "or off the walking network), {hh} households ({hh_known} known, {hh_est} estimated by "
        "{method}), population {pop}; {outlets} outlets assessed ({outlets_read} read). "
        "Household-weighted figures use these households, “share of residences” counts 小区, "
        "per-10k figures divide by this population.",
    ),
    "method_median": ("已知户数中位数", "the median of the known counts"),
    "method_none": ("（不估算，不计入）", "(none: left out)"),
    # summary
    "summary": ("概况", "Summary"),
    "summary_text": (
        "共 {n_circles} 个生活圈、{n_res} 个小区、{households} 户；达到基础型及以上的生活圈 "
        "{n_graded} 个（{share}），其中品质型 {n_quality} 个。参与评估的网点 {n_outlets} 个。",
        "{n_circles} life circles, {n_res} residences, {households} households; {n_graded} "
        "circles ({share}) reach the basic grade or better, {n_quality} of them the quality "
        "grade. {n_outlets} outlets were assessed.",
    ),
    # sections
    "kpis": ("主要指标与目标对照", "Key indicators against targets"),
    "kpis_by_category": ("各业态覆盖与密度", "Coverage and density per business type"),
    "no_kpis": ("未计算城市指标。", "No city indicators were computed."),
    "charts": ("图表", "Charts"),
    "chart_grades": ("生活圈等级分布", "Circles by grade"),
    "chart_grades_y": ("生活圈数量", "Number of circles"),
    "chart_coverage": (
        "各业态户数覆盖率（在该业态步行时间范围内）",
        "Share of households covered per business type (within its walking band)",
    ),
    "chart_coverage_x": ("覆盖户数比例", "Share of households covered"),
    "coverage_target": ("覆盖目标 {value}", "Coverage target {value}"),
    "maps": ("地图", "Maps"),
    "map_outlets": ("步行路网与网点（按业态类别）", "Walking network and outlets by class"),
    "map_grades": ("生活圈等级分布图", "Life circles by grade"),
    "map_blind": (
        "服务盲区：步行时间范围内缺少该业态的小区（圆点大小表示户数）",
        "Blind spots: residences without the business type within its band (dot size = households)",
    ),
    "blind_panel": (
        "{name}（{band} 分钟内）：{share} 的{unit}缺少",
        "{name} (within {band} min): {share} of {unit} lack it",
    ),
    "unit_households": ("户", "households"),
    "unit_residences": ("小区", "residences"),
    "grade_table": ("各生活圈等级", "Grade of each circle"),
    "satisfaction": ("居民满意度", "Resident satisfaction"),
    "evaluation": ("服务“好不好”评价得分", "Service quality evaluation scores"),
    "howto": ("说明", "How to read this report"),
    "howto_distance": (
        "步行距离：沿步行路网（人行道、街巷、小区道路等）从小区位置（有出入口时取最近的出入口）"
        "走到网点的最短路径长度，按步行速度 {speed} 换算为分钟；不是直线距离。",
        "Walking distance: the shortest path along the walking network (footways, streets, estate "
        "roads) from the residence (its nearest gate where gates are given) to the outlet, "
        "converted to minutes at {speed}; not the straight-line distance.",
    ),
    "howto_bands": (
        "各业态按其步行时间范围（如 5、10、15 分钟）判断“有没有”；“户数覆盖率”为在该范围内可达该业态的"
        "户数占生活圈总户数的比例。",
        "Each business type is judged within its own walking band (e.g. 5, 10 or 15 minutes); "
        "'households covered' is the share of the circle's households that reach it within "
        "that band.",
    ),
    "howto_provisional": (
        "标注 P 的阈值和目标为本软件提出的暂定建议值（官方附表未公开），并非官方标准，"
        "城市可通过配置文件调整（因城施策、一圈一策）。",
        "Thresholds and targets tagged P are provisional proposals of this software (the official "
        "annex tables are not public), not official standards; a city can override them in its "
        "configuration.",
    ),
    "howto_sources": (
        "来源标记：V1 官方文件原文；V2 权威二手来源；R/U 待核实；P 暂定建议。",
        "Source tags: V1 official text; V2 authoritative secondary source; R/U to be verified; "
        "P provisional proposal.",
    ),
    "howto_blind": (
        "盲区：在该业态步行时间范围内没有该业态网点的小区。",
        "Blind spot: a residence with no outlet of the business type within its walking band.",
    ),
    "speed_unknown": ("配置的速度", "the configured speed"),
    # circle report
    "circle_summary": ("等级与升级条件", "Grade and what the next grade needs"),
    "grade": ("等级", "Grade"),
    "households": ("户数", "Households"),
    "residences": ("小区数", "Residences"),
    "next_grade": ("下一等级", "Next grade"),
    "missing": ("升级尚缺", "Missing for the next grade"),
    "nothing_missing": ("已达最高等级。", "Already at the highest grade."),
    "missing_for": ("距{grade}：", "For {grade}: "),
    "evidence": ("业态“有没有”明细", "Business types present (有没有)"),
    "circle_map": ("生活圈地图", "Map of the circle"),
    "n_basic": ("基本保障类业态数", "Basic types present"),
    "n_quality": ("品质提升类业态数", "Quality types present"),
    "evaluation_score": ("服务评价得分", "Evaluation score"),
    "satisfaction_rate": ("满意度", "Satisfaction rate"),
    # legends
    "legend_network": ("步行路网", "Walking network"),
    "class_basic": ("基本保障类", "Basic"),
    "class_quality": ("品质提升类", "Quality"),
    "legend_residences": ("小区（大小表示户数）", "Residences (size = households)"),
    "legend_circle": ("生活圈范围", "Circle area"),
    "legend_blind": ("缺少该业态的小区", "Residence lacking it"),
    "legend_covered": ("已覆盖的小区", "Residence covered"),
    "north": ("北", "N"),
    "band": ("{band} 分钟", "{band} min"),
    "yes": ("✓", "✓"),
    "no": ("✗", "✗"),
    "na": ("—", "—"),
    "access_capped": (
        "access 工作表共 {n} 行，仅写入前 {cap} 行。",
        "The access sheet has {n} rows; only the first {cap} were written.",
    ),
    "sheet_capped": (
        "{sheet} 工作表共 {n} 行，仅写入前 {cap} 行；完整的表见同名 CSV 文件。",
        "The {sheet} sheet has {n} rows; only the first {cap} were written (the whole table "
        "is the CSV file of that name).",
    ),
    # the 1+N project list
    "plan_city": ("城市项目清单（1）", "City plan (1): projects per business type"),
    "plan_city_text": (
        "共 {n_projects} 个项目（生活圈 × 缺少的业态），涉及 {n_circles} 个生活圈、{n_categories} 个业态；"
        "建议新增点位 {n_sites} 处（多个项目共用的点位只计一次），其中 {n_reach} 个项目可使生活圈"
        "达到户数覆盖目标 {target}。",
        "{n_projects} projects (circle × missing business type) in {n_circles} circles and "
        "{n_categories} business types; {n_sites} sites proposed (a site shared by several "
        "projects counted once); {n_reach} projects bring their circle to the household "
        "coverage target of {target}.",
    ),
    "plan_city_table": ("各业态补缺计划（全市汇总）", "Plan per business type (city roll-up)"),
    "plan_circles_table": ("各生活圈项目", "Projects per circle"),
    "top_projects": (
        "主要项目（新增覆盖户数前 {n} 位）",
        "Top projects (first {n} by households gained)",
    ),
    "plan_circle": ("本生活圈项目清单（N）", "Circle plan (N): projects"),
    "plan_circle_text": (
        "缺少 {n} 个业态，按新增覆盖户数排序；{n_reach} 个项目可达到户数覆盖目标 {target}。",
        "{n} business types missing, ranked by households gained; {n_reach} projects reach the "
        "household coverage target of {target}.",
    ),
    "plan_circle_none": ("本生活圈不缺业态，无需新增项目。", "No business type is missing here."),
    "plan_none": (
        "各生活圈均不缺业态（户数覆盖率均达到目标），无需新增项目。",
        "No circle lacks a business type (every coverage meets the target): no projects.",
    ),
    "plan_sites": ("建议点位", "Proposed sites"),
    "map_plan": (
        "建议点位分布（星形大小表示该点位补充的业态数）",
        "Proposed sites (star size = business types added there)",
    ),
    "legend_sites": ("建议点位", "Proposed site"),
    "legend_sites_basic": ("建议点位：含基本保障类业态", "Proposed site adding a basic type"),
    "legend_sites_quality": ("建议点位：仅品质提升类业态", "Proposed site, quality types only"),
    "note_no_candidate": ("步行范围内没有候选点位", "no candidate site within the walking band"),
    "note_out_of_reach": (
        "候选点位无法使本圈达到目标，列出覆盖最多的点位",
        "the candidates cannot reach the target; the sites covering most are listed",
    ),
    "note_too_many": (
        "达到目标需 {n} 个点位，列出覆盖最多的 {shown} 个",
        "{n} sites needed for the target; the best {shown} are listed",
    ),
    "howto_plan": (
        "项目清单：对每个生活圈缺少的业态（户数覆盖率低于目标），在候选点位（给定的闲置用房、临街铺面，"
        "或沿步行道路自动生成的点）中选出使该圈达到覆盖目标的最少点位（LSCP）；点位过多或无法达到时，"
        "列出覆盖户数最多的点位（MCLP）。新增覆盖户数为该圈内新进入该业态步行范围的户数"
        "（户数未知的小区按已知小区户数的中位数估计）；全市计划按业态汇总，多个生活圈共用的点位只计一次。",
        "Project list: for each business type a circle lacks (household coverage below the "
        "target), the fewest candidate sites (given vacant premises or shopfronts, or points "
        "generated along the walkable streets) that bring the circle to the target (LSCP); "
        "when that takes too many sites or is out of reach, the sites covering the most "
        "households (MCLP). Households gained are the circle's households newly within the "
        "type's walking band (a residence with an unknown count weighs the median of the known "
        "counts); the city plan rolls the projects up per business type, counting a site "
        "shared by several circles once.",
    ),
    "plan_sheets": (
        "工作表 项目清单、建议点位、全市计划：1+N 项目清单（每个生活圈 × 缺少的业态一行；每个建议点位一行；"
        "每个业态一行的全市汇总），同 projects.csv、project_sites.csv、city_plan.csv。",
        "Sheets 项目清单 (projects), 建议点位 (proposed sites), 全市计划 (city plan): the 1+N "
        "project list (one row per circle × missing business type; per proposed site; per "
        "business type for the city), as projects.csv, project_sites.csv, city_plan.csv.",
    ),
    "sheet_note": ("说明", "Note"),
    "access_sheet": (
        "access 工作表：每个小区到各业态最近网点的步行时间（分钟）；空白表示在最大步行范围内没有该业态。"
        "完整的长表（含范围内网点数、最近 k 个网点）见 access.parquet / access.csv。",
        "Sheet access: walking minutes from each residence to the nearest outlet of each business "
        "type; blank = none within the largest band. The full long table (counts within bands, "
        "k nearest outlets) is access.parquet / access.csv.",
    ),
}

#: Snapshot parameters: name → (Chinese, English).
PARAMETERS: dict[str, tuple[str, str]] = {
    "walk_speed_kmh": ("步行速度", "Walking speed"),
    "walk_speed_m_per_min": ("步行速度", "Walking speed"),
    "walk_speed": ("步行速度", "Walking speed"),
    "bands_min": ("步行时间圈层", "Walking-time bands"),
    "coverage_share": ("判定“有”的户数覆盖比例", "Household share that counts as 'has it'"),
    "circles_from": ("生活圈来源", "Circles from"),
    "circle_minutes": ("自动划分生活圈的步行时间", "Walking time for automatic circles"),
    "k": ("列出的最近网点数", "Nearest outlets listed"),
    "max_snap_m": ("最大吸附距离", "Largest snapping distance"),
}

#: English names of the city KPIs (the KPI table carries Chinese names in ``kpi_zh``).
KPI_EN: dict[str, str] = {
    "circles_total": "Circles graded",
    "circles:basic": "Circles at the basic grade",
    "circles:enhanced": "Circles at the enhanced grade",
    "circles:quality": "Circles at the quality grade",
    "circles:not graded": "Circles not graded",
    "circles_basic_or_better": "Share of circles at the basic grade or better",
    "communities_basic_or_better": "Share of residences in circles at the basic grade or better",
    "households_basic_or_better": "Share of households in circles at the basic grade or better",
    "outlets_total": "Outlets with a business type",
    "chain_share": "Chain-store share (chain outlets / outlets with a business type)",
    "outlets_per_10k:all": "Outlets per 10,000 residents (all business types)",
    "service_floor_area_per_100hh": "Community service floor area per 100 households",
    "satisfaction_rate": "Resident satisfaction rate",
    "satisfaction_n_valid": "Valid satisfaction answers",
}

#: Table columns: name → (Chinese, English).  Used for HTML/PDF table heads and XLSX row 1.
COLUMNS: dict[str, tuple[str, str]] = {
    "n_circles": ("生活圈数", "Circles"),
    "households_basic_or_better": ("基础型及以上户数占比", "Households in circles ≥ basic"),
    "outlets_per_10k_all": ("每万人网点数", "Outlets per 10k residents"),
    "circle_id": ("生活圈编号", "Circle id"),
    "name": ("名称", "Name"),
    "grade": ("等级", "Grade"),
    "grade_en": ("等级（英文）", "Grade (English)"),
    "households": ("户数", "Households"),
    "population": ("人口", "Population"),
    "n_residences": ("小区数", "Residences"),
    "district": ("区/街道", "District"),
    "n_basic": ("基本保障类业态数", "Basic types"),
    "n_quality": ("品质提升类业态数", "Quality types"),
    "core_missing": ("缺少的核心业态", "Core types missing"),
    "next_grade": ("下一等级", "Next grade"),
    "missing_for_next_grade": ("升级尚缺", "Missing for the next grade"),
    "missing_for_next_grade_en": ("升级尚缺（英文）", "Missing for the next grade"),
    "evaluation_score": ("服务评价得分", "Evaluation score"),
    "satisfaction_rate": ("满意度", "Satisfaction rate"),
    "category": ("业态代码", "Business type code"),
    "category_zh": ("业态", "Business type"),
    "class": ("类别", "Class"),
    "band_min": ("步行范围（分钟）", "Band (min)"),
    "present": ("有没有", "Present"),
    "households_covered_share": ("户数覆盖率", "Households covered"),
    "residences_covered_share": ("小区覆盖率", "Residences covered"),
    "nearest_min_median": ("最近步行（分钟，中位数）", "Nearest walk (min, median)"),
    "count_within_band_median": ("范围内网点数（中位数）", "Outlets within band (median)"),
    "scope": ("范围", "Scope"),
    "kpi": ("指标代码", "Indicator"),
    "kpi_zh": ("指标", "Indicator"),
    "value": ("数值", "Value"),
    "target": ("目标", "Target"),
    "unit": ("单位", "Unit"),
    "meets": ("是否达标", "Meets"),
    "source": ("依据", "Source"),
    "residence_id": ("小区编号", "Residence id"),
    "nearest_min": ("最近步行（分钟）", "Nearest walk (min)"),
    "nearest_m": ("最近步行（米）", "Nearest walk (m)"),
    "nearest_outlet_id": ("最近网点编号", "Nearest outlet id"),
    "knn_outlet_ids": ("最近网点编号列表", "Nearest outlet ids"),
    "knn_m": ("最近网点距离（米）", "Nearest outlet distances (m)"),
    "n_valid": ("有效问卷数", "Valid responses"),
    "n_satisfied": ("满意人数", "Satisfied"),
    "rate": ("满意率", "Satisfaction rate"),
    "ci_low": ("95% 置信区间下限", "95% CI low"),
    "ci_high": ("95% 置信区间上限", "95% CI high"),
    "ci": ("95% 置信区间", "95% CI"),
    "below_target": ("低于目标", "Below target"),
    "score": ("综合得分", "Score"),
    "key": ("项目", "Item"),
    "households_covered": ("户数覆盖率", "Households covered"),
    "communities_covered": ("小区覆盖率", "Residences covered"),
    "circles_with": ("具备该业态的生活圈占比", "Circles with it"),
    "outlets_per_10k": ("每万人网点数", "Outlets per 10,000 residents"),
    "n_assessed": ("参评小区数", "Residences assessed"),
    "weighting": ("覆盖率权重", "Coverage weighting"),
    "grade_label": ("等级（显示）", "Grade (label)"),
    "item": ("项目", "Item"),
    # the 1+N project list (lifecircle.plan.projects)
    "project_id": ("项目编号", "Project id"),
    "circle_name": ("生活圈名称", "Circle name"),
    "rank": ("排序", "Rank"),
    "households_lacking": ("缺少该业态的户数", "Households lacking it"),
    "share_before": ("现状覆盖率", "Coverage now"),
    "share_after": ("实施后覆盖率", "Coverage after"),
    "coverage_change": ("户数覆盖率 现状→实施后", "Coverage now → after"),
    "target_share": ("覆盖目标", "Coverage target"),
    "reaches_target": ("达到目标", "Target met"),
    "n_sites": ("建议点位数", "Sites"),
    "households_gained": ("新增覆盖户数", "Households gained"),
    "households_gained_city": ("全市新增覆盖户数", "Households gained (city)"),
    "site_ids": ("建议点位编号", "Site ids"),
    "site_names": ("建议点位名称", "Site names"),
    "floor_area_m2": ("面积（m²）", "Floor area (m²)"),
    "rent": ("租金", "Rent"),
    "model": ("选址模型", "Model"),
    "note": ("备注", "Note"),
    "site_id": ("点位编号", "Site id"),
    "lon": ("经度", "Longitude"),
    "lat": ("纬度", "Latitude"),
    "floor_area": ("面积（m²）", "Floor area (m²)"),
    "capacity": ("可服务户数", "Capacity (households)"),
    "categories_added": ("补充的业态", "Business types added"),
    "circles_missing": ("缺少该业态的生活圈数", "Circles lacking it"),
    "n_projects": ("项目数", "Projects"),
    "n_reach": ("达到目标的项目数", "Projects reaching the target"),
}


def text(key: str, lang: str, **values: object) -> str:
    """The report string ``key`` in ``lang`` (``zh`` or ``en``), formatted with ``values``."""
    zh, en = _TEXT[key]
    template = en if lang == "en" else zh
    return template.format(**values) if values else template


def column_label(name: str, lang: str) -> str:
    """Header of column ``name`` in ``lang``; an unknown column keeps its own name."""
    if name.startswith("n_") and name.endswith("min") and name not in COLUMNS:
        band = name[2:-3]
        return f"{band} 分钟内网点数" if lang != "en" else f"Outlets within {band} min"
    pair = COLUMNS.get(name)
    if pair is None:
        return name
    return pair[1] if lang == "en" else pair[0]


def grade_label(grade: object, lang: str) -> str:
    """A grade (基础型/提升型/品质型/未达标) in ``lang``."""
    if not isinstance(grade, str) or not grade:
        return text("na", lang)
    if lang == "en":
        return GRADE_EN.get(grade, grade)
    return grade


#: Grades from lowest to highest including "not graded", for charts and legends.
GRADE_ORDER: tuple[str, ...] = (UNVERIFIED, NOT_GRADED, *GRADES)
