"""`python -m ops bootstrap ENV` before anything runs: the environment's branch must exist on origin (a bare
repository here). The converge and the health check run in molecule/prod/tests/test_prod.py."""
import pathlib
import subprocess
import sys

PROJECT = pathlib.Path(__file__).resolve().parents[1]


def git(repository, *args):
    result = subprocess.run(["git", "-C", str(repository), "-c", "user.name=bootstrap", "-c",
                             "user.email=bootstrap@test", *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def bootstrap(*args):
    return subprocess.run([sys.executable, "-m", "ops", "bootstrap", *args], capture_output=True, text=True,
                          cwd=PROJECT)


def test_a_missing_branch_prints_the_commands_that_create_it_and_runs_nothing(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    git(work, "commit", "-q", "--allow-empty", "-m", "first")
    git(work, "branch", "develop")
    git(tmp_path, "clone", "-q", "--bare", str(work), "origin.git")
    git(tmp_path, "clone", "-q", str(tmp_path / "origin.git"), "operator")
    clone = tmp_path / "operator"

    refused = bootstrap("staging", "--repository", str(clone), "--inventory", str(tmp_path / "no-such-inventory"))

    assert refused.returncode == 1
    assert "has no branch staging" in refused.stdout
    assert f"git -C {clone} push origin origin/main:refs/heads/staging" in refused.stdout
    assert "make bootstrap ENV=staging" in refused.stdout
    steps = [line for line in refused.stderr.splitlines() if line.startswith("[bootstrap ")]
    assert len(steps) == 1 and "for branch staging" in steps[0], "nothing but the branch check ran"
    assert git(tmp_path / "origin.git", "branch", "--list", "staging") == "", "origin is left as it was"


def test_a_clone_without_origin_says_so_with_the_next_step(tmp_path):
    git(tmp_path, "init", "-q", "-b", "main")
    refused = bootstrap("dev", "--repository", str(tmp_path))
    assert refused.returncode == 1
    assert "remote -v" in refused.stderr and "make bootstrap ENV=dev" in refused.stderr
