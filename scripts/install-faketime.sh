#!/usr/bin/env bash
# Debian's faketime for the chaos suite (test/scale/chaos.test.ts runs one instance with its clock
# 45 s fast, then 45 s slow, through libfaketime). Idempotent; run by .ci/run.
set -euo pipefail
if ls /usr/lib/*/faketime/libfaketimeMT.so.1 >/dev/null 2>&1; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends faketime
