#!/usr/bin/env bash
# Make sure a working Docker engine is available on this machine.
#
#   scripts/ensure-docker.sh
#
# Idempotent:
#   * installs docker.io (+ docker-compose) with apt-get when `docker`/`dockerd` are missing
#     (Debian/Ubuntu only; on other systems install Docker yourself, e.g. Docker Desktop);
#   * if the engine does not answer, starts it: via systemctl when systemd is PID 1,
#     otherwise `dockerd` in the background (logs: /var/log/dockerd.log);
#   * waits (bounded, DOCKER_WAIT_SECONDS, default 60) until `docker info` succeeds.
#
# Env: DOCKER_WAIT_SECONDS (default 60), DOCKERD_LOG (default /var/log/dockerd.log).
set -euo pipefail

WAIT_SECONDS="${DOCKER_WAIT_SECONDS:-60}"
DOCKERD_LOG="${DOCKERD_LOG:-/var/log/dockerd.log}"

log() { printf '[ensure-docker] %s\n' "$*"; }
die() { printf '[ensure-docker] ERROR: %s\n' "$*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
fi

engine_up() { docker info >/dev/null 2>&1 || $SUDO docker info >/dev/null 2>&1; }

# 1. install
if ! command -v docker >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 \
    || die "docker is not installed and apt-get is not available: install Docker (or Docker Desktop) yourself"
  log "installing docker.io and docker-compose with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends docker.io docker-compose
else
  log "docker client present: $(docker --version)"
  if ! command -v docker-compose >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1 \
     && command -v apt-get >/dev/null 2>&1; then
    log "installing docker-compose with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q --no-install-recommends docker-compose || log "docker-compose install failed (not fatal)"
  fi
fi

# 2. start
if engine_up; then
  log "docker engine is already running"
  exit 0
fi

if [ "$(cat /proc/1/comm 2>/dev/null || true)" = "systemd" ] && command -v systemctl >/dev/null 2>&1; then
  log "starting docker with systemctl"
  $SUDO systemctl enable --now docker.service \
    || $SUDO systemctl start docker.service \
    || die "systemctl could not start docker.service (see: journalctl -u docker)"
else
  command -v dockerd >/dev/null 2>&1 || die "dockerd not found; cannot start the engine"
  if pgrep -x dockerd >/dev/null 2>&1; then
    log "dockerd process exists but does not answer yet; waiting for it"
  else
    log "systemd is not PID 1: starting dockerd in the background (log: $DOCKERD_LOG)"
    # stale pid file from a previous, killed dockerd prevents start-up
    if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid 2>/dev/null)" 2>/dev/null; then
      $SUDO rm -f /var/run/docker.pid
    fi
    $SUDO sh -c "nohup dockerd >>'$DOCKERD_LOG' 2>&1 </dev/null &"
  fi
fi

# 3. wait (bounded)
log "waiting up to ${WAIT_SECONDS}s for the engine"
deadline=$(( $(date +%s) + WAIT_SECONDS ))
until engine_up; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    [ -f "$DOCKERD_LOG" ] && { echo "---- last lines of $DOCKERD_LOG ----" >&2; tail -n 20 "$DOCKERD_LOG" >&2 || true; }
    die "docker engine did not answer within ${WAIT_SECONDS}s"
  fi
  sleep 1
done
log "docker engine is up ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
