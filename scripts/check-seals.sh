#!/usr/bin/env bash
# Sealing a period on a running dqmon, end to end: an officer seals
# yesterday (a period that has ended, in the exchange's time zone), the API
# then serves the sealed version with its hash, a second seal is refused, the
# chain downloaded from the API and the one `dqmon scores --chain` prints
# both pass `dqmon verify-report` and a changed byte does not, and the audit
# log names the seal.
# Needs DQMON_URL, DQMON_TOKEN (an officer token), DQMON_BIN (the dqmon
# binary) and DQMON_STORE (the running dqmon's SQLite store).
set -euo pipefail
: "${DQMON_URL:?}" "${DQMON_TOKEN:?}" "${DQMON_BIN:?}" "${DQMON_STORE:?}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
auth=(-H "Authorization: Bearer $DQMON_TOKEN")
json() { python3 -c "import json,sys; v=json.load(sys.stdin); print(eval(sys.argv[1], {'v': v}))" "$1"; }
fail() { echo "seals: $*"; exit 1; }

period="$(TZ=Asia/Shanghai date -d yesterday +%F)"
status=$(curl -sS -o "$work/seal.json" -w '%{http_code}' -X POST "${auth[@]}" \
    -H 'content-type: application/json' -d "{\"period\":\"$period\"}" "$DQMON_URL/api/v1/seals")
[ "$status" = 201 ] || fail "sealing $period answered $status: $(cat "$work/seal.json")"
sha=$(json "v['sha256']" < "$work/seal.json")
[ "$(json "v['version']" < "$work/seal.json")" = 1 ] || fail "the first seal is not version 1"

status=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "${auth[@]}" \
    -H 'content-type: application/json' -d "{\"period\":\"$period\"}" "$DQMON_URL/api/v1/seals")
[ "$status" = 409 ] || fail "sealing $period twice answered $status"

served=$(curl -fsS "${auth[@]}" "$DQMON_URL/api/v1/scores?period=$period" | json "v['seal']['sha256']")
[ "$served" = "$sha" ] || fail "the scores of $period are not served from the seal"

curl -fsS "${auth[@]}" "$DQMON_URL/api/v1/seals/chain?period=$period" -o "$work/chain.json"
"$DQMON_BIN" verify-report "$work/chain.json" | tee "$work/verified.txt"
grep -q "$sha" "$work/verified.txt" || fail "verify-report names another head"
python3 - "$work/chain.json" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
i = b.index(b'"records"') + 1
b[i] ^= 1
open(p + '.changed', 'wb').write(b)
PY
if "$DQMON_BIN" verify-report "$work/chain.json.changed" 2>"$work/refused.txt"; then
    fail "verify-report accepted a changed byte"
fi
head -3 "$work/refused.txt"

"$DQMON_BIN" scores --store "$DQMON_STORE" --period "$period" > "$work/table.txt"
head -1 "$work/table.txt" | grep -q "^Sealed: version 1, sha256 $sha" || fail "dqmon scores: $(head -1 "$work/table.txt")"
"$DQMON_BIN" scores --store "$DQMON_STORE" --period "$period" --chain | "$DQMON_BIN" verify-report - >/dev/null
cmp -s <("$DQMON_BIN" scores --store "$DQMON_STORE" --period "$period" --chain) "$work/chain.json" \
    || fail "dqmon scores --chain and the API's chain differ"

actions=$(curl -fsS "${auth[@]}" "$DQMON_URL/api/v1/audit" | json "[e['action'] + ' ' + e['subject'] for e in v]")
echo "$actions" | grep -q "seal $period..$period" || fail "the audit log lacks the seal: $actions"
echo "seals: $period sealed (sha256 $sha), served, verified offline, audited"
