#!/usr/bin/env bash
# Single PostgreSQL server on 127.0.0.1 for local dqmon development and the
# PostgreSQL store tests, from Debian's `postgresql` package (installed with
# apt if absent), run as the current user (as `postgres` when root), with its
# data under a temporary directory and a database for dqmon. It speaks TLS
# (plain connections too) with a certificate of a test CA made at start.
#
# Usage: scripts/postgres-local.sh start|stop|status
#   eval "$(scripts/postgres-local.sh start)"   # sets DQMON_TEST_POSTGRES_URL (and _CA, _OTHER_CA)
#
# `start` is idempotent (a running server is kept, its URL printed again);
# `stop` shuts the server down and removes its data.
#
# Environment (all optional):
#   POSTGRES_PORT       port on 127.0.0.1                (default 5433, beside a system server on 5432)
#   POSTGRES_DATA_DIR   data, socket and log             (default /tmp/dqmon-postgres)
#   POSTGRES_DB         database created for dqmon       (default dqmon)
#   POSTGRES_START_TIMEOUT  seconds to wait for the server (default 60)
set -euo pipefail

readonly HOST="127.0.0.1"
readonly PORT="${POSTGRES_PORT:-5433}"
readonly DB="${POSTGRES_DB:-dqmon}"
readonly START_TIMEOUT="${POSTGRES_START_TIMEOUT:-60}"

abs_path() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$PWD" "$1" ;;
  esac
}
DATA_DIR="$(abs_path "${POSTGRES_DATA_DIR:-/tmp/dqmon-postgres}")"
readonly DATA_DIR
readonly PGDATA="${DATA_DIR}/data"
readonly SOCKET_DIR="${DATA_DIR}/socket"
readonly LOG_FILE="${DATA_DIR}/postgres.log"
readonly TLS_DIR="${DATA_DIR}/tls"

log() { printf 'postgres-local: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  printf 'usage: %s start|stop|status\n' "${0##*/}" >&2
  exit 2
}

# The server refuses to run as root: then it runs as `postgres`.
if [[ "$(id -u)" -eq 0 ]]; then
  RUN_AS="postgres"
else
  RUN_AS="$(id -un)"
fi
readonly RUN_AS

as_owner() {
  if [[ "$(id -un)" == "$RUN_AS" ]]; then
    "$@"
  else
    # runuser is util-linux's su for root, without PAM prompts.
    runuser -u "$RUN_AS" -- "$@"
  fi
}

# The newest installed major version's binaries.
bin_dir() {
  local dir
  dir="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -n 1)"
  [[ -n "$dir" && -x "${dir}/pg_ctl" ]] || return 1
  printf '%s\n' "$dir"
}

install_postgres() {
  bin_dir >/dev/null && return 0
  [[ "$(id -u)" -eq 0 ]] || die "PostgreSQL is not installed; run scripts/install-deps.sh (as root) or apt-get install postgresql"
  log "installing Debian's postgresql package (first run only)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
  bin_dir >/dev/null || die "postgresql installed, but no /usr/lib/postgresql/*/bin/pg_ctl"
}

url() {
  printf 'postgres://%s@%s:%s/%s\n' "$RUN_AS" "$HOST" "$PORT" "$DB"
}

# What `start` prints for `eval`: the URL, and the trusted root of the
# server's certificate and an unrelated one, for the TLS tests.
exports() {
  printf 'export DQMON_TEST_POSTGRES_URL=%s\n' "$(url)"
  printf 'export DQMON_TEST_POSTGRES_CA=%s\n' "${TLS_DIR}/ca.crt"
  printf 'export DQMON_TEST_POSTGRES_OTHER_CA=%s\n' "${TLS_DIR}/other-ca.crt"
}

# A test CA and a server certificate it signs for 127.0.0.1 and localhost,
# plus a CA that signs nothing here: the server speaks TLS as a managed
# database would, so the store's sslmode handling is tested for real.
make_certificates() {
  [[ -f "${TLS_DIR}/server.crt" ]] && return 0
  command -v openssl >/dev/null || die "openssl is not installed (scripts/install-deps.sh)"
  mkdir -p "$TLS_DIR"
  local key=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 "${key[@]}" -days 30 -subj "/CN=dqmon test CA" \
    -keyout "${TLS_DIR}/ca.key" -out "${TLS_DIR}/ca.crt" 2>/dev/null
  openssl req -x509 "${key[@]}" -days 30 -subj "/CN=dqmon unrelated CA" \
    -keyout "${TLS_DIR}/other-ca.key" -out "${TLS_DIR}/other-ca.crt" 2>/dev/null
  openssl req "${key[@]}" -subj "/CN=127.0.0.1" \
    -keyout "${TLS_DIR}/server.key" -out "${TLS_DIR}/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"${TLS_DIR}/san.ext"
  openssl x509 -req -in "${TLS_DIR}/server.csr" -CA "${TLS_DIR}/ca.crt" -CAkey "${TLS_DIR}/ca.key" \
    -CAcreateserial -days 30 -extfile "${TLS_DIR}/san.ext" -out "${TLS_DIR}/server.crt" 2>/dev/null
  chmod 600 "${TLS_DIR}"/*.key
  if [[ "$(id -u)" -eq 0 ]]; then
    chown -R "$RUN_AS" "$TLS_DIR"
  fi
}

running() {
  local bin
  bin="$(bin_dir)" || return 1
  [[ -f "${PGDATA}/postmaster.pid" ]] || return 1
  as_owner "${bin}/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1
}

port_in_use() {
  (exec 3<>"/dev/tcp/${HOST}/$1") 2>/dev/null
}

cmd_start() {
  install_postgres
  local bin
  bin="$(bin_dir)"
  if running; then
    log "already running (data ${PGDATA})"
    exports
    return 0
  fi
  port_in_use "$PORT" && die "port ${PORT} on ${HOST} is already in use by another process"

  case "$DATA_DIR" in
    / | "$HOME" | "$HOME/" | /tmp | /tmp/) die "refusing to use POSTGRES_DATA_DIR=${DATA_DIR}" ;;
  esac
  mkdir -p "$DATA_DIR" "$SOCKET_DIR"
  if [[ "$(id -u)" -eq 0 ]]; then
    chown -R "$RUN_AS" "$DATA_DIR"
  fi
  if [[ ! -f "${PGDATA}/PG_VERSION" ]]; then
    rm -rf "$PGDATA"
    # trust on loopback only: a throwaway server for tests, reachable from
    # this machine alone (listen_addresses below).
    as_owner "${bin}/initdb" -D "$PGDATA" -U "$RUN_AS" --auth=trust \
      --encoding=UTF8 --locale=C.UTF-8 >"${DATA_DIR}/initdb.log" 2>&1 \
      || { cat "${DATA_DIR}/initdb.log" >&2; die "initdb failed"; }
  fi
  make_certificates
  log "starting PostgreSQL ($("${bin}/postgres" --version)) on ${HOST}:${PORT} (data ${PGDATA}, log ${LOG_FILE})"
  # fsync stays on: the tests check durability settings, not a fast disk.
  as_owner "${bin}/pg_ctl" -D "$PGDATA" -l "$LOG_FILE" -w -t "$START_TIMEOUT" \
    -o "-c listen_addresses=${HOST} -p ${PORT} -c unix_socket_directories=${SOCKET_DIR} -c max_connections=200 -c ssl=on -c ssl_cert_file=${TLS_DIR}/server.crt -c ssl_key_file=${TLS_DIR}/server.key" \
    start >&2 || { tail -n 50 "$LOG_FILE" >&2 || true; die "the server did not start"; }
  if ! as_owner "${bin}/psql" -h "$HOST" -p "$PORT" -U "$RUN_AS" -d postgres -Atqc \
    "SELECT 1 FROM pg_database WHERE datname = '${DB}'" | grep -q 1; then
    as_owner "${bin}/createdb" -h "$HOST" -p "$PORT" -U "$RUN_AS" "$DB"
  fi
  log "ready"
  exports
}

cmd_stop() {
  local bin
  if ! bin="$(bin_dir)" || ! running; then
    log "not running"
  else
    log "stopping"
    as_owner "${bin}/pg_ctl" -D "$PGDATA" -m fast -w stop >&2
  fi
  case "$DATA_DIR" in
    / | "$HOME" | "$HOME/" | /tmp | /tmp/) die "refusing to remove POSTGRES_DATA_DIR=${DATA_DIR}" ;;
  esac
  rm -rf "$DATA_DIR"
  log "stopped"
}

cmd_status() {
  if running; then
    printf 'running (DQMON_TEST_POSTGRES_URL=%s, data %s)\n' "$(url)" "$PGDATA"
    return 0
  fi
  printf 'not running\n'
  return 1
}

main() {
  [[ $# -eq 1 ]] || usage
  case "$1" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *) usage ;;
  esac
}

main "$@"
