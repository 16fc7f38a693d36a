#!/usr/bin/env bash
# Prints, as JSON, what a ref of the repository would deploy: the commit, and the git tree of app/ that keys the
# artifact (so unchanged app content resolves to the same release id on every branch).
#   resolve-ref.sh REPO_DIR REF      REF is a branch, tag or commit, or WORKTREE for the working tree as it is.
set -euo pipefail
repo=$1 ref=$2
cd "$repo"

if [ "$ref" = WORKTREE ]; then
  # Snapshot tracked and untracked-but-not-ignored files through a throwaway index; the real index is untouched.
  index=$(mktemp)
  trap 'rm -f "$index"' EXIT
  export GIT_INDEX_FILE=$index
  git read-tree HEAD
  git add -A -- app
  snapshot=$(git write-tree)
  unset GIT_INDEX_FILE
  sha=$(git rev-parse HEAD)
  tree=$(git rev-parse "$snapshot:app")
  [ "$tree" = "$(git rev-parse HEAD:app 2>/dev/null || true)" ] || sha="$sha-dirty"
else
  if ! commit=$(git rev-parse --verify --quiet "$ref^{commit}"); then
    echo "resolve-ref: '$ref' is not a branch, tag or commit of $repo (fetch it, or pass -e cams_app_ref=...)" >&2
    exit 1
  fi
  sha=$commit
  tree=$(git rev-parse "$commit:app")
fi

printf '{"ref": "%s", "sha": "%s", "tree": "%s", "id": "%s"}\n' "$ref" "$sha" "$tree" "${tree:0:12}"
