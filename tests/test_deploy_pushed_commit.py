"""scripts/deploy-pushed-commit.sh, CI's deploy of a pushed commit: it deploys only the branch's tip, through the
real playbooks/deploy.yml, reusing the artifact in .artifacts/. Each test runs the script in a clone of this
repository pushed to a throwaway bare `origin`, whose dev host is an address where nothing listens."""
import os
import pathlib
import re
import shutil
import socket
import subprocess

import pytest

PROJECT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = "scripts/deploy-pushed-commit.sh"


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def checkout(tmp_path):
    """A CI checkout: this repository (its script as in the working tree), on `develop` with dev's encrypted vault
    committed, pushed to a bare origin, with the tested artifact of its commit in .artifacts/ as the workflow
    downloads it. Dev's vault password is kept beside it in dev.pass, as GitHub keeps it in an environment secret."""
    origin, work = tmp_path / "origin.git", tmp_path / "work"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    subprocess.run(["git", "clone", "-q", str(PROJECT), str(work)], check=True)
    git(work, "checkout", "-q", "-B", "develop")
    shutil.copy2(PROJECT / SCRIPT, work / SCRIPT)
    (work / "inventories/dev/hosts.yml").write_text(
        f"all:\n  hosts:\n    cams-dev-01:\n      ansible_host: 127.0.0.1\n      ansible_port: {closed_port()}\n"
        "  children:\n    dbservers:\n      hosts:\n        cams-dev-01:\n"
        "    appservers:\n      hosts:\n        cams-dev-01:\n    webservers:\n      hosts:\n        cams-dev-01:\n"
    )
    (work / ".venv").symlink_to((PROJECT / ".venv").resolve())
    subprocess.run([str(work / "scripts/new-vault.sh"), "dev"], check=True, capture_output=True)
    (work / ".vault/dev.pass").rename(tmp_path / "dev.pass")
    git(work, "add", "-A")
    git(work, "-c", "user.name=ci", "-c", "user.email=ci@example.invalid", "commit", "-q", "--allow-empty",
        "-m", "dev host where nothing listens")
    git(work, "remote", "set-url", "origin", str(origin))
    git(work, "push", "-q", "origin", "develop")
    release_id = git(work, "rev-parse", "HEAD:app")[:12]
    (work / ".artifacts").mkdir()
    (work / f".artifacts/cams-{release_id}.tar.gz").write_text("stands in for the artifact CI tested\n")
    return work


@pytest.fixture
def ci_environment(tmp_path, checkout):
    """What the workflow's deploy step passes: the environment's secrets and the run's names."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "ci_key")], check=True)
    host_key = (tmp_path / "ci_key.pub").read_text().split()
    return {
        "CAMS_SSH_KEY": (tmp_path / "ci_key").read_text(),
        "CAMS_KNOWN_HOSTS": f"127.0.0.1 {host_key[0]} {host_key[1]}",
        "CAMS_VAULT_PASSWORD": (tmp_path / "dev.pass").read_text().strip(),
        "GITHUB_RUN_ID": "4242",
        "GITHUB_ACTOR": "alice",
    }


def deploy(repo, *args, environment=None):
    inherited = {name: value for name, value in os.environ.items()
                 if not name.startswith(("ANSIBLE_", "CAMS_", "GITHUB_", "SSH_"))}
    return subprocess.run(
        [str(repo / SCRIPT), *args], capture_output=True, text=True, cwd="/",
        env={**inherited, "ANSIBLE_NOCOLOR": "1", **(environment or {})},
    )


def test_the_tip_is_deployed_with_the_artifact_ci_tested(checkout, ci_environment):
    sha, release_id = git(checkout, "rev-parse", "HEAD"), git(checkout, "rev-parse", "HEAD:app")[:12]
    # Mitogen logs the ssh command lines it runs at its DEBUG level only.
    result = deploy(checkout, "dev", sha, environment={**ci_environment, "ANSIBLE_VERBOSITY": "3",
                                                          "MITOGEN_LOG_LEVEL": "DEBUG"})
    assert f"deploying {sha}, the tip of develop, to dev" in result.stdout
    # The real deploy playbook ran with dev's vault: it reused the downloaded artifact (its build task did nothing),
    # then went for the host.
    build_task = rf"TASK \[cams_app : Build the artifact of release {release_id}\]"
    build = re.search(build_task + r".*?\n(ok|changed|skipping|fatal)", result.stdout, re.DOTALL)
    assert build and build.group(1) == "skipping", result.stdout
    assert re.search(r"localhost +: ok=\d+ +changed=0 .*failed=0", result.stdout)
    assert "cams-dev-01]: UNREACHABLE" in result.stdout and "Connection refused" in result.stdout
    # ssh went as the CI operator, trusting only the pinned host keys.
    ssh = next(line for line in result.stdout.splitlines()
               if "command line for" in line and ": ssh " in line and " 127.0.0.1 " in line)
    assert " -l cams-ci " in ssh, ssh
    assert re.search(r"-o StrictHostKeyChecking=yes -o UserKnownHostsFile=\S+ -o GlobalKnownHostsFile=/dev/null", ssh)
    assert result.returncode != 0


def test_a_commit_the_branch_moved_past_is_not_deployed(checkout):
    stale = git(checkout, "rev-parse", "HEAD")
    git(checkout, "-c", "user.name=ci", "-c", "user.email=ci@example.invalid", "commit", "-q", "--allow-empty",
        "-m", "a newer push")
    git(checkout, "push", "-q", "origin", "develop")
    tip = git(checkout, "rev-parse", "HEAD")
    git(checkout, "checkout", "-q", "--detach", stale)

    result = deploy(checkout, "dev", stale)
    assert result.returncode == 0, result.stderr
    assert f"not deploying {stale} to dev: develop has moved on to {tip}" in result.stdout
    assert "PLAY" not in result.stdout


def test_an_unreadable_branch_tip_stops_the_deploy(checkout, ci_environment):
    sha = git(checkout, "rev-parse", "HEAD")
    result = deploy(checkout, "staging", sha, environment=ci_environment)  # origin has no branch staging
    assert result.returncode == 1
    assert "cannot read the tip of staging from origin" in result.stderr
    assert "PLAY" not in result.stdout


def test_no_deploy_without_pinned_host_keys(checkout, ci_environment):
    sha = git(checkout, "rev-parse", "HEAD")
    result = deploy(checkout, "dev", sha, environment={**ci_environment, "CAMS_KNOWN_HOSTS": ""})
    assert result.returncode != 0
    assert "the pinned host keys of dev" in result.stderr
    assert "PLAY" not in result.stdout


@pytest.mark.parametrize("args", [("qa", "0" * 40), ("dev", "HEAD"), ("dev",)])
def test_anything_but_an_environment_and_a_full_sha_is_a_usage_error(args):
    result = deploy(PROJECT, *args)
    assert result.returncode == 2
    assert "usage:" in result.stderr
