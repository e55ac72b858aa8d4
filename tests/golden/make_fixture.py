#!/usr/bin/env python3
"""Build the dqmon golden fixture: tests/golden/input.jsonl + expected_violations.jsonl.

Standard library only, deterministic.  Every message comes from one explicitly
written case:

    case(dataset, base_record, mutation, [check ids expected to FAIL], "what it tests")

* ``base_record`` is a valid record built by one of the builders below
  (``hh``/``ca``/``hr``/``mr``/``tx``/``hc``) or a raw payload (``RAW``/``RAWB``);
* ``mutation`` maps field -> new value (``DEL`` removes the field, ``AGE(..)`` is
  "message timestamp minus this much", rendered as RFC 3339);
* the expected failures are written by hand: nothing here derives them from
  the data.  (``check_fixture.py`` re-derives them independently as a cross-check.)

Resident ID numbers and unified social credit codes are computed here with their
check characters (GB 11643 MOD 11-2, GB 32100), independently of the Rust engine.
All names, companies, hospitals and numbers are synthetic.

Run:  python3 tests/golden/make_fixture.py
"""
from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import pathlib
import unicodedata
import zlib

HERE = pathlib.Path(__file__).resolve().parent

# ----------------------------------------------------------------------------
# Check characters
# ----------------------------------------------------------------------------
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ID_CHECK = "10X98765432"  # remainder r -> check character


def id_check(body17: str) -> str:
    assert len(body17) == 17 and body17.isdigit(), body17
    return ID_CHECK[sum(int(c) * w for c, w in zip(body17, ID_WEIGHTS)) % 11]


def resident_id(area: str, ymd: str, seq: int) -> str:
    body = f"{area}{ymd}{seq:03d}"
    return body + id_check(body)


USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I O S V Z
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc_check(body17: str) -> str:
    assert len(body17) == 17, body17
    s = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body17, USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - s % 31) % 31]


def make_uscc(prefix2: str, div6: str, org9: str) -> str:
    body = prefix2 + div6 + org9
    return body + uscc_check(body)


# self-test against the published examples
assert resident_id("110105", "19491231", 2) == "11010519491231002X"
assert make_uscc("91", "350100", "M000100Y4") == "91350100M000100Y43"


def bad_check(code: str) -> str:
    """Same code with a wrong (but well-formed) check character."""
    alphabet = "0123456789X" if code[:17].isdigit() else USCC_ALPHABET
    good = code[17]
    for c in alphabet:
        if c != good:
            return code[:17] + c
    raise AssertionError


# ----------------------------------------------------------------------------
# Synthetic persons (entity `person`, key = resident ID number)
# ----------------------------------------------------------------------------
class Person:
    def __init__(self, name, gender, ymd, area, seq, ethnicity="01", want_x=False):
        # 17th character (last digit of seq) parity: odd = male, even = female
        self.name, self.gender, self.ymd, self.area, self.ethnicity = name, gender, ymd, area, ethnicity
        if want_x:  # search a sequence number whose check character is X
            while resident_id(area, ymd, seq)[17] != "X":
                seq += 2
        self.id = resident_id(area, ymd, seq)
        self.birth_date = f"{ymd[:4]}-{ymd[4:6]}-{ymd[6:]}"


ZHAO = Person("赵子墨", "1", "19880412", "110105", 31)
QIAN = Person("钱雨桐", "2", "19921103", "310104", 42)
SUN = Person("孙浩然", "1", "19750130", "440106", 13)
LI = Person("李思琪", "2", "19960721", "330106", 24)
ZHOU = Person("周建国", "1", "19621001", "510107", 55)
WU = Person("吴佳怡", "2", "19900228", "420106", 66, ethnicity="03")
ZHENG = Person("郑博文", "1", "19850615", "110108", 77)
WANG = Person("王若岚", "2", "20000229", "320102", 88)  # leap-day birth
FENG = Person("冯志强", "1", "19791231", "370102", 19)
CHEN = Person("陈晓燕", "2", "19830505", "350102", 20)  # mother
CHU = Person("褚静怡", "2", "19940909", "440305", 32)  # mother, first seen before household
WEI = Person("卫子涵", "2", "19980318", "500103", 44)  # mother
JIANG = Person("蒋明轩", "1", "19700808", "110105", 57)  # legal rep
SHEN = Person("沈嘉禾", "1", "19810220", "310104", 61)  # legal rep, first seen before household
HAN = Person("韩雪梅", "2", "19770614", "330106", 72)  # legal rep
YANG = Person("杨一帆", "1", "19930117", "610113", 83)  # renamed later to 杨逸帆
JIN = Person("金小明", "1", "19870322", "110108", 95)  # compared with a CJK compatibility ideograph
ZHU = Person("朱立新", "1", "19910704", "110105", 1, want_x=True)  # check character X
QIN = Person("秦百岁", "2", "19000101", "110105", 2)  # earliest valid birth date
YOU = Person("尤小满", "2", "20260615", "110108", 4)  # born "today" (2026-06-15)
LV = Person("吕思远", "1", "19890203", "320102", 15)  # household gender "9"
SHI = Person("施雨辰", "2", "19950506", "330106", 26)  # household gender "0"
ZHANG = Person("张守田", "1", "19720909", "370102", 37)  # household name with trailing blank
KONG = Person("孔繁宇", "1", "19840401", "420106", 49)  # later household record: gender malformed, name changed
LONG50 = Person("欧阳" + "测试名" * 16, "2", "19991111", "440106", 50)  # 50-char name (max)
ASTRAL = Person("\U00020BB7" + "测" * 49, "1", "19971010", "510107", 61)  # 50 chars incl. a non-BMP one
MALE_MOM = Person("鲁成刚", "1", "19860808", "350102", 73)  # male, used as mother_id_number
XU = Person("许安然", "2", "19970301", "330106", 84)  # never registered in household
HE = Person("何子轩", "1", "19960602", "110108", 95)  # never registered in household
BAI = Person("柏知夏", "2", "20260616", "110105", 6)  # born 2026-06-16 (phase 2)
LIU = Person("柳青禾", "2", "19910412", "440305", 18)  # re-delivered under a duplicate record_id
RULEM = Person("严文博", "1", "19820314", "110108", 27)  # household rule tests (male)
RULEF = Person("苏雨晴", "2", "19930825", "310104", 38)  # household rule tests (female)

for p in (ZHAO, QIAN, SUN, LI, ZHOU, WU, ZHENG, WANG, FENG, CHEN, CHU, WEI, JIANG, SHEN, HAN,
          YANG, JIN, ZHU, QIN, YOU, LV, SHI, ZHANG, KONG, LONG50, ASTRAL, MALE_MOM, XU, HE, BAI, LIU, RULEM, RULEF):
    assert (int(p.id[16]) % 2 == 1) == (p.gender == "1"), p.name
assert ZHU.id.endswith("X")
assert len(LONG50.name) == 50 and len(ASTRAL.name) == 50


# ----------------------------------------------------------------------------
# Synthetic legal entities (entity `legal_entity`, key = USCC)
# ----------------------------------------------------------------------------
class Entity:
    def __init__(self, name, prefix, div, org9, etype, rep, est, reg):
        self.name, self.div, self.etype, self.rep, self.est, self.reg = name, div, etype, rep, est, reg
        self.uscc = make_uscc(prefix, div, org9)


E1 = Entity("北京示例数据科技有限公司", "91", "110108", "MA01KXY2A", "1100", JIANG, "2016-03-21", "2016-04-02")
E2 = Entity("上海样本贸易有限公司", "91", "310104", "MA1G8PQ3B", "1200", HAN, "2012-08-09", "2012-08-20")
E3 = Entity("示例（成都）建筑工程有限公司", "91", "510107", "MA61RT5C7", "1100", ZHOU, "2009-05-18", "2009-06-01")
E4 = Entity("广州演示餐饮管理店", "92", "440106", "MA59DW6E1", "9100", SUN, "2019-11-30", "2019-12-09")
E5 = Entity("杭州测试网络科技有限公司", "91", "330106", "MA27HJ8K4", "4100", LI, "2021-01-15", "2021-02-01")
E6 = Entity("深圳模拟电子有限公司", "91", "440305", "MA5FLN9M2", "4500", ZHENG, "2018-07-07", "2018-07-20")
E7 = Entity("重庆样例物流有限公司", "91", "500103", "MA60UB3N8", "2100", SHEN, "2015-10-10", "2015-10-22")
E8 = Entity("西安演示文化传播有限公司", "91", "610113", "MA6W2X4P5", "1100", YANG, "2023-04-04", "2023-04-18")
ELONG = Entity("长名称" * 33 + "司", "91", "330100", "MA2AB7Q9R", "1200", KONG, "2020-02-02", "2020-02-10")  # 100 chars, prefecture division
EPROV = Entity("北京省级示范有限公司", "91", "110000", "MA00C1D2E", "1100", JIANG, "2010-01-01", "2010-01-05")  # province division
ENOREG = Entity("从未登记的测试有限公司", "91", "320102", "MA1TT6U7W", "1100", HE, "2017-03-03", "2017-03-15")  # never in market_regulation
assert len(ELONG.name) == 100
# an entity whose check character is a letter
_org = 100
while True:
    ELETTER = Entity("武汉字母校验科技有限公司", "91", "420106", f"MA4{_org:06d}", "4100", WU, "2022-06-06", "2022-06-16")
    if ELETTER.uscc[17].isalpha():
        break
    _org += 1
ENTITIES_ALL = (E1, E2, E3, E4, E5, E6, E7, E8, ELONG, EPROV, ENOREG, ELETTER)

USCC_UNKNOWN_DIV = make_uscc("91", "990000", "MA0000001")  # correct check char, unknown division
USCC_PREF_MISSING = make_uscc("91", "110100", "MA0000002")  # 110100 is not in the table


# ----------------------------------------------------------------------------
# Mutation helpers
# ----------------------------------------------------------------------------
class _Del:
    def __repr__(self):
        return "DEL"


DEL = _Del()  # mutation value: remove the field


class AGE:
    """updated_at = message timestamp - (h, m, s, ms), rendered in offset `tz`."""

    def __init__(self, h=0, m=0, s=0, ms=0, tz="+08:00", sep="T"):
        self.delta = dt.timedelta(hours=h, minutes=m, seconds=s, milliseconds=ms)
        self.tz, self.sep = tz, sep

    def render(self, ts: dt.datetime) -> str:
        t = ts - self.delta
        if self.tz == "Z":
            t = t.astimezone(dt.timezone.utc)
        else:
            sign = -1 if self.tz[0] == "-" else 1
            hh_, mm_ = int(self.tz[1:3]), int(self.tz[4:6])
            t = t.astimezone(dt.timezone(sign * dt.timedelta(hours=hh_, minutes=mm_)))
        spec = "milliseconds" if t.microsecond else "seconds"
        s = t.isoformat(timespec=spec)
        if self.tz == "Z":
            s = s.replace("+00:00", "Z")
        return s.replace("T", self.sep)


class RAW:
    """A raw text payload (written as a JSON string in `value`)."""

    def __init__(self, text: str):
        self.text = text


class RAWB:
    """Raw bytes payload (written as `value_base64`), e.g. invalid UTF-8."""

    def __init__(self, data: bytes):
        self.data = data


AUTO = "<auto>"  # record_id placeholder, replaced by a fresh id per dataset


# ----------------------------------------------------------------------------
# Datasets and valid base records
# ----------------------------------------------------------------------------
DATASETS = {  # short -> (department, dataset, key field, record_id prefix)
    "hh": ("public_security", "household_registration", "id_number", "PSHR"),
    "ca": ("civil_affairs", "subsistence_allowance", "id_number", "CASA"),
    "hr": ("hrss", "social_insurance", "id_number", "HRSI"),
    "mr": ("market_regulation", "business_registration", "uscc", "MRBR"),
    "tx": ("tax", "taxpayer_registration", "uscc", "TXTR"),
    "hc": ("health", "birth_certificate", "certificate_no", "HCBC"),
}

# check ids per dataset (only used to validate the hand-written expectations)
_REQ = {
    "hh": ["id_number", "name", "gender", "birth_date", "ethnicity", "division_code"],
    "ca": ["id_number", "name", "gender", "division_code", "household_size", "monthly_amount", "start_month", "status"],
    "hr": ["id_number", "name", "employer_uscc", "insurance_type", "monthly_base", "start_month", "status"],
    "mr": ["uscc", "entity_name", "entity_type", "legal_rep_id_number", "legal_rep_name", "establishment_date",
           "division_code", "status"],
    "tx": ["uscc", "taxpayer_name", "taxpayer_status", "registration_date", "division_code"],
    "hc": ["certificate_no", "newborn_gender", "birth_datetime", "mother_id_number", "mother_name", "hospital_name",
           "division_code"],
}
_OPT = {"hh": ["address", "phone"], "ca": [], "hr": [], "mr": ["registered_capital"], "tx": [], "hc": ["newborn_name"]}
_CONSISTENCY = {
    "hh": ["birth_date_matches_id_number", "gender_matches_id_number"],
    "ca": ["gender_matches_id_number", "name.cross_source", "gender.cross_source"],
    "hr": ["name.cross_source"],
    "mr": ["establishment_not_after_update", "legal_rep_name.cross_source"],
    "tx": ["taxpayer_name.cross_source"],
    "hc": ["birth_not_after_update", "mother_is_female", "mother_name.cross_source"],
}
CHECKS = {}
for _ds in DATASETS:
    _fields = ["record_id", "updated_at"] + _REQ[_ds]
    CHECKS[_ds] = {"message.parse": "format", "updated_at.freshness": "freshness", "record_id.unique": "uniqueness"}
    CHECKS[_ds].update({f"{f}.required": "completeness" for f in _fields})
    CHECKS[_ds].update({f"{f}.format": "format" for f in _fields + _OPT[_ds]})
    CHECKS[_ds].update({c: "consistency" for c in _CONSISTENCY[_ds]})
REQUIRED = {ds: ["record_id"] + _REQ[ds] + ["updated_at"] for ds in DATASETS}

_PHONES = ["13800138000", "15912345678", "18687654321", "13312340000", "19955550123", "17700001111"]


def hh(p: Person, n: int = 0) -> dict:
    return {"record_id": AUTO, "id_number": p.id, "name": p.name, "gender": p.gender, "birth_date": p.birth_date,
            "ethnicity": p.ethnicity, "division_code": p.area, "address": f"示例路{n + 1}号{p.area[-2:]}栋",
            "phone": _PHONES[n % len(_PHONES)], "updated_at": AGE(h=2)}


def ca(p: Person) -> dict:
    return {"record_id": AUTO, "id_number": p.id, "name": p.name, "gender": p.gender, "division_code": p.area,
            "household_size": 3, "monthly_amount": 812.5, "start_month": "2025-09", "status": "active",
            "updated_at": AGE(h=2)}


def hr(p: Person, e: Entity = E1) -> dict:
    return {"record_id": AUTO, "id_number": p.id, "name": p.name, "employer_uscc": e.uscc, "insurance_type": "110",
            "monthly_base": 8650.5, "start_month": "2019-07", "status": "active", "updated_at": AGE(h=2)}


def mr(e: Entity) -> dict:
    return {"record_id": AUTO, "uscc": e.uscc, "entity_name": e.name, "entity_type": e.etype,
            "legal_rep_id_number": e.rep.id, "legal_rep_name": e.rep.name, "registered_capital": 500,
            "establishment_date": e.est, "division_code": e.div, "status": "active", "updated_at": AGE(h=2)}


def tx(e: Entity) -> dict:
    return {"record_id": AUTO, "uscc": e.uscc, "taxpayer_name": e.name, "taxpayer_status": "normal",
            "registration_date": e.reg, "division_code": e.div, "updated_at": AGE(h=2)}


_cert = [0]


def hc(mother: Person, gender: str = "1", newborn: str | None = "小宝") -> dict:
    _cert[0] += 1
    return {"record_id": AUTO, "certificate_no": f"Q260{_cert[0]:06d}", "newborn_name": newborn,
            "newborn_gender": gender, "birth_datetime": "2026-06-10T08:30:00+08:00", "mother_id_number": mother.id,
            "mother_name": mother.name, "hospital_name": "示例市第一人民医院", "division_code": mother.area,
            "updated_at": AGE(h=2)}


# ----------------------------------------------------------------------------
# Case list
# ----------------------------------------------------------------------------
CASES: list[dict] = []
KEEP = object()  # key: derive from the record


def case(ds, base, mutation, fails, note, *, at=None, key=KEEP, label=None, raw_text=False):
    assert ds in DATASETS
    for c in fails:
        assert c in CHECKS[ds], (ds, c, note)
    assert len(set(fails)) == len(fails), note
    CASES.append(dict(ds=ds, base=base, mutation=mutation or {}, fails=list(fails), note=note, at=at, key=key,
                      label=label, raw_text=raw_text))


def blank4(ds, base, field, ws="   ", note=""):
    """The four completeness failures of one required field: absent, null, "", white space."""
    for variant, val in (("absent", DEL), ("null", None), ('""', ""), (f"white space {ws!r}", ws)):
        case(ds, copy.deepcopy(base), {field: val}, [f"{field}.required"],
             f"{field} {variant}: completeness only (no .format){note}")


class At:
    """Explicit message timestamp: a datetime, or another case's timestamp + delta."""

    def __init__(self, when=None, label=None, delta=dt.timedelta(0)):
        self.when, self.label, self.delta = when, label, delta


SH = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2026, 6, 15, 10, 0, 0, tzinfo=SH)
STEP = dt.timedelta(seconds=5)
DAY = dt.timedelta(days=1)

L51 = "测" * 51
L101 = "名" * 101

# ============================================================================
# PHASE 1 - 2026-06-15 from 10:00:00+08:00, 5 s apart
# ============================================================================

# --- 1. cross-source before any authoritative value: not applicable ---------
case("ca", ca(YANG), {"name": "杨一凡", "record_id": "CASA-WEEK-001"}, [],
     "name differs from the later household name, but no person value known yet: n/a", label="week_ca")
case("hr", hr(YANG), {"name": "杨某", "record_id": "HRSI-WEEK-001"}, [],
     "hrss name before any household record for the person: n/a", label="week_hr")
case("hc", hc(CHU), {"mother_name": "褚静仪"}, [], "mother_name before any household record for the mother: n/a")
case("mr", mr(E7), {"legal_rep_name": "沈家禾"}, [],
     "legal_rep_name before any household record for the rep: n/a (also delivers E7's entity_name)")
case("tx", tx(E8), {"taxpayer_name": "西安演示文化有限公司", "record_id": "TXTR-WEEK-001"}, [],
     "taxpayer_name before any business registration of the USCC: n/a", label="week_tx")
case("ca", ca(SHEN), {"gender": "9"}, [], "gender before any household value: n/a (gender 9 -> parity rule n/a)")

# --- 2. household baseline: authoritative person values --------------------
case("hh", hh(ZHAO, 0), {"record_id": "PSHR-WEEK-001"}, [], "valid household record (male, odd 17th digit)",
     label="week_hh")
case("hh", hh(QIAN, 1), {}, [], "valid household record (female, even 17th digit)")
case("hh", hh(SUN, 2), {}, [], "valid household record")
case("hh", hh(LI, 3), {}, [], "valid household record")
case("hh", hh(ZHOU, 4), {}, [], "valid household record")
case("hh", hh(WU, 5), {}, [], "valid household record, ethnicity 03")
case("hh", hh(WANG, 1), {}, [], "valid household record, birth date 2000-02-29 (leap day)")
case("hh", hh(FENG, 2), {}, [], "valid household record")
case("hh", hh(CHEN, 3), {}, [], "valid household record (mother)")
case("hh", hh(CHU, 4), {}, [], "valid household record: CHU's reference arrives after her birth certificate")
case("hh", hh(WEI, 5), {}, [], "valid household record (mother)")
case("hh", hh(JIANG, 0), {}, [], "valid household record (legal rep)")
case("hh", hh(SHEN, 1), {}, [], "valid household record: SHEN's reference arrives after E7's registration")
case("hh", hh(HAN, 2), {}, [], "valid household record (legal rep)")
case("hh", hh(YANG, 3), {}, [], "valid household record: YANG = 杨一帆 (renamed later)")
case("hh", hh(JIN, 4), {}, [], "valid household record: 金小明")
case("hh", hh(ZHU, 5), {}, [], "valid household record: ID check character X (uppercase)")
case("hh", hh(QIN, 0), {"ethnicity": "56"}, [], "ID and birth_date 1900-01-01 (min) pass; ethnicity 56 (max) passes")
case("hh", hh(YOU, 1), {}, [], "ID born on the message's own date (2026-06-15, today in Shanghai) passes")
case("hh", hh(LV, 2), {"gender": "9"}, [], "gender 9 (unspecified): parity rule n/a; reference gender = 9")
case("hh", hh(SHI, 3), {"gender": "0"}, [], "gender 0 (unknown): parity rule n/a; reference gender = 0")
case("hh", hh(ZHANG, 4), {"name": "张守田 "}, [], "name with trailing blank is format-valid; reference '张守田 '")
case("hh", hh(KONG, 5), {}, [], "valid household record: KONG = 孔繁宇, gender 1")
case("hh", hh(LONG50, 0), {}, [], "name of exactly 50 characters passes")
case("hh", hh(ASTRAL, 1), {}, [], "name of 50 characters incl. a non-BMP ideograph (U+20BB7) passes")
case("hh", hh(MALE_MOM, 2), {}, [], "valid household record of a man (used as mother_id_number later)")
case("hh", hh(ZHENG, 3), {}, [], "valid household record")
case("hh", hh(LIU, 4), {"record_id": "PSHR-DUP-001"}, [], "valid household record: LIU = 柳青禾")
case("hh", hh(RULEM, 5), {}, [], "valid household record (person used by the household rule tests)")
case("hh", hh(RULEF, 0), {}, [], "valid household record (person used by the household rule tests)")

# --- 3. market_regulation baseline: authoritative legal_entity values ------
case("mr", mr(E1), {}, [], "valid business registration, type 1100; legal rep name agrees")
case("mr", mr(E2), {}, [], "valid business registration, type 1200")
case("mr", mr(E3), {}, [], "valid, entity_name with full-width parentheses （成都）")
case("mr", mr(E4), {"registered_capital": 0}, [], "type 9100, USCC prefix 92; registered_capital 0 passes")
case("mr", mr(E5), {"registered_capital": 0.5}, [], "type 4100; registered_capital 0.5 passes")
case("mr", mr(E6), {"registered_capital": 1e12}, [], "type 4500; registered_capital huge (no maximum) passes")
case("mr", mr(E7), {}, [], "E7 again: legal rep SHEN now known and agrees")
case("mr", mr(ELONG), {}, [], "entity_name of exactly 100 characters; USCC with a prefecture division (330100)")
case("mr", mr(EPROV), {"registered_capital": DEL}, [], "USCC with a province division (110000); registered_capital absent")
case("mr", mr(ELETTER), {"registered_capital": None}, [], "USCC whose check character is a letter; registered_capital null")
case("mr", mr(E8), {"entity_type": "2100", "status": "revoked"}, [], "type 2100, status revoked")

# --- 4. consumer baselines ---------------------------------------------------
case("ca", ca(ZHAO), {}, [], "valid civil record, name and gender agree with household")
case("ca", ca(QIAN), {"status": "suspended"}, [], "valid, status suspended")
case("ca", ca(WU), {"status": "terminated", "household_size": 1, "monthly_amount": 0}, [],
     "status terminated, household_size 1 (min), monthly_amount 0 (min)")
case("ca", ca(FENG), {"household_size": 20, "monthly_amount": 100000}, [], "household_size 20 (max), monthly_amount 100000 (max)")
case("ca", ca(LV), {"gender": "9"}, [], "gender 9 agrees with household 9; parity rule n/a")
case("ca", ca(SHI), {"gender": "0"}, [], "gender 0 agrees with household 0")
case("ca", ca(ZHANG), {}, [], "name '张守田' equals reference '张守田 ' after trimming")
case("ca", ca(LONG50), {}, [], "50-character name, agrees with household")
case("ca", ca(ZHU), {}, [], "ID with uppercase X check character")
case("ca", ca(YOU), {"household_size": 2}, [], "ID born today passes")
case("ca", ca(XU), {}, [], "person never registered in household: cross-source n/a")
case("ca", ca(ZHOU), {"monthly_amount": 1500}, [], "monthly_amount as a JSON integer passes (number)")
case("hr", hr(ZHAO), {}, [], "valid social insurance record, insurance 110")
case("hr", hr(QIAN, E2), {"insurance_type": "210"}, [], "insurance 210")
case("hr", hr(SUN, E4), {"insurance_type": "310", "status": "suspended"}, [], "insurance 310, status suspended")
case("hr", hr(LI, E5), {"insurance_type": "410", "status": "terminated"}, [], "insurance 410, status terminated")
case("hr", hr(ZHENG, E6), {"insurance_type": "510", "monthly_base": 0.01}, [], "insurance 510, monthly_base 0.01 (just above 0)")
case("hr", hr(ASTRAL, ELETTER), {"monthly_base": 1000000}, [], "monthly_base 1000000 (max); non-BMP name agrees")
case("hr", hr(HE, ELONG), {}, [], "person never registered: cross-source n/a; employer USCC with prefecture division")
case("hr", hr(WEI, EPROV), {"start_month": "2026-12"}, [], "start_month 2026-12; employer USCC with province division")
case("tx", tx(E1), {}, [], "valid taxpayer record, name agrees")
case("tx", tx(E2), {"taxpayer_status": "suspended"}, [], "taxpayer_status suspended")
case("tx", tx(E4), {"taxpayer_status": "deregistered"}, [], "taxpayer_status deregistered")
case("tx", tx(ELONG), {}, [], "100-character taxpayer_name agrees with registration")
case("tx", tx(ELETTER), {"registration_date": "2024-02-29"}, [], "registration_date 2024-02-29 (leap day)")
case("tx", tx(ENOREG), {}, [], "USCC never registered in market_regulation: cross-source n/a")
case("hc", hc(CHEN), {}, [], "valid birth certificate")
case("hc", hc(QIAN, "2"), {}, [], "valid, newborn_gender 2")
case("hc", hc(WEI, "0", newborn=None), {}, [], "newborn_gender 0, newborn_name null (optional: no check)")
case("hc", hc(LONG50, "9"), {"newborn_name": DEL}, [], "newborn_gender 9, newborn_name absent; 50-char mother_name")
case("hc", hc(CHU), {}, [], "CHU's name now known and agrees")
case("hc", hc(XU), {}, [], "mother never registered in household: cross-source n/a")
case("hc", hc(CHEN), {"newborn_name": "", "birth_datetime": "2026-06-15t01:30:00+08:00"}, [],
     "newborn_name empty (optional: no check); birth_datetime with lowercase t separator")

# --- 5. cross-source agreement / disagreement / normalization ---------------
case("ca", ca(ZHAO), {"name": "赵紫墨"}, ["name.cross_source"], "name disagrees with household (赵子墨)")
case("ca", ca(ZHAO), {"name": "  赵子墨 "}, [], "surrounding blanks trimmed before comparing")
case("ca", ca(ZHAO), {"name": "赵 子墨"}, ["name.cross_source"], "inner blank is not trimmed: disagreement")
case("ca", ca(JIN), {"name": "\uF90A小明"}, [], "CJK compatibility ideograph U+F90A NFKC-equals 金")
case("ca", ca(SUN), {"name": "孙浩然\u3000"}, [], "trailing ideographic space U+3000 trimmed")
case("ca", ca(ZHAO), {"gender": "9"}, ["gender.cross_source"], "gender 9 vs household 1; parity rule n/a")
case("ca", ca(ZHAO), {"gender": "2"}, ["gender.cross_source", "gender_matches_id_number"],
     "gender 2 vs household 1 and odd ID: both checks fail")
case("ca", ca(LV), {"gender": "1"}, ["gender.cross_source"], "gender 1 matches ID parity but household says 9")
case("ca", ca(SHI), {"gender": "2"}, ["gender.cross_source"], "gender 2 matches ID parity but household says 0")
case("ca", ca(CHU), {"name": "褚静仪"}, ["name.cross_source"], "same value as the n/a case earlier, now compared")
case("ca", ca(SHEN), {"gender": "9"}, ["gender.cross_source"], "same as the earlier n/a case, now household says 1")
case("hr", hr(SUN), {"name": "孙皓然"}, ["name.cross_source"], "hrss name disagrees")
case("hr", hr(JIN, E2), {"name": "金小明 "}, [], "hrss name with trailing blank agrees")
case("hr", hr(ZHANG), {"name": "\u3000张守田"}, [], "leading U+3000 vs reference with trailing blank: equal")
case("mr", mr(E2), {"legal_rep_name": "韩雪霉"}, ["legal_rep_name.cross_source"], "legal rep name disagrees")
case("mr", mr(E1), {"legal_rep_name": "蒋明轩\t"}, [], "legal rep name with trailing tab agrees")
case("mr", mr(E7), {"legal_rep_name": "沈家禾"}, ["legal_rep_name.cross_source"], "same value as the earlier n/a case")
case("tx", tx(E3), {"taxpayer_name": "示例(成都)建筑工程有限公司"}, [],
     "half-width parentheses NFKC-equal the registered full-width ones")
case("tx", tx(E5), {"taxpayer_name": "杭州测试网络科技有限公司 "}, [], "trailing blank agrees")
case("tx", tx(E6), {"taxpayer_name": "深圳模拟电子科技有限公司"}, ["taxpayer_name.cross_source"], "taxpayer name disagrees")
case("tx", tx(E8), {"taxpayer_name": "西安演示文化有限公司"}, ["taxpayer_name.cross_source"],
     "same value as the earlier n/a case, now E8 is registered")
case("tx", tx(ENOREG), {"taxpayer_name": "完全不同的名称"}, [], "USCC still never registered: n/a")
case("hc", hc(CHEN), {"mother_name": "陈小燕"}, ["mother_name.cross_source"], "mother_name disagrees")
case("hc", hc(CHU), {"mother_name": "褚静仪"}, ["mother_name.cross_source"], "same value as the earlier n/a case")
case("hc", hc(WEI), {"mother_name": "ＷＥＩ"}, ["mother_name.cross_source"], "full-width latin is NFKC 'WEI', not 卫子涵")

# --- 6. authoritative updates ------------------------------------------------
case("hh", hh(YANG, 3), {"name": "杨逸帆"}, [], "YANG renamed to 杨逸帆: the reference changes")
case("ca", ca(YANG), {"name": "杨一帆"}, ["name.cross_source"], "old name now disagrees")
case("ca", ca(YANG), {"name": "杨逸帆"}, [], "new name agrees")
case("hr", hr(YANG), {}, ["name.cross_source"], "hrss with the old name 杨一帆 disagrees too")
case("hh", hh(YANG, 3), {"name": "杨逸帆" + "测" * 48}, ["name.format"],
     "51-char name is malformed: not delivered, reference stays 杨逸帆")
case("hr", hr(YANG), {"name": "杨逸帆"}, [], "still compared with 杨逸帆")
case("hh", hh(LI, 3), {"name": ""}, ["name.required"], "blank name is not delivered")
case("ca", ca(LI), {}, [], "still compared with 李思琪")
case("hh", hh(KONG, 5), {"name": "孔繁予", "gender": "3"}, ["gender.format"],
     "name delivered (孔繁予) but malformed gender is not (reference gender stays 1)")
case("ca", ca(KONG), {"name": "孔繁予", "gender": "1"}, [], "agrees with new name and kept gender")
case("ca", ca(KONG), {}, ["name.cross_source"], "old name 孔繁宇 now disagrees")
case("hh", hh(WU, 5), {"name": "吴佳宜", "ethnicity": "99"}, ["ethnicity.format"],
     "record with another defect still delivers its valid name 吴佳宜")
case("ca", ca(WU), {"name": "吴佳宜"}, [], "agrees with the new name")
case("hc", hc(WU), {}, ["mother_name.cross_source"], "old name 吴佳怡 now disagrees")
case("hh", hh(FENG, 2), {"name": "冯志刚", "updated_at": AGE(h=30)}, ["updated_at.freshness"],
     "stale record still delivers: reference is the latest delivered in file order")
case("hr", hr(FENG), {"name": "冯志刚"}, [], "agrees with the stale record's name")
case("hh", hh(LIU, 4), {"record_id": "PSHR-DUP-001", "name": "柳青荷"}, ["record_id.unique"],
     "duplicate record_id, still delivers its valid name 柳青荷")
case("hr", hr(LIU, E6), {"name": "柳青荷"}, [], "agrees with the duplicate's name")
case("ca", ca(LIU), {}, ["name.cross_source"], "old name 柳青禾 disagrees")
case("hh", hh(ZHAO, 0), {"id_number": bad_check(ZHAO.id), "name": "赵某某"}, ["id_number.format"],
     "malformed key: nothing delivered")
case("ca", ca(ZHAO), {}, [], "reference for ZHAO is still 赵子墨")
case("ca", ca(ZHAO), {"id_number": bad_check(ZHAO.id), "name": "赵某某"}, ["id_number.format"],
     "consumer with malformed key: cross-source and parity n/a")
case("mr", mr(E2), {"entity_name": "上海样本国际贸易有限公司"}, [], "E2 renamed: legal_entity reference changes")
case("tx", tx(E2), {}, ["taxpayer_name.cross_source"], "old entity name disagrees")
case("tx", tx(E2), {"taxpayer_name": "上海样本国际贸易有限公司"}, [], "new entity name agrees")
case("mr", mr(E2), {"entity_name": L101}, ["entity_name.format"], "101-char name malformed: not delivered")
case("tx", tx(E2), {"taxpayer_name": "上海样本国际贸易有限公司"}, [], "still the previous name")
case("mr", mr(E5), {"uscc": bad_check(E5.uscc), "entity_name": "别的名字有限公司"}, ["uscc.format"],
     "malformed USCC: nothing delivered")
case("tx", tx(E5), {}, [], "E5 reference unchanged")
case("tx", tx(E5), {"uscc": bad_check(E5.uscc), "taxpayer_name": "别的名字有限公司"}, ["uscc.format"],
     "malformed USCC in tax: cross-source n/a")
case("mr", mr(E3), {"legal_rep_id_number": bad_check(ZHOU.id), "legal_rep_name": "某人"}, ["legal_rep_id_number.format"],
     "malformed legal rep ID: cross-source n/a")
case("mr", mr(E3), {"legal_rep_id_number": HE.id, "legal_rep_name": "随便"}, [], "legal rep never registered: n/a")

# --- 7. within-record rules --------------------------------------------------
case("hh", hh(RULEM, 5), {"birth_date": "1982-03-15"}, ["birth_date_matches_id_number"], "birth_date one day off the ID")
case("hh", hh(RULEM, 5), {"birth_date": "1982/03/14"}, ["birth_date.format"],
     "malformed birth_date: format only, birth-date rule n/a")
case("hh", hh(RULEM, 5), {"birth_date": "1982-04-31"}, ["birth_date.format"], "impossible date: format only, rule n/a")
case("hh", hh(RULEM, 5), {"gender": "2"}, ["gender_matches_id_number"], "gender 2 with odd 17th digit")
case("hh", hh(RULEF, 0), {"gender": "1"}, ["gender_matches_id_number"], "gender 1 with even 17th digit")
case("hh", hh(RULEF, 0), {"gender": "9"}, [], "gender 9 with even digit: parity n/a")
case("hh", hh(RULEM, 5), {"gender": "0"}, [], "gender 0 with odd digit: parity n/a")
case("hh", hh(RULEM, 5), {"gender": 2}, ["gender.format"], "gender as JSON integer: format only, parity n/a")
case("hh", hh(RULEF, 0), {"gender": "1", "birth_date": "1993-08-26"}, ["birth_date_matches_id_number", "gender_matches_id_number"],
     "both household rules fail")
case("hh", hh(RULEM, 5), {"id_number": bad_check(RULEM.id), "birth_date": "1999-01-01", "gender": "2"}, ["id_number.format"],
     "malformed ID (bad check char): both rules n/a")
case("ca", ca(QIAN), {"gender": "1"}, ["gender.cross_source", "gender_matches_id_number"],
     "civil gender 1 with even ID, household says 2")
case("ca", ca(QIAN), {"gender": "3"}, ["gender.format"], "gender not in code table: parity and cross-source n/a")
case("ca", ca(QIAN), {"gender": "\uFF12"}, ["gender.format"], "full-width digit 2 is not a code (no NFKC for format)")
case("ca", ca(XU), {"gender": "1"}, ["gender_matches_id_number"], "unregistered person: parity fails, cross-source n/a")
case("mr", mr(E1), {"establishment_date": "2026-06-15", "updated_at": "2026-06-15T09:00:00+08:00"}, [],
     "establishment_date equal to updated_at's date passes")
case("mr", mr(E1), {"establishment_date": "2026-06-15", "updated_at": "2026-06-15T00:30:00+08:00"}, [],
     "date of updated_at in its own offset is 06-15 (06-14 in UTC): passes")
case("mr", mr(E1), {"establishment_date": "2026-06-15", "updated_at": "2026-06-14T20:00:00-05:00"},
     ["establishment_not_after_update"], "date of updated_at in its own offset is 06-14 (06-15 in Shanghai): fails")
case("mr", mr(E1), {"establishment_date": "2026-06-16"}, ["establishment_not_after_update"],
     "establishment the day after updated_at")
case("mr", mr(E1), {"establishment_date": "2026-06-31"}, ["establishment_date.format"],
     "impossible establishment_date: rule n/a")
case("mr", mr(E1), {"establishment_date": "2026-06-16", "updated_at": "2026-06-15 08:00:00+08:00"}, ["updated_at.format"],
     "malformed updated_at (space separator): rule and freshness n/a")
case("hc", hc(CHEN), {"birth_datetime": "2026-06-15T02:00:00Z", "updated_at": "2026-06-15T10:00:00+08:00"}, [],
     "birth_datetime equal instant to updated_at passes")
case("hc", hc(CHEN), {"birth_datetime": "2026-06-15T09:30:00+08:00", "updated_at": "2026-06-15T02:00:00Z"}, [],
     "01:30Z before 02:00Z passes (textually later)")
case("hc", hc(CHEN), {"birth_datetime": "2026-06-15T03:30:00Z", "updated_at": "2026-06-15T10:00:00+08:00"},
     ["birth_not_after_update"], "11:30+08 after 10:00+08 fails (textually earlier)")
case("hc", hc(CHEN), {"birth_datetime": "2026-06-15T10:00:01+08:00", "updated_at": "2026-06-15T10:00:00+08:00"},
     ["birth_not_after_update"], "one second after updated_at fails")
case("hc", hc(CHEN), {"birth_datetime": "2026-06-16T08:00:00"}, ["birth_datetime.format"],
     "birth_datetime without offset: format only, rule n/a")
case("hc", hc(CHEN), {"updated_at": "2026-06-15T09:00:00"}, ["updated_at.format"],
     "updated_at without offset: rule and freshness n/a")
case("hc", hc(MALE_MOM), {}, ["mother_is_female"], "mother_id_number with odd 17th digit")
case("hc", hc(MALE_MOM), {"mother_id_number": bad_check(MALE_MOM.id)}, ["mother_id_number.format"],
     "malformed mother ID: mother rule and cross-source n/a")
case("hc", hc(SHI, "2"), {}, [], "mother household gender 0, even ID digit: passes")

# --- 8. freshness (exact max passes, +1 s fails, -4/-5 min pass, -6 min fails)
for _ds, _b, _max in (("hh", hh(QIAN, 1), 24), ("ca", ca(QIAN), 72), ("hr", hr(QIAN, E2), 48),
                      ("mr", mr(E6), 24), ("tx", tx(E6), 48), ("hc", hc(QIAN, "2"), 72)):
    case(_ds, copy.deepcopy(_b), {"updated_at": AGE(h=_max)}, [], f"age exactly {_max} h passes")
    case(_ds, copy.deepcopy(_b), {"updated_at": AGE(h=_max, s=1)}, ["updated_at.freshness"], f"age {_max} h + 1 s fails")
    case(_ds, copy.deepcopy(_b), {"updated_at": AGE(m=-4)}, [], "updated_at 4 min in the future passes")
    case(_ds, copy.deepcopy(_b), {"updated_at": AGE(m=-5)}, [], "updated_at exactly 5 min in the future passes")
    case(_ds, copy.deepcopy(_b), {"updated_at": AGE(m=-6)}, ["updated_at.freshness"], "updated_at 6 min in the future fails")
case("hh", hh(CHEN, 3), {"updated_at": AGE(h=24, ms=1)}, ["updated_at.freshness"], "age 24 h + 1 ms fails (millisecond precision)")
case("hh", hh(CHEN, 3), {"updated_at": AGE(h=23, tz="-05:00")}, [], "offset -05:00, age 23 h passes")
case("hh", hh(CHEN, 3), {"updated_at": AGE(h=25, tz="Z")}, ["updated_at.freshness"], "offset Z, age 25 h fails")
case("ca", ca(ZHOU), {"updated_at": AGE(h=71, m=59, tz="Z")}, [], "offset Z, age 71:59 passes")
case("hc", hc(CHEN), {"updated_at": AGE(h=1, ms=250)}, [], "fractional seconds in updated_at pass")
case("tx", tx(E1), {"updated_at": AGE(h=3, sep="t")}, [], "lowercase t separator in updated_at passes")
case("hr", hr(ZHAO), {"updated_at": AGE(h=24 * 30)}, ["updated_at.freshness"], "a month old fails")

# --- 9. uniqueness -----------------------------------------------------------
case("ca", ca(ZHOU), {"record_id": "CASA-DUP-001"}, [], "first delivery")
case("ca", ca(ZHOU), {"record_id": "CASA-DUP-001"}, ["record_id.unique"], "identical re-send 5 s later")
case("hr", hr(SUN, E4), {"record_id": "HRSI-DUP-001", "name": DEL}, ["name.required"], "first delivery, defective")
case("hr", hr(SUN, E4), {"record_id": "HRSI-DUP-001"}, ["record_id.unique"],
     "corrected re-send: a defective first delivery still counts")
case("tx", tx(E1), {"record_id": "TXTR-DUP-001"}, [], "first delivery")
case("tx", tx(E1), {"record_id": "TXTR-DUP-001"}, ["record_id.unique"], "second delivery")
case("tx", tx(E1), {"record_id": "TXTR-DUP-001"}, ["record_id.unique"], "third delivery")
case("mr", mr(E4), {"record_id": "EXCH-SHARED-0001"}, [], "record_id also used by tax below")
case("tx", tx(E4), {"record_id": "EXCH-SHARED-0001"}, [], "same record_id in another dataset passes")
case("ca", ca(ZHOU), {"record_id": 90001}, ["record_id.format"], "record_id as integer: malformed, uniqueness n/a")
case("ca", ca(ZHOU), {"record_id": 90001}, ["record_id.format"], "same integer record_id again: still no uniqueness outcome")
case("hr", hr(LI, E5), {"record_id": "R" * 65}, ["record_id.format"], "65-char record_id malformed")
case("hr", hr(LI, E5), {"record_id": "R" * 65}, ["record_id.format"], "same 65-char record_id again: uniqueness n/a")
case("hr", hr(LI, E5), {"record_id": "R" * 64}, [], "64-char record_id passes")
case("hr", hr(LI, E5), {"record_id": "R" * 64}, ["record_id.unique"], "64-char record_id duplicate")
case("hc", RAWB(b'{"record_id": "HCBC-DUP-001", "certificate_no": "Q260999001", "mother_name": "\xe9\x99"}'), None,
     ["message.parse"], "invalid UTF-8: malformed, and its record_id is not delivered", key="Q260999001")
case("hc", hc(CHEN), {"record_id": "HCBC-DUP-001"}, [], "first real delivery of the id seen in the malformed message")
case("hc", hc(CHEN), {"record_id": "HCBC-DUP-001"}, ["record_id.unique"], "re-send")
case("mr", mr(E6), {"record_id": "MRBR-DUP-001"}, [], "first delivery")
case("mr", mr(E6), {"record_id": "MRBR-DUP-001", "updated_at": AGE(h=25)}, ["record_id.unique", "updated_at.freshness"],
     "duplicate and stale")
case("hh", hh(CHEN, 3), {"record_id": "PSHR-" + "户" * 59}, [], "64-character record_id (CJK) passes")
case("hh", hh(CHEN, 3), {"record_id": "PSHR-" + "户" * 60}, ["record_id.format"], "65-character record_id (CJK) fails")

# --- 10. malformed messages --------------------------------------------------
case("hh", RAW("not json"), None, ["message.parse"], "payload is not JSON", key=WEI.id)
case("hh", RAWB(b'{"record_id": "PSHR-BAD-UTF8", "name": "\xff\xfe"}'), None, ["message.parse"],
     "invalid UTF-8 bytes", key=None)
case("ca", RAW('{"record_id": '), None, ["message.parse"], "truncated JSON", key=QIAN.id)
case("ca", RAW('{"record_id": "CASA-TRAIL", "name": "x"} x'), None, ["message.parse"], "JSON object followed by garbage",
     key=None)
case("hr", RAW("[1,2]"), None, ["message.parse"], "JSON array, not an object", key=ZHAO.id)
case("hr", RAW("42"), None, ["message.parse"], "JSON number, not an object", key=None)
case("mr", RAW('"just a string"'), None, ["message.parse"], "JSON string, not an object", key=E1.uscc)
case("mr", RAW('{"record_id": "MRBR-TWO"}{"record_id": "MRBR-TWO"}'), None, ["message.parse"],
     "two concatenated JSON objects", key=E1.uscc)
case("tx", RAW(""), None, ["message.parse"], "empty payload", key=E1.uscc)
case("tx", RAW("null"), None, ["message.parse"], "JSON null, not an object", key=E1.uscc)
case("hc", RAW("{\"record_id\": \"HCBC-9\", \"certificate_no\": \"Q26"), None, ["message.parse"], "truncated inside a string",
     key=None)
case("hc", RAW("true"), None, ["message.parse"], "JSON boolean, not an object", key=None)
case("hh", hh(WEI, 5), {}, [], "valid record delivered as a raw pretty-printed string payload", raw_text=True)
case("ca", ca(CHEN), {}, [], "valid record delivered as a raw string payload", raw_text=True)
case("tx", tx(E3), {"remark": "extra field", "updated_at": AGE(h=1)}, [], "undeclared extra field is ignored")

# --- 11. combined failures -------------------------------------------------
case("hh", hh(SUN, 2), {"name": DEL, "updated_at": AGE(h=30)}, ["name.required", "updated_at.freshness"],
     "missing name AND stale")
case("ca", ca(ZHOU), {"gender": "3", "household_size": 0, "status": "Active"},
     ["gender.format", "household_size.format", "status.format"], "three format failures")
case("hr", hr(LI, E5), {"record_id": "HRSI-DUP-001", "employer_uscc": "91330106MA27HJ8K4", "updated_at": AGE(m=-6)},
     ["employer_uscc.format", "record_id.unique", "updated_at.freshness"], "17-char USCC, duplicate id, future updated_at")
case("mr", mr(E5), {"establishment_date": "2026-06-16", "legal_rep_name": "李思其", "registered_capital": -5},
     ["establishment_not_after_update", "legal_rep_name.cross_source", "registered_capital.format"],
     "rule, cross-source and optional-field format failures together")
case("hc", hc(MALE_MOM), {"mother_name": "鲁成钢", "birth_datetime": "2026-06-15T23:00:00+08:00"},
     ["birth_not_after_update", "mother_is_female", "mother_name.cross_source"], "all three health consistency checks fail")
case("tx", {}, {}, ["division_code.required", "record_id.required", "registration_date.required", "taxpayer_name.required",
                    "taxpayer_status.required", "updated_at.required", "uscc.required"],
     "empty JSON object: every required field missing, nothing else", key=None)
case("ca", ca(ZHAO), {"id_number": DEL, "name": "完全不同", "gender": "2"}, ["id_number.required"],
     "missing key: completeness only; parity and cross-source n/a")
case("hh", hh(ZHAO, 0), {"birth_date": None, "gender": None, "updated_at": None},
     ["birth_date.required", "gender.required", "updated_at.required"], "nulls: rules and freshness n/a")

# --- 12. completeness: every required field x (absent, null, "", white space)
blank4("hh", hh(CHEN, 3), "record_id")
blank4("hh", hh(CHEN, 3), "id_number")
blank4("hh", hh(CHEN, 3), "name", ws="\u3000\u3000")
blank4("hh", hh(CHEN, 3), "gender")
blank4("hh", hh(CHEN, 3), "birth_date")
blank4("hh", hh(CHEN, 3), "ethnicity")
blank4("hh", hh(CHEN, 3), "division_code")
blank4("hh", hh(CHEN, 3), "updated_at")
blank4("ca", ca(ZHOU), "record_id")
blank4("ca", ca(ZHOU), "id_number", ws="\t")
blank4("ca", ca(ZHOU), "name")
blank4("ca", ca(ZHOU), "gender")
blank4("ca", ca(ZHOU), "division_code")
blank4("ca", ca(ZHOU), "household_size", note=' ("" is blank even for an integer field)')
blank4("ca", ca(ZHOU), "monthly_amount")
blank4("ca", ca(ZHOU), "start_month")
blank4("ca", ca(ZHOU), "status", ws=" \n ")
blank4("ca", ca(ZHOU), "updated_at")
blank4("hr", hr(JIANG, E1), "record_id")
blank4("hr", hr(JIANG, E1), "id_number")
blank4("hr", hr(JIANG, E1), "name")
blank4("hr", hr(JIANG, E1), "employer_uscc")
blank4("hr", hr(JIANG, E1), "insurance_type")
blank4("hr", hr(JIANG, E1), "monthly_base")
blank4("hr", hr(JIANG, E1), "start_month")
blank4("hr", hr(JIANG, E1), "status")
blank4("hr", hr(JIANG, E1), "updated_at", ws="\t\t")
blank4("mr", mr(E6), "record_id")
blank4("mr", mr(E6), "uscc")
blank4("mr", mr(E6), "entity_name", ws="\u3000")
blank4("mr", mr(E6), "entity_type")
blank4("mr", mr(E6), "legal_rep_id_number")
blank4("mr", mr(E6), "legal_rep_name")
blank4("mr", mr(E6), "establishment_date")
blank4("mr", mr(E6), "division_code")
blank4("mr", mr(E6), "status")
blank4("mr", mr(E6), "updated_at")
blank4("tx", tx(E6), "record_id")
blank4("tx", tx(E6), "uscc")
blank4("tx", tx(E6), "taxpayer_name")
blank4("tx", tx(E6), "taxpayer_status")
blank4("tx", tx(E6), "registration_date")
blank4("tx", tx(E6), "division_code")
blank4("tx", tx(E6), "updated_at")
blank4("hc", hc(WEI, "2"), "record_id")
blank4("hc", hc(WEI, "2"), "certificate_no")
blank4("hc", hc(WEI, "2"), "newborn_gender")
blank4("hc", hc(WEI, "2"), "birth_datetime")
blank4("hc", hc(WEI, "2"), "mother_id_number")
blank4("hc", hc(WEI, "2"), "mother_name", ws="\n")
blank4("hc", hc(WEI, "2"), "hospital_name")
blank4("hc", hc(WEI, "2"), "division_code")
blank4("hc", hc(WEI, "2"), "updated_at")

# --- 13. format: household_registration -------------------------------------
case("hh", hh(ZHU, 5), {"id_number": ZHU.id[:17] + "x"}, ["id_number.format"], "lowercase x check character")
case("hh", hh(CHEN, 3), {"id_number": bad_check(CHEN.id)}, ["id_number.format"], "wrong check character")
case("hh", hh(CHEN, 3), {"id_number": resident_id("110105", "19990230", 22), "birth_date": "1999-02-28"},
     ["id_number.format"], "ID with impossible date 19990230 (correct check char)")
case("hh", hh(CHEN, 3), {"id_number": resident_id("110105", "20260616", 22), "birth_date": "2026-06-16"},
     ["id_number.format"], "ID born tomorrow relative to the message date")
case("hh", hh(CHEN, 3), {"id_number": resident_id("110105", "18991231", 22), "birth_date": "1899-12-31"},
     ["id_number.format"], "ID born 1899-12-31, before 1900-01-01")
case("hh", hh(CHEN, 3), {"id_number": resident_id("990101", "19830505", 20)}, ["id_number.format"],
     "ID with unknown province 99")
case("hh", hh(CHEN, 3), {"id_number": resident_id("710101", "19830505", 20)}, ["id_number.format"],
     "ID with province 71 (not in the division table)")
case("hh", hh(CHEN, 3), {"id_number": resident_id("110199", "19830505", 20), "record_id": "PSHR-AREA-110199"}, [],
     "ID whose first 6 digits are no county but whose province 11 exists passes (only the province is checked)")
case("hh", hh(CHEN, 3), {"id_number": CHEN.id[:17]}, ["id_number.format"], "17-character ID")
case("hh", hh(CHEN, 3), {"id_number": CHEN.id + "0"}, ["id_number.format"], "19-character ID")
case("hh", hh(CHEN, 3), {"id_number": CHEN.id + " "}, ["id_number.format"], "ID with trailing blank (not trimmed for format)")
case("hh", hh(CHEN, 3), {"id_number": CHEN.id[:10] + "A" + CHEN.id[11:]}, ["id_number.format"], "letter inside the ID")
case("hh", hh(CHEN, 3), {"id_number": int(CHEN.id)}, ["id_number.format"], "ID as a JSON number")
case("hh", hh(CHEN, 3), {"name": L51}, ["name.format"], "51-character name")
case("hh", hh(CHEN, 3), {"name": 12345}, ["name.format"], "name as a JSON number")
case("hh", hh(CHEN, 3), {"name": ["陈晓燕"]}, ["name.format"], "name as a JSON array")
case("hh", hh(CHEN, 3), {"gender": "3"}, ["gender.format"], "gender 3 not in code table")
case("hh", hh(CHEN, 3), {"gender": "02"}, ["gender.format"], "gender 02 not in code table")
case("hh", hh(CHEN, 3), {"birth_date": "19830505"}, ["birth_date.format"], "birth_date without dashes")
case("hh", hh(CHEN, 3), {"birth_date": "1983-5-5"}, ["birth_date.format"], "birth_date without zero padding")
case("hh", hh(CHEN, 3), {"ethnicity": "01"}, [], "ethnicity 01 (min)")
case("hh", hh(CHEN, 3), {"ethnicity": "00"}, ["ethnicity.format"], "ethnicity 00")
case("hh", hh(CHEN, 3), {"ethnicity": "57"}, ["ethnicity.format"], "ethnicity 57")
case("hh", hh(CHEN, 3), {"ethnicity": "1"}, ["ethnicity.format"], "ethnicity 1 (unpadded)")
case("hh", hh(CHEN, 3), {"ethnicity": 1}, ["ethnicity.format"], "ethnicity as a JSON number")
case("hh", hh(CHEN, 3), {"division_code": "999999"}, ["division_code.format"], "division 999999 not in table")
case("hh", hh(CHEN, 3), {"division_code": "110100"}, ["division_code.format"], "division 110100 not in table")
case("hh", hh(CHEN, 3), {"division_code": 350102}, ["division_code.format"], "division as a JSON number")
case("hh", hh(CHEN, 3), {"division_code": "350000"}, [], "province division code passes")
case("hh", hh(CHEN, 3), {"division_code": "130100"}, [], "prefecture division code passes")
case("hh", hh(CHEN, 3), {"address": "址" * 200}, [], "address of 200 characters passes")
case("hh", hh(CHEN, 3), {"address": "址" * 201}, ["address.format"], "address of 201 characters fails")
case("hh", hh(CHEN, 3), {"address": DEL, "phone": DEL}, [], "optional address and phone absent")
case("hh", hh(CHEN, 3), {"address": None, "phone": None}, [], "optional address and phone null")
case("hh", hh(CHEN, 3), {"address": "", "phone": "  "}, [], "optional address empty and phone blank: no checks")
case("hh", hh(CHEN, 3), {"address": 12}, ["address.format"], "address as a JSON number")
case("hh", hh(CHEN, 3), {"phone": "12800138000"}, ["phone.format"], "mobile with second digit 2")
case("hh", hh(CHEN, 3), {"phone": "1380013800"}, ["phone.format"], "10-digit mobile")
case("hh", hh(CHEN, 3), {"phone": "+8613800138000"}, ["phone.format"], "mobile with country prefix")
case("hh", hh(CHEN, 3), {"phone": 13800138000}, ["phone.format"], "mobile as a JSON number")
case("hh", hh(CHEN, 3), {"phone": "19912345678"}, [], "mobile 199... passes")
case("hh", hh(CHEN, 3), {"updated_at": "2026-06-15"}, ["updated_at.format"], "updated_at date only")
case("hh", hh(CHEN, 3), {"updated_at": 1781481600000}, ["updated_at.format"], "updated_at as epoch number")
case("hh", hh(CHEN, 3), {"record_id": "  PSHR-SPACED  "}, [], "record_id with surrounding blanks is a valid string")

# --- 14. format: civil_affairs ----------------------------------------------
case("ca", ca(ZHU), {"id_number": ZHU.id[:17] + "x"}, ["id_number.format"], "lowercase x check character")
case("ca", ca(CHEN), {"id_number": resident_id("990101", "19830505", 20)}, ["id_number.format"], "unknown province 99")
case("ca", ca(CHEN), {"id_number": resident_id("110105", "19990230", 22)}, ["id_number.format"], "impossible ID date")
case("ca", ca(ZHAO), {"name": L51}, ["name.format"], "51-character name: format only, cross-source n/a")
case("ca", ca(XU), {"name": "许" * 50}, [], "50-character name (unregistered person) passes")
case("ca", ca(XU), {"name": "许"}, [], "1-character name passes")
case("ca", ca(ZHOU), {"gender": 1}, ["gender.format"], "gender as a JSON number")
case("ca", ca(ZHOU), {"division_code": "000000"}, ["division_code.format"], "division 000000")
case("ca", ca(ZHOU), {"household_size": 0}, ["household_size.format"], "household_size 0 (below 1)")
case("ca", ca(ZHOU), {"household_size": 21}, ["household_size.format"], "household_size 21 (above 20)")
case("ca", ca(ZHOU), {"household_size": 2.5}, ["household_size.format"], "household_size 2.5 (not an integer)")
case("ca", ca(ZHOU), {"household_size": "3"}, ["household_size.format"], "household_size numeric string")
case("ca", ca(ZHOU), {"household_size": -1}, ["household_size.format"], "household_size negative")
case("ca", ca(ZHOU), {"household_size": True}, ["household_size.format"], "household_size boolean")
case("ca", ca(ZHOU), {"monthly_amount": 100000.01}, ["monthly_amount.format"], "monthly_amount just above 100000")
case("ca", ca(ZHOU), {"monthly_amount": -0.5}, ["monthly_amount.format"], "monthly_amount negative")
case("ca", ca(ZHOU), {"monthly_amount": "800"}, ["monthly_amount.format"], "monthly_amount numeric string")
case("ca", ca(ZHOU), {"start_month": "2026-13"}, ["start_month.format"], "month 13")
case("ca", ca(ZHOU), {"start_month": "2026-00"}, ["start_month.format"], "month 00")
case("ca", ca(ZHOU), {"start_month": "2026-6"}, ["start_month.format"], "month unpadded")
case("ca", ca(ZHOU), {"start_month": "2026-06-01"}, ["start_month.format"], "a date, not a month")
case("ca", ca(ZHOU), {"start_month": "202606"}, ["start_month.format"], "month without dash")
case("ca", ca(ZHOU), {"start_month": "2026-01"}, [], "month 01 passes")
case("ca", ca(ZHOU), {"status": "Active"}, ["status.format"], "status enumeration is case-sensitive")
case("ca", ca(ZHOU), {"status": "closed"}, ["status.format"], "status not in enumeration")
case("ca", ca(ZHOU), {"updated_at": "2026-06-31T08:00:00+08:00"}, ["updated_at.format"], "updated_at June 31")

# --- 15. format: hrss --------------------------------------------------------
case("hr", hr(ZHU), {"id_number": ZHU.id[:17] + "x"}, ["id_number.format"], "lowercase x check character")
case("hr", hr(CHEN), {"id_number": resident_id("350102", "20270101", 20)}, ["id_number.format"], "ID born in 2027")
case("hr", hr(CHEN), {"name": L51}, ["name.format"], "51-character name")
case("hr", hr(HE), {"name": "何" * 50}, [], "50-character name (unregistered person) passes")
case("hr", hr(JIANG), {"employer_uscc": E1.uscc[:9] + "I" + E1.uscc[10:]}, ["employer_uscc.format"], "USCC with letter I")
case("hr", hr(JIANG), {"employer_uscc": E1.uscc[:9] + "O" + E1.uscc[10:]}, ["employer_uscc.format"], "USCC with letter O")
case("hr", hr(JIANG), {"employer_uscc": bad_check(E1.uscc)}, ["employer_uscc.format"], "USCC wrong check character")
case("hr", hr(JIANG), {"employer_uscc": USCC_UNKNOWN_DIV}, ["employer_uscc.format"], "USCC with division 990000")
case("hr", hr(JIANG), {"employer_uscc": E1.uscc.lower()}, ["employer_uscc.format"], "USCC lowercase")
case("hr", hr(JIANG), {"employer_uscc": 911101080000000000}, ["employer_uscc.format"], "USCC as a JSON number")
case("hr", hr(JIANG), {"insurance_type": "120"}, ["insurance_type.format"], "insurance_type 120")
case("hr", hr(JIANG), {"insurance_type": 110}, ["insurance_type.format"], "insurance_type as a JSON number")
case("hr", hr(JIANG), {"monthly_base": 0}, ["monthly_base.format"], "monthly_base 0 (must be > 0)")
case("hr", hr(JIANG), {"monthly_base": 1000000.01}, ["monthly_base.format"], "monthly_base just above 1000000")
case("hr", hr(JIANG), {"monthly_base": -100}, ["monthly_base.format"], "monthly_base negative")
case("hr", hr(JIANG), {"monthly_base": "5000"}, ["monthly_base.format"], "monthly_base numeric string")
case("hr", hr(JIANG), {"start_month": "2026-13"}, ["start_month.format"], "month 13")
case("hr", hr(JIANG), {"status": "deregistered"}, ["status.format"], "status from another dataset's enumeration")
case("hr", hr(JIANG), {"updated_at": "2026-06-15T08:00+08:00"}, ["updated_at.format"], "updated_at without seconds")

# --- 16. format: market_regulation --------------------------------------------
case("mr", mr(E6), {"uscc": E6.uscc[:10] + "S" + E6.uscc[11:]}, ["uscc.format"], "USCC with letter S")
case("mr", mr(E6), {"uscc": USCC_PREF_MISSING}, ["uscc.format"], "USCC with division 110100 (not in table)")
case("mr", mr(E6), {"uscc": E6.uscc[:17]}, ["uscc.format"], "17-character USCC")
case("mr", mr(E6), {"entity_name": L101}, ["entity_name.format"], "101-character entity name")
case("mr", mr(E6), {"entity_name": 100}, ["entity_name.format"], "entity name as a JSON number")
case("mr", mr(E6), {"entity_type": "1300"}, ["entity_type.format"], "entity_type 1300")
case("mr", mr(E6), {"entity_type": 4500}, ["entity_type.format"], "entity_type as a JSON number")
case("mr", mr(E6), {"legal_rep_id_number": resident_id("990101", "19850615", 77)}, ["legal_rep_id_number.format"],
     "legal rep ID with province 99")
case("mr", mr(E6), {"legal_rep_id_number": ZHENG.id[:17] + "Y"}, ["legal_rep_id_number.format"],
     "legal rep ID with check character Y")
case("mr", mr(E6), {"legal_rep_name": L51}, ["legal_rep_name.format"], "51-character legal rep name")
case("mr", mr(E6), {"legal_rep_id_number": HE.id, "legal_rep_name": "何" * 50}, [],
     "50-character legal rep name (unregistered person) passes")
case("mr", mr(E6), {"registered_capital": -1}, ["registered_capital.format"], "registered_capital negative")
case("mr", mr(E6), {"registered_capital": "100"}, ["registered_capital.format"], "registered_capital numeric string")
case("mr", mr(E6), {"registered_capital": ""}, [], "registered_capital empty string (optional): no checks")
case("mr", mr(E6), {"establishment_date": "2026-02-29"}, ["establishment_date.format"], "2026-02-29 (not a leap year)")
case("mr", mr(E6), {"establishment_date": "2018-7-7"}, ["establishment_date.format"], "date without padding")
case("mr", mr(E6), {"division_code": "110100"}, ["division_code.format"], "division 110100 not in table")
case("mr", mr(E6), {"status": "cancelled"}, [], "status cancelled passes")
case("mr", mr(E6), {"status": "closed"}, ["status.format"], "status not in enumeration")
case("mr", mr(E6), {"updated_at": "2026-06-15T25:00:00+08:00"}, ["updated_at.format"], "updated_at hour 25")
case("mr", mr(E6), {"record_id": True}, ["record_id.format"], "record_id as a JSON boolean")

# --- 17. format: tax ---------------------------------------------------------
case("tx", tx(E6), {"uscc": E6.uscc[:11] + "V" + E6.uscc[12:]}, ["uscc.format"], "USCC with letter V")
case("tx", tx(E6), {"uscc": E6.uscc[:12] + "Z" + E6.uscc[13:]}, ["uscc.format"], "USCC with letter Z")
case("tx", tx(E6), {"uscc": bad_check(E6.uscc)}, ["uscc.format"], "USCC wrong check character")
case("tx", tx(E6), {"uscc": USCC_UNKNOWN_DIV}, ["uscc.format"], "USCC with division 990000")
case("tx", tx(ENOREG), {"taxpayer_name": "税" * 100}, [], "100-character name (unregistered USCC) passes")
case("tx", tx(E6), {"taxpayer_name": L101}, ["taxpayer_name.format"], "101-character taxpayer name")
case("tx", tx(E6), {"taxpayer_status": "active"}, ["taxpayer_status.format"], "taxpayer_status not in enumeration")
case("tx", tx(E6), {"registration_date": "2018-02-30"}, ["registration_date.format"], "impossible registration_date")
case("tx", tx(E6), {"registration_date": "2018-07-20T00:00:00+08:00"}, ["registration_date.format"],
     "a date-time, not a date")
case("tx", tx(E6), {"division_code": "440399"}, ["division_code.format"], "division 440399 not in table")
case("tx", tx(E6), {"record_id": {"id": "TXTR-OBJ"}}, ["record_id.format"], "record_id as a JSON object")
case("tx", tx(E6), {"updated_at": "2026-06-15T08:00:00+8:00"}, ["updated_at.format"], "offset hour not two digits")

# --- 18. format: health --------------------------------------------------------
case("hc", hc(WEI, "2"), {"certificate_no": "q260615001"}, ["certificate_no.format"], "lowercase letter")
case("hc", hc(WEI, "2"), {"certificate_no": "Q26061500"}, ["certificate_no.format"], "9 characters")
case("hc", hc(WEI, "2"), {"certificate_no": "Q2606150011"}, ["certificate_no.format"], "11 characters")
case("hc", hc(WEI, "2"), {"certificate_no": "QQ60615001"}, ["certificate_no.format"], "two letters")
case("hc", hc(WEI, "2"), {"certificate_no": "\uFF31260615001"}, ["certificate_no.format"], "full-width Q")
case("hc", hc(WEI, "2"), {"certificate_no": 260615001}, ["certificate_no.format"], "certificate_no as a JSON number")
case("hc", hc(WEI, "2", newborn="宝" * 50), {}, [], "newborn_name of 50 characters passes")
case("hc", hc(WEI, "2", newborn="宝" * 51), {}, ["newborn_name.format"], "newborn_name of 51 characters fails")
case("hc", hc(WEI, "2", newborn=7), {}, ["newborn_name.format"], "newborn_name as a JSON number")
case("hc", hc(WEI, "2", newborn="   "), {}, [], "newborn_name blank (optional): no checks")
case("hc", hc(WEI, "2"), {"newborn_gender": "3"}, ["newborn_gender.format"], "newborn_gender 3")
case("hc", hc(WEI, "2"), {"newborn_gender": 2}, ["newborn_gender.format"], "newborn_gender as a JSON number")
case("hc", hc(WEI, "2"), {"birth_datetime": "2026-06-13 08:30:00+08:00"}, ["birth_datetime.format"], "space separator")
case("hc", hc(WEI, "2"), {"birth_datetime": "2026-06-13"}, ["birth_datetime.format"], "date only")
case("hc", hc(WEI, "2"), {"birth_datetime": "2026-06-13T08:30:00.5Z"}, [], "fractional seconds and Z pass")
case("hc", hc(WEI, "2"), {"mother_id_number": bad_check(WEI.id)}, ["mother_id_number.format"], "wrong check character")
case("hc", hc(WEI, "2"), {"mother_id_number": resident_id("500103", "19980229", 44)}, ["mother_id_number.format"],
     "ID date 19980229 (not a leap year)")
case("hc", hc(WEI, "2"), {"mother_name": L51}, ["mother_name.format"], "51-character mother name")
case("hc", hc(XU, "2"), {"mother_name": "许" * 50}, [], "50-character mother name (unregistered) passes")
case("hc", hc(WEI, "2"), {"hospital_name": "院" * 100}, [], "100-character hospital name passes")
case("hc", hc(WEI, "2"), {"hospital_name": "院" * 101}, ["hospital_name.format"], "101-character hospital name")
case("hc", hc(WEI, "2"), {"division_code": "5001"}, ["division_code.format"], "4-digit division code")
case("hc", hc(WEI, "2"), {"updated_at": "2026-06-15T08:00:00+0800"}, ["updated_at.format"],
     "updated_at offset without colon (not RFC 3339)")
case("hc", hc(WEI, "2"), {"record_id": ["HCBC-ARRAY"]}, ["record_id.format"], "record_id as a JSON array")

# --- 19. a few null keys and more valid traffic -------------------------------
case("hh", hh(JIANG, 0), {}, [], "valid, message key null", key=None)
case("ca", ca(HAN), {}, [], "valid, message key null", key=None)
case("hr", hr(HAN, E2), {}, [], "valid, message key null", key=None)
case("mr", mr(E3), {}, [], "valid, message key null", key=None)
case("hc", hc(HAN, "1"), {}, [], "valid, message key null", key=None)
case("tx", tx(E7), {}, [], "valid taxpayer record")
case("tx", tx(EPROV), {}, [], "valid taxpayer record, province division")
case("hr", hr(YOU), {"name": "尤小满"}, [], "valid, person born today")

# ============================================================================
# PHASE 2 - just after midnight in Shanghai (still 2026-06-15 in UTC)
# ============================================================================
MID = dt.datetime(2026, 6, 16, 0, 0, 5, tzinfo=SH)
case("hh", hh(BAI, 0), {"updated_at": AGE(m=3)}, [],
     "ID born 2026-06-16 passes: 'today' is the Shanghai date of the message (UTC date is still 06-15)", at=At(MID))
case("hh", hh(CHEN, 3), {"id_number": resident_id("110105", "20260617", 22), "birth_date": "2026-06-17",
                         "updated_at": AGE(m=3)}, ["id_number.format"], "ID born 2026-06-17 is still in the future")
case("hc", hc(CHEN), {"birth_datetime": "2026-06-16T00:00:01+08:00", "updated_at": AGE()}, [],
     "birth just after midnight, updated_at equal to the message timestamp (age 0)")
case("ca", ca(QIAN), {}, [], "valid civil record after midnight")

# ============================================================================
# PHASE 3 - one week later: re-sends at the 7-day boundary
# ============================================================================
WEEK = dt.timedelta(days=7)
case("ca", ca(YANG), {"name": "杨逸帆", "record_id": "CASA-WEEK-001"}, ["record_id.unique"],
     "re-send exactly 7 days after the first delivery: still a duplicate", at=At(label="week_ca", delta=WEEK))
case("hr", hr(YANG), {"name": "杨逸帆", "record_id": "HRSI-WEEK-001"}, [],
     "re-send 7 days + 1 s after the first delivery passes", at=At(label="week_hr", delta=WEEK + dt.timedelta(seconds=1)))
case("hr", hr(YANG), {"name": "杨逸帆", "record_id": "HRSI-WEEK-001"}, ["record_id.unique"],
     "and that re-send itself counts: another copy 5 s later is a duplicate")
case("tx", tx(E8), {"record_id": "TXTR-WEEK-001"}, [], "re-send after more than 7 days passes (name now agrees)",
     at=At(label="week_tx", delta=WEEK + dt.timedelta(minutes=30)))
case("hh", hh(ZHAO, 0), {"record_id": "PSHR-WEEK-001"}, [], "household re-send 7 days + 1 h later passes",
     at=At(label="week_hh", delta=WEEK + dt.timedelta(hours=1)))
case("hh", hh(BAI, 0), {}, [], "the 06-16 newborn again a week later, new record_id")
case("ca", ca(YANG), {"name": "杨逸帆"}, [], "reference survives the time jump")
case("hc", hc(CHU), {"updated_at": AGE(h=72)}, [], "week later: age exactly 72 h passes")
case("mr", mr(E1), {"updated_at": AGE(h=24, s=1)}, ["updated_at.freshness"], "week later: stale")


# ----------------------------------------------------------------------------
# Build
# ----------------------------------------------------------------------------
_NFC_UNSAFE = {"\u3000", "\t", "\n", "\r"}


def dumps(obj) -> str:
    """JSON with readable CJK, but escaping characters an editor could silently change."""
    s = json.dumps(obj, ensure_ascii=False)
    out = []
    for ch in s:
        if (ch in _NFC_UNSAFE or unicodedata.normalize("NFC", ch) != ch or unicodedata.category(ch) in ("Zs", "Cf")
                and ch != " " or ord(ch) > 0xFFFF or 0xFF00 <= ord(ch) <= 0xFFEF):
            o = ord(ch)
            if o > 0xFFFF:
                o -= 0x10000
                out.append(f"\\u{0xD800 + (o >> 10):04x}\\u{0xDC00 + (o & 0x3FF):04x}")
            else:
                out.append(f"\\u{o:04x}")
        else:
            out.append(ch)
    r = "".join(out)
    assert json.loads(r) == obj
    return r


def build():
    messages, expected = [], []
    ids = {ds: 0 for ds in DATASETS}
    offsets = {}
    ts_by_label = {}
    rotate = 0
    prev = None
    for c in CASES:
        ds = c["ds"]
        dept, dataset, keyfield, prefix = DATASETS[ds]
        topic = f"exchange.{dept}.{dataset}"
        # timestamp
        at = c["at"]
        if at is None:
            ts = T0 if prev is None else prev + STEP
        elif at.label is not None:
            ts = ts_by_label[at.label] + at.delta
        else:
            ts = at.when
        assert prev is None or ts > prev, (c["note"], ts, prev)
        prev = ts
        if c["label"]:
            ts_by_label[c["label"]] = ts
        # payload
        msg_value = None
        msg_b64 = None
        rec = None
        if isinstance(c["base"], RAW):
            msg_value = c["base"].text
        elif isinstance(c["base"], RAWB):
            msg_b64 = base64.b64encode(c["base"].data).decode()
        else:
            rec = copy.deepcopy(c["base"])
            for k, v in c["mutation"].items():
                if v is DEL:
                    rec.pop(k, None)
                else:
                    rec[k] = v
            for k, v in list(rec.items()):
                if isinstance(v, AGE):
                    rec[k] = v.render(ts)
                elif v == AUTO and k == "record_id":
                    ids[ds] += 1
                    rec[k] = f"{prefix}-{ids[ds]:06d}"
            msg_value = (json.dumps(rec, ensure_ascii=False, indent=2) + "\n") if c["raw_text"] else rec
        # key
        if c["key"] is KEEP:
            kv = rec.get(keyfield) if rec is not None else None
            if not (isinstance(kv, str) and kv.strip()):
                kv = rec.get("record_id") if rec is not None else None
            key = kv if isinstance(kv, str) and kv.strip() else None
        else:
            key = c["key"]
        # partition / offset
        if key is None:
            part = rotate % 3
            rotate += 1
        else:
            part = zlib.crc32(key.encode("utf-8")) % 3
        off = offsets.get((topic, part), 0)
        offsets[(topic, part)] = off + 1
        m = {"topic": topic, "partition": part, "offset": off, "timestamp": int(ts.timestamp() * 1000), "key": key}
        if msg_b64 is not None:
            m["value_base64"] = msg_b64
        else:
            m["value"] = msg_value
        messages.append(m)
        for chk in sorted(c["fails"]):
            expected.append({"topic": topic, "partition": part, "offset": off, "check": chk,
                             "dimension": CHECKS[ds][chk]})
        c["record"] = rec
    return messages, expected


def list_cases(messages):
    """One line per message: line number, topic/partition/offset, expected failures, what it tests."""
    for n, (c, m) in enumerate(zip(CASES, messages), 1):
        fails = ",".join(sorted(c["fails"])) or "-"
        print(f"{n:4d} {m['topic'].split('.', 1)[1]:40} p{m['partition']} o{m['offset']:<3d} {fails:60} {c['note']}")


def main():
    import sys
    messages, expected = build()
    if "--list" in sys.argv[1:]:
        list_cases(messages)
        return
    with open(HERE / "input.jsonl", "w", encoding="utf-8", newline="\n") as f:
        for m in messages:
            f.write(dumps(m) + "\n")
    with open(HERE / "expected_violations.jsonl", "w", encoding="utf-8", newline="\n") as f:
        for e in expected:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    print(f"wrote {len(messages)} messages and {len(expected)} expected violations")


if __name__ == "__main__":
    main()
