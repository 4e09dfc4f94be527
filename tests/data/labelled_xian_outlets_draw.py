"""Draw the uids of the hand-labelled Xi'an sample (see README.md in this folder).

Run from the repository root::

    .venv/bin/python tests/data/labelled_xian_outlets_draw.py ../shared/data/xian_oldtown_baidu_poi/\
xian_oldtown_baidu_poi_merged_utf8.csv

It prints ``uid,stratum`` for every drawn row.  The labels in ``labelled_xian_outlets.csv`` were
then written by hand, one per uid, by reading name, tag and address; this script never labels.
Only uids are kept in the repository (no Baidu names or other content).
"""

from __future__ import annotations

import sys

import pandas as pd

SEED = 20261101

# (stratum, how it is selected, rows drawn).  A row belongs to the first stratum that selects it.
# Name pools come first: they make sparse 业态 (breakfast, elderly care, child care, parcels,
# recycling, greengrocers) visible at all in a file where Baidu has no tag for them.
STRATA: list[tuple[str, str, str, int]] = [
    ("name_breakfast", "name", "早餐|早点|包子|豆浆|油条|胡辣汤|粥|豆腐脑|煎饼|水煎包", 15),
    ("name_elderly", "name", "养老|老年公寓|敬老|托老|日间照料|老年之家|助老", 12),
    ("name_childcare", "name", "托管|托育|早教|托教|幼儿园|托儿", 10),
    ("name_parcels", "name", "快递|速递|速运|驿站|菜鸟|丰巢|邮政|EMS|自提柜|速递易", 15),
    ("name_recycling", "name", "回收|废品", 6),
    ("name_fresh", "name_shop", "菜店|蔬菜|果蔬|生鲜|水果|菜市|农贸|肉|水产", 10),
    ("tag_convenience", "tag", "购物;便利店", 25),
    ("tag_supermarket", "tag", "购物;超市", 15),
    ("tag_market", "tag", "购物;集市", 12),
    ("tag_snack", "tag", "美食;小吃快餐店", 20),
    ("tag_pharmacy", "tag", "医疗;药店", 25),
    ("tag_hair", "tag", "丽人;美发", 20),
    ("tag_beauty", "tag", "丽人;美容|丽人;美甲|丽人;美体|丽人", 10),
    ("tag_laundry", "tag", "生活服务;洗衣店", 15),
    ("tag_repair", "tag", "生活服务;维修点", 20),
    ("tag_housekeeping", "tag", "生活服务;家政服务", 12),
    ("tag_photo", "tag", "生活服务;照相馆|生活服务;图文快印店", 10),
    ("tag_gym", "tag", "运动健身;健身中心", 15),
    ("tag_sports", "tag", "运动健身;体育场馆|运动健身;极限运动场所|运动健身", 6),
    ("tag_life_other", "tag", "生活服务;其他|生活服务", 20),
    ("tag_shop_other", "tag", "购物;商铺|购物", 20),
    ("tag_restaurant", "tag", "美食;中餐厅|美食;外国餐厅", 10),
    ("tag_cafe_cake", "tag", "美食;咖啡厅|美食;茶座|美食;蛋糕甜品店", 10),
    ("tag_pet", "tag", "生活服务;宠物服务", 6),
    ("tag_training", "tag", "教育培训;培训机构", 8),
    ("tag_leisure", "tag_prefix", "休闲娱乐", 8),
    ("tag_clinic", "tag", "医疗;诊所", 6),
    ("tag_bank", "tag", "金融;银行", 5),
    ("rest", "rest", "", 45),
]


def draw(path: str) -> pd.DataFrame:
    """Return the drawn ``uid`` and ``stratum`` columns, in stratum order."""
    poi = pd.read_csv(path, dtype=str)
    name = poi["name"].fillna("")
    tag = poi["tag"].fillna("")
    free = pd.Series(True, index=poi.index)
    out = []
    for stratum, how, pattern, n in STRATA:
        if how == "name":
            pool = name.str.contains(pattern, regex=True)
        elif how == "name_shop":
            pool = name.str.contains(pattern, regex=True) & (
                tag.str.startswith("购物") | (tag == "") | tag.str.startswith("美食")
            )
        elif how == "tag":
            pool = tag.isin(pattern.split("|"))
        elif how == "tag_prefix":
            pool = tag.str.startswith(pattern)
        else:
            pool = pd.Series(True, index=poi.index)
        candidates = poi.loc[pool & free]
        take = candidates.sample(n=min(n, len(candidates)), random_state=SEED)
        free.loc[take.index] = False
        out.append(pd.DataFrame({"uid": take["uid"], "stratum": stratum}))
    return pd.concat(out, ignore_index=True)


if __name__ == "__main__":
    draw(sys.argv[1]).to_csv(sys.stdout, index=False)
