#!/usr/bin/env bash
# Proves that the operator kit works against a live dqmon:
#  (a) static checks: promtool check config / check rules / test rules,
#      amtool check-config plus routing tests, docker-compose config;
#  (b) live checks (scripts/check_dashboards.py): every Grafana panel query and
#      template variable, every recording and alerting rule, and every metric
#      selector in them, evaluated through Prometheus' HTTP API.
#
# Run it while dqmon is up and has processed traffic, and a Prometheus that
# loads dashboards/prometheus/rules.yml has scraped it for a while:
#   scripts/prometheus-local.sh start   # scrapes $DQMON_METRICS_TARGET every 1s
#   scripts/check-dashboards.sh
#   scripts/prometheus-local.sh stop
#
# Ends with `N passed, M failed`; exits 1 on any failure.
#
# Environment (all optional):
#   PROMETHEUS_URL        Prometheus to query              (default http://127.0.0.1:9090)
#   CHECK_MIN_SCRAPES     successful dqmon scrapes to wait for before querying (default 5)
#   CHECK_WARMUP_TIMEOUT  seconds to wait for them          (default 60)
#   CHECK_STATIC_ONLY=1   only part (a), no Prometheus needed
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "${SCRIPT_DIR}/.." && pwd)"
readonly SCRIPT_DIR REPO_DIR
readonly PROM_DIR="${REPO_DIR}/dashboards/prometheus"
readonly AM_CONFIG="${REPO_DIR}/dashboards/alertmanager/alertmanager.yml"
# Debian's interpreter, where apt's python3-yaml lives (a pyenv or venv
# python3 earlier on PATH would not see it).
readonly PYTHON=/usr/bin/python3

log() { printf 'check-dashboards: %s\n' "$*" >&2; }

# Tools come from Debian packages; install only what is missing, and refresh
# the package lists only if an install fails without them.
ensure_packages() {
  local missing=()
  command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
  command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
  command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
  { [[ -x "$PYTHON" ]] && "$PYTHON" -c 'import yaml' 2>/dev/null; } || missing+=(python3 python3-yaml)
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
}

passed=0
failed=0
# run_check NAME CMD...: one line per check; the command's output only on failure.
run_check() {
  local name="$1" out
  shift
  if out="$("$@" 2>&1)"; then
    passed=$((passed + 1))
    printf 'ok    %s\n' "$name"
  else
    failed=$((failed + 1))
    printf 'FAIL  %s\n' "$name"
    printf '%s\n' "$out" | sed 's/^/      /'
  fi
}

# The receiver a label set is routed to must be the expected one.
route_is() {
  local expected="$1" got
  shift
  got="$(amtool config routes test --config.file="$AM_CONFIG" "$@" 2>/dev/null)"
  [[ "$got" == "$expected" ]] || { echo "labels $* go to '${got}', expected '${expected}'"; return 1; }
}

ensure_packages

cd "$REPO_DIR"
# --- (a) static checks ----------------------------------------------------------
run_check "promtool check config dashboards/prometheus/prometheus.yml" \
  promtool check config "${PROM_DIR}/prometheus.yml"
run_check "promtool check rules dashboards/prometheus/rules.yml" \
  promtool check rules "${PROM_DIR}/rules.yml"
run_check "promtool test rules dashboards/prometheus/rules_test.yml" \
  promtool test rules "${PROM_DIR}/rules_test.yml"
run_check "amtool check-config dashboards/alertmanager/alertmanager.yml" \
  amtool check-config "$AM_CONFIG"
for dept in public_security civil_affairs hrss market_regulation tax health; do
  run_check "alertmanager routes department=${dept} to dept-${dept}" \
    route_is "dept-${dept}" alertname=DQPassRateLow "department=${dept}" severity=warning
done
run_check "alertmanager routes team=platform to operators" \
  route_is operators alertname=DQDown team=platform severity=critical
run_check "alertmanager routes team=assessment to officers, whatever the department" \
  route_is officers alertname=DQDisputesOverdue team=assessment department=hrss severity=warning
run_check "alertmanager routes an unknown department to default" \
  route_is default alertname=DQPassRateLow department=unknown severity=warning
run_check "docker-compose -f docker-compose.yml config -q" \
  docker-compose -f "${REPO_DIR}/docker-compose.yml" config -q

# --- (b) live checks ------------------------------------------------------------
if [[ "${CHECK_STATIC_ONLY:-0}" != 1 ]]; then
  counts="$(mktemp)"
  trap 'rm -f "$counts"' EXIT
  "$PYTHON" "${SCRIPT_DIR}/check_dashboards.py" --repo "$REPO_DIR" --counts-file "$counts" || true
  if read -r p f <"$counts" && [[ -n "${p:-}" ]]; then
    passed=$((passed + p))
    failed=$((failed + f))
  else
    # The checker itself broke: count that as a failure, never as success.
    printf 'FAIL  live checks did not complete\n'
    failed=$((failed + 1))
  fi
fi

printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
