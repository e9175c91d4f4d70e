#!/usr/bin/env bash
# Debian's nginx for the scale-out tests (several Valet instances behind a load balancer, the
# configuration docs/deploy.md shows). Idempotent; run by .ci/run before `npm run test:scale`.
set -euo pipefail
if command -v nginx >/dev/null 2>&1; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nginx-light
# Only the binary is wanted: the tests run their own nginx on a loopback port.
$sudo service nginx stop >/dev/null 2>&1 || true
nginx -v
