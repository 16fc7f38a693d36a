"""Behaviour of a dev host converged by site.yml: what operators and users would check by hand."""
import json
import os
import pathlib
import re
import socket
import ssl
import subprocess
import time
from xml.etree import ElementTree

import pytest
import yaml

ROLES = pathlib.Path(__file__).resolve().parents[3] / "roles"
DB_NAME = "cams_dev"
DB_USER = "cams_dev"
DB_PASSWORD = "molecule-db-password"  # molecule.yml's vault_cams_database_password


CA = "/etc/cams/ca.crt"  # the dev environment's CA (role cams_pki), which signs nginx's certificate too


def get(host, path, *curl_args, url="https://127.0.0.1"):
    """GET through nginx on the host, verifying its certificate; returns (status, headers lower-cased, body)."""
    # testinfra quotes each format argument, so pass every curl argument separately.
    placeholders = " ".join(["%s"] * len(curl_args))
    out = host.check_output(f"curl -sS --max-time 10 --cacert {CA} -D - {placeholders} %s%s", *curl_args, url, path)
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


def release_values(host, role):
    """The role's values for the host's Debian release (vars/Debian-<major>.yml), as the role loads them."""
    major = host.system_info.release.split(".")[0]
    return yaml.safe_load((ROLES / role / "vars" / f"Debian-{major}.yml").read_text())


def test_postgresql_of_the_hosts_release_runs_and_starts_at_boot(host):
    version = release_values(host, "postgresql")["__postgresql_version"]
    assert host.check_output("pg_lsclusters --no-header").split()[:2] == [version, "main"]
    service = host.service(f"postgresql@{version}-main")
    assert service.is_running
    assert service.is_enabled


def test_the_release_runs_on_the_python_of_the_hosts_release(host):
    version = release_values(host, "cams_app")["__cams_app_python_version"]
    assert host.check_output("/srv/cams/current/venv/bin/python -c %s",
                             "import sys; print('%d.%d' % sys.version_info[:2])") == version
    assert host.check_output("python3 -c %s", "import sys; print('%d.%d' % sys.version_info[:2])") == version


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
    status, headers, body = get(host, "/health/")
    assert status == 200
    assert "json" in headers["content-type"][0]
    health = json.loads(body)
    assert health["status"] == "ok"
    assert "database" in health
    assert health["environment"] == "dev"
    assert health["release"]["id"] == current_release


def test_readiness_checks_the_database(host):
    status, _, body = get(host, "/health/ready/")
    assert status == 200, body
    assert json.loads(body)["status"] == "ok"


def test_dashboard_index_is_served_and_revalidated(host):
    status, headers, body = get(host, "/")
    assert status == 200
    assert '<div id="root">' in body
    assert headers["cache-control"] == ["no-cache"]
    assert headers["x-frame-options"] == ["DENY"]
    assert headers["x-content-type-options"] == ["nosniff"]


def test_spa_routes_fall_back_to_index(host):
    status, _, body = get(host, "/deployments/some-client-route")
    assert status == 200
    assert '<div id="root">' in body


def test_hashed_assets_are_cached_immutably_with_security_headers(host):
    _, _, index = get(host, "/")
    asset = index.split('src="', 1)[1].split('"', 1)[0]
    assert asset.startswith("/assets/")
    status, headers, _ = get(host, asset)
    assert status == 200
    assert headers["cache-control"] == ["public, max-age=31536000, immutable"]
    assert headers["x-content-type-options"] == ["nosniff"]


def test_django_static_files_are_served(host):
    status, _, _ = get(host, "/static/admin/css/base.css")
    assert status == 200


def test_api_refuses_requests_without_a_token(host):
    status, headers, body = get(host, "/api/overview/")
    assert status == 401
    assert headers["www-authenticate"][0].startswith("Bearer")
    assert "error" in json.loads(body)


def test_api_answers_a_token_minted_on_the_host(host, current_release):
    token = host.check_output("cams-manage mint_token --subject molecule --lifetime 300")
    status, _, body = get(host, "/api/overview/", "-H", f"Authorization: Bearer {token}")
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
    _, _, body = get(host, "/api/deployments/", "-H", f"Authorization: Bearer {token}")
    assert json.loads(body)["results"][0]["release_id"] == current_release


def test_deploy_lock_is_released(host):
    assert not host.file("/srv/cams/deploy.lock").exists


def test_gunicorn_slot_is_sandboxed(host, live_slot):
    """systemd's own measure of what the slot may do; docs/security.md reports it."""
    report = host.check_output("systemd-analyze security --no-pager cams@%s.service", live_slot)
    exposure = float(report.rsplit("Overall exposure level for", 1)[1].split(":", 1)[1].split()[0])
    assert exposure <= 2.5, report


def test_the_app_user_can_write_nothing_under_a_release(host, current_release):
    release = f"/srv/cams/releases/{current_release}"
    writable = host.run("runuser -u cams -- find %s -writable", release)
    assert writable.rc == 0 and writable.stdout == "", writable.stdout[:2000]
    assert host.run("runuser -u cams -- touch %s/app/manage.py", release).rc != 0
    owners = host.check_output("find %s -printf '%%u:%%g\\n' | sort -u", release)
    assert owners == "root:root"


def from_outside(host, path):
    """Status of a request nginx receives on the host's network address, as from another machine."""
    address = host.interface("eth0").addresses[0]
    return int(host.check_output(
        "curl -s -o /dev/null -w '%%{http_code}' --max-time 10 --cacert %s -H 'Host: localhost' https://%s%s",
        CA, address, path
    ))


def test_readiness_answers_only_loopback_and_probes(host):
    assert get(host, "/health/ready/")[0] == 200
    assert from_outside(host, "/health/ready/") == 403
    assert from_outside(host, "/health/") == 200, "liveness stays public for uptime monitors"


def test_admin_answers_only_allowed_networks(host):
    assert get(host, "/admin/login/")[0] == 200
    assert from_outside(host, "/admin/") == 403
    assert from_outside(host, "/admin/login/") == 403


def test_api_is_rate_limited_per_client(host):
    address = host.interface("eth0").addresses[0]
    statuses = host.check_output(
        "python3 -c %s", "import collections, concurrent.futures, json, ssl, urllib.error, urllib.request\n"
        f"tls = ssl.create_default_context(cafile='{CA}')\n"
        "def status(_):\n"
        "    try:\n"
        f"        request = urllib.request.Request('https://{address}/api/overview/', headers={{'Host': 'localhost'}})\n"
        "        return urllib.request.urlopen(request, timeout=10, context=tls).status\n"
        "    except urllib.error.HTTPError as error:\n"
        "        return error.code\n"
        # Concurrent, so that the burst outruns the rate (20/s) however slow one request is on a busy machine.
        "with concurrent.futures.ThreadPoolExecutor(30) as pool:\n"
        "    print(json.dumps(collections.Counter(pool.map(status, range(150)))))",
    )
    counts = {int(code): count for code, count in json.loads(statuses).items()}
    assert counts.get(429, 0) > 0, counts
    assert counts.get(401, 0) >= 40, f"the burst is served (without a token: 401): {counts}"
    assert get(host, "/api/overview/")[0] == 401, "other clients are not limited"


# TLS, as a client on this controller sees it ----------------------------------------------------------------

PUBLISHED_TLS = "127.0.0.1:18443"  # molecule.yml publishes the host's port 443 there
DEV_CA = pathlib.Path(__file__).parents[3] / ".pki" / "dev" / "ca.crt"  # the dev CA, on the control node
# Mozilla's intermediate profile: forward-secret AEAD suites only (TLS 1.3's three, and TLS 1.2's ECDHE ones).
INTERMEDIATE_CIPHERS = {
    "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
}


def test_tls_offers_only_the_intermediate_profile():
    scan = subprocess.run(["sslscan", "--no-colour", "--xml=-", PUBLISHED_TLS],
                          capture_output=True, text=True, timeout=120, check=True)
    report = ElementTree.fromstring(scan.stdout[scan.stdout.index("<?xml"):]).find("ssltest")
    enabled = {f"{protocol.get('type').upper()}v{protocol.get('version')}"
               for protocol in report.iter("protocol") if protocol.get("enabled") == "1"}
    assert enabled == {"TLSv1.2", "TLSv1.3"}, scan.stdout
    accepted = {(c.get("sslversion"), c.get("cipher"), int(c.get("bits"))) for c in report.iter("cipher")}
    assert accepted and {name for _, name, _ in accepted} <= INTERMEDIATE_CIPHERS, accepted
    assert min(bits for _, _, bits in accepted) >= 128, accepted


def tls_handshake(context, server_name):
    address, port = PUBLISHED_TLS.split(":")
    with socket.create_connection((address, int(port)), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=server_name) as tls:
            return tls.version()


def test_certificate_verifies_against_the_environment_ca():
    for name in ("localhost", "127.0.0.1"):  # the public names of molecule.yml
        assert tls_handshake(ssl.create_default_context(cafile=DEV_CA), name) in {"TLSv1.2", "TLSv1.3"}
    with pytest.raises(ssl.SSLCertVerificationError):
        tls_handshake(ssl.create_default_context(), "localhost")  # the system's CAs do not know it
    with pytest.raises(ssl.SSLCertVerificationError):
        tls_handshake(ssl.create_default_context(cafile=DEV_CA), "cams.example.com")  # nor is it valid for others


def converge_web_tier(extra_vars):
    run("ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(PROJECT / "playbooks" / "facts.yml"),
        str(PROJECT / "playbooks" / "webservers.yml"), "-e", json.dumps(extra_vars))


def test_a_provided_certificate_is_served_instead(tmp_path):
    """The provided source (a certificate and key from the vault; here from a throwaway CA), then back."""
    def openssl(*argv):
        run("openssl", *argv)

    new_key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    openssl("req", "-x509", *new_key, "-keyout", tmp_path / "ca.key", "-out", tmp_path / "ca.crt",
            "-subj", "/CN=provided test CA", "-days", "2")
    openssl("req", *new_key, "-keyout", tmp_path / "server.key", "-out", tmp_path / "server.csr",
            "-subj", "/CN=localhost")
    (tmp_path / "names").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", tmp_path / "server.csr", "-CA", tmp_path / "ca.crt", "-CAkey", tmp_path / "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", tmp_path / "names", "-out", tmp_path / "server.crt")
    converge_web_tier({"cams_web_tls_source": "provided",
                       "cams_web_tls_certificate": (tmp_path / "server.crt").read_text(),
                       "cams_web_tls_private_key": (tmp_path / "server.key").read_text()})
    try:
        assert tls_handshake(ssl.create_default_context(cafile=tmp_path / "ca.crt"), "localhost")
        with pytest.raises(ssl.SSLCertVerificationError):
            tls_handshake(ssl.create_default_context(cafile=DEV_CA), "localhost")
    finally:
        converge_web_tier({})
    assert tls_handshake(ssl.create_default_context(cafile=DEV_CA), "localhost"), "self_signed again"


def test_plain_http_only_redirects_to_https(host):
    status, headers, _ = get(host, "/api/overview/?page=2", url="http://127.0.0.1")
    assert status == 301 and headers["location"] == ["https://127.0.0.1/api/overview/?page=2"]
    # Claiming https does not get a client past the redirect: nginx believes that only from a trusted balancer.
    assert get(host, "/api/overview/", "-H", "X-Forwarded-Proto: https", url="http://127.0.0.1")[0] == 301
    # The ACME CA's HTTP-01 validation is answered over plain http (nothing pending here: 404, not a redirect).
    assert get(host, "/.well-known/acme-challenge/probe", url="http://127.0.0.1")[0] == 404


def test_no_hsts_in_dev(host):
    _, headers, _ = get(host, "/api/overview/")
    assert "strict-transport-security" not in headers, "dev: a browser must not pin https for localhost"


# SSH, as from an operator's machine: this controller, over the scenario's network -----------------------------

INSTANCE = "cams-dev-molecule"
PROJECT = pathlib.Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", pathlib.Path(__file__).parents[3]))


def run(*argv, check=True, timeout=300):
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{argv} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def address():
    return run("docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", INSTANCE).stdout.strip()


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    path = tmp_path_factory.mktemp("ssh") / "id_ed25519"
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "molecule-alice", "-f", str(path))
    return path


def ssh(address, user, key, *command, options=(), timeout=300):
    return run("ssh", "-i", str(key), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
               "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
               *options, f"{user}@{address}", *command, check=False, timeout=timeout)


def set_operators(operators):
    """Converge the hosts' base play (common, ssh_access, firewall) with these operators, as an inventory change
    would; the firewall needs the hosts' facts first."""
    run("ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(PROJECT / "playbooks" / "facts.yml"),
        str(PROJECT / "playbooks" / "common.yml"), "-e", json.dumps({"ssh_access_operators": operators}))


def test_ssh_admits_operators_by_key_only_and_a_removed_operator_loses_access(host, address, key):
    alice = {"name": "alice", "keys": [key.with_suffix(".pub").read_text().strip()]}
    set_operators([alice])
    assert ssh(address, "alice", key, "sudo", "-n", "id", "-un").stdout.strip() == "root", "operators get sudo"

    host.run("install -d -m 0700 /root/.ssh && cp /home/alice/.ssh/authorized_keys /root/.ssh/authorized_keys")
    root = ssh(address, "root", key, "true")
    assert root.returncode == 255 and "Permission denied" in root.stderr, "no root login, even with a valid key"

    password = ssh(address, "alice", key, "true", options=("-o", "PubkeyAuthentication=no"))
    assert "Permission denied (publickey)" in password.stderr, "no password or keyboard-interactive method offered"

    set_operators([{**alice, "state": "absent"}])
    gone = ssh(address, "alice", key, "true")
    assert gone.returncode == 255 and "Permission denied" in gone.stderr
    assert not host.user("alice").exists


def banned_addresses(host):
    return host.check_output("fail2ban-client status sshd").split("Banned IP list:", 1)[1].split()


def test_an_address_that_keeps_failing_to_log_in_is_banned(host, address, key):
    """Last of the SSH tests: this machine's address ends up banned (and is unbanned afterwards)."""
    assert host.service("fail2ban").is_running
    try:
        for _ in range(6):  # ssh_access_maxretry is 5
            try:
                ssh(address, "no-such-operator", key, "true", timeout=20)
            except subprocess.TimeoutExpired:
                break  # the ban landed mid-handshake: its packets are dropped, which is what this test wants
        for _ in range(20):  # fail2ban reads the journal asynchronously
            if banned_addresses(host):
                break
            time.sleep(1)
        assert banned_addresses(host)
        refused = ssh(address, "no-such-operator", key, "true", options=("-o", "ConnectTimeout=3"))
        assert refused.returncode == 255 and "Permission denied" not in refused.stderr, (
            f"a banned address does not even reach authentication: {refused.stderr}")
    finally:
        host.run("fail2ban-client unban --all")


def test_security_upgrades_are_unattended_without_reboots(host):
    config = host.check_output("apt-config dump")
    assert 'APT::Periodic::Unattended-Upgrade "1";' in config
    assert 'Unattended-Upgrade::Automatic-Reboot "false";' in config
    assert host.package("unattended-upgrades").is_installed


def test_backups_are_continuous_and_say_they_are_not_off_host():
    """dev keeps its pgBackRest repository on the database host: backed up, and told plainly it is not off-host."""
    status = run("ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"],
                 str(PROJECT / "playbooks" / "backup-status.yml"))
    assert "the database host: NOT off-host" in status.stdout, status.stdout
    assert "last backup: " in status.stdout and "last backup: none" not in status.stdout, status.stdout


def test_maintenance_mode_answers_503_until_it_is_taken_down(host):
    def maintenance(*extra):
        run("ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"],
            str(PROJECT / "playbooks" / "maintenance.yml"), *extra)

    maintenance("-e", json.dumps({"cams_web_maintenance": True, "cams_web_maintenance_message": "Back at 14:00 UTC."}))
    try:
        status, headers, body = get(host, "/health/")
        assert (status, headers["retry-after"]) == (503, ["300"])
        assert json.loads(body) == {"status": "maintenance", "environment": "dev", "message": "Back at 14:00 UTC."}
        status, headers, body = get(host, "/api/overview/")
        assert status == 503 and "Back at 14:00 UTC." in body and "text/html" in headers["content-type"][0]
    finally:
        maintenance()
    assert get(host, "/health/")[0] == 200


# An artifact changed after its build, refused by the host ----------------------------------------------------------

def without_colour(output):
    """Ansible's output as words: no colour codes (Molecule forces colour), no line breaks of its YAML results."""
    return " ".join(re.sub(r"\x1b\[[0-9;]*m", "", output).split())


def test_an_artifact_changed_after_its_build_is_refused_and_traffic_stays(host, current_release, tmp_path):
    """One build of a scratch commit, one file rewritten inside its archive (the manifest kept), one deploy: the host
    refuses the artifact before unpacking it and keeps serving what it served."""
    repo, artifacts, stage = tmp_path / "repo", tmp_path / "artifacts", tmp_path / "stage"
    run("git", "clone", "-q", "--shared", str(PROJECT), str(repo))
    with (repo / "app" / "backend" / "wsgi.py").open("a") as wsgi:
        wsgi.write("\n# a release of its own, to tamper with\n")
    git = ("git", "-C", str(repo), "-c", "user.name=molecule", "-c", "user.email=molecule@test")
    run(*git, "commit", "-q", "-am", "a release to tamper with")
    release = run(*git, "rev-parse", "HEAD:app").stdout.strip()[:12]
    # Artifacts of their own, so that the tampered one is never reused from the project's .artifacts/.
    options = ("-i", os.environ["MOLECULE_INVENTORY_FILE"], "-e", f"cams_app_repo_dir={repo}",
               "-e", "cams_app_ref=HEAD", "-e", f"cams_app_artifact_dir={artifacts}")
    run("ansible-playbook", *options, str(PROJECT / "playbooks" / "build.yml"), timeout=900)

    archive = artifacts / f"cams-{release}.tar.gz"
    stage.mkdir()
    run("tar", "-xzf", str(archive), "-C", str(stage))
    with (stage / "app" / "backend" / "wsgi.py").open("a") as wsgi:
        wsgi.write("import os; os.system('id')\n")
    run("tar", "-C", str(stage), "--owner=0", "--group=0", "--numeric-owner", "-czf", str(archive), ".")

    deploy = run("ansible-playbook", *options, str(PROJECT / "playbooks" / "deploy.yml"), check=False, timeout=900)
    output = without_colour(deploy.stdout + deploy.stderr)
    assert deploy.returncode != 0, output
    assert (f"release {release}: artifact /srv/cams/artifacts/cams-{release}.tar.gz does not match its manifest "
            f"/srv/cams/artifacts/cams-{release}.json: files whose SHA-256 differs (1): app/backend/wsgi.py") in output
    assert f"Traffic stays on release {current_release}." in output
    assert json.loads(get(host, "/health/")[2])["release"]["id"] == current_release
    assert not host.file(f"/srv/cams/releases/{release}").exists, "nothing of it was unpacked"
    assert host.check_output("cams-release state %s", release) == "failed"


def test_a_failed_background_build_stops_the_deploy_before_its_lock(host, current_release, tmp_path):
    """deploy.yml builds in the background while it reads the host; a build that fails (a requirement no index has)
    fails the run with the build's own error before the deploy lock: no lock, no ledger entry, nothing unpacked."""
    repo = tmp_path / "repo"
    run("git", "clone", "-q", "--shared", str(PROJECT), str(repo))
    with (repo / "app" / "requirements.txt").open("a") as requirements:
        requirements.write("cams-no-such-distribution==0.0.1\n")
    git = ("git", "-C", str(repo), "-c", "user.name=molecule", "-c", "user.email=molecule@test")
    run(*git, "commit", "-q", "-am", "a requirement no index has")
    release = run(*git, "rev-parse", "HEAD:app").stdout.strip()[:12]
    ledger_before = host.file("/srv/cams/ledger.jsonl").content_string

    deploy = run("ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "-e", f"cams_app_repo_dir={repo}",
                 "-e", "cams_app_ref=HEAD", "-e", f"cams_app_artifact_dir={tmp_path / 'artifacts'}",
                 str(PROJECT / "playbooks" / "deploy.yml"), check=False, timeout=900)
    output = without_colour(deploy.stdout + deploy.stderr)
    assert deploy.returncode != 0, output
    assert f"Wait on the control node for the build of artifact {release}" in output, output
    assert "cams-no-such-distribution" in output, output  # pip's own words, not a generic failure
    assert not (tmp_path / "artifacts" / f"cams-{release}.tar.gz").exists()
    assert not host.file("/srv/cams/deploy.lock").exists
    assert host.file("/srv/cams/ledger.jsonl").content_string == ledger_before
    assert not host.file(f"/srv/cams/releases/{release}").exists
    assert json.loads(get(host, "/health/")[2])["release"]["id"] == current_release
