#!/usr/bin/env bash
# CI's deploy of a pushed commit to the environment its branch feeds (develop -> dev, staging -> staging,
# main -> prod), run by .github/workflows/ci.yml once the commit's tests passed (docs/pipeline.md).
#   scripts/deploy-pushed-commit.sh ENV SHA
# Deploys SHA only while it is still the tip of the environment's branch on origin: an older commit whose tests
# finished late never overwrites a newer deploy; it exits 0 without deploying, since the newer commit's own run
# deploys that one. Otherwise runs playbooks/deploy.yml for SHA, which reuses the tested artifact in .artifacts/.
# Environment:
#   CAMS_SSH_KEY        private key of the environment's CI operator, held by an ssh-agent of this run only
#   CAMS_KNOWN_HOSTS    the environment's pinned host keys (known_hosts lines): an unknown or changed key stops ssh
#   CAMS_VAULT_PASSWORD the environment's vault password (handed to scripts/vault-password-client as
#                       CAMS_VAULT_PASSWORD_<ENV>, which it reads)
#   GITHUB_RUN_ID, GITHUB_ACTOR  name the deploy (CAMS_DEPLOYED_BY); GitHub Actions sets them
#   GITHUB_TOKEN        optional: lets git read a private origin; nothing after that check sees it
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: $0 dev|staging|prod SHA   (SHA: the full 40-hex commit id)" >&2
  exit 2
}
[ $# -eq 2 ] || usage
environment=$1 sha=$2
# The branch the environment tracks, from its one home (cams_environment_branches, through ops.environments).
branch=$(.venv/bin/python -c 'import ops.environments as e, sys; print(e.branch_of(sys.argv[1]))' "$environment" \
  2>/dev/null) || usage
[[ $sha =~ ^[0-9a-f]{40}$ ]] || usage

origin_tip() {
  local credentials=()
  # shellcheck disable=SC2016  # git's credential helper expands $GITHUB_TOKEN itself: the token stays off argv.
  [ -z "${GITHUB_TOKEN:-}" ] ||
    credentials=(-c 'credential.helper=!f() { echo username=x-access-token; echo "password=$GITHUB_TOKEN"; }; f')
  git "${credentials[@]}" ls-remote --exit-code origin "refs/heads/$branch" | cut -f1
}
if ! tip=$(origin_tip); then
  echo "deploy-pushed-commit: cannot read the tip of $branch from origin: not deploying" >&2
  exit 1
fi
unset GITHUB_TOKEN
if [ "$tip" != "$sha" ]; then
  echo "deploy-pushed-commit: not deploying $sha to $environment: $branch has moved on to $tip, whose own run deploys it"
  exit 0
fi

: "${CAMS_SSH_KEY:?the private key of the $environment CI operator}"
: "${CAMS_KNOWN_HOSTS:?the pinned host keys of $environment (known_hosts lines)}"
work=$(mktemp -d)
eval "$(ssh-agent -s -a "$work/agent.sock")" >/dev/null
trap 'ssh-agent -k >/dev/null; rm -rf "$work"' EXIT
printf '%s\n' "$CAMS_SSH_KEY" | ssh-add -q -  # through a pipe: the key never touches the disk
unset CAMS_SSH_KEY
printf '%s\n' "$CAMS_KNOWN_HOSTS" >"$work/known_hosts"
if [ -n "${CAMS_VAULT_PASSWORD:-}" ]; then
  export "CAMS_VAULT_PASSWORD_${environment^^}=$CAMS_VAULT_PASSWORD"
  unset CAMS_VAULT_PASSWORD
fi
export ANSIBLE_HOST_KEY_CHECKING=true
export ANSIBLE_SSH_EXTRA_ARGS="-o StrictHostKeyChecking=yes -o UserKnownHostsFile=$work/known_hosts -o GlobalKnownHostsFile=/dev/null"
# The operator every environment's hosts list (ssh_access_operators) with that environment's CI key.
export ANSIBLE_REMOTE_USER=cams-ci
export CAMS_DEPLOYED_BY="github-actions run ${GITHUB_RUN_ID:?set by GitHub Actions}, pushed by ${GITHUB_ACTOR:?set by GitHub Actions}"

echo "deploy-pushed-commit: deploying $sha, the tip of $branch, to $environment"
.venv/bin/ansible-playbook -i "inventories/$environment" playbooks/deploy.yml -e "cams_app_ref=$sha"
