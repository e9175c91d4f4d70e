#!/usr/bin/env bash
# Debian's Chromium for the browser e2e test: playwright-core drives it (no browser download,
# which this network does not allow). Idempotent; run by .ci/run before the tests.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium
chromium --version
