#!/usr/bin/env bash
# What `npm test` needs besides node_modules, set up when it can be and named when it cannot:
# PostgreSQL on 127.0.0.1:5432 (started when installed but stopped; or VALET_TEST_DATABASE_URL)
# and Debian's Chromium (installed with apt when missing). Quick when both are already there.
set -uo pipefail
cd "$(dirname "$0")/.."
if ! log=$(bash scripts/start-postgres.sh 2>&1); then
  echo "npm test: PostgreSQL is not available (${log##*$'\n'}): install it (apt-get install postgresql) or set VALET_TEST_DATABASE_URL" >&2
  exit 1
fi
if ! log=$(bash scripts/install-browser.sh 2>&1); then
  echo "npm test: Chromium is missing and could not be installed here (${log##*$'\n'}): run sudo apt-get install chromium" >&2
  exit 1
fi
