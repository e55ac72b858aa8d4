#!/usr/bin/env bash
# The running API against its own OpenAPI document, by schemathesis (PyPI,
# pinned): requests the document allows and requests it forbids, generated
# from it. Fails on any 5xx, on an allowed request that is refused, on a
# forbidden one that is answered, and on an answer that breaks the document.
# Needs DQMON_URL and DQMON_TOKEN (an officer token) of a running dqmon;
# python3 with venv (scripts/install-deps.sh). The seed is fixed, so a run is
# repeatable: the same requests in the same order.
set -euo pipefail
: "${DQMON_URL:?set DQMON_URL, e.g. http://127.0.0.1:9898}"
: "${DQMON_TOKEN:?set DQMON_TOKEN to an officer token}"
VERSION=4.32.5
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/dqmon/schemathesis-$VERSION"
if [ ! -x "$VENV/bin/schemathesis" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$VERSION"
fi
# schemathesis keeps a cache in its working directory: not in the repository.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
# schemathesis masks the Authorization header in what it prints.
"$VENV/bin/schemathesis" run "$DQMON_URL/api/v1/openapi.json" \
    --header "Authorization: Bearer $DQMON_TOKEN" \
    --checks all \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-300}" \
    --seed 20261202 \
    --workers 1 \
    --output-sanitize true \
    --report junit --report-dir "${TMPDIR:-/tmp}/dqmon-schemathesis"
echo "openapi: schemathesis found no failure"
