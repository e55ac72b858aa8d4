#!/usr/bin/env bash
# Browser check of the scorecard: headless Chromium signs in, screenshots `/`
# for a period, and the rendered DOM must name every department of the API's
# ranking and show each score the API reports.
#
# Builds and starts nothing: point it at a running dqmon.
#
#   DQMON_URL      base URL, e.g. http://127.0.0.1:8080            (required)
#   DQMON_TOKEN    an officer token                                 (required)
#   DQMON_PERIOD   period to show (default: this month in DQMON_TZ)
#   DQMON_TZ       the exchange's time zone (default Asia/Shanghai)
#   DQMON_SCREENSHOT  PNG to write (default ./scorecard.png)
#   DQMON_FINDINGS_DEPARTMENT  whose rectification page to check (default:
#                  the department with the most overdue findings)
#   DQMON_FINDINGS_SCREENSHOT  PNG of that page (default ./findings.png)
#   DQMON_DISPUTES_SCREENSHOT  PNG of the disputes page (default ./disputes.png);
#                  the page must show every dispute the API lists, at its stage
#   CHROMIUM       the browser (default chromium; Debian: apt-get install chromium fonts-noto-cjk)
#
# Chromium's command line cannot POST the sign-in form or send a header, so
# each browser run opens a one-time sign-in link that the API makes for the
# token's holder (`POST /api/v1/sign-in-link`): the link signs in once and
# redirects to the page; the token itself never travels in a URL.
#
# Try it against the seeded test server:
#   DQMON_TEST_ADDR=127.0.0.1:18080 DQMON_TEST_SECS=120 \
#     cargo test --test api serve_for_browser -- --ignored --nocapture &
#   DQMON_URL=http://127.0.0.1:18080 DQMON_TOKEN=officer-token-0000000001 \
#     DQMON_PERIOD=2026-Q2 tests/scorecard_browser.sh
set -euo pipefail

: "${DQMON_URL:?set DQMON_URL to the running dqmon, e.g. http://127.0.0.1:8080}"
: "${DQMON_TOKEN:?set DQMON_TOKEN to an officer token}"
url=${DQMON_URL%/}
period=${DQMON_PERIOD:-$(TZ=${DQMON_TZ:-Asia/Shanghai} date +%Y-%m)}
shot=${DQMON_SCREENSHOT:-scorecard.png}
chromium=${CHROMIUM:-chromium}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# URL-encode: tokens may hold '+', '/' and '=', which mean other things in a query.
urlencode() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }

# What the page must show, from the API (header auth: no token in this URL).
curl -fsS --max-time 30 -H "Authorization: Bearer $DQMON_TOKEN" \
  "$url/api/v1/scores?period=$(urlencode "$period")" >"$work/scores.json"

# A one-time link that signs in and opens the page $next (default: the
# period's ranking).
next="/?period=$period"
sign_in_link() {
  curl -fsS --max-time 30 -X POST -H "Authorization: Bearer $DQMON_TOKEN" \
    "$url/api/v1/sign-in-link?next=$(urlencode "$next")" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["path"])'
}

browse() {
  # A fresh profile and a fresh link per run: no cookie survives between runs.
  local link
  link="$url$(sign_in_link)"
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --disable-background-networking --disable-component-update \
    --disable-sync --hide-scrollbars --user-data-dir="$(mktemp -d -p "$work")" \
    --window-size=1280,1000 "$@" "$link"
}

browse --screenshot="$shot" 2>"$work/screenshot.log" || {
  cat "$work/screenshot.log" >&2
  exit 1
}
test -s "$shot" || { echo "no screenshot written to $shot" >&2; exit 1; }
browse --dump-dom >"$work/dom.html" 2>"$work/dom.log" || {
  cat "$work/dom.log" >&2
  exit 1
}

python3 - "$work/scores.json" "$work/dom.html" <<'EOF'
import json, sys

scores = json.load(open(sys.argv[1], encoding="utf-8"))
dom = open(sys.argv[2], encoding="utf-8").read()
if 'id="ranking"' not in dom:
    sys.exit("the DOM has no ranking table (still on the login page?)")
problems, scored = [], 0
for entry in scores["ranking"]:
    name = entry["department"]
    # By its own name (exchange.yaml), the id beside it when they differ.
    shown = f">{entry['name']}</a>"
    if entry["name"] != name:
        shown += f' <span class="muted">{name}</span>'
    if shown not in dom:
        problems.append(f"department {name} missing")
    if entry["score"] is not None:
        scored += 1
        text = f"{entry['score']:.2f}"
        if text not in dom:
            problems.append(f"score {text} of {name} missing")
        if f">{entry['grade']} " not in dom:
            problems.append(f"grade {entry['grade']} of {name} missing")
if not scores["ranking"]:
    problems.append("the API returned no department")
if scored == 0:
    problems.append(f"no department has a score for the period {scores['period']}")
if problems:
    sys.exit("scorecard check failed: " + "; ".join(problems))
print(f"scorecard ok: {len(scores['ranking'])} departments, {scored} with a score")
EOF
echo "screenshot: $shot"

# The rectification page of one department: its four numbers are the API's.
dep=${DQMON_FINDINGS_DEPARTMENT:-$(curl -fsS --max-time 30 -H "Authorization: Bearer $DQMON_TOKEN" \
  "$url/api/v1/findings?limit=1" |
  python3 -c 'import json, sys; print(max(json.load(sys.stdin)["departments"], key=lambda d: d["overdue"])["department"])')}
findings_shot=${DQMON_FINDINGS_SCREENSHOT:-findings.png}
curl -fsS --max-time 30 -H "Authorization: Bearer $DQMON_TOKEN" \
  "$url/api/v1/findings?department=$(urlencode "$dep")&status=overdue" >"$work/findings.json"
next="/departments/$dep/findings?status=overdue"
browse --screenshot="$findings_shot" 2>"$work/screenshot.log" || {
  cat "$work/screenshot.log" >&2
  exit 1
}
test -s "$findings_shot" || { echo "no screenshot written to $findings_shot" >&2; exit 1; }
browse --dump-dom >"$work/findings.html" 2>"$work/dom.log" || {
  cat "$work/dom.log" >&2
  exit 1
}
python3 - "$work/findings.json" "$work/findings.html" <<'EOF'
import json, re, sys

answer = json.load(open(sys.argv[1], encoding="utf-8"))
dom = open(sys.argv[2], encoding="utf-8").read()
if 'id="findings-summary"' not in dom:
    sys.exit("the DOM has no findings summary (still on the login page?)")
(s,) = answer["departments"]
problems = []
for field in ["open", "overdue", "fixed"]:
    # The cell, its number possibly in <strong>.
    m = re.search(rf'id="{field}">(?:<strong[^>]*>)?(\d+)<', dom)
    if not m or int(m.group(1)) != s[field]:
        problems.append(f"{field}: page {m.group(1) if m else None}, API {s[field]}")
for f in answer["findings"][:20]:
    rid = f["opened"]["record_id"]
    if rid is not None and rid not in dom:
        problems.append(f"overdue finding {rid} missing")
if not answer["findings"]:
    problems.append("no overdue finding to show")
if problems:
    sys.exit("findings page check failed: " + "; ".join(problems))
print(f"findings ok: {s['department']} open {s['open']}, overdue {s['overdue']}, fixed {s['fixed']}")
EOF
echo "screenshot: $findings_shot"

# The disputes page: every dispute the API lists, each at its stage, the
# overdue ones marked.
disputes_shot=${DQMON_DISPUTES_SCREENSHOT:-disputes.png}
curl -fsS --max-time 30 -H "Authorization: Bearer $DQMON_TOKEN" "$url/api/v1/disputes" >"$work/disputes.json"
next="/disputes"
browse --screenshot="$disputes_shot" 2>"$work/screenshot.log" || {
  cat "$work/screenshot.log" >&2
  exit 1
}
test -s "$disputes_shot" || { echo "no screenshot written to $disputes_shot" >&2; exit 1; }
browse --dump-dom >"$work/disputes.html" 2>"$work/dom.log" || {
  cat "$work/dom.log" >&2
  exit 1
}
python3 - "$work/disputes.json" "$work/disputes.html" <<'EOF'
import json, re, sys

answer = json.load(open(sys.argv[1], encoding="utf-8"))
dom = open(sys.argv[2], encoding="utf-8").read()
if not answer:
    sys.exit("no dispute to show (the demo files some once its history is counted)")
if 'id="disputes"' not in dom:
    sys.exit("the DOM has no disputes table (still on the login page?)")
problems = []
for d in answer:
    m = re.search(rf'<tr id="dispute-{d["id"]}">(.*?)</tr>', dom, re.S)
    if not m:
        problems.append(f"dispute {d['id']} missing")
        continue
    row = m.group(1)
    if d["stage"] not in row:
        problems.append(f"dispute {d['id']}: stage {d['stage']} not shown")
    if d["overdue"] != ("逾期 overdue" in row):
        problems.append(f"dispute {d['id']}: overdue is {d['overdue']} in the API, not on the page")
    if d["record_id"] is not None and d["record_id"] not in row:
        problems.append(f"dispute {d['id']}: record {d['record_id']} not shown")
if problems:
    sys.exit("disputes page check failed: " + "; ".join(problems))
stages = sorted({d["stage"] for d in answer})
print(f"disputes ok: {len(answer)} on the page, stages {', '.join(stages)}")
EOF
echo "screenshot: $disputes_shot"
