#!/usr/bin/env bash
# The PostgreSQL the tests use (127.0.0.1:5432, trust auth): started if it is not running.
# Tests make their own database per run and drop it. VALET_TEST_DATABASE_URL points them at
# another server instead. Idempotent; run by .ci/run before the tests.
set -euo pipefail
if [ -n "${VALET_TEST_DATABASE_URL:-}" ]; then exit 0; fi
if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then exit 0; fi
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "PostgreSQL is not installed (pg_ctlcluster missing) and VALET_TEST_DATABASE_URL is not set" >&2
  exit 1
fi
for version in $(ls /etc/postgresql 2>/dev/null); do
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
done
for _ in $(seq 1 50); do
  if pg_isready -h 127.0.0.1 -p 5432 -q; then exit 0; fi
  sleep 0.2
done
echo "PostgreSQL did not start on 127.0.0.1:5432" >&2
exit 1
