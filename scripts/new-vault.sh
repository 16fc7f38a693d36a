#!/usr/bin/env bash
# Creates an environment's encrypted vault with fresh random secrets, or adds the secrets an existing one lacks:
#   scripts/new-vault.sh <dev|staging|prod|local> [--force]
# Writes .vault/<env>.pass (the vault password, mode 0600, never committed: keep it in your password manager)
# and inventories/<env>/group_vars/all/vault.yml encrypted under vault id <env>. An existing vault keeps every
# secret it has (a newer checkout may add some); --force replaces them all: rotating secrets of a live environment
# is a deliberate act.
set -euo pipefail
cd "$(dirname "$0")/.."

env_name=${1:?usage: scripts/new-vault.sh <dev|staging|prod|local> [--force]}
force=${2:-}
vault_file="inventories/$env_name/group_vars/all/vault.yml"
password_file=".vault/$env_name.pass"
[ -d "inventories/$env_name" ] || { echo "new-vault: no inventory inventories/$env_name" >&2; exit 2; }

ansible_vault=${ANSIBLE_VAULT:-ansible-vault}
command -v "$ansible_vault" >/dev/null || ansible_vault=.venv/bin/ansible-vault
secrets=(vault_cams_app_secret_key vault_cams_app_jwt_auth_secret vault_cams_database_password
         vault_cams_backup_cipher_pass)

random() { python3 -c 'import secrets; print(secrets.token_urlsafe(48))'; }

umask 077
mkdir -p .vault
[ -s "$password_file" ] || random > "$password_file"
plain=$(mktemp)
trap 'rm -f "$plain"' EXIT
if [ -e "$vault_file" ] && [ "$force" != "--force" ]; then
  "$ansible_vault" decrypt --vault-id "$env_name@$password_file" --output "$plain" "$vault_file"
else
  echo "---" > "$plain"
fi
added=()
for name in "${secrets[@]}"; do
  grep -q "^$name:" "$plain" || { echo "$name: \"$(random)\"" >> "$plain"; added+=("$name"); }
done
if [ ${#added[@]} -eq 0 ]; then
  echo "new-vault: $vault_file has every secret; nothing changed (--force replaces them all)"
  exit 0
fi
"$ansible_vault" encrypt --vault-id "$env_name@$password_file" --encrypt-vault-id "$env_name" \
  --output "$vault_file" "$plain"
chmod 0644 "$vault_file"
echo "new-vault: wrote $vault_file (vault id $env_name, password in $password_file): ${added[*]}"
