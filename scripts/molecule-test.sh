#!/usr/bin/env bash
# molecule test -s SCENARIO, or with STEPs only those steps between a destroy before and one after, whatever happens
# (e.g. a scenario on a second Debian release without the release-independent ones). When it fails, repeats what
# failed (tests, tasks) at the very end, where a CI log's tail shows it, rather than above the destroy step's output.
#   scripts/molecule-test.sh SCENARIO [STEP...]
set -uo pipefail
scenario=$1
shift
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run() {
  if [ $# -eq 0 ]; then
    molecule test -s "$scenario"
    return
  fi
  molecule destroy -s "$scenario" || return
  local step status=0
  for step in "$@"; do
    molecule "$step" -s "$scenario" || { status=$?; break; }
  done
  molecule destroy -s "$scenario"
  return "$status"
}

run "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
  echo "== molecule ${*:-test} -s $scenario failed ($status); what failed:"
  sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -aE "(FAILED|ERROR) [^ ]+::|fatal: \[|failed: \[|[0-9]+ (failed|passed)" | tail -n 40
fi
exit "$status"
