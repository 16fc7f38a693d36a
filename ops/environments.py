"""The environments, the branches they track and where their inventories and vault passwords are."""
import os
import pathlib
import re

import yaml

REPOSITORY = pathlib.Path(__file__).resolve().parents[1]
# The branch map's one home; Ansible derives cams_app_branch from it.
_BRANCHES = yaml.safe_load((REPOSITORY / "roles" / "cams" / "defaults" / "main.yml").read_text())[
    "cams_environment_branches"]
# In promotion order: dev, staging, prod.
ENVIRONMENTS = tuple(_BRANCHES)


def branch_of(env: str) -> str:
    return _BRANCHES[env]


def environment_of_branch(branch: str) -> str:
    for env, tracked in _BRANCHES.items():
        if tracked == branch:
            return env
    raise KeyError(f"no environment tracks branch {branch!r} (cams_environment_branches: {_BRANCHES})")


def inventory_of(env: str) -> pathlib.Path:
    """inventories/<env>, or the inventory CAMS_INVENTORY_<ENV> names (how tests point a command at other hosts)."""
    return pathlib.Path(os.environ.get(f"CAMS_INVENTORY_{env.upper()}") or REPOSITORY / "inventories" / env)


_VAULT_HEADER = re.compile(r"\$ANSIBLE_VAULT;[0-9.]+;AES256(?:;([\w.-]+))?")


def missing_vault_passwords(inventory: pathlib.Path) -> list:
    """The vault ids the inventory's files are encrypted under that this machine has no password for, where
    scripts/vault-password-client looks: CAMS_VAULT_PASSWORD_<ID> or .vault/<id>.pass (without one the client hands
    Ansible a throwaway value, and decryption fails)."""
    vault_ids = set()
    for path in pathlib.Path(inventory).rglob("*"):
        if path.is_file() and path.suffix in ("", ".yml", ".yaml", ".json"):
            vault_ids.update(match or "default" for match in _VAULT_HEADER.findall(path.read_text(errors="replace")))
    return sorted(vault_id for vault_id in vault_ids if not (
        os.environ.get(f"CAMS_VAULT_PASSWORD_{vault_id.upper()}") or (REPOSITORY / ".vault" / f"{vault_id}.pass").is_file()))
