#!/usr/bin/env bash
# Downloads binary wheels for a requirements file, for a target interpreter and platform rather than this
# machine's (targets have no package index; they install only from these wheels).
#   download-wheels.sh DEST_DIR REQUIREMENTS_FILE PYTHON_VERSION PLATFORM...     (PYTHON: pip's Python, default python3)
set -euo pipefail
dest=$1 requirements=$2 python_version=$3
shift 3

platform_args=()
for platform in "$@"; do platform_args+=(--platform "$platform"); done
"${PYTHON:-python3}" -m pip download --quiet --disable-pip-version-check --only-binary=:all: --implementation cp \
  --python-version "$python_version" "${platform_args[@]}" --dest "$dest" --requirement "$requirements"
