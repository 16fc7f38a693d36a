"""The environments, their branches and inventories (the contract of docs in /work/helpers/ops-interface.md).

Minimal stand-in until the shared module lands; the branch map's one home is cams_environment_branches in
roles/cams/defaults/main.yml."""
import os
import pathlib

REPOSITORY = pathlib.Path(__file__).resolve().parents[1]
_BRANCHES = {"dev": "develop", "staging": "staging", "prod": "main"}
ENVIRONMENTS = tuple(_BRANCHES)


def branch_of(env: str) -> str:
    return _BRANCHES[env]


def environment_of_branch(branch: str) -> str:
    return {b: env for env, b in _BRANCHES.items()}[branch]


def inventory_of(env: str) -> pathlib.Path:
    return pathlib.Path(os.environ.get(f"CAMS_INVENTORY_{env.upper()}") or REPOSITORY / "inventories" / env)
