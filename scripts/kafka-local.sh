#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft, combined broker+controller) on 127.0.0.1 for
# local dqmon development and integration tests.
#
# Usage: scripts/kafka-local.sh start|stop|status
#
# Built only from Apache Kafka's jars on Maven Central (fetched once with mvn)
# and the local Java 17+, so it needs neither Docker nor a Kafka tarball.
#
# Environment (all optional):
#   KAFKA_VERSION          Kafka release to run                (default 4.4.0)
#   KAFKA_PORT             PLAINTEXT listener port             (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener port      (default 9093)
#   KAFKA_DATA_DIR         data/log/pid dir, wiped by `start`  (default /tmp/dqmon-kafka)
#   DQMON_KAFKA_CACHE      jar cache  (default ~/.cache/dqmon/kafka-$KAFKA_VERSION)
#   KAFKA_HEAP_OPTS        broker JVM heap                     (default -Xms256m -Xmx512m)
#   KAFKA_START_TIMEOUT    seconds to wait for the broker      (default 90)
#
# Kafka's CLI tools are in the same jars, e.g.:
#   java -cp "$DQMON_KAFKA_CACHE/libs/*" org.apache.kafka.tools.TopicCommand \
#        --bootstrap-server 127.0.0.1:9092 --list
set -euo pipefail

readonly KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
readonly SCALA_BINARY_VERSION="2.13"
# Binding for the slf4j 1.7 API Kafka 4.x declares; matches Kafka's own log4j2.
readonly LOG4J_VERSION="2.25.5"
readonly DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

readonly HOST="127.0.0.1"
readonly PORT="${KAFKA_PORT:-9092}"
readonly CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
readonly BOOTSTRAP="${HOST}:${PORT}"
readonly START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
readonly HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"

# Absolute paths so the script behaves the same from any working directory.
abs_path() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$PWD" "$1" ;;
  esac
}
CACHE_DIR="$(abs_path "${DQMON_KAFKA_CACHE:-${HOME}/.cache/dqmon/kafka-${KAFKA_VERSION}}")"
DATA_DIR="$(abs_path "${KAFKA_DATA_DIR:-/tmp/dqmon-kafka}")"
readonly CACHE_DIR DATA_DIR
readonly LIBS_DIR="${CACHE_DIR}/libs"
# Written only after a complete copy, so an interrupted fetch is retried.
readonly FETCH_MARKER="${LIBS_DIR}/.complete"
readonly PID_FILE="${DATA_DIR}/kafka.pid"
readonly LOG_FILE="${DATA_DIR}/kafka.log"
readonly CONFIG_FILE="${DATA_DIR}/server.properties"
readonly BROKER_LOG4J="${DATA_DIR}/log4j2-broker.properties"
readonly TOOLS_LOG4J="${DATA_DIR}/log4j2-tools.properties"

log() { printf 'kafka-local: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  printf 'usage: %s start|stop|status\n' "${0##*/}" >&2
  exit 2
}

require_java() {
  command -v java >/dev/null 2>&1 || die "java not found on PATH (Java 17+ required)"
}

# --- fetch -------------------------------------------------------------------

fetch_jars() {
  if [[ -f "$FETCH_MARKER" ]]; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found on PATH (needed once to fetch Kafka ${KAFKA_VERSION} jars)"
  log "fetching Kafka ${KAFKA_VERSION} jars from Maven Central into ${LIBS_DIR} (first run only)"
  mkdir -p "$CACHE_DIR"
  # kafka_2.13 = broker + StorageTool; kafka-tools = CLI tools used for the
  # readiness probe; log4j-slf4j-impl routes Kafka's slf4j 1.7 logging to
  # log4j2 (its own slf4j-api is excluded so Kafka's version wins).
  cat >"${CACHE_DIR}/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dqmon.local</groupId>
  <artifactId>kafka-local-jars</artifactId>
  <version>${KAFKA_VERSION}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_${SCALA_BINARY_VERSION}</artifactId>
      <version>${KAFKA_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>${KAFKA_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>${LOG4J_VERSION}</version>
      <exclusions>
        <exclusion>
          <groupId>org.slf4j</groupId>
          <artifactId>slf4j-api</artifactId>
        </exclusion>
      </exclusions>
    </dependency>
  </dependencies>
</project>
EOF
  rm -rf "$LIBS_DIR"
  # mvn output goes to stderr: stdout carries only KAFKA_BOOTSTRAP_SERVERS=...
  mvn -q -B -f "${CACHE_DIR}/pom.xml" \
    "${DEPENDENCY_PLUGIN}:copy-dependencies" \
    -DincludeScope=runtime \
    -DoutputDirectory="$LIBS_DIR" >&2 \
    || die "mvn could not fetch Kafka ${KAFKA_VERSION} (is Maven Central reachable?)"
  touch "$FETCH_MARKER"
  log "cached $(find "$LIBS_DIR" -name '*.jar' | wc -l) jars ($(du -sh "$LIBS_DIR" | cut -f1))"
}

# --- process helpers ---------------------------------------------------------

read_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(<"$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  printf '%s\n' "$pid"
}

# kill -0 also succeeds for a zombie (an unreaped child of this very shell,
# e.g. after a failed start), so zombies count as dead here.
alive() {
  local pid="$1" state=""
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r "/proc/${pid}/stat" ]]; then
    state="$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/${pid}/stat" 2>/dev/null || true)"
  fi
  [[ "$state" != "Z" ]]
}

# True only if the pid is alive AND is our broker, so a recycled pid is never
# mistaken for (or killed as) Kafka.
is_our_broker() {
  local pid="$1"
  alive "$pid" || return 1
  [[ -r "/proc/${pid}/cmdline" ]] || return 0 # no procfs: trust kill -0
  tr '\0' ' ' <"/proc/${pid}/cmdline" | grep -q 'kafka\.Kafka'
}

running_pid() {
  local pid
  pid="$(read_pid)" || return 1
  is_our_broker "$pid" || return 1
  printf '%s\n' "$pid"
}

port_in_use() {
  # bash's /dev/tcp avoids depending on nc/ss being installed.
  (exec 3<>"/dev/tcp/${HOST}/$1") 2>/dev/null
}

# Runs a Kafka CLI class from the cached jars with quiet logging.
kafka_tool() {
  java -Xmx256m -cp "${LIBS_DIR}/*" \
    -Dlog4j2.configurationFile="$TOOLS_LOG4J" \
    "$@"
}

# --- configuration -----------------------------------------------------------

write_config() {
  cat >"$CONFIG_FILE" <<EOF
# Generated by scripts/kafka-local.sh; rewritten on every start.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=${HOST}:${CONTROLLER_PORT}
listeners=PLAINTEXT://${HOST}:${PORT},CONTROLLER://${HOST}:${CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://${HOST}:${PORT},CONTROLLER://${HOST}:${CONTROLLER_PORT}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${DATA_DIR}/logs
num.partitions=3
auto.create.topics.enable=true
# A single node cannot satisfy the default replication factor of 3.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Consumers in tests should get partitions immediately, not after 3 s.
group.initial.rebalance.delay.ms=0
EOF

  cat >"$BROKER_LOG4J" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF

  cat >"$TOOLS_LOG4J" <<'EOF'
status = error
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = ERROR
rootLogger.appenderRef.err.ref = STDERR
EOF
}

# Same shape as `StorageTool random-uuid` (16 random bytes, URL-safe base64,
# no padding) without paying for an extra JVM start.
random_cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    # A leading '-' would be parsed as an option by the tool; draw again.
    [[ "$id" == -* ]] || break
  done
  printf '%s\n' "$id"
}

format_storage() {
  local cluster_id
  cluster_id="$(random_cluster_id)"
  # --standalone makes this node the sole voter of a dynamic KRaft quorum
  # (the Kafka 4 quickstart layout); -t is mandatory in Kafka 4.
  kafka_tool kafka.tools.StorageTool format --standalone \
    -t "$cluster_id" -c "$CONFIG_FILE" >"${DATA_DIR}/format.log" 2>&1 \
    || { cat "${DATA_DIR}/format.log" >&2; die "StorageTool format failed"; }
}

# --- commands ----------------------------------------------------------------

broker_answers() {
  # Cheap TCP check first: on small machines a probe JVM every second would
  # compete with the starting broker for CPU.
  port_in_use "$PORT" || return 1
  if command -v kcat >/dev/null 2>&1; then
    kcat -L -b "$BOOTSTRAP" -m 5 >/dev/null 2>&1
  else
    kafka_tool org.apache.kafka.tools.BrokerApiVersionsCommand \
      --bootstrap-server "$BOOTSTRAP" >/dev/null 2>&1
  fi
}

cmd_start() {
  require_java
  fetch_jars

  # start always means "fresh broker": replace a running instance of ours.
  if running_pid >/dev/null; then
    log "broker already running; restarting with a fresh data dir"
    cmd_stop
  fi
  port_in_use "$PORT" && die "port ${PORT} on ${HOST} is already in use by another process"
  port_in_use "$CONTROLLER_PORT" && die "port ${CONTROLLER_PORT} on ${HOST} is already in use by another process"

  # Guard the rm -rf against an obviously wrong KAFKA_DATA_DIR.
  case "$DATA_DIR" in
    / | "$HOME" | "$HOME/" | /tmp | /tmp/) die "refusing to wipe KAFKA_DATA_DIR=${DATA_DIR}" ;;
  esac
  rm -rf "$DATA_DIR"
  mkdir -p "$DATA_DIR"

  write_config
  format_storage

  log "starting Kafka ${KAFKA_VERSION} (data: ${DATA_DIR}, log: ${LOG_FILE})"
  # shellcheck disable=SC2086 # HEAP_OPTS is intentionally word-split into JVM flags.
  nohup java ${HEAP_OPTS} -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$BROKER_LOG4J" \
    -Dkafka.logs.dir="$DATA_DIR" \
    -cp "${LIBS_DIR}/*" kafka.Kafka "$CONFIG_FILE" \
    </dev/null >"$LOG_FILE" 2>&1 &
  local pid=$!
  printf '%s\n' "$pid" >"$PID_FILE"

  local deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! alive "$pid"; then
      log "broker process ${pid} exited during startup; last 50 log lines:"
      tail -n 50 "$LOG_FILE" >&2 || true
      rm -f "$PID_FILE"
      exit 1
    fi
    if broker_answers; then
      log "broker ready (pid ${pid})"
      printf 'KAFKA_BOOTSTRAP_SERVERS=%s\n' "$BOOTSTRAP"
      return 0
    fi
    sleep 1
  done

  log "broker did not answer on ${BOOTSTRAP} within ${START_TIMEOUT}s; last 50 log lines:"
  tail -n 50 "$LOG_FILE" >&2 || true
  cmd_stop >/dev/null 2>&1 || true
  exit 1
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  log "stopping broker (pid ${pid})"
  kill -TERM "$pid" 2>/dev/null || true
  # Kafka's controlled shutdown usually takes a few seconds; give it 20.
  local i
  for ((i = 0; i < 20; i++)); do
    alive "$pid" || break
    sleep 1
  done
  if alive "$pid"; then
    log "broker ignored SIGTERM for 20s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while alive "$pid"; do sleep 0.2; done
  fi
  rm -f "$PID_FILE"
  log "stopped"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    printf 'running (pid %s, KAFKA_BOOTSTRAP_SERVERS=%s, data %s)\n' "$pid" "$BOOTSTRAP" "$DATA_DIR"
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
