"""`python -m ops promote FROM TO` against a throwaway origin (a bare repository whose branches hold this checkout's
app/), with real git: a developer's clone pushes to develop, the operator's clone promotes."""
import pathlib
import shutil
import subprocess
import sys

import pytest

PROJECT = pathlib.Path(__file__).resolve().parents[1]
REVERSIBLE = "CreateModel(name='PromotedThing', fields=[('id', models.AutoField(primary_key=True))])"
IRREVERSIBLE = "RunPython(fill_in)"  # no reverse_code


def git(repository, *args):
    result = subprocess.run(["git", "-C", str(repository), "-c", "user.name=promote", "-c", "user.email=promote@test",
                             *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def promote(clone, inventory, *args):
    return subprocess.run([sys.executable, "-m", "ops", "promote", *args, "--repository", str(clone),
                           "--inventory", str(inventory)], capture_output=True, text=True, cwd=PROJECT)


def tip(origin, branch):
    return git(origin, "rev-parse", f"refs/heads/{branch}")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A bare origin whose develop, staging and main hold one commit: this checkout's app/."""
    root = tmp_path_factory.mktemp("template")
    work = root / "work"
    for relative in git(PROJECT, "ls-files", "-co", "--exclude-standard", "--", "app").splitlines():
        if (PROJECT / relative).is_file():
            (work / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT / relative, work / relative)
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "The app as this checkout has it")
    git(work, "branch", "develop")
    git(work, "branch", "staging")
    git(root, "clone", "-q", "--bare", str(work), "origin.git")
    return root / "origin.git"


@pytest.fixture
def origin(template, tmp_path):
    git(tmp_path, "clone", "-q", "--bare", str(template), "origin.git")
    return tmp_path / "origin.git"


@pytest.fixture
def developer(origin, tmp_path):
    """commit(branch, message, files={path: text}): a commit on `branch`, pushed to origin."""
    clone = tmp_path / "developer"
    git(tmp_path, "clone", "-q", str(origin), str(clone))

    def commit(branch, message, files):
        git(clone, "checkout", "-q", branch)
        for relative, text in files.items():
            (clone / relative).write_text(text)
        git(clone, "add", "-A")
        git(clone, "commit", "-q", "-m", message)
        git(clone, "push", "-q", "origin", branch)
    return commit


@pytest.fixture
def operator(origin, tmp_path):
    """The operator's clone, on main, in the middle of some work: a changed file, a staged one, an untracked one."""
    clone = tmp_path / "operator"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    (clone / "app" / "manage.py").write_text("# work in progress\n")
    (clone / "app" / "README.md").write_text("staged\n")
    git(clone, "add", "app/README.md")
    (clone / "notes.txt").write_text("untracked\n")
    return clone


@pytest.fixture
def unreachable(tmp_path):
    """dev's inventory with a host nobody answers on."""
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("all:\n  children:\n    appservers:\n      hosts:\n        cams-dev-01:\n"
                         "          ansible_host: 127.0.0.1\n          ansible_port: 1\n")
    return inventory


def migration(name, depends_on, operation):
    return {f"app/cams/migrations/{name}.py": (
        "from django.db import migrations, models\n\n\ndef fill_in(apps, schema_editor):\n    pass\n\n\n"
        f"class Migration(migrations.Migration):\n    dependencies = [('cams', '{depends_on}')]\n"
        f"    operations = [migrations.{operation}]\n")}


@pytest.fixture
def two_migrations_on_develop(developer):
    latest = sorted(path.stem for path in (PROJECT / "app/cams/migrations").glob("[0-9][0-9][0-9][0-9]_*.py"))[-1]
    developer("develop", "Add a promoted thing", migration("9101_promoted_thing", latest, REVERSIBLE))
    developer("develop", "Fill the promoted things in", migration("9102_fill_in", "9101_promoted_thing", IRREVERSIBLE))


def operator_state(clone):
    return (git(clone, "symbolic-ref", "HEAD"), git(clone, "rev-parse", "HEAD"),
            git(clone, "status", "--porcelain", "--untracked-files=all"), (clone / "app/manage.py").read_text())


def test_shows_the_commits_and_the_new_migrations_with_their_reversibility_and_pushes_nothing_without_yes(
        origin, operator, unreachable, two_migrations_on_develop):
    staging = tip(origin, "staging")
    shown = promote(operator, unreachable, "develop", "staging")
    assert shown.returncode == 0, shown.stderr
    assert "Commits develop has that staging has not: 2" in shown.stdout
    assert "Add a promoted thing" in shown.stdout and "Fill the promoted things in" in shown.stdout
    assert "cams.9101_promoted_thing  reversible" in shown.stdout
    assert "cams.9102_fill_in  IRREVERSIBLE" in shown.stdout
    assert "make promote FROM=develop TO=staging ARGS=" in shown.stdout and "--yes" in shown.stdout
    assert tip(origin, "staging") == staging, "nothing pushed"


def test_the_running_release_is_not_known_with_the_reason_when_the_environment_cannot_be_read(
        origin, operator, unreachable, two_migrations_on_develop):
    shown = promote(operator, unreachable, "develop", "staging")
    release = git(origin, "rev-parse", "develop:app")[:12]
    line = next(line for line in shown.stdout.splitlines() if line.startswith(f"Release {release} "))
    reason = line.partition(" in dev: not known: ")[2]
    assert reason.strip(), line


def test_yes_fast_forwards_to_the_tip_leaving_the_operators_work_as_it_was(
        origin, operator, unreachable, two_migrations_on_develop):
    before = operator_state(operator)
    promoted = promote(operator, unreachable, "develop", "staging", "--yes")
    assert promoted.returncode == 0, promoted.stderr
    assert tip(origin, "staging") == tip(origin, "develop")
    assert operator_state(operator) == before
    again = promote(operator, unreachable, "develop", "staging")
    assert again.returncode == 0 and "Nothing to promote" in again.stdout, again.stdout


def test_a_hotfix_on_the_target_is_refused_with_the_next_step(origin, developer, operator, unreachable,
                                                              two_migrations_on_develop):
    developer("staging", "Hotfix straight on staging", {"app/hotfix.txt": "fixed\n"})
    staging = tip(origin, "staging")
    refused = promote(operator, unreachable, "develop", "staging", "--yes")
    assert refused.returncode == 1
    assert "Refused" in refused.stdout and "Hotfix straight on staging" in refused.stdout
    assert "git merge origin/staging" in refused.stdout
    assert tip(origin, "staging") == staging


@pytest.mark.parametrize("pair", [("develop", "main"), ("staging", "develop"), ("main", "staging")])
def test_only_develop_to_staging_and_staging_to_main_are_promotions(origin, operator, unreachable, pair):
    refused = promote(operator, unreachable, *pair)
    assert refused.returncode == 2
    assert "'promote develop staging' or 'promote staging main'" in refused.stderr


def test_a_push_origin_refuses_fails_with_the_reason(origin, operator, unreachable, two_migrations_on_develop):
    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'staging is protected' >&2\nexit 1\n")
    hook.chmod(0o755)
    staging = tip(origin, "staging")
    refused = promote(operator, unreachable, "develop", "staging", "--yes")
    assert refused.returncode == 1
    assert "staging is protected" in refused.stderr and "Next:" in refused.stderr
    assert tip(origin, "staging") == staging
