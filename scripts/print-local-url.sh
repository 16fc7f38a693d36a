#!/usr/bin/env bash
# Prints how to reach the local VM: its URL, its /health/ and /health/ready/ answers, and a dashboard link with a
# fresh token.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${CAMS_LOCAL_HTTP_PORT:-8080}
url="http://127.0.0.1:$port"
ssh_cmd=(ssh -F .local/ssh/config "${CAMS_LOCAL_NAME:-cams-local}")  # written by scripts/local-vm.sh up

health=$(curl -fsS --max-time 10 "$url/health/") || { echo "local VM: $url/health/ does not answer" >&2; exit 1; }
# Readiness probes the database; liveness (above) deliberately does not. nginx answers it to loopback only.
ready=$("${ssh_cmd[@]}" curl -sS --max-time 10 http://127.0.0.1/health/ready/ || true)
token=$("${ssh_cmd[@]}" sudo cams-manage mint_token --subject "${USER:-operator}" --lifetime 28800)
cat <<TEXT

CAMS local environment is up: $url
  /health/        $health
  /health/ready/  $ready
  dashboard       $url/#token=$token   (token valid 8 h)
  ssh             ${ssh_cmd[*]}
TEXT
