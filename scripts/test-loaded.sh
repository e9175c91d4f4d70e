#!/usr/bin/env bash
# `npm run test:loaded`: the whole suite (npm test) while stress-ng keeps every core busy with
# twice as many CPU hogs as there are cores, the way a shared CI machine can be. Tests wait for
# events and states, never for times, so this must be as green as an idle run. Prints the load
# average before and after; stress-ng (Debian's) is installed when missing.
set -uo pipefail
cd "$(dirname "$0")/.."
if ! command -v stress-ng >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends stress-ng
fi
hogs=$(( $(nproc) * 2 ))
stress-ng --cpu "$hogs" --timeout 3600s --quiet &
stress=$!
trap 'kill "$stress" 2>/dev/null; wait "$stress" 2>/dev/null' EXIT
sleep 5
echo "test:loaded: stress-ng --cpu $hogs running; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
npm test
status=$?
echo "test:loaded: npm test exited $status; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
exit $status
