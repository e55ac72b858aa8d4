#!/usr/bin/env python3
"""Live check of the dqmon dashboards and rules against a Prometheus that scrapes dqmon.

Run by scripts/check-dashboards.sh (which also runs the static promtool,
amtool and docker-compose checks); needs Python 3 and PyYAML (Debian's
python3-yaml). Every query is an instant query at "now" through the HTTP API
(/api/v1/query). How each expression is judged:

- Grafana panel targets and template variables: the expression, with template
  variables substituted (dashboard variables -> ".*", matched with =~;
  $__rate_interval -> 1m, $__interval -> 15s, $__range -> 1h, ...), must parse
  (status "success") and return at least one series.
- Recording rules: the expression must return at least one series, and the
  recorded series must exist in Prometheus (the rule really ran).
- Alerting rules: the expression must parse, but may be empty (an alert is
  quiet when nothing is wrong). To prove that it sees data, it is rewritten
  without its filters and each resulting expression must be non-empty:
    * a comparison `A > B` (without `bool`) becomes `A`; when B is not a number
      literal, B is evaluated on its own as well;
    * `A and B`, `A or B`, `A unless B` become `A`, and B is evaluated on its own;
    * `absent(X)` becomes `X`;
    * `offset` modifiers are dropped (the throw-away Prometheus has only
      minutes of history).
- Every metric selector in every expression above (after substitution) must
  return at least one series: a metric that dqmon does not export fails here
  even when the expression around it hides the gap (`... or vector(0)`).
- Every `dq:` name must be a `record` of rules.yml.
- The dashboards must be valid JSON with unique uids and panel ids, each
  panel target with a refId and an expr, on the Prometheus datasource.

Prints one line per check and `N passed, M failed`; exit status 1 on any failure.
"""

import argparse
import glob
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import yaml

# --- PromQL: a small lexer and Pratt parser -----------------------------------
# Enough of PromQL to find metric selectors and to rewrite filters; every node
# keeps its source span, so rewriting is done on the original text.

TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+|\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<duration>(?:\d+(?:ms|[smhdwy]))+(?![\w.]))
  | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<op>==|!=|>=|<=|=~|!~|[-+*/%^<>=(){}\[\],:@])
    """,
    re.X,
)

AGGREGATIONS = {
    "sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk", "bottomk",
    "quantile", "count_values", "group", "limitk", "limit_ratio",
}
COMPARISONS = {"==", "!=", ">", "<", ">=", "<="}
SET_OPS = {"and", "or", "unless"}
PRECEDENCE = {
    "or": 1, "and": 2, "unless": 2,
    "==": 3, "!=": 3, ">": 3, "<": 3, ">=": 3, "<=": 3,
    "+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "atan2": 5, "^": 6,
}


class ParseError(Exception):
    pass


class Tok:
    def __init__(self, kind, text, start, end):
        self.kind, self.text, self.start, self.end = kind, text, start, end

    def __repr__(self):
        return f"{self.kind}:{self.text}"


def lex(src):
    toks, pos = [], 0
    while pos < len(src):
        m = TOKEN_RE.match(src, pos)
        if not m:
            raise ParseError(f"unexpected character {src[pos]!r} at {pos}")
        kind = m.lastgroup
        if kind != "ws":
            toks.append(Tok(kind, m.group(), m.start(), m.end()))
        pos = m.end()
    toks.append(Tok("eof", "", len(src), len(src)))
    return toks


class Node:
    """kind: binary, paren, call, agg, selector, number, string, unary, postfix."""

    def __init__(self, kind, start, end, children=(), **attrs):
        self.kind, self.start, self.end = kind, start, end
        self.children = list(children)
        self.__dict__.update(attrs)


class Parser:
    def __init__(self, src):
        self.src, self.toks, self.i = src, lex(src), 0

    def peek(self, k=0):
        return self.toks[self.i + k]

    def next(self):
        t = self.toks[self.i]
        self.i += 1
        return t

    def expect(self, text):
        t = self.next()
        if t.text != text:
            raise ParseError(f"expected {text!r} at {t.start}, got {t.text!r}")
        return t

    def parse(self):
        node = self.expr(0)
        if self.peek().kind != "eof":
            raise ParseError(f"unexpected {self.peek().text!r} at {self.peek().start}")
        return node

    def binop(self):
        t = self.peek()
        if t.kind == "op" and t.text in PRECEDENCE:
            return t.text
        if t.kind == "ident" and t.text in ("and", "or", "unless", "atan2"):
            return t.text
        return None

    def label_list(self):
        self.expect("(")
        while self.peek().text != ")":
            t = self.next()
            if t.kind not in ("ident", "string") and t.text != ",":
                raise ParseError(f"bad label list at {t.start}")
        self.expect(")")

    def expr(self, min_prec):
        """Precedence climbing; `^` is right-associative, the rest left."""
        lhs = self.unary()
        while True:
            op = self.binop()
            if op is None or PRECEDENCE[op] < min_prec:
                return lhs
            prec = PRECEDENCE[op]
            self.next()
            is_bool = False
            if self.peek().text == "bool":
                self.next()
                is_bool = True
            if self.peek().text in ("on", "ignoring"):
                self.next()
                self.label_list()
            if self.peek().text in ("group_left", "group_right"):
                self.next()
                # `group_left (a, b)` lists labels; `group_left (expr...)` is
                # ambiguous in PromQL itself, so only a plain label list is taken.
                if self.peek().text == "(" and self._is_label_list():
                    self.label_list()
            rhs = self.expr(prec if op == "^" else prec + 1)
            lhs = Node("binary", lhs.start, rhs.end, [lhs, rhs], op=op, bool=is_bool)

    def _is_label_list(self):
        j = self.i + 1
        while self.toks[j].text != ")":
            if self.toks[j].kind not in ("ident", "string") and self.toks[j].text != ",":
                return False
            j += 1
        return True

    def unary(self):
        t = self.peek()
        if t.kind == "op" and t.text in ("-", "+"):
            self.next()
            inner = self.unary()
            return Node("unary", t.start, inner.end, [inner])
        return self.postfix(self.primary())

    def postfix(self, node):
        while True:
            t = self.peek()
            if t.text == "[":
                self.next()
                while self.peek().text != "]":
                    if self.peek().kind == "eof":
                        raise ParseError("unterminated [")
                    self.next()
                end = self.expect("]").end
                node = Node("postfix", node.start, end, [node], what="range")
            elif t.text == "offset":
                self.next()
                if self.peek().text == "-":
                    self.next()
                d = self.next()
                node = Node("postfix", node.start, d.end, [node], what="offset")
            elif t.text == "@":
                self.next()
                d = self.next()
                end = d.end
                if self.peek().text == "(":
                    self.next()
                    end = self.expect(")").end
                node = Node("postfix", node.start, end, [node], what="at")
            else:
                return node

    def args(self):
        self.expect("(")
        args = []
        while self.peek().text != ")":
            args.append(self.expr(0))
            if self.peek().text == ",":
                self.next()
        end = self.expect(")").end
        return args, end

    def braces(self):
        self.expect("{")
        while self.peek().text != "}":
            if self.peek().kind == "eof":
                raise ParseError("unterminated {")
            self.next()
        return self.expect("}").end

    def primary(self):
        t = self.peek()
        if t.text == "(":
            self.next()
            inner = self.expr(0)
            end = self.expect(")").end
            return Node("paren", t.start, end, [inner])
        if t.kind in ("number", "duration"):
            self.next()
            return Node("number", t.start, t.end)
        if t.kind == "string":
            self.next()
            return Node("string", t.start, t.end)
        if t.text == "{":
            end = self.braces()
            return Node("selector", t.start, end, name=None)
        if t.kind == "ident":
            self.next()
            name = t.text
            if name.lower() in ("inf", "nan") and self.peek().text not in ("{", "("):
                return Node("number", t.start, t.end)
            if name in AGGREGATIONS and self.peek().text in ("(", "by", "without"):
                if self.peek().text in ("by", "without"):
                    self.next()
                    self.label_list()
                args, end = self.args()
                if self.peek().text in ("by", "without"):
                    self.next()
                    self.label_list()
                    end = self.toks[self.i - 1].end
                return Node("agg", t.start, end, args, name=name)
            if self.peek().text == "(":
                args, end = self.args()
                return Node("call", t.start, end, args, name=name)
            end = t.end
            if self.peek().text == "{":
                end = self.braces()
            return Node("selector", t.start, end, name=name)
        raise ParseError(f"unexpected {t.text!r} at {t.start}")


def parse(src):
    return Parser(src).parse()


def selectors(node, out=None):
    out = [] if out is None else out
    if node.kind == "selector":
        out.append(node)
    for c in node.children:
        selectors(c, out)
    return out


def render(src, node, extra):
    """Source text of `node` with filters removed; side expressions go to `extra`."""
    def splice(n, replacements):
        parts, pos = [], n.start
        for child, text in replacements:
            parts.append(src[pos:child.start])
            parts.append(text)
            pos = child.end
        parts.append(src[pos:n.end])
        return "".join(parts)

    if node.kind == "binary" and (node.op in SET_OPS or (node.op in COMPARISONS and not node.bool)):
        lhs, rhs = node.children
        if rhs.kind != "number":
            extra.append(render(src, rhs, extra))
        return render(src, lhs, extra)
    if node.kind == "call" and node.name in ("absent", "absent_over_time") and node.children:
        inner = node.children[0]
        if inner.kind == "postfix" and inner.what == "range":
            inner = inner.children[0]
        return render(src, inner, extra)
    if node.kind == "postfix" and node.what == "offset":
        return render(src, node.children[0], extra)
    return splice(node, [(c, render(src, c, extra)) for c in node.children])


def unfiltered(expr):
    extra = []
    main = render(expr, parse(expr), extra)
    seen, out = set(), []
    for e in [main] + extra:
        e = " ".join(e.split())
        if e not in seen:
            seen.add(e)
            out.append(e)
    return out


# --- Prometheus ---------------------------------------------------------------

class Prom:
    def __init__(self, url):
        self.url = url.rstrip("/")

    def query(self, expr):
        """-> (ok, result list or None, error text)."""
        q = urllib.parse.urlencode({"query": expr})
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/query?{q}", timeout=30) as r:
                body = json.load(r)
        except urllib.error.HTTPError as e:
            try:
                body = json.load(e)
            except Exception:
                return False, None, f"HTTP {e.code}"
        except (urllib.error.URLError, OSError) as e:
            return False, None, f"Prometheus unreachable at {self.url}: {e}"
        if body.get("status") != "success":
            return False, None, f"{body.get('errorType', 'error')}: {body.get('error', '')}"
        data = body["data"]
        if data["resultType"] in ("scalar", "string"):
            return True, [data["result"]], ""
        return True, data["result"], ""


# --- the checks ---------------------------------------------------------------

class Report:
    def __init__(self):
        self.passed = self.failed = 0

    def ok(self, what, detail=""):
        self.passed += 1
        print(f"ok    {what}{(': ' + detail) if detail else ''}")

    def fail(self, what, detail):
        self.failed += 1
        print(f"FAIL  {what}: {detail}")


GRAFANA_BUILTINS = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__interval_ms": "15000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
}
VAR_RE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)")


def substitute(expr, dash_vars):
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in GRAFANA_BUILTINS:
            return GRAFANA_BUILTINS[name]
        if name in dash_vars:
            return ".*"
        raise KeyError(name)
    return VAR_RE.sub(repl, expr)


def short(expr, n=110):
    e = " ".join(expr.split())
    return e if len(e) <= n else e[: n - 3] + "..."


class Checker:
    def __init__(self, prom, report):
        self.prom, self.r = prom, report
        self.selectors = {}  # selector text -> first place it was seen
        self.dq_names = set()

    def collect_selectors(self, expr, where):
        try:
            tree = parse(expr)
        except ParseError as e:
            self.r.fail(f"{where} (local parse)", f"{e}: {short(expr)}")
            return
        for s in selectors(tree):
            text = " ".join(expr[s.start:s.end].split())
            self.selectors.setdefault(text, where)
            if s.name and s.name.startswith("dq:"):
                self.dq_names.add((s.name, where))

    def nonempty(self, what, expr, allow_empty=False):
        ok, result, err = self.prom.query(expr)
        if not ok:
            self.r.fail(what, f"{err} -- {short(expr)}")
            return False
        if not result and not allow_empty:
            self.r.fail(what, f"no series -- {short(expr)}")
            return False
        self.r.ok(what, f"{len(result)} series")
        return True

    def dashboards(self, files):
        uids = {}
        for path in files:
            name = os.path.basename(path)
            try:
                with open(path, encoding="utf-8") as f:
                    dash = json.load(f)
            except (OSError, ValueError) as e:
                self.r.fail(f"dashboard {name}", f"not valid JSON: {e}")
                continue
            problems = self.structure(dash, uids, name)
            if problems:
                self.r.fail(f"dashboard {name} structure", "; ".join(problems))
            else:
                self.r.ok(f"dashboard {name} structure",
                          f"uid {dash['uid']}, schemaVersion {dash.get('schemaVersion')}")
            dash_vars = {v["name"] for v in dash.get("templating", {}).get("list", [])}
            for v in dash.get("templating", {}).get("list", []):
                if v.get("type") != "query":
                    continue
                q = v.get("query")
                q = q.get("query") if isinstance(q, dict) else q
                m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", q or "")
                if not m:
                    self.r.fail(f"{name} variable ${v['name']}", f"unsupported query {q!r}")
                    continue
                expr = f"count by ({m.group(2)}) ({m.group(1)})"
                self.collect_selectors(m.group(1), f"{name} variable ${v['name']}")
                self.nonempty(f"{name} variable ${v['name']}", expr)
            for panel in all_panels(dash.get("panels", [])):
                for t in panel.get("targets", []):
                    what = f"{name} \"{panel.get('title')}\" {t.get('refId')}"
                    try:
                        expr = substitute(t.get("expr", ""), dash_vars)
                    except KeyError as e:
                        self.r.fail(what, f"unknown template variable ${e.args[0]}")
                        continue
                    self.collect_selectors(expr, what)
                    self.nonempty(what, expr)

    @staticmethod
    def structure(dash, uids, name):
        problems = []
        for key in ("uid", "title", "panels", "schemaVersion"):
            if key not in dash:
                problems.append(f"missing {key}")
        uid = dash.get("uid")
        if uid in uids:
            problems.append(f"uid {uid} also used by {uids[uid]}")
        uids[uid] = name
        ids = set()
        for p in all_panels(dash.get("panels", [])):
            if p.get("id") in ids:
                problems.append(f"duplicate panel id {p.get('id')}")
            ids.add(p.get("id"))
            gp = p.get("gridPos", {})
            if gp.get("x", 0) + gp.get("w", 0) > 24:
                problems.append(f"panel {p.get('id')} wider than the grid")
            if p.get("type") == "row":
                continue
            ds = p.get("datasource") or {}
            if ds.get("uid") not in ("${datasource}", "$datasource", "prometheus"):
                problems.append(f"panel {p.get('title')!r} datasource {ds}")
            if not p.get("targets"):
                problems.append(f"panel {p.get('title')!r} has no targets")
            for t in p.get("targets", []):
                if not t.get("refId") or not t.get("expr"):
                    problems.append(f"panel {p.get('title')!r} target without refId/expr")
        return problems

    def rules(self, path):
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        records = set()
        for g in doc.get("groups", []):
            for rule in g.get("rules", []):
                if "record" in rule:
                    records.add(rule["record"])
        for g in doc.get("groups", []):
            for rule in g.get("rules", []):
                expr = rule["expr"]
                if "record" in rule:
                    what = f"rules {g['name']} record {rule['record']}"
                    self.collect_selectors(expr, what)
                    self.nonempty(what, expr)
                    labels = rule.get("labels") or {}
                    sel = rule["record"]
                    if labels:
                        sel += "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"
                    self.nonempty(f"rules {g['name']} series {sel}", sel)
                else:
                    what = f"rules {g['name']} alert {rule['alert']}"
                    self.collect_selectors(expr, what)
                    ok, result, err = self.prom.query(expr)
                    if not ok:
                        self.r.fail(what, f"{err} -- {short(expr)}")
                    else:
                        self.r.ok(what, f"parses; {len(result)} alert series firing or pending now")
                    try:
                        parts = unfiltered(expr)
                    except ParseError as e:
                        self.r.fail(f"{what} (unfiltered)", str(e))
                        continue
                    for i, part in enumerate(parts, 1):
                        self.nonempty(f"{what} unfiltered {i}/{len(parts)} [{short(part, 70)}]", part)
        return records

    def metrics(self, records):
        for text, where in sorted(self.selectors.items()):
            self.nonempty(f"metric {text} (first used by {where})", text)
        for name, where in sorted(self.dq_names):
            if name not in records:
                self.r.fail(f"recording rule {name}", f"used by {where} but not a record in rules.yml")


def all_panels(panels):
    for p in panels:
        yield p
        yield from all_panels(p.get("panels", []))


def wait_for_data(prom, min_scrapes, timeout):
    """Waits until Prometheus has scraped dqmon successfully a few times."""
    expr = f'sum_over_time(up{{job="dqmon"}}[5m])'
    deadline = time.time() + timeout
    last = "no answer"
    while True:
        ok, result, err = prom.query(expr)
        if ok and result:
            got = max(float(s["value"][1]) for s in result)
            if got >= min_scrapes:
                return True, f"{int(got)} successful scrapes of dqmon"
            last = f"{int(got)} successful scrapes of dqmon so far"
        else:
            last = err or "no up{job=\"dqmon\"} series yet"
        if time.time() >= deadline:
            return False, last
        time.sleep(1)


def main():
    ap = argparse.ArgumentParser(description="Live check of the dqmon dashboards and rules.")
    ap.add_argument("--repo", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap.add_argument("--prometheus", default=os.environ.get("PROMETHEUS_URL", "http://127.0.0.1:9090"))
    ap.add_argument("--min-scrapes", type=int, default=int(os.environ.get("CHECK_MIN_SCRAPES", "5")))
    ap.add_argument("--warmup-timeout", type=int, default=int(os.environ.get("CHECK_WARMUP_TIMEOUT", "60")))
    ap.add_argument("--counts-file", help="write 'passed failed' here instead of printing the summary")
    args = ap.parse_args()

    report = Report()
    prom = Prom(args.prometheus)
    ok, detail = wait_for_data(prom, args.min_scrapes, args.warmup_timeout)
    if ok:
        report.ok("Prometheus has scraped dqmon", detail)
        checker = Checker(prom, report)
        checker.dashboards(sorted(glob.glob(os.path.join(args.repo, "dashboards", "grafana", "*.json"))))
        records = checker.rules(os.path.join(args.repo, "dashboards", "prometheus", "rules.yml"))
        checker.metrics(records)
    else:
        # Without data every query would fail too: one clear failure instead.
        report.fail("Prometheus has scraped dqmon", f"{detail} (is scripts/prometheus-local.sh running "
                    f"and dqmon serving /metrics?); live checks skipped")

    if args.counts_file:
        with open(args.counts_file, "w") as f:
            f.write(f"{report.passed} {report.failed}\n")
    else:
        print(f"{report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
