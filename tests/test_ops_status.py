"""python -m ops status and lock, where no host is needed: argument handling, the all-environments view against a
throwaway clone with a bare origin, environments that cannot be read (no vault password, a wrong one, no host
answering). What the hosts answer is tested on real ones: molecule/prod/tests/test_prod.py."""
import json
import os
import pathlib
import subprocess
import sys

import pytest
import yaml

REPOSITORY = pathlib.Path(__file__).resolve().parents[1]
ENVIRONMENTS = ("dev", "staging", "prod")
# TEST-NET-1 (RFC 5737): routed nowhere, so SSH to it fails at once or after the connect timeout.
NOWHERE = "192.0.2.1"


def ops(*args, env=None):
    return subprocess.run([sys.executable, "-m", "ops", *args], capture_output=True, text=True, cwd=REPOSITORY,
                          env={**os.environ, **(env or {})})


def git(repository, *args):
    subprocess.run(["git", "-C", str(repository), "-c", "user.name=test", "-c", "user.email=test@example.com", *args],
                   check=True, capture_output=True, text=True)


def unreachable_inventory(path, environment, hosts=1):
    """An inventory whose hosts answer nowhere, with the values role cams requires (no vault)."""
    (path / "group_vars" / "all").mkdir(parents=True)
    names = [f"{environment}-{n}" for n in range(1, hosts + 1)]
    (path / "hosts.yml").write_text(yaml.safe_dump({"all": {
        "hosts": {name: {"ansible_host": NOWHERE, "ansible_ssh_common_args": "-o ConnectTimeout=3"} for name in names},
        "children": {"appservers": {"hosts": {names[0]: None}}, "webservers": {"hosts": {names[0]: None}},
                     "dbservers": {"hosts": {names[-1]: None}}}}}))
    (path / "group_vars" / "all" / "main.yml").write_text(yaml.safe_dump({
        "cams_environment": environment, "cams_public_hostnames": [f"{environment}.example.com"],
        "cams_database_password": "unused", "cams_backup_cipher_pass": "unused"}))
    return path


def vaulted_inventory(path, environment):
    """An unreachable inventory that also holds a vault, encrypted under the environment's vault id."""
    unreachable_inventory(path, environment)
    password = path.parent / f"{environment}-vault.pass"
    password.write_text("the right password\n")
    vault = path / "group_vars" / "all" / "vault.yml"
    vault.write_text("vault_cams_database_password: secret\n")
    subprocess.run([str(REPOSITORY / ".venv" / "bin" / "ansible-vault"), "encrypt", "--vault-id",
                    f"{environment}@{password}", str(vault)], check=True, capture_output=True, cwd=path)
    return path


@pytest.fixture
def no_vault_passwords(monkeypatch):
    for environment in ENVIRONMENTS:
        if (REPOSITORY / ".vault" / f"{environment}.pass").exists():
            pytest.skip(f".vault/{environment}.pass exists on this machine")
        monkeypatch.delenv(f"CAMS_VAULT_PASSWORD_{environment.upper()}", raising=False)


@pytest.fixture
def clone(tmp_path):
    """A clone whose bare origin has main, staging one commit ahead of it, develop two ahead of staging."""
    origin, clone = tmp_path / "origin.git", tmp_path / "clone"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True, capture_output=True)
    git(clone, "commit", "-q", "--allow-empty", "-m", "in every environment")
    git(clone, "push", "-q", "origin", "HEAD:main")
    git(clone, "commit", "-q", "--allow-empty", "-m", "tested in staging")
    git(clone, "push", "-q", "origin", "HEAD:staging")
    git(clone, "commit", "-q", "--allow-empty", "-m", "first on develop")
    git(clone, "commit", "-q", "--allow-empty", "-m", "second on develop")
    git(clone, "push", "-q", "origin", "HEAD:develop")
    return clone


@pytest.mark.parametrize("argv, complaint", [
    (["status", "nowhere"], "invalid choice: 'nowhere'"),
    (["status", "--inventory", "inventories/dev"], "--inventory needs an ENV"),
    (["lock", "staging", "acquire"], 'acquire needs -m "why"'),
    (["lock", "staging", "acquire", "-m", "  "], 'acquire needs -m "why"'),
    (["lock", "staging", "status", "-m", "why"], "-m goes with acquire"),
    (["lock", "staging", "acquire", "-m", "why", "--force"], "--force goes with release"),
    (["lock", "staging"], "the following arguments are required"),
    (["logs"], "the following arguments are required: ENV"),
    (["logs", "prod", "--service", "mail"], "invalid choice: 'mail'"),
])
def test_usage_errors_exit_2_and_say_what_is_wrong(argv, complaint):
    refused = ops(*argv)
    assert refused.returncode == 2 and complaint in refused.stderr, refused.stderr


def test_the_all_environments_view_shows_the_branches_and_every_environment_that_cannot_be_read(
        tmp_path, clone, no_vault_passwords):
    inventories = {"dev": unreachable_inventory(tmp_path / "dev", "dev"),
                   "staging": vaulted_inventory(tmp_path / "staging", "staging"),
                   "prod": unreachable_inventory(tmp_path / "prod", "prod", hosts=3)}
    env = {f"CAMS_INVENTORY_{name.upper()}": str(path) for name, path in inventories.items()}
    answer = ops("status", "--json", "--repository", str(clone), env=env)
    assert answer.returncode == 1, answer.stderr
    view = json.loads(answer.stdout)

    tips = {name: subprocess.run(["git", "-C", str(clone), "rev-parse", f"origin/{branch}"], capture_output=True,
                                 text=True).stdout.strip()
            for name, branch in (("dev", "develop"), ("staging", "staging"), ("prod", "main"))}
    assert view["branches"]["tips"] == tips
    carried = {(d["branch"], d["not_in"]): [line.split(" ", 1)[1] for line in d["commits"]]
               for d in view["branches"]["differences"]}
    assert carried == {("develop", "staging"): ["second on develop", "first on develop"],
                       ("staging", "main"): ["tested in staging"]}

    environments = view["environments"]
    assert not any(status["healthy"] or status["reachable"] for status in environments.values())
    assert "no host answers" in environments["dev"]["error"] and "dev-1" in environments["dev"]["error"]
    assert "and 2 other hosts" in environments["prod"]["error"]
    assert "no password" in environments["staging"]["error"] and ".vault/staging.pass" in environments["staging"]["error"]
    for status in environments.values():
        assert "Next: " in status["error"], status["error"]

    text = ops("status", "--repository", str(clone), env=env)
    assert text.returncode == 1
    assert "develop has, staging has not: 2 commits:" in text.stdout and "tested in staging" in text.stdout
    for name in ENVIRONMENTS:
        row = next(line for line in text.stdout.splitlines() if line.startswith(f"{name} "))
        assert tips[name][:10] in row and "cannot be read" in row, row
    assert "secret" not in text.stdout + text.stderr


def test_a_vault_password_that_does_not_decrypt_is_said_so(tmp_path, no_vault_passwords):
    inventory = vaulted_inventory(tmp_path / "staging", "staging")
    answer = ops("status", "staging", "--inventory", str(inventory), env={"CAMS_VAULT_PASSWORD_STAGING": "wrong"})
    assert answer.returncode == 1
    assert answer.stdout.startswith("staging: cannot be read:") and "Decryption failed" in answer.stdout
    assert "Next: " in answer.stdout


def test_without_a_remote_the_view_says_so_and_still_shows_the_environments(tmp_path, clone):
    git(clone, "remote", "remove", "origin")
    env = {f"CAMS_INVENTORY_{name.upper()}": str(unreachable_inventory(tmp_path / name, name)) for name in ENVIRONMENTS}
    answer = ops("status", "--repository", str(clone), env=env)
    assert answer.returncode == 1
    assert f"{clone} has no remote 'origin'" in answer.stdout and "git -C" in answer.stdout
    assert [line.split()[0] for line in answer.stdout.splitlines()[1:4]] == list(ENVIRONMENTS)


def test_one_environment_whose_hosts_do_not_answer_exits_1_with_the_next_step(tmp_path):
    inventory = unreachable_inventory(tmp_path / "dev", "dev", hosts=2)
    answer = ops("status", "dev", "--json", "--inventory", str(inventory))
    assert answer.returncode == 1
    status = json.loads(answer.stdout)
    assert (status["environment"], status["healthy"], status["reachable"]) == ("dev", False, False)
    assert "dev-1" in status["problems"][0] and "ansible.builtin.ping" in status["problems"][0]
    assert "ansible-playbook" in answer.stderr and "playbooks/status.yml" in answer.stderr, "progress on stderr"
