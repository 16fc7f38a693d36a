#!/usr/bin/env bash
# Builds one release artifact: the app source of a git tree, the React production build and a manifest, as
# OUT_DIR/cams-<release id>.tar.gz (written atomically), and beside it a wheelhouse for each target Python,
# OUT_DIR/wheels-<key>.tar, which the manifest names with its SHA-256. Releases with the same requirements share their
# wheelhouses, and a host that already has the virtualenv of one is not sent it.
#   build-artifact.sh REPO_DIR APP_TREE RELEASE_ID SHA BRANCH OUT_DIR PYTHON_VERSIONS PLATFORM...
# PYTHON_VERSIONS: comma separated, e.g. 3.11,3.13.
# The wheelhouses are keyed by what they are made from (the requirements and target), and the React build and its
# node_modules, kept in OUT_DIR/cache, by the frontend's git tree and by its lock file and Node: a release that
# changes neither reuses them, with no index, no npm and no build. Cache entries unused for CACHE_DAYS (14) days go
# (wheelhouses stay, with the artifacts that name them).
set -euo pipefail
repo=$1 tree=$2 release_id=$3 sha=$4 branch=$5 out_dir=$6 python_versions=$7
shift 7
platforms=("$@")
cache=$out_dir/cache

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT  # a failed part stops the others
stage=$work/cams-$release_id
mkdir -p "$stage/app" "$cache"

git -C "$repo" archive --format=tar "$tree" | tar -x -C "$stage/app" --anchored --exclude=frontend

# cached DIRECTORY KEY COMMAND...: copies cache entry KEY into DIRECTORY, made first by COMMAND (which fills
# DIRECTORY) unless the cache has it. An entry appears whole or not at all.
cached() {
  local directory=$1 entry=$cache/$2
  shift 2
  mkdir -p "$(dirname "$directory")"
  if [ ! -d "$entry" ]; then
    "$@"
    cp -a "$directory" "$entry.partial.$$"
    mv -T "$entry.partial.$$" "$entry" 2>/dev/null || rm -rf "$entry.partial.$$"  # a concurrent build made it first
  else
    cp -a "$entry" "$directory"
  fi
  touch "$entry"
}

# Targets have no package index: every runtime dependency ships as a wheel built for their interpreter, one
# wheelhouse per Python version (binary wheels only, so no target Python is needed here). Tarred reproducibly (sorted,
# no times or owners) and uncompressed: wheels are zip files already.
wheelhouse() {
  local python_version=$1 archive=$2
  if [ ! -f "$archive" ]; then
    "$(dirname "${BASH_SOURCE[0]}")/download-wheels.sh" "$work/wheels-$python_version" "$stage/app/requirements.txt" \
      "$python_version" "${platforms[@]}"
    tar -C "$work/wheels-$python_version" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
      -cf "$archive.partial.$$" .
    mv -f "$archive.partial.$$" "$archive"  # a concurrent build of the same key made the same bytes
  fi
}

# Each wheelhouse and the React build are made at the same time: they wait on the index and npm more than on a core.
parts=()
wheelhouses=()  # version=file name, for the manifest
IFS=, read -r -a python_versions <<<"$python_versions"
for python_version in "${python_versions[@]}"; do
  wheelhouse_name=wheels-$(printf '%s\n' "$python_version" "${platforms[@]}" | cat - "$stage/app/requirements.txt" \
    | sha256sum | cut -c1-32).tar
  wheelhouses+=("$python_version=$wheelhouse_name")
  wheelhouse "$python_version" "$out_dir/$wheelhouse_name" &
  parts+=($!)
done

# The dashboard is built here; hosts only serve its output. Its node_modules is kept too, keyed by the lock file and
# Node's version (npm ci takes most of a frontend build, and the dependencies change far less often than the sources).
install_node_modules() {
  (cd "$work/frontend" && npm ci --no-audit --no-fund --loglevel=error)
}
build_frontend() {
  git -C "$repo" archive --format=tar "$tree:frontend" | (mkdir "$work/frontend" && tar -x -C "$work/frontend")
  cached "$work/frontend/node_modules" \
    "node_modules-$(node --version | cat - "$work/frontend/package-lock.json" | sha256sum | cut -c1-32)" install_node_modules
  (cd "$work/frontend" && npm run build --silent)
  mv "$work/frontend/dist" "$stage/dist"
}
cached "$stage/dist" "frontend-$(git -C "$repo" rev-parse "$tree:frontend")" build_frontend &
parts+=($!)
for part in "${parts[@]}"; do wait "$part"; done  # each one's failure fails the build (set -e)
find "$cache" -mindepth 1 -maxdepth 1 -mtime +"${CACHE_DAYS:-14}" -exec rm -rf {} +

python3 - "$stage" "$release_id" "$sha" "$branch" "$out_dir" "${wheelhouses[@]}" <<'PY'
import datetime, getpass, hashlib, json, pathlib, socket, sys
stage, release_id, sha, branch, out_dir, *wheelhouses = sys.argv[1:]
root = pathlib.Path(stage)
checksums = {
    str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
    for path in sorted(root.rglob("*")) if path.is_file()
}
manifest = {
    "release_id": release_id, "sha": sha, "branch": branch,
    # Python version (major.minor) -> its wheelhouse beside the manifest: a host installs from the one of its
    # interpreter, once it matches this SHA-256.
    "wheelhouses": {
        version: {"archive": name, "sha256": hashlib.sha256((pathlib.Path(out_dir) / name).read_bytes()).hexdigest()}
        for version, name in (wheelhouse.split("=", 1) for wheelhouse in wheelhouses)
    },
    "built_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "built_by": f"{getpass.getuser()}@{socket.gethostname()}", "checksums": checksums,
}
(root / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
PY

# Owned by root whoever builds it, so that no host user can own release code by uid coincidence.
tar -C "$stage" --owner=0 --group=0 --numeric-owner -czf "$work/artifact.tar.gz" .
cp "$stage/manifest.json" "$out_dir/cams-$release_id.json"
mv "$work/artifact.tar.gz" "$out_dir/cams-$release_id.tar.gz"
