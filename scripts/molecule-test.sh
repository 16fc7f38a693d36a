#!/usr/bin/env bash
# molecule test -s SCENARIO; when it fails, repeats what failed (tests, tasks) at the very end, where a CI log's
# tail shows it, rather than above the destroy step's output.
set -uo pipefail
log=$(mktemp)
trap 'rm -f "$log"' EXIT
molecule test -s "$1" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
  echo "== molecule test -s $1 failed ($status); what failed:"
  sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -aE "(FAILED|ERROR) [^ ]+::|fatal: \[|failed: \[|[0-9]+ (failed|passed)" | tail -n 40
fi
exit "$status"
