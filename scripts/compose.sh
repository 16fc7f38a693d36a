#!/usr/bin/env bash
# Local development stack (Django runserver + PostgreSQL in containers): prepare the build, then run docker-compose.
#
#   scripts/compose.sh up -d --build       # build what changed, start, serve http://127.0.0.1:18000
#   scripts/compose.sh logs -f app
#   scripts/compose.sh exec app python manage.py mint_token --subject me
#   scripts/compose.sh down -v             # stop and delete the database volume
#
# Before every docker-compose call: the base image exists (scripts/build-base-image.sh when missing) and
# .artifacts/compose-wheels/ holds wheels for app/requirements*.txt (downloaded on the host only when those
# files change: containers cannot reach PyPI). Not the deployment path: `make up` deploys with the playbooks.
#
# Env:
#   COMPOSE_PROJECT_NAME     compose project             (default camsdev)
#   CAMS_COMPOSE_APP_PORT    127.0.0.1 port -> runserver (default 18000)
#   CAMS_BASE_IMAGE          base image                  (default cams/debian-systemd:bookworm)
#   PYTHON                   host Python for `pip download` (default python3)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WHEELS="$ROOT/.artifacts/compose-wheels"
PYTHON="${PYTHON:-python3}"
export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-camsdev}"
export CAMS_BASE_IMAGE="${CAMS_BASE_IMAGE:-cams/debian-systemd:bookworm}"
# Classic builder: takes FROM from the local image store (no registry lookup) and needs no buildx plugin.
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0

log() { printf '[compose] %s\n' "$*"; }
die() { printf '[compose] ERROR: %s\n' "$*" >&2; exit 1; }

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; }
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") usage >&2; exit 2 ;;
esac

command -v docker-compose >/dev/null 2>&1 || die "docker-compose not found: apt-get install -y docker-compose"
docker info >/dev/null 2>&1 || die "docker engine not answering: run scripts/ensure-docker.sh"

docker image inspect "$CAMS_BASE_IMAGE" >/dev/null 2>&1 || "$ROOT/scripts/build-base-image.sh" "$CAMS_BASE_IMAGE"

# Wheels for the containers' CPython 3.11 on Linux (the release artifact's way), whatever the host runs.
arch="$(docker info --format '{{.Architecture}}')"
stamp="$(cat "$ROOT/app/requirements.txt" "$ROOT/app/requirements-dev.txt" | sha256sum | cut -d' ' -f1)-$arch"
if [ "$(cat "$WHEELS/.stamp" 2>/dev/null)" != "$stamp" ]; then
  log "downloading wheels for app/requirements-dev.txt ($arch) into ${WHEELS#"$ROOT"/}"
  mkdir -p "$ROOT/.artifacts"
  tmp="$(mktemp -d "$ROOT/.artifacts/compose-wheels.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  cp "$ROOT/app/requirements.txt" "$ROOT/app/requirements-dev.txt" "$tmp/"
  PYTHON="$PYTHON" "$ROOT/roles/cams_app/files/download-wheels.sh" "$tmp" "$tmp/requirements-dev.txt" 3.11 \
    "manylinux_2_36_$arch" "manylinux_2_28_$arch" "manylinux2014_$arch" "manylinux_2_17_$arch"
  printf '%s\n' "$stamp" > "$tmp/.stamp"
  rm -rf "$WHEELS"
  mv "$tmp" "$WHEELS"
fi

exec docker-compose -f "$ROOT/docker-compose.yml" "$@"
