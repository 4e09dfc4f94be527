"""Draw the records of the second, blind-labelled sample (see README.md in this folder).

Run from the repository root::

    .venv/bin/python tests/data/labelled_blind_draw.py ../shared/data

It prints ``sample,key,stratum,name,type`` for every drawn record (to read and label; nothing of it is
kept in the repository but ``sample,key`` and the label).  ``key`` is the 1-based data row of the
Shanghai Amap file (``food:123``, ``hospital:45``) or the Baidu ``uid`` of a Xi'an POI; Xi'an POIs of
the first sample (``labelled_xian_outlets.csv``) are never drawn.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

SEED = 20261207
HERE = Path(__file__).resolve().parent

# (file, stratum, regex on the Amap type's first two levels, rows)
SHANGHAI: list[tuple[str, str, str, int]] = [
    ("food", "中餐厅", "餐饮服务;中餐厅", 45),
    ("food", "快餐厅", "餐饮服务;快餐厅", 25),
    ("food", "餐饮相关场所", "餐饮服务;餐饮相关场所", 25),
    ("food", "外国餐厅", "餐饮服务;外国餐厅", 10),
    ("food", "咖啡厅/茶艺馆/冷饮店", "餐饮服务;(咖啡厅|茶艺馆|冷饮店)", 10),
    ("food", "糕饼店/甜品店", "餐饮服务;(糕饼店|甜品店)", 8),
    ("food", "休闲餐饮场所", "餐饮服务;休闲餐饮场所", 5),
    ("hospital", "综合医院", "医疗保健服务;综合医院", 30),
    ("hospital", "专科医院", "医疗保健服务;专科医院", 25),
    ("hospital", "诊所", "医疗保健服务;诊所", 30),
    ("hospital", "动物医疗场所", "医疗保健服务;动物医疗场所", 8),
    ("hospital", "急救/疾控/药店", "医疗保健服务;(急救中心|疾病预防机构|医药保健销售店)", 7),
]

# (stratum, column, regex, rows): Baidu tag or name pools, first match wins
XIAN: list[tuple[str, str, str, int]] = [
    ("name_after_sales", "name", "售后|服务中心|特约维修|客服中心", 20),
    ("name_travel", "name", "旅行社|旅游|国旅|中旅|青旅|票务", 12),
    ("name_breakfast", "name", "早餐|早点|包子|豆浆|胡辣汤|糊辣汤|粥|豆腐脑|煎饼", 12),
    ("name_clinic", "name", "口腔|牙科|门诊部|诊所|卫生室|卫生服务", 15),
    ("tag_repair", "tag", "^生活服务;维修点$", 15),
    ("tag_housekeeping", "tag", "^生活服务;家政服务$", 10),
    ("tag_snack", "tag", "^美食;小吃快餐店$", 20),
    ("tag_restaurant", "tag", "^美食;中餐厅$", 20),
    ("tag_food_other", "tag", "^美食;其他$|^美食$", 8),
    ("tag_hospital", "tag", "^医疗;(?:综合医院|专科医院|其他)$", 10),
    ("tag_life_other", "tag", "^生活服务;其他$|^生活服务$", 15),
    ("tag_shop", "tag", "^购物;商铺$|^购物$", 15),
    ("tag_travel_agency", "tag", "旅行社", 5),
    ("rest", "rest", "", 23),
]


def _first_levels(t: str) -> str:
    return ";".join(str(t).split("|")[0].split(";")[:2])


def draw_shanghai(data: Path) -> pd.DataFrame:
    out = []
    for file, stratum, pattern, n in SHANGHAI:
        frame = pd.read_csv(data / "shanghai_amap_poi_sample" / f"shanghai_{file}.csv", dtype=str)
        frame["key"] = [f"{file}:{i}" for i in range(1, len(frame) + 1)]
        pool = frame[frame["type"].fillna("").map(_first_levels).str.fullmatch(pattern)]
        got = pool.sample(n=min(n, len(pool)), random_state=SEED)
        out.append(got.assign(sample="shanghai_amap", stratum=stratum))
    cols = ["sample", "key", "stratum", "name", "type"]
    return pd.concat(out)[cols].reset_index(drop=True)


def draw_xian(data: Path) -> pd.DataFrame:
    poi = pd.read_csv(
        data / "xian_oldtown_baidu_poi" / "xian_oldtown_baidu_poi_merged_utf8.csv", dtype=str
    )
    first = set(pd.read_csv(HERE / "labelled_xian_outlets.csv", dtype=str)["uid"])
    poi = poi[~poi["uid"].isin(first)].drop_duplicates("uid")
    taken: set[str] = set()
    out = []
    for stratum, column, pattern, n in XIAN:
        rest = poi[~poi["uid"].isin(taken)]
        if column == "rest":
            pool = rest
        else:
            pool = rest[rest[column].fillna("").str.contains(pattern, regex=True)]
        got = pool.sample(n=min(n, len(pool)), random_state=SEED)
        taken |= set(got["uid"])
        out.append(got.assign(sample="xian_baidu", stratum=stratum, key=got["uid"]))
    frame = pd.concat(out)
    frame["type"] = frame["tag"].fillna("") + " / " + frame["baidu_type"].fillna("")
    cols = ["sample", "key", "stratum", "name", "type"]
    return frame[cols].reset_index(drop=True)


def draw(data: Path) -> pd.DataFrame:
    """Both samples, in stratum order."""
    return pd.concat([draw_shanghai(data), draw_xian(data)], ignore_index=True)


if __name__ == "__main__":
    draw(Path(sys.argv[1])).to_csv(sys.stdout, index=False)
