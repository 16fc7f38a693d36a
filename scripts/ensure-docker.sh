#!/usr/bin/env bash
# Make sure a working Docker engine is available on this machine.
#
#   scripts/ensure-docker.sh
#
# Idempotent:
#   * installs docker.io (+ docker-compose) with apt-get when the engine (`dockerd`) is missing, whether or not
#     a `docker` client is present (Debian/Ubuntu only; elsewhere install Docker yourself, e.g. Docker Desktop);
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
# Debian installs dockerd in /usr/sbin, outside a user's PATH: look with root's (sudo's secure_path) too.
dockerd_installed() { command -v dockerd >/dev/null 2>&1 || { [ -n "$SUDO" ] && $SUDO sh -c 'command -v dockerd' >/dev/null 2>&1; }; }

# 1. install: a machine may ship the docker client without the engine (dockerd); both come with docker.io.
install_with_apt() {
  command -v apt-get >/dev/null 2>&1 \
    || die "$1 and apt-get is not available: install the Docker engine (or Docker Desktop) yourself"
  log "$1: installing $2 with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  # shellcheck disable=SC2086  # $2 is a list of package names
  $SUDO apt-get install -y -q --no-install-recommends $2
}
if ! command -v docker >/dev/null 2>&1 || { ! dockerd_installed && ! engine_up; }; then
  install_with_apt "the docker engine (dockerd) is not installed" "docker.io docker-compose"
elif ! command -v docker-compose >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1; then
  # Only the compose dev stack needs it: not fatal.
  (install_with_apt "docker-compose is not installed" "docker-compose") || log "docker-compose install failed (not fatal)"
fi
log "docker client: $(docker --version)"

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
  dockerd_installed || die "dockerd not found; cannot start the engine"
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
