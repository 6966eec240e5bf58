#!/usr/bin/env bash
# `npm audit` of production dependencies at high severity. Fails on findings; when the
# registry this machine reaches has no audit endpoint, says so loudly and passes.
set -uo pipefail
cd "$(dirname "$0")/.."
out="$(npm audit --omit=dev --audit-level=high 2>&1)"
rc=$?
if grep -q "audit endpoint returned an error" <<<"$out"; then
  echo "audit: SKIPPED: the npm registry reachable here has no audit endpoint (npm audit could not run)" >&2
  exit 0
fi
echo "$out" | tail -n 20
exit $rc
