#!/usr/bin/env bash
# End-to-end checks with real components: the store's tests on a real
# PostgreSQL, a single-node Apache Kafka (KRaft) from Maven Central's jars,
# dqmon's end-to-end tests against it, and the operator kit checked by a real
# Prometheus scraping a running dqmon.
# Needs Debian's postgresql (scripts/postgres-local.sh installs it if absent),
# Java 17 and Maven (Kafka), and Debian's prometheus packages
# (scripts/check-dashboards.sh installs what it lacks).
set -euo pipefail
cd "$(dirname "$0")/.."

cleanup() {
    bash scripts/prometheus-local.sh stop >/dev/null 2>&1 || true
    if [ -n "${DEMO_PID:-}" ]; then kill "$DEMO_PID" 2>/dev/null || true; wait "$DEMO_PID" 2>/dev/null || true; fi
    bash scripts/kafka-local.sh stop >/dev/null 2>&1 || true
    bash scripts/postgres-local.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== the score store's tests on PostgreSQL"
eval "$(bash scripts/postgres-local.sh start)"
export DQMON_TEST_POSTGRES_URL
# The test profile of `cargo test`, as every cargo command below: after the
# README's test command nothing is compiled again (a release build would
# compile every dependency a second time, about ten minutes on two cores).
cargo test --lib -- --ignored postgres

echo "== Kafka broker"
eval "$(bash scripts/kafka-local.sh start)"
export KAFKA_BOOTSTRAP_SERVERS

echo "== end-to-end tests against the broker"
cargo test --test e2e_kafka -- --ignored --test-threads 1

echo "== Prometheus scraping dqmon during a demo run; every panel and rule evaluated"
# target/debug/dqmon was built by `cargo test` for the tests above.
test -x target/debug/dqmon
DEMO_TOKEN="ci-officer-$(od -An -tx8 -N16 /dev/urandom | tr -d ' \n')"
DEMO_STORE="$(mktemp -d)/dqmon-demo.sqlite"
# 20 000 messages of history over the last 42 days (findings old enough to be
# overdue), then 24 000 live at 300/s: 80 s of traffic for the rate() windows,
# then still counts for the page check (a live page and a live API answer
# never agree).
./target/debug/dqmon demo --history 20000 --history-days 42 --rate 300 --count 24000 --http 127.0.0.1:9898 --token "$DEMO_TOKEN" --store "$DEMO_STORE" > /tmp/dqmon-demo.log 2>&1 &
DEMO_PID=$!
for _ in $(seq 1 60); do
    curl -sf http://127.0.0.1:9898/readyz >/dev/null && break
    sleep 1
done
curl -sf http://127.0.0.1:9898/readyz >/dev/null || { echo "dqmon demo never became ready"; tail -50 /tmp/dqmon-demo.log; exit 1; }
DQMON_METRICS_TARGET=127.0.0.1:9898 bash scripts/prometheus-local.sh start
# Let Prometheus collect some history for rate() windows.
sleep 45
bash scripts/check-dashboards.sh

echo "== the scorecard in headless Chromium, against the same demo once its traffic has ended"
# 60 days ago to tomorrow in the exchange's time zone: every message of the run
# (history and live), at any hour.
period="$(TZ=Asia/Shanghai date -d '60 days ago' +%F)..$(TZ=Asia/Shanghai date -d tomorrow +%F)"
previous=""
for _ in $(seq 1 120); do
    current=$(curl -fsS -H "Authorization: Bearer $DEMO_TOKEN" "http://127.0.0.1:9898/api/v1/scores?period=$period")
    if [ -n "$previous" ] && [ "$current" = "$previous" ] && echo "$current" | grep -q '"messages":44000'; then break; fi
    previous=$current
    sleep 2
done
echo "$current" | grep -q '"messages":44000' || { echo "the demo's 44000 messages were not all counted"; exit 1; }
DQMON_URL=http://127.0.0.1:9898 DQMON_TOKEN="$DEMO_TOKEN" DQMON_PERIOD="$period" DQMON_SCREENSHOT=/tmp/dqmon-scorecard.png \
    DQMON_FINDINGS_SCREENSHOT=/tmp/dqmon-findings.png DQMON_DISPUTES_SCREENSHOT=/tmp/dqmon-disputes.png \
    bash tests/scorecard_browser.sh

echo "== sealing a period on the same demo: served sealed, verified offline, audited"
DQMON_URL=http://127.0.0.1:9898 DQMON_TOKEN="$DEMO_TOKEN" DQMON_BIN=./target/debug/dqmon DQMON_STORE="$DEMO_STORE" \
    bash scripts/check-seals.sh

echo "== the API against its OpenAPI document (schemathesis), on the same demo"
DQMON_URL=http://127.0.0.1:9898 DQMON_TOKEN="$DEMO_TOKEN" bash scripts/check-openapi.sh

echo "== dqmon scores on the demo's store"
./target/debug/dqmon scores --store "$DEMO_STORE" --period "$period" | tee /tmp/dqmon-scores.txt
# Every department with traffic is ranked: rank 1 exists and no department is unscored.
grep -Eq '^ +1  ' /tmp/dqmon-scores.txt
if grep -Eq '^ +-  ' /tmp/dqmon-scores.txt; then echo "a department has no score"; exit 1; fi
