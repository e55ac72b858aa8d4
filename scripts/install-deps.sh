#!/usr/bin/env bash
# The Debian packages dqmon needs, installed once on a fresh machine (as root,
# or with sudo): a C toolchain and perl to build librdkafka, OpenSSL and zlib
# from source (no -dev packages: the build needs none, see Cargo.toml); Java 17
# and Maven for the local Kafka broker; PostgreSQL for the PostgreSQL store's
# tests (scripts/postgres-local.sh) and openssl for its test certificates;
# Prometheus, Alertmanager, docker-compose and PyYAML for the operator kit
# checks; python3-venv for schemathesis (the API
# check, installed from PyPI by scripts/check-openapi.sh); Chromium and CJK
# fonts for the page check.
# Rust itself comes from rustup.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    build-essential perl openssl \
    openjdk-17-jdk-headless maven curl ca-certificates \
    postgresql \
    prometheus prometheus-alertmanager docker-compose python3 python3-yaml python3-venv \
    chromium fonts-noto-cjk >/dev/null
echo "system packages installed"
