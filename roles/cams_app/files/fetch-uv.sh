#!/usr/bin/env bash
# Fetches uv's binary for the app hosts' platform, from its wheel on PyPI, as DEST (written atomically). Hosts build
# the releases' virtualenvs with it (tasks/venv.yml); it needs no Python of its own, so any target's will do here.
#   fetch-uv.sh DEST VERSION PYTHON_VERSION PLATFORM...
set -euo pipefail
dest=$1 version=$2 python_version=$3
shift 3

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf 'uv==%s\n' "$version" >"$work/requirements.txt"
"$(dirname "${BASH_SOURCE[0]}")/download-wheels.sh" "$work/wheel" "$work/requirements.txt" "$python_version" "$@"
python3 - "$work"/wheel/uv-*.whl "uv-$version.data/scripts/uv" "$work/uv" <<'PY'
import sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as archive, open(out, "wb") as binary:
    binary.write(archive.read(member))
PY
chmod 0755 "$work/uv"
mkdir -p "$(dirname "$dest")"
mv "$work/uv" "$dest"
