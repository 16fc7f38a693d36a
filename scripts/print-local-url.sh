#!/usr/bin/env bash
# Prints how to reach the local VM: its URL, its /health/ answer, and a dashboard link with a fresh token.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${CAMS_LOCAL_HTTP_PORT:-8080}
ssh_port=${CAMS_LOCAL_SSH_PORT:-2222}
url="http://127.0.0.1:$port"
ssh_cmd=(ssh -q -p "$ssh_port" -i .local/ssh/id_ed25519 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1)

health=$(curl -fsS --max-time 10 "$url/health/") || { echo "local VM: $url/health/ does not answer" >&2; exit 1; }
token=$("${ssh_cmd[@]}" cams-manage mint_token --subject "${USER:-operator}" --lifetime 28800)
cat <<TEXT

CAMS local environment is up: $url
  /health/  $health
  dashboard $url/#token=$token   (token valid 8 h)
  ssh       ${ssh_cmd[*]}
TEXT
