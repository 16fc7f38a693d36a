"""Behaviour of a dev host converged by site.yml: what operators and users would check by hand."""
import json

import pytest

DB_NAME = "cams_dev"
DB_USER = "cams_dev"
DB_PASSWORD = "molecule-db-password"  # molecule.yml's vault_cams_database_password


def http(host, path, *curl_args):
    """GET through nginx on the host; returns (status, headers lower-cased, body)."""
    # testinfra quotes each format argument, so pass every curl argument separately.
    placeholders = " ".join(["%s"] * len(curl_args))
    out = host.check_output(f"curl -sS --max-time 10 -D - {placeholders} http://127.0.0.1%s", *curl_args, path)
    head, _, body = out.replace("\r\n", "\n").partition("\n\n")
    status_line, *header_lines = head.splitlines()
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return int(status_line.split()[1]), headers, body


@pytest.fixture(scope="module")
def live_slot(host):
    target = host.file("/srv/cams/live.sock").linked_to
    return target.rsplit("/", 1)[-1].removesuffix(".sock")


@pytest.fixture(scope="module")
def current_release(host):
    return host.file("/srv/cams/current").linked_to.rsplit("/", 1)[-1]


def test_postgresql_runs_and_starts_at_boot(host):
    service = host.service("postgresql@15-main")
    assert service.is_running
    assert service.is_enabled


def test_postgresql_listens_on_loopback_only(host):
    assert host.socket("tcp://127.0.0.1:5432").is_listening
    assert not host.socket("tcp://0.0.0.0:5432").is_listening
    address = host.interface("eth0").addresses[0]
    assert not host.socket(f"tcp://{address}:5432").is_listening


def psql_as(host, user, password, database=DB_NAME):
    return host.run(
        "PGPASSWORD=%s PGCONNECT_TIMEOUT=5 psql -h 127.0.0.1 -U %s -d %s -Atc 'select current_user'",
        password, user, database,
    )


def test_app_role_logs_in_with_its_password(host):
    assert psql_as(host, DB_USER, DB_PASSWORD).stdout.strip() == DB_USER


def test_wrong_password_is_refused(host):
    result = psql_as(host, DB_USER, "not-the-password")
    assert result.rc != 0
    assert "password authentication failed" in result.stderr


def test_postgres_superuser_cannot_log_in_over_tcp(host):
    result = psql_as(host, "postgres", "anything", "postgres")
    assert result.rc != 0
    assert "no pg_hba.conf entry" in result.stderr


def test_passwords_are_scram(host):
    with host.sudo("postgres"):
        verifier = host.check_output("psql -Atc \"select rolpassword from pg_authid where rolname='%s'\"", DB_USER)
    assert verifier.startswith("SCRAM-SHA-256$")


def test_gunicorn_slot_service_and_socket_are_active_and_enabled(host, live_slot):
    assert live_slot in ("blue", "green")
    for unit in (f"cams@{live_slot}.service", f"cams@{live_slot}.socket"):
        assert host.service(unit).is_running, unit
        assert host.service(unit).is_enabled, unit


def test_gunicorn_runs_as_the_app_user_from_the_current_release(host, live_slot, current_release):
    main_pid = host.check_output("systemctl show --property=MainPID --value cams@%s.service", live_slot)
    assert host.check_output("ps -o user= -p %s", main_pid) == "cams"
    environ = host.file(f"/proc/{main_pid}/environ").content.decode().split("\0")
    assert f"CAMS_RELEASE_DIR=/srv/cams/releases/{current_release}" in environ


def test_app_socket_is_reserved_for_nginx(host, live_slot):
    socket_file = host.file(f"/run/cams/{live_slot}.sock")
    assert socket_file.is_socket
    assert socket_file.group == "www-data"
    assert socket_file.mode == 0o660


def test_environment_file_keeps_secrets_from_other_users(host):
    env_file = host.file("/etc/cams/cams.env")
    assert (env_file.user, env_file.group, env_file.mode) == ("root", "cams", 0o640)
    content = env_file.content_string
    assert "DEV_DATABASE_URL=postgres://" in content
    assert not [line for line in content.splitlines() if line.startswith("DATABASE_URL=")], "only what dev reads"
    assert "DJANGO_SETTINGS_MODULE=backend.settings.dev" in content


def test_nginx_is_active_and_its_configuration_valid(host):
    assert host.service("nginx").is_running
    assert host.service("nginx").is_enabled
    assert host.run("nginx -t").rc == 0


def test_health_answers_ok_with_database_indicator_and_release(host, current_release):
    status, headers, body = http(host, "/health/")
    assert status == 200
    assert "json" in headers["content-type"][0]
    health = json.loads(body)
    assert health["status"] == "ok"
    assert "database" in health
    assert health["environment"] == "dev"
    assert health["release"]["id"] == current_release


def test_readiness_checks_the_database(host):
    status, _, body = http(host, "/health/ready/")
    assert status == 200, body
    assert json.loads(body)["status"] == "ok"


def test_dashboard_index_is_served_and_revalidated(host):
    status, headers, body = http(host, "/")
    assert status == 200
    assert '<div id="root">' in body
    assert headers["cache-control"] == ["no-cache"]
    assert headers["x-frame-options"] == ["DENY"]
    assert headers["x-content-type-options"] == ["nosniff"]


def test_spa_routes_fall_back_to_index(host):
    status, _, body = http(host, "/deployments/some-client-route")
    assert status == 200
    assert '<div id="root">' in body


def test_hashed_assets_are_cached_immutably_with_security_headers(host):
    _, _, index = http(host, "/")
    asset = index.split('src="', 1)[1].split('"', 1)[0]
    assert asset.startswith("/assets/")
    status, headers, _ = http(host, asset)
    assert status == 200
    assert headers["cache-control"] == ["public, max-age=31536000, immutable"]
    assert headers["x-content-type-options"] == ["nosniff"]


def test_django_static_files_are_served(host):
    status, _, _ = http(host, "/static/admin/css/base.css")
    assert status == 200


def test_api_refuses_requests_without_a_token(host):
    status, headers, body = http(host, "/api/overview/")
    assert status == 401
    assert headers["www-authenticate"][0].startswith("Bearer")
    assert "error" in json.loads(body)


def test_api_answers_a_token_minted_on_the_host(host, current_release):
    token = host.check_output("cams-manage mint_token --subject molecule --lifetime 300")
    status, _, body = http(host, "/api/overview/", "-H", f"Authorization: Bearer {token}")
    assert status == 200, body
    overview = json.loads(body)
    assert overview["environment"] == "dev"
    assert overview["release"]["id"] == current_release
    assert overview["database"]["status"] == "ok"
    assert overview["subject"] == "molecule"


def test_deploy_is_in_the_ledger_and_the_app_history(host, current_release):
    ledger = [json.loads(line) for line in host.file("/srv/cams/ledger.jsonl").content_string.splitlines()]
    assert ledger[-1]["release_id"] == current_release
    assert ledger[-1]["outcome"] == "success"
    token = host.check_output("cams-manage mint_token --subject molecule --lifetime 300")
    _, _, body = http(host, "/api/deployments/", "-H", f"Authorization: Bearer {token}")
    assert json.loads(body)["results"][0]["release_id"] == current_release


def test_deploy_lock_is_released(host):
    assert not host.file("/srv/cams/deploy.lock").exists
