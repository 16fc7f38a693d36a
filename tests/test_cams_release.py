"""The host-side release bookkeeping (roles/cams_app/templates/usr/local/bin/cams-release.j2): ledger, rollback
target, prune, lock. Each test renders the tool for a root of its own, as the role does for cams_root."""
import datetime
import grp
import hashlib
import importlib.util
import io
import json
import os
import pathlib
import pwd
import subprocess
import sys
import tarfile

import jinja2
import pytest

TEMPLATE = pathlib.Path(__file__).resolve().parents[1] / "roles/cams_app/templates/usr/local/bin/cams-release.j2"


@pytest.fixture
def root(tmp_path):
    root = tmp_path / "cams"
    (root / "releases").mkdir(parents=True)
    tool = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    tool.filters["comment"] = lambda text: f"#\n# {text}\n#"
    (tmp_path / "cams-release").write_text(
        tool.from_string(TEMPLATE.read_text()).render(
            ansible_managed="Ansible managed", cams_root=str(root), cams_environment="staging")
    )
    return root


def run(root, *args, check=True):
    result = subprocess.run(
        [sys.executable, str(root.parent / "cams-release"), *args], capture_output=True, text=True,
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


def test_record_derives_the_duration_from_the_run_start(root):
    started = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=90)
    run(root, "record", "--release-id", "r1", "--outcome", "success",
        "--started-at", started.strftime("%Y-%m-%dT%H:%M:%SZ"))
    entry = json.loads((root / "ledger.jsonl").read_text())
    assert 89 <= entry["duration_seconds"] <= 120


def test_a_successful_rollback_marks_the_release_it_left_rolled_back(root):
    deploy(root, "r1")
    deploy(root, "r2")
    run(root, "record", "--release-id", "r1", "--outcome", "success", "--action", "rollback")
    make_current(root, "r1")
    assert run(root, "state", "r2").stdout.strip() == "rolled_back"
    assert run(root, "state", "r1").stdout.strip() == "good"
    assert run(root, "previous-good", check=False).returncode == 1, "a rolled-back release is no rollback target"


def test_previous_good_skips_current_failed_and_rolled_back_releases(root):
    deploy(root, "r1")
    deploy(root, "r2")
    deploy(root, "r3")
    run(root, "record", "--release-id", "r2", "--outcome", "success", "--action", "rollback")
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


def test_a_configuration_that_failed_leaves_the_release_good(root):
    deploy(root, "r1")
    deploy(root, "r2")
    run(root, "record", "--release-id", "r2", "--outcome", "failed", "--action", "configure")
    assert run(root, "state", "r2").stdout.strip() == "good"
    run(root, "record", "--release-id", "r2", "--outcome", "failed", "--action", "deploy")
    assert run(root, "state", "r2").stdout.strip() == "failed"


def test_a_rollback_target_is_described_by_the_commit_it_last_ran_as(root):
    install(root, "r1")
    (root / "releases" / "r1" / "manifest.json").write_text('{"sha": "build-commit", "branch": "develop"}')
    run(root, "record", "--release-id", "r1", "--outcome", "success", "--sha", "first-commit", "--branch", "develop")
    run(root, "record", "--release-id", "r1", "--outcome", "success", "--sha", "promoted-commit", "--branch", "main")
    deploy(root, "r2")
    assert json.loads(run(root, "rollback-target").stdout) == {"id": "r1", "sha": "promoted-commit", "branch": "main"}


def test_the_current_release_is_described_by_the_commit_it_last_ran_as(root):
    assert "no release is current" in run(root, "current", check=False).stderr
    deploy(root, "r1")
    run(root, "record", "--release-id", "r1", "--outcome", "success", "--sha", "promoted", "--branch", "main")
    assert json.loads(run(root, "current").stdout) == {"id": "r1", "sha": "promoted", "branch": "main"}
    run(root, "record", "--release-id", "r1", "--outcome", "success", "--action", "restore")
    assert run(root, "state", "r1").stdout.strip() == "good", "a restore leaves the release good"


def test_a_rollback_target_never_deployed_here_is_described_by_its_manifest(root):
    deploy(root, "r2")
    install(root, "r0")
    (root / "releases" / "r0" / "manifest.json").write_text('{"sha": "build-commit", "branch": "develop"}')
    assert json.loads(run(root, "rollback-target", "r0").stdout)["sha"] == "build-commit"


@pytest.mark.parametrize("target, reason", [
    ("r2", "is already current"), ("bad", "is a failed release"), ("gone", "is not on this host"),
])
def test_a_rollback_target_must_be_another_release_on_disk_that_did_not_fail(root, target, reason):
    deploy(root, "r1")
    deploy(root, "bad", outcome="failed")
    deploy(root, "r2")
    refused = run(root, "rollback-target", target, check=False)
    assert refused.returncode == 1
    assert reason in refused.stderr


def test_without_an_earlier_good_release_there_is_no_rollback_target(root):
    deploy(root, "r1")
    refused = run(root, "rollback-target", check=False)
    assert refused.returncode == 1 and "no earlier good release" in refused.stderr


def test_prune_keeps_newest_good_releases_and_never_counts_failed_ones(root):
    for release in ("r1", "r2", "r3", "r4"):
        deploy(root, release)
    deploy(root, "bad1", outcome="failed")
    deploy(root, "bad2", outcome="failed")
    removed = run(root, "prune", "--keep", "2").stdout.split()
    assert sorted(removed) == ["bad1", "bad2", "r1", "r2"]
    assert sorted(p.name for p in (root / "releases").iterdir()) == ["r3", "r4"]


def test_prune_removes_the_virtualenvs_no_kept_release_uses(root):
    """Releases of the same requirements share a virtualenv: it goes with the last release that links to it."""
    for release, venv in (("r1", "old"), ("r2", "shared"), ("r3", "shared")):
        deploy(root, release)
        (root / "venvs" / venv).mkdir(parents=True, exist_ok=True)
        (root / "releases" / release / "venv").symlink_to(root / "venvs" / venv)
    removed = run(root, "prune", "--keep", "2").stdout.split()
    assert sorted(removed) == ["r1", "venvs/old"]
    assert sorted(p.name for p in (root / "venvs").iterdir()) == ["shared"]


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
    assert "cams_app_break_lock=true" in refused.stderr


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
    deploy(root, "r2")
    run(root, "record", "--release-id", "r1", "--outcome", "success", "--action", "rollback")
    make_current(root, "r1")
    row = next(line for line in run(root, "list").stdout.splitlines() if line.split()[0] == "r2")
    assert row.split()[:3] == ["r2", "rolled_back", "sha-r2"]


# verify-artifact: the host checks an artifact against its manifest before unpacking it ---------------------------

ARTIFACT_FILES = {f"app/module_{n}.py": f"print({n})\n" for n in range(6)} | {
    "dist/index.html": "<div></div>\n", "dist/assets/index-4f2a.js": "render()\n"}


def make_artifact(tmp_path, python_versions, wheelhouses=None):
    """An artifact of release r1 as build-artifact.sh makes it (files, manifest.json with their SHA-256 and the
    wheelhouses, tarred by GNU tar from the staging directory), with its manifest beside it and a wheelhouse of one
    wheel per Python version, wheels-<version>.tar. `wheelhouses` replaces the manifest's (an older format)."""
    stage = tmp_path / "stage"
    for relative, text in ARTIFACT_FILES.items():
        (stage / relative).parent.mkdir(parents=True, exist_ok=True)
        (stage / relative).write_text(text)
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels" / "cams_wheel-1.0-py3-none-any.whl").write_text("a wheel\n")
    for version in python_versions:
        subprocess.run(["tar", "-C", str(tmp_path / "wheels"), "-cf", str(tmp_path / f"wheels-{version}.tar"), "."],
                       check=True)
    if wheelhouses is None:
        wheelhouses = {version: {"archive": f"wheels-{version}.tar",
                                 "sha256": hashlib.sha256((tmp_path / f"wheels-{version}.tar").read_bytes()).hexdigest()}
                       for version in python_versions}
    checksums = {relative: hashlib.sha256(text.encode()).hexdigest() for relative, text in ARTIFACT_FILES.items()}
    manifest = json.dumps({"release_id": "r1", "sha": "c0ffee", "branch": "develop", "wheelhouses": wheelhouses,
                           "checksums": checksums}, indent=2)
    (stage / "manifest.json").write_text(manifest + "\n")
    archive = tmp_path / "cams-r1.tar.gz"
    subprocess.run(["tar", "-C", str(stage), "--owner=0", "--group=0", "--numeric-owner", "-czf", str(archive), "."],
                   check=True)
    (tmp_path / "cams-r1.json").write_text(manifest + "\n")
    return archive


@pytest.fixture
def artifact(tmp_path):
    return make_artifact(tmp_path, ["3.11"])


def manifest_of(archive):
    return archive.with_name(archive.name.removesuffix(".tar.gz") + ".json")


def repack(archive, edit=lambda name, data: data, extra=()):
    """Rewrites the archive: each file's bytes through edit(name, data) (None drops the file), then extra members
    (TarInfo, bytes or None)."""
    with tarfile.open(archive) as tar:
        members = [(member, tar.extractfile(member).read() if member.isfile() else None) for member in tar]
    with tarfile.open(archive, "w:gz") as tar:
        for member, data in members:
            if data is not None:
                data = edit(member.name.removeprefix("./"), data)
                if data is None:
                    continue
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
        for member, data in extra:
            if data is not None:
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data) if data is not None else None)


def verify(root, archive, release_id="r1", python="3.11", wheelhouse=None, unpack_to=None):
    return run(root, "verify-artifact", str(archive), str(manifest_of(archive)), "--release-id", release_id,
               "--python", python, *([f"--wheelhouse={wheelhouse}"] if wheelhouse else []),
               *([f"--unpack-to={unpack_to}"] if unpack_to else []), check=False)


def assert_refused(result, archive, *reasons):
    """One message naming the release, the artifact, what is wrong and what to do next."""
    assert result.returncode == 1, result.stdout
    assert len(result.stderr.splitlines()) == 1, result.stderr
    for part in ("release r1", str(archive), "rebuilds them, or download both again", *reasons):
        assert part in result.stderr, f"{part!r} not in {result.stderr}"


def test_an_artifact_that_matches_its_manifest_is_verified(root, artifact):
    verified = verify(root, artifact)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.splitlines() == [f"release r1: artifact {artifact}: 8 files verified against its manifest"]


def test_a_verified_artifact_is_unpacked_into_the_release_directory(root, artifact, tmp_path):
    release_dir = tmp_path / "releases" / "r1"
    unpacked = verify(root, artifact, unpack_to=release_dir)
    assert unpacked.returncode == 0, unpacked.stderr
    assert unpacked.stdout.splitlines()[-1] == f"release r1: artifact {artifact}: unpacked into {release_dir}"
    assert {str(path.relative_to(release_dir)): path.read_text() for path in release_dir.rglob("*.*")
            if path.name != "manifest.json" and path.suffix != ".pyc"} == ARTIFACT_FILES
    assert oct(release_dir.stat().st_mode & 0o777) == "0o755"


def test_the_unpacked_python_code_is_compiled_for_the_hosts_python(root, artifact, tmp_path):
    release_dir = tmp_path / "releases" / "r1"
    assert verify(root, artifact, unpack_to=release_dir).returncode == 0
    for module in release_dir.glob("app/*.py"):
        bytecode = pathlib.Path(importlib.util.cache_from_source(module))
        # What the import system checks before it uses a .pyc instead of compiling the source.
        assert bytecode.read_bytes()[:4] == importlib.util.MAGIC_NUMBER, module
        assert int.from_bytes(bytecode.read_bytes()[8:12], "little") == int(module.stat().st_mtime), module


def test_an_unpacked_release_links_its_virtualenv_publishes_its_assets_and_gets_a_static_directory(
        root, artifact, tmp_path):
    release_dir, venv, assets = tmp_path / "releases" / "r1", tmp_path / "venvs" / "v1", tmp_path / "shared" / "assets"
    assets.mkdir(parents=True)
    (assets / "index-0ld1.js").write_text("earlier()\n")  # a page loaded before the switch still finds it
    owner = f"{pwd.getpwuid(os.getuid()).pw_name}:{grp.getgrgid(os.getgid()).gr_name}"
    laid_out = run(root, "verify-artifact", str(artifact), str(manifest_of(artifact)), "--release-id", "r1",
                   "--python", "3.11", f"--unpack-to={release_dir}", f"--venv={venv}",
                   f"--publish-assets-to={assets}", f"--static-owner={owner}")
    assert laid_out.returncode == 0, laid_out.stderr
    assert (release_dir / "venv").readlink() == venv
    assert {path.name: path.read_text() for path in assets.iterdir()} == {
        "index-0ld1.js": "earlier()\n", "index-4f2a.js": "render()\n"}
    assert oct((assets / "index-4f2a.js").stat().st_mode & 0o777) == "0o644"
    assert (release_dir / "static").is_dir() and not any((release_dir / "static").iterdir())


def test_mark_installed_hands_the_static_files_to_root_and_removes_the_uploads(root, tmp_path):
    static = root / "releases" / "r1" / "static"
    (static / "admin").mkdir(parents=True)
    (static / "admin" / "base.css").write_text("body {}\n")
    (static / "admin" / "base.css").chmod(0o600)
    uploads = [tmp_path / "cams-r1.tar.gz", tmp_path / "cams-r1.json"]
    for upload in uploads:
        upload.write_text("uploaded\n")
    installed = run(root, "mark-installed", "r1", *(f"--remove={upload}" for upload in uploads),
                    f"--remove={tmp_path / 'never-uploaded.tar'}")
    assert installed.stdout == "release r1: installed\n"
    assert (root / "releases" / "r1" / ".installed").read_text() == "r1\n"
    assert not any(upload.exists() for upload in uploads)
    for path, mode in ((static, "0o755"), (static / "admin", "0o755"), (static / "admin" / "base.css", "0o644")):
        assert (path.stat().st_uid, path.stat().st_gid, oct(path.stat().st_mode & 0o777)) == (0, 0, mode), path


def test_a_refused_artifact_is_not_unpacked(root, artifact, tmp_path):
    repack(artifact, edit=lambda name, data: data + b"# changed\n" if name == "app/module_0.py" else data)
    release_dir = tmp_path / "releases" / "r1"
    assert_refused(verify(root, artifact, unpack_to=release_dir), artifact, "app/module_0.py")
    assert not release_dir.exists()


def test_a_wheelhouse_sent_with_the_artifact_is_verified_too(root, artifact):
    verified = verify(root, artifact, wheelhouse=artifact.with_name("wheels-3.11.tar"))
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.splitlines() == [
        f"release r1: artifact {artifact}: 8 files and the wheelhouse verified against its manifest"]


def test_a_wheelhouse_changed_after_its_build_is_refused(root, artifact):
    wheelhouse = artifact.with_name("wheels-3.11.tar")
    with tarfile.open(wheelhouse, "a") as tar:
        member = tarfile.TarInfo("./evil-1.0-py3-none-any.whl")
        member.size = 6
        tar.addfile(member, io.BytesIO(b"a wolf"))
    assert_refused(verify(root, artifact, wheelhouse=wheelhouse), artifact,
                   f"its wheelhouse {wheelhouse} has another SHA-256 than the manifest's")


def test_an_artifact_of_the_older_format_with_its_wheelhouses_inside_is_refused(root, tmp_path):
    artifact = make_artifact(tmp_path, [], wheelhouses={"3.11": "wheels/cp311"})
    assert_refused(verify(root, artifact), artifact, "is of an older build-artifact.sh, with the wheelhouses inside")


def test_a_manifest_of_another_release_is_refused(root, artifact):
    refused = verify(root, artifact, release_id="r2")
    assert refused.returncode == 1
    assert "release r2" in refused.stderr and "describes release r1" in refused.stderr


@pytest.mark.parametrize("python", ["3.11", "3.13"])
def test_an_artifact_with_a_wheelhouse_per_python_is_verified_on_each(root, tmp_path, python):
    artifact = make_artifact(tmp_path, ["3.11", "3.13"])
    verified = verify(root, artifact, python=python)
    assert verified.returncode == 0, verified.stderr


def test_an_artifact_without_a_wheelhouse_for_the_hosts_python_is_refused_naming_those_it_has(root, artifact):
    refused = verify(root, artifact, python="3.13")
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        f"cams-release: release r1: artifact {artifact} has no wheelhouse for this host's Python 3.13 (it has: "
        "Python 3.11 (wheels-3.11.tar)); build it with 3.13 in cams_app_python_versions; nothing was unpacked"]


def test_an_artifact_built_before_wheelhouses_per_python_is_refused(root, tmp_path):
    artifact = make_artifact(tmp_path, [])
    refused = verify(root, artifact)
    assert refused.returncode == 1
    assert "has no wheelhouse for this host's Python 3.11 (it has: none)" in refused.stderr


def test_a_file_changed_after_the_build_is_refused_naming_the_first_few(root, artifact):
    repack(artifact, lambda name, data: data + b"# tampered\n" if name.startswith("app/") else data)
    assert_refused(verify(root, artifact), artifact, "files whose SHA-256 differs (6): "
                   "app/module_0.py, app/module_1.py, app/module_2.py and 3 more")


def test_a_file_missing_from_the_archive_is_refused(root, artifact):
    repack(artifact, lambda name, data: None if name == "dist/index.html" else data)
    assert_refused(verify(root, artifact), artifact, "files missing (1): dist/index.html")


def test_a_file_the_manifest_does_not_list_is_refused(root, artifact):
    repack(artifact, extra=[(tarfile.TarInfo("./app/backdoor.py"), b"import os\n")])
    assert_refused(verify(root, artifact), artifact, "files the manifest does not list (1): app/backdoor.py")


def test_an_archive_whose_own_manifest_differs_from_the_given_one_is_refused(root, artifact):
    repack(artifact, lambda name, data: data.replace(b"c0ffee", b"bad") if name == "manifest.json" else data)
    assert_refused(verify(root, artifact), artifact, "its own manifest.json differs from the manifest given")


def test_an_archive_without_its_manifest_is_refused(root, artifact):
    repack(artifact, lambda name, data: None if name == "manifest.json" else data)
    assert_refused(verify(root, artifact), artifact, "it holds no manifest.json")


def special(name, kind, target=""):
    member = tarfile.TarInfo(name)
    member.type, member.linkname = kind, target
    return member, None


@pytest.mark.parametrize("member, reason", [
    (special("./app/link.py", tarfile.SYMTYPE, "/etc/shadow"), "./app/link.py (a link or special file)"),
    (special("./app/hard.py", tarfile.LNKTYPE, "./app/module_0.py"), "./app/hard.py (a link or special file)"),
    (special("./app/tty", tarfile.CHRTYPE), "./app/tty (a link or special file)"),
    ((tarfile.TarInfo("/etc/cron.d/cams"), b"* * * * * root id\n"), "/etc/cron.d/cams (outside the release"),
    ((tarfile.TarInfo("./app/../../../etc/cron.d/cams"), b"* * * * * root id\n"), "./app/../../../etc/cron.d/cams"),
], ids=["symbolic link", "hard link", "device", "absolute path", "parent directory"])
def test_a_member_that_could_write_outside_its_file_is_refused(root, artifact, member, reason):
    repack(artifact, extra=[member])
    assert_refused(verify(root, artifact), artifact, "unsafe members (1): ", reason)


@pytest.mark.parametrize("damage, reason", [
    (lambda data: data[:200], "files missing ("),
    (lambda data: b"<html>502 Bad Gateway</html>\n", "it cannot be read"),
], ids=["truncated", "not an archive"])
def test_a_damaged_download_is_refused(root, artifact, damage, reason):
    artifact.write_bytes(damage(artifact.read_bytes()))
    assert_refused(verify(root, artifact), artifact, reason)


def lock_file(root):
    return json.loads((root / "deploy.lock").read_text())


def hold_an_old_lock(root, **fields):
    """A lock taken an hour ago, as a run (or an operator) left it."""
    acquired = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    lock = {"holder": "alice@laptop", "run_id": "run-a", "acquired_at": acquired.isoformat(timespec="seconds"),
            "message": "", **fields}
    (root / "deploy.lock").write_text(json.dumps(lock))


def test_a_deploy_refused_by_planned_work_says_who_why_since_when_and_how_it_ends(root):
    run(root, "lock", "acquire", "--holder", "alice@laptop", "--run-id", "planned-1", "--message", "db maintenance")
    acquired_at = lock_file(root)["acquired_at"]
    refused = run(root, "lock", "acquire", "--holder", "ci@runner", "--run-id", "run-b", check=False)
    assert refused.returncode == 3
    for what in ("alice@laptop", "db maintenance", acquired_at, "make lock ENV=staging ARGS=release"):
        assert what in refused.stderr, (what, refused.stderr)


def test_breaking_a_stale_lock_leaves_planned_work_alone(root):
    hold_an_old_lock(root, message="db maintenance")
    refused = run(root, "lock", "acquire", "--holder", "ci", "--run-id", "run-b", "--break-stale", check=False)
    assert refused.returncode == 3 and "db maintenance" in refused.stderr
    assert lock_file(root)["message"] == "db maintenance"


def test_lock_status_prints_the_lock_as_json_or_that_it_is_free(root):
    assert run(root, "lock", "status").stdout.strip() == "free"
    hold_an_old_lock(root, message="db maintenance")
    status = json.loads(run(root, "lock", "status").stdout)
    assert (status["holder"], status["run_id"], status["message"]) == ("alice@laptop", "run-a", "db maintenance")
    assert 3600 <= status["age_seconds"] < 3700


def test_an_operator_releases_planned_work(root):
    run(root, "lock", "acquire", "--holder", "alice", "--run-id", "planned-1", "--message", "db maintenance")
    released = run(root, "lock", "release")
    assert released.stdout.startswith("released: ") and "db maintenance" in released.stdout
    assert run(root, "lock", "status").stdout.strip() == "free"
    assert run(root, "lock", "release").stdout.strip() == "free", "releasing a free lock is no error"


def test_an_operator_releases_a_deploys_lock_only_with_force(root):
    hold_an_old_lock(root)
    refused = run(root, "lock", "release", check=False)
    assert refused.returncode == 3
    assert "alice@laptop" in refused.stderr and "run-a" in refused.stderr and "--force" in refused.stderr
    assert lock_file(root)["run_id"] == "run-a"
    assert run(root, "lock", "release", "--force").stdout.startswith("released: deploy lock held by alice@laptop")
    assert not (root / "deploy.lock").exists()


def test_acquiring_needs_a_run_id(root):
    refused = run(root, "lock", "acquire", "--holder", "alice", check=False)
    assert refused.returncode == 2 and "--run-id" in refused.stderr
