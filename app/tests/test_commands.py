import json
import shutil
import textwrap
from io import StringIO

import jwt
import pytest
from django.core.management import CommandError, call_command

from cams.jwt_auth import verify_token
from cams.models import Deployment
from tests.conftest import APP_DIR, query, run_manage, subprocess_env


def call(*args) -> str:
    stdout = StringIO()
    call_command(*args, stdout=stdout)
    return stdout.getvalue()


# mint_token


def test_mint_token_prints_only_a_valid_token():
    output = call("mint_token", "--subject", "alice", "--lifetime", "60")

    token = output.strip()
    assert output == token + "\n"
    claims = verify_token(token)
    assert claims["sub"] == "alice"
    assert claims["exp"] - claims["iat"] == 60


def test_mint_token_with_audience_and_issuer(settings):
    settings.JWT_AUTH_AUDIENCE, settings.JWT_AUTH_ISSUER = "cams-dashboard", "cams-deploy"

    token = call("mint_token", "--subject", "deployer", "--audience", "cams-dashboard", "--issuer", "cams-deploy")

    claims = verify_token(token.strip())
    assert (claims["aud"], claims["iss"]) == ("cams-dashboard", "cams-deploy")


def test_mint_token_defaults_audience_and_issuer_to_the_configured_ones(settings):
    settings.JWT_AUTH_AUDIENCE, settings.JWT_AUTH_ISSUER = "cams-dashboard", "cams-deploy"
    claims = jwt.decode(call("mint_token", "--subject", "a").strip(), options={"verify_signature": False})
    assert (claims["aud"], claims["iss"]) == ("cams-dashboard", "cams-deploy")


def test_mint_token_refuses_asymmetric_configurations(settings):
    settings.JWT_AUTH_ALGORITHMS = ["RS256"]
    settings.JWT_AUTH_PUBLIC_KEY = "-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----"
    with pytest.raises(CommandError, match="HMAC"):
        call("mint_token", "--subject", "alice")


# record_deployment


@pytest.mark.django_db
def test_record_deployment_creates_a_row_and_prints_its_id():
    output = call(
        "record_deployment", "--release-id", "20260101T1200Z", "--sha", "abc123", "--branch", "main",
        "--deployed-by", "alice", "--outcome", "rolled_back", "--started-at", "2026-01-01T12:00:00Z",
        "--finished-at", "2026-01-01T12:01:30+00:00", "--message", "health check failed",
        "--backup", "before-r-20260101T120000Z",
    )

    deployment = Deployment.objects.get(pk=int(output))
    assert deployment.outcome == "rolled_back"
    assert deployment.duration_seconds == 90
    assert deployment.message == "health check failed"
    assert deployment.backup == "before-r-20260101T120000Z"


@pytest.mark.django_db
def test_record_deployment_derives_the_start_from_the_duration():
    pk = call(
        "record_deployment", "--release-id", "r", "--sha", "s", "--branch", "b", "--deployed-by", "ci",
        "--outcome", "success", "--finished-at", "2026-01-01T12:00:00", "--duration", "30",
    )
    deployment = Deployment.objects.get(pk=int(pk))
    assert deployment.started_at.isoformat() == "2026-01-01T11:59:30+00:00"
    assert deployment.duration_seconds == 30


@pytest.mark.django_db
def test_record_deployment_rejects_an_inconsistent_record():
    with pytest.raises(CommandError, match="finish"):
        call(
            "record_deployment", "--release-id", "r", "--sha", "s", "--branch", "b", "--deployed-by", "ci",
            "--outcome", "failed", "--started-at", "2026-01-02T00:00:00Z", "--finished-at", "2026-01-01T00:00:00Z",
        )
    assert not Deployment.objects.exists()


def test_record_deployment_rejects_an_unknown_outcome():
    env = subprocess_env({"DEV_DATABASE_URL": "postgres://cams@127.0.0.1:1/none"})
    result = run_manage(
        "record_deployment", "--release-id", "r", "--sha", "s", "--branch", "b", "--deployed-by", "ci",
        "--outcome", "meh", env=env,
    )
    assert result.returncode != 0
    assert "invalid choice: 'meh'" in result.stderr


# rollback_plan: a newer release (a copy of this app with two more migrations) plans the way back

LATEST = sorted(path.stem for path in (APP_DIR / "cams" / "migrations").glob("[0-9][0-9][0-9][0-9]_*.py"))[-1]
NEWER_MIGRATIONS = {
    "9002_add_notes_table.py": """
        from django.db import migrations

        class Migration(migrations.Migration):
            dependencies = [("cams", "%s")]
            operations = [migrations.RunSQL("CREATE TABLE cams_note (id serial)", reverse_sql="DROP TABLE cams_note")]
        """,
    "9003_backfill_notes.py": """
        from django.db import migrations

        def backfill(apps, schema_editor):
            schema_editor.execute("INSERT INTO cams_note DEFAULT VALUES")

        class Migration(migrations.Migration):
            dependencies = [("cams", "9002_add_notes_table")]
            operations = [migrations.RunPython(backfill)]  # no reverse: irreversible
        """,
}


@pytest.fixture(scope="module")
def newer_release(tmp_path_factory, postgres_cluster):
    """(app dir, env) of a newer release whose migrations ran against a fresh database."""
    app_dir = tmp_path_factory.mktemp("newer-release") / "app"
    shutil.copytree(APP_DIR, app_dir, ignore=shutil.ignore_patterns(".venv", "tests", "__pycache__", "staticfiles"))
    for name, source in NEWER_MIGRATIONS.items():
        (app_dir / "cams" / "migrations" / name).write_text(textwrap.dedent(source).replace("%s", LATEST))
    env = subprocess_env({"DEV_DATABASE_URL": postgres_cluster.create_database("rollback_plan")})
    result = run_manage("migrate", "--no-input", env=env, cwd=app_dir)
    assert result.returncode == 0, result.stderr
    return app_dir, env


def rollback_plan(newer_release, target_app_dir, *extra):
    app_dir, env = newer_release
    return run_manage("rollback_plan", "--target-app-dir", str(target_app_dir), *extra, env=env, cwd=app_dir)


def test_rollback_plan_lists_what_to_unapply_newest_first(newer_release):
    result = rollback_plan(newer_release, APP_DIR, "--format", "json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "unapply": [
            {"app": "cams", "name": "9003_backfill_notes", "reversible": False},
            {"app": "cams", "name": "9002_add_notes_table", "reversible": True},
        ],
        "irreversible": [{"app": "cams", "name": "9003_backfill_notes"}],
        "targets": {"cams": LATEST},
    }


def test_rollback_plan_text_names_the_migrate_command_and_the_blocker(newer_release):
    result = rollback_plan(newer_release, APP_DIR)

    assert result.returncode == 0, result.stderr
    assert f"python manage.py migrate cams {LATEST}" in result.stdout
    assert "cams.9003_backfill_notes  IRREVERSIBLE" in result.stdout


def test_rollback_plan_to_the_same_release_unapplies_nothing(newer_release):
    app_dir, env = newer_release
    result = rollback_plan(newer_release, app_dir, "--format", "json")

    plan = json.loads(result.stdout)
    assert plan["unapply"] == [] and plan["irreversible"] == []
    assert plan["targets"] == {"cams": "9003_backfill_notes"}
    assert query(env["DEV_DATABASE_URL"], "SELECT count(*) FROM cams_note") == [(1,)]


def test_rollback_plan_to_a_release_without_the_app_unapplies_everything(newer_release, tmp_path):
    (tmp_path / "manage.py").touch()
    plan = json.loads(rollback_plan(newer_release, tmp_path, "--format", "json").stdout)
    assert [step["name"] for step in plan["unapply"]][-1] == "0001_initial"
    assert plan["targets"] == {"cams": "zero"}


def test_rollback_plan_refuses_a_directory_that_is_not_a_release(newer_release, tmp_path):
    result = rollback_plan(newer_release, tmp_path)
    assert result.returncode != 0
    assert "not a release" in result.stderr
