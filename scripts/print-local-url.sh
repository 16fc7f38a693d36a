#!/usr/bin/env bash
# Prints how to reach the local VM: its URL and the CA that signs its certificate, its /health/ and /health/ready/
# answers, and a dashboard link with a fresh token.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${CAMS_LOCAL_HTTPS_PORT:-8443}
url="https://127.0.0.1:$port"
# The dev environment's CA (role cams_pki) signs the VM's certificate: curl and browsers verify it against this.
ca=.pki/dev/ca.crt
ssh_cmd=(ssh -F .local/ssh/config "${CAMS_LOCAL_NAME:-cams-local}")  # written by scripts/local-vm.sh up

health=$(curl -fsS --max-time 10 --cacert "$ca" "$url/health/") \
  || { echo "local VM: $url/health/ does not answer with a certificate from $ca" >&2; exit 1; }
fingerprint=$(openssl x509 -in "$ca" -noout -fingerprint -sha256 | cut -d= -f2)
# Readiness probes the database; liveness (above) deliberately does not. nginx answers it to loopback only.
# /etc/cams is for root and the app user only.
ready=$("${ssh_cmd[@]}" sudo curl -sS --max-time 10 --cacert /etc/cams/ca.crt https://127.0.0.1/health/ready/ || true)
token=$("${ssh_cmd[@]}" sudo cams-manage mint_token --subject "${USER:-operator}" --lifetime 28800)
cat <<TEXT

CAMS local environment is up: $url
  certificate     signed by $ca (SHA-256 $fingerprint)
                  curl --cacert $ca $url/health/   (or import it as a CA in the browser)
  /health/        $health
  /health/ready/  $ready
  dashboard       $url/#token=$token   (token valid 8 h)
  ssh             ${ssh_cmd[*]}
TEXT
