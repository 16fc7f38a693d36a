"""The host-side release bookkeeping (roles/cams_app/files/cams-release): ledger, rollback target, prune, lock."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

TOOL = pathlib.Path(__file__).resolve().parents[1] / "roles" / "cams_app" / "files" / "cams-release"


@pytest.fixture
def root(tmp_path):
    (tmp_path / "releases").mkdir()
    return tmp_path


def run(root, *args, check=True):
    result = subprocess.run(
        [sys.executable, str(TOOL), *args], env={**os.environ, "CAMS_ROOT": str(root)},
        capture_output=True, text=True,
    )
    if check and result.returncode != 0:
        raise AssertionError(result.stderr)
    return result


def install(root, release):
    (root / "releases" / release).mkdir()


def make_current(root, release):
    current = root / "current"
    if current.is_symlink():
        current.unlink()
    current.symlink_to(root / "releases" / release)


def deploy(root, release, outcome="success"):
    install(root, release)
    run(root, "record", "--release-id", release, "--outcome", outcome, "--sha", f"sha-{release}")
    if outcome == "success":
        make_current(root, release)


def test_record_appends_one_json_line_per_outcome(root):
    deploy(root, "r1")
    deploy(root, "r2", outcome="failed")
    lines = [json.loads(line) for line in (root / "ledger.jsonl").read_text().splitlines()]
    assert [(e["release_id"], e["outcome"]) for e in lines] == [("r1", "success"), ("r2", "failed")]
    assert lines[0]["sha"] == "sha-r1"
    assert lines[0]["finished_at"]


def test_record_derives_the_duration_from_start_and_finish(root):
    run(root, "record", "--release-id", "r1", "--outcome", "success",
        "--started-at", "2026-01-01T10:00:00Z", "--finished-at", "2026-01-01T10:01:30+00:00")
    entry = json.loads((root / "ledger.jsonl").read_text())
    assert entry["duration_seconds"] == 90.0


def test_previous_good_skips_current_failed_and_rolled_back_releases(root):
    deploy(root, "r1")
    deploy(root, "r2")
    deploy(root, "r3")
    run(root, "record", "--release-id", "r3", "--outcome", "rolled_back", "--action", "rollback")
    make_current(root, "r2")
    deploy(root, "r4", outcome="failed")
    assert run(root, "previous-good").stdout.strip() == "r1"


def test_previous_good_ignores_releases_no_longer_on_disk(root):
    deploy(root, "r1")
    deploy(root, "r2")
    (root / "releases" / "r1").rmdir()
    result = run(root, "previous-good", check=False)
    assert result.returncode == 1
    assert "no earlier good release" in result.stderr


def test_a_redeployed_release_is_good_again(root):
    deploy(root, "r1")
    run(root, "record", "--release-id", "r1", "--outcome", "failed")
    assert run(root, "state", "r1").stdout.strip() == "failed"
    run(root, "record", "--release-id", "r1", "--outcome", "success")
    assert run(root, "state", "r1").stdout.strip() == "good"


def test_last_success_is_what_a_rollback_restores(root):
    run(root, "record", "--release-id", "r1", "--outcome", "success", "--sha", "first-commit")
    run(root, "record", "--release-id", "r1", "--outcome", "success", "--sha", "promoted-commit")
    run(root, "record", "--release-id", "r1", "--outcome", "rolled_back", "--sha", "later-commit")
    assert json.loads(run(root, "last-success", "r1").stdout)["sha"] == "promoted-commit"
    assert json.loads(run(root, "last-success", "never-deployed").stdout) == {}


def test_prune_keeps_newest_good_releases_and_never_counts_failed_ones(root):
    for release in ("r1", "r2", "r3", "r4"):
        deploy(root, release)
    deploy(root, "bad1", outcome="failed")
    deploy(root, "bad2", outcome="failed")
    removed = run(root, "prune", "--keep", "2").stdout.split()
    assert sorted(removed) == ["bad1", "bad2", "r1", "r2"]
    assert sorted(p.name for p in (root / "releases").iterdir()) == ["r3", "r4"]


def test_prune_never_removes_the_current_release(root):
    deploy(root, "r1")
    deploy(root, "r2")
    make_current(root, "r1")
    run(root, "prune", "--keep", "0")
    assert (root / "releases" / "r1").is_dir()


def test_lock_names_its_holder_and_refuses_another_run(root):
    assert run(root, "lock", "acquire", "--holder", "alice@laptop", "--run-id", "run-a").stdout.strip() == "acquired"
    refused = run(root, "lock", "acquire", "--holder", "bob@ci", "--run-id", "run-b", check=False)
    assert refused.returncode == 3
    assert "alice@laptop" in refused.stderr and "run-a" in refused.stderr
    assert "cams_deploy_break_lock=true" in refused.stderr


def test_lock_is_reentrant_for_the_same_run(root):
    run(root, "lock", "acquire", "--holder", "alice", "--run-id", "run-a")
    assert run(root, "lock", "acquire", "--holder", "alice", "--run-id", "run-a").stdout.strip() == "held"


def test_breaking_a_stale_lock_hands_it_over(root):
    run(root, "lock", "acquire", "--holder", "alice", "--run-id", "run-a")
    taken = run(root, "lock", "acquire", "--holder", "bob", "--run-id", "run-b", "--break-stale")
    assert taken.stdout.strip() == "acquired"
    assert "breaking the lock of alice" in taken.stderr
    assert json.loads((root / "deploy.lock").read_text())["holder"] == "bob"


def test_release_only_drops_the_runs_own_lock(root):
    run(root, "lock", "acquire", "--holder", "alice", "--run-id", "run-a")
    assert run(root, "lock", "release", "--run-id", "run-b").stdout == ""
    assert (root / "deploy.lock").exists()
    assert run(root, "lock", "release", "--run-id", "run-a").stdout.strip() == "released"
    assert not (root / "deploy.lock").exists()


def test_list_marks_the_current_release(root):
    deploy(root, "r1")
    deploy(root, "r2")
    listing = run(root, "list").stdout.splitlines()
    assert listing[0].split()[:2] == ["RELEASE", "STATE"]
    current_rows = [line for line in listing if line.startswith("*")]
    assert len(current_rows) == 1 and "r2" in current_rows[0]


def test_list_keeps_the_sha_of_a_release_that_was_rolled_back(root):
    deploy(root, "r1")
    run(root, "record", "--release-id", "r1", "--outcome", "rolled_back")
    row = next(line for line in run(root, "list").stdout.splitlines() if "r1" in line)
    assert row.split()[2:4] == ["rolled_back", "sha-r1"]
