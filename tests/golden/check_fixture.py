#!/usr/bin/env python3
"""Sanity-check the golden fixture (standard library only).

1. Structure: JSON validity, topics, partitions, offsets (0.. per topic/partition),
   timestamps, check ids, ordering of expected_violations.jsonl.
2. Oracle: re-derives every failed check from input.jsonl with an independent
   Python implementation of the catalog semantics and diffs it against the
   hand-written expected_violations.jsonl.

Run:  python3 tests/golden/check_fixture.py [path/to/gb2260-divisions.csv]
"""
from __future__ import annotations

import base64
import collections
import csv
import datetime as dt
import json
import pathlib
import re
import sys
import unicodedata

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def find_divisions() -> pathlib.Path:
    if len(sys.argv) > 1:
        return pathlib.Path(sys.argv[1])
    for p in (ROOT / "checks" / "reference" / "gb2260-divisions.csv",
              ROOT.parent / "shared" / "reference" / "gb2260-divisions.csv"):
        if p.exists():
            return p
    sys.exit("gb2260-divisions.csv not found; pass its path")


DIV = {}
with open(find_divisions(), encoding="utf-8", newline="") as f:
    for row in csv.DictReader(f):
        DIV[row["code"].strip()] = row["level"].strip()

SH = dt.timezone(dt.timedelta(hours=8))
DIGITS = re.compile(r"[0-9]+")


# ---------------------------------------------------------------- formats
def is_str(v):
    return isinstance(v, str)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def parse_date(s):
    if not is_str(s) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", s):
        return None
    try:
        return dt.date(int(s[:4]), int(s[5:7]), int(s[8:]))
    except ValueError:
        return None


RFC3339 = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
                     r"([Zz]|[+-][0-9]{2}:[0-9]{2})")


def parse_dt(s):
    """-> (aware datetime, local date in its own offset) or None"""
    if not is_str(s):
        return None
    m = RFC3339.fullmatch(s)
    if not m:
        return None
    y, mo, d, h, mi, se = (int(m.group(i)) for i in range(1, 7))
    frac = m.group(7)
    us = int((frac[1:] + "000000")[:6]) if frac else 0
    off = m.group(8)
    if off in ("Z", "z"):
        tz = dt.timezone.utc
    else:
        oh, om = int(off[1:3]), int(off[4:6])
        if oh > 23 or om > 59:
            return None
        tz = dt.timezone((-1 if off[0] == "-" else 1) * dt.timedelta(hours=oh, minutes=om))
    try:
        t = dt.datetime(y, mo, d, h, mi, se, us, tzinfo=tz)
    except ValueError:
        return None
    return t, t.date()


ID_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def valid_resident_id(v, today):
    if not is_str(v) or not re.fullmatch(r"[0-9]{17}[0-9X]", v):
        return False
    try:
        b = dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return False
    if not (dt.date(1900, 1, 1) <= b <= today):
        return False
    if DIV.get(v[:2] + "0000") != "province":
        return False
    return "10X98765432"[sum(int(c) * w for c, w in zip(v[:17], ID_W)) % 11] == v[17]


UA = "0123456789ABCDEFGHJKLMNPQRTUWXY"
UW = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def valid_uscc(v):
    if not is_str(v) or len(v) != 18 or any(c not in UA for c in v):
        return False
    if v[2:8] not in DIV:
        return False
    return UA[(31 - sum(UA.index(c) * w for c, w in zip(v[:17], UW)) % 31) % 31] == v[17]


def s_len(lo, hi):
    return lambda v, ctx: is_str(v) and lo <= len(v) <= (hi if hi is not None else 10 ** 9)


def enum(*vals):
    return lambda v, ctx: is_str(v) and v in vals


F = {
    "id": lambda v, ctx: valid_resident_id(v, ctx["today"]),
    "uscc": lambda v, ctx: valid_uscc(v),
    "div": lambda v, ctx: is_str(v) and v in DIV,
    "mobile": lambda v, ctx: is_str(v) and re.fullmatch(r"1[3-9][0-9]{9}", v) is not None,
    "date": lambda v, ctx: parse_date(v) is not None,
    "month": lambda v, ctx: is_str(v) and re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", v) is not None,
    "datetime": lambda v, ctx: parse_dt(v) is not None,
    "gender": enum("0", "1", "2", "9"),
    "ethnicity": enum(*(f"{i:02d}" for i in range(1, 57))),
    "status": enum("active", "suspended", "terminated"),
}

COMMON = [("record_id", True, s_len(1, 64)), ("updated_at", True, F["datetime"])]
SCHEMA = {
    "public_security.household_registration": (24, "id_number", [
        ("id_number", True, F["id"]), ("name", True, s_len(1, 50)), ("gender", True, F["gender"]),
        ("birth_date", True, F["date"]), ("ethnicity", True, F["ethnicity"]), ("division_code", True, F["div"]),
        ("address", False, s_len(0, 200)), ("phone", False, F["mobile"])]),
    "civil_affairs.subsistence_allowance": (72, "id_number", [
        ("id_number", True, F["id"]), ("name", True, s_len(1, 50)), ("gender", True, F["gender"]),
        ("division_code", True, F["div"]),
        ("household_size", True, lambda v, c: is_int(v) and 1 <= v <= 20),
        ("monthly_amount", True, lambda v, c: is_num(v) and 0 <= v <= 100000),
        ("start_month", True, F["month"]), ("status", True, F["status"])]),
    "hrss.social_insurance": (48, "id_number", [
        ("id_number", True, F["id"]), ("name", True, s_len(1, 50)), ("employer_uscc", True, F["uscc"]),
        ("insurance_type", True, enum("110", "210", "310", "410", "510")),
        ("monthly_base", True, lambda v, c: is_num(v) and 0 < v <= 1000000),
        ("start_month", True, F["month"]), ("status", True, F["status"])]),
    "market_regulation.business_registration": (24, "uscc", [
        ("uscc", True, F["uscc"]), ("entity_name", True, s_len(1, 100)),
        ("entity_type", True, enum("1100", "1200", "2100", "4100", "4500", "9100")),
        ("legal_rep_id_number", True, F["id"]), ("legal_rep_name", True, s_len(1, 50)),
        ("registered_capital", False, lambda v, c: is_num(v) and v >= 0),
        ("establishment_date", True, F["date"]), ("division_code", True, F["div"]),
        ("status", True, enum("active", "revoked", "cancelled"))]),
    "tax.taxpayer_registration": (48, "uscc", [
        ("uscc", True, F["uscc"]), ("taxpayer_name", True, s_len(1, 100)),
        ("taxpayer_status", True, enum("normal", "suspended", "deregistered")),
        ("registration_date", True, F["date"]), ("division_code", True, F["div"])]),
    "health.birth_certificate": (72, "certificate_no", [
        ("certificate_no", True, lambda v, c: is_str(v) and re.fullmatch(r"[A-Z][0-9]{9}", v) is not None),
        ("newborn_name", False, s_len(0, 50)), ("newborn_gender", True, F["gender"]),
        ("birth_datetime", True, F["datetime"]), ("mother_id_number", True, F["id"]),
        ("mother_name", True, s_len(1, 50)), ("hospital_name", True, s_len(1, 100)), ("division_code", True, F["div"])]),
}
# consumer field -> (entity, attribute, key field in this record)
CROSS = {
    "civil_affairs.subsistence_allowance": [("name", "person", "name", "id_number"),
                                            ("gender", "person", "gender", "id_number")],
    "hrss.social_insurance": [("name", "person", "name", "id_number")],
    "market_regulation.business_registration": [("legal_rep_name", "person", "name", "legal_rep_id_number")],
    "tax.taxpayer_registration": [("taxpayer_name", "legal_entity", "entity_name", "uscc")],
    "health.birth_certificate": [("mother_name", "person", "name", "mother_id_number")],
}
AUTH = {"public_security.household_registration": ("person", "id_number", ["name", "gender", "birth_date"]),
        "market_regulation.business_registration": ("legal_entity", "uscc", ["entity_name"])}
DIMENSION = {"required": "completeness", "format": "format", "freshness": "freshness", "unique": "uniqueness",
             "parse": "format"}


def blank(v):
    return v is None or (is_str(v) and v.strip() == "")


def norm(s):
    return unicodedata.normalize("NFKC", s).strip()


def dim(check):
    suffix = check.rsplit(".", 1)[-1] if "." in check else ""
    return DIMENSION.get(suffix, "consistency")


def oracle(messages):
    refs = {"person": {}, "legal_entity": {}}
    seen = collections.defaultdict(list)  # (dataset, record_id) -> [ts]
    out = []
    for m in messages:
        dataset = m["topic"].split(".", 1)[1]
        max_h, _key, fields = SCHEMA[dataset]
        ts = m["timestamp"]
        fails = []
        # ---- parse
        if "value_base64" in m:
            raw = base64.b64decode(m["value_base64"])
        elif isinstance(m["value"], str):
            raw = m["value"].encode("utf-8")
        else:
            raw = None
            rec = m["value"]
        if raw is not None:
            try:
                rec = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                rec = None
        if not isinstance(rec, dict):
            out.append((m, ["message.parse"]))
            continue
        ctx = {"today": dt.datetime.fromtimestamp(ts / 1000, SH).date()}
        ok = {}  # field -> True (format passes) / False (malformed) / None (absent or blank)
        for name, required, check in COMMON + fields:
            v = rec.get(name)
            if blank(v):
                ok[name] = None
                if required:
                    fails.append(f"{name}.required")
            else:
                ok[name] = bool(check(v, ctx))
                if not ok[name]:
                    fails.append(f"{name}.format")
        # ---- within-record rules
        def g(n):
            return rec[n] if ok.get(n) else None
        if dataset in ("public_security.household_registration", "civil_affairs.subsistence_allowance"):
            idn, gender = g("id_number"), g("gender")
            if idn and gender in ("1", "2") and (int(idn[16]) % 2 == 1) != (gender == "1"):
                fails.append("gender_matches_id_number")
        if dataset == "public_security.household_registration":
            idn, bd = g("id_number"), g("birth_date")
            if idn and bd and bd.replace("-", "") != idn[6:14]:
                fails.append("birth_date_matches_id_number")
        if dataset == "market_regulation.business_registration":
            ed, ua = g("establishment_date"), g("updated_at")
            if ed and ua and parse_date(ed) > parse_dt(ua)[1]:
                fails.append("establishment_not_after_update")
        if dataset == "health.birth_certificate":
            bdt, ua = g("birth_datetime"), g("updated_at")
            if bdt and ua and parse_dt(bdt)[0] > parse_dt(ua)[0]:
                fails.append("birth_not_after_update")
            mid = g("mother_id_number")
            if mid and int(mid[16]) % 2 == 1:
                fails.append("mother_is_female")
        # ---- cross-source
        for field, entity, attr, keyf in CROSS.get(dataset, []):
            k, v = g(keyf), g(field)
            if k and v is not None and attr in refs[entity].get(k, {}):
                if norm(v) != norm(refs[entity][k][attr]):
                    fails.append(f"{field}.cross_source")
        if dataset in AUTH:
            entity, keyf, attrs = AUTH[dataset]
            if ok.get(keyf):
                for a in attrs:
                    if ok.get(a):
                        refs[entity].setdefault(rec[keyf], {})[a] = rec[a]
        # ---- freshness
        if ok.get("updated_at"):
            age = ts - round(parse_dt(rec["updated_at"])[0].timestamp() * 1000)
            if age > max_h * 3600_000 or age < -5 * 60_000:
                fails.append("updated_at.freshness")
        # ---- uniqueness
        if ok.get("record_id"):
            k = (dataset, rec["record_id"])
            if any(abs(ts - t) <= 7 * 86400_000 for t in seen[k]):
                fails.append("record_id.unique")
            seen[k].append(ts)
        out.append((m, sorted(fails)))
    return out


def main():
    errors = []
    msgs = []
    with open(HERE / "input.jsonl", encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = json.loads(line)
            msgs.append(m)
            keys = set(m)
            if not ({"topic", "partition", "offset", "timestamp", "key"} <= keys and
                    len(keys & {"value", "value_base64"}) == 1 and len(keys) == 6):
                errors.append(f"line {n}: bad keys {sorted(keys)}")
            if m["topic"].split(".", 1)[1] not in SCHEMA or not m["topic"].startswith("exchange."):
                errors.append(f"line {n}: bad topic")
            if m["partition"] not in (0, 1, 2) or not (m["key"] is None or isinstance(m["key"], str)):
                errors.append(f"line {n}: bad partition/key")
    nxt = collections.Counter()
    prev_ts = None
    for n, m in enumerate(msgs, 1):
        tp = (m["topic"], m["partition"])
        if m["offset"] != nxt[tp]:
            errors.append(f"line {n}: offset {m['offset']} expected {nxt[tp]}")
        nxt[tp] += 1
        if prev_ts is not None and m["timestamp"] <= prev_ts:
            errors.append(f"line {n}: timestamp not increasing")
        prev_ts = m["timestamp"]
    position = {(m["topic"], m["partition"], m["offset"]): i for i, m in enumerate(msgs)}
    expected = []
    with open(HERE / "expected_violations.jsonl", encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            e = json.loads(line)
            expected.append(e)
            if set(e) != {"topic", "partition", "offset", "check", "dimension"}:
                errors.append(f"expected line {n}: bad keys")
            if (e["topic"], e["partition"], e["offset"]) not in position:
                errors.append(f"expected line {n}: no such message")
            if e["dimension"] != dim(e["check"]):
                errors.append(f"expected line {n}: dimension {e['dimension']} for {e['check']}")
    order = [(position.get((e["topic"], e["partition"], e["offset"]), -1), e["check"]) for e in expected]
    if order != sorted(order) or len(set(order)) != len(order):
        errors.append("expected_violations.jsonl not sorted by file order then check id, or has duplicates")
    # ---- oracle diff
    got = {(m["topic"], m["partition"], m["offset"], c) for m, fails in oracle(msgs) for c in fails}
    want = {(e["topic"], e["partition"], e["offset"], e["check"]) for e in expected}
    for x in sorted(want - got, key=lambda t: position[t[:3]]):
        errors.append(f"expected but oracle disagrees: line {position[x[:3]] + 1} {x[3]}")
    for x in sorted(got - want, key=lambda t: position[t[:3]]):
        errors.append(f"oracle finds unexpected failure: line {position[x[:3]] + 1} {x[3]}")
    # ---- summary
    per = collections.Counter((e["topic"].split(".", 2)[2], e["dimension"]) for e in expected)
    print(f"{len(msgs)} messages, {len(expected)} expected violations")
    dims = ["completeness", "format", "consistency", "freshness", "uniqueness"]
    print(f"{'dataset':26}" + "".join(f"{d:>14}" for d in dims))
    for ds in sorted({t.split(".", 2)[2] for t in (m["topic"] for m in msgs)}):
        print(f"{ds:26}" + "".join(f"{per[(ds, d)]:>14}" for d in dims))
    for e in errors:
        print("ERROR:", e)
    print(f"{0 if errors else 1} passed, {1 if errors else 0} failed")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
