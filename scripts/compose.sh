#!/usr/bin/env bash
# CAMS in containers (docker-compose.yml) on a machine without a registry: prepare offline builds, run docker-compose.
#
#   scripts/compose.sh up -d --build                        # dev profile: runserver on http://127.0.0.1:18000
#   scripts/compose.sh logs -f web-dev
#   scripts/compose.sh exec web-dev python manage.py mint_token --subject me
#   scripts/compose.sh down -v                              # stop and delete the database volume
#   COMPOSE_PROFILES=prod scripts/compose.sh up -d --build  # prod profile (needs .env, .env.frontend): docs/docker.md
#
# Before every docker-compose call: the base images exist (scripts/build-base-image.sh, then
# docker/local-bases.Dockerfile's python, nginx and node stand-ins for the official images), .artifacts/compose-wheels/
# holds wheels for app/requirements*.txt and .artifacts/npm-cache/ the packages of app/frontend/package-lock.json
# (downloaded on the host only when those files change: containers reach neither PyPI nor npm's registry).
# With a registry, plain `docker compose --profile prod up` builds from the official images instead.
#
# Env:
#   COMPOSE_PROJECT_NAME     compose project             (default camsdev)
#   COMPOSE_PROFILES         profiles                    (default dev)
#   CAMS_COMPOSE_APP_PORT    127.0.0.1 port -> runserver (default 18000)
#   CAMS_BASE_IMAGE          base image                  (default cams/debian-systemd:bookworm)
#   PYTHON                   host Python for `pip download` (default python3)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WHEELS="$ROOT/.artifacts/compose-wheels"
PYTHON="${PYTHON:-python3}"
export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-camsdev}"
export COMPOSE_PROFILES="${COMPOSE_PROFILES:-dev}"
export CAMS_BASE_IMAGE="${CAMS_BASE_IMAGE:-cams/debian-systemd:bookworm}"
# The prod profile's images from local bases, installing offline (docker/backend.Dockerfile, frontend.Dockerfile).
export CAMS_PYTHON_IMAGE="${CAMS_PYTHON_IMAGE:-cams/python:3.11-bookworm}"
export CAMS_NODE_IMAGE="${CAMS_NODE_IMAGE:-cams/node:20-bookworm}"
export CAMS_NGINX_IMAGE="${CAMS_NGINX_IMAGE:-cams/nginx:bookworm}"
export CAMS_PIP_NO_INDEX=1 CAMS_NPM_CI_FLAGS=--offline
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

# The prod profile's builds: local bases for the official images, and npm's cache (the wheelhouse above serves both
# profiles). Only then, so the dev profile needs no Node.js on this machine.
prod_profile=0
[[ ",$COMPOSE_PROFILES," == *,prod,* || " $* " == *" --profile prod "* ]] && prod_profile=1

prepare_prod_builds() {
  # Node.js for the local node base: the controller's (Debian's nodejs is too old for Vite).
  local node_dist="$ROOT/.artifacts/node-dist"
  if [ "$(cat "$node_dist/.stamp" 2>/dev/null)" != "$(node --version 2>/dev/null)" ]; then
    command -v node >/dev/null 2>&1 || die "node not found on this machine: the frontend's local base copies it"
    log "copying this machine's Node.js $(node --version) into ${node_dist#"$ROOT"/}"
    rm -rf "$node_dist"
    mkdir -p "$node_dist/bin" "$node_dist/lib/node_modules"
    cp "$(command -v node)" "$node_dist/bin/node"
    cp -R "$(npm root -g)/npm" "$node_dist/lib/node_modules/npm"
    node --version > "$node_dist/.stamp"
  fi
  for base in python:"$CAMS_PYTHON_IMAGE" nginx:"$CAMS_NGINX_IMAGE" node:"$CAMS_NODE_IMAGE"; do
    if ! docker image inspect "${base#*:}" >/dev/null 2>&1; then
      log "building the local base ${base#*:}"
      docker build --quiet --target "${base%%:*}" --build-arg BASE_IMAGE="$CAMS_BASE_IMAGE" --tag "${base#*:}" \
        --file "$ROOT/docker/local-bases.Dockerfile" "$node_dist" >/dev/null
    fi
  done

  # npm's cache with every package of the lockfile, for `npm ci --offline` in the frontend's build stage.
  local npm_cache="$ROOT/.artifacts/npm-cache"
  npm_stamp="$(sha256sum < "$ROOT/app/frontend/package-lock.json" | cut -d' ' -f1)"
  if [ "$(cat "$npm_cache/.stamp" 2>/dev/null)" != "$npm_stamp" ]; then
    log "filling npm's cache for app/frontend/package-lock.json into ${npm_cache#"$ROOT"/}"
    tmp_npm="$(mktemp -d "$ROOT/.artifacts/npm-cache.XXXXXX")"
    trap 'rm -rf "$tmp_npm"' EXIT
    mkdir -p "$tmp_npm/project"
    cp "$ROOT/app/frontend/package.json" "$ROOT/app/frontend/package-lock.json" "$tmp_npm/project/"
    (cd "$tmp_npm/project" && npm ci --cache="$tmp_npm/cache" --ignore-scripts --no-audit --no-fund --loglevel=error)
    printf '%s\n' "$npm_stamp" > "$tmp_npm/cache/.stamp"
    rm -rf "$npm_cache"
    mv "$tmp_npm/cache" "$npm_cache"
  fi
}
[ "$prod_profile" = 1 ] && prepare_prod_builds

# docker-compose 1.29 reads every service's env_file, also those of a profile not started: the dev profile, which
# uses neither, runs without them.
if [ "$prod_profile" = 0 ]; then
  [ -f "${CAMS_ENV_FILE:-$ROOT/.env}" ] || export CAMS_ENV_FILE="$ROOT/.env.example"
  [ -f "${CAMS_FRONTEND_ENV_FILE:-$ROOT/.env.frontend}" ] || export CAMS_FRONTEND_ENV_FILE="$ROOT/.env.frontend.example"
fi

exec docker-compose -f "$ROOT/docker-compose.yml" "$@"
