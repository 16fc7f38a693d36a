"""A mixed environment converged by site.yml: the app on Debian 13 serves from the database on Debian 12."""
import json
import subprocess

APP, DB = "cams-mixed-app-01", "cams-mixed-db-01"


def on(host, command):
    return subprocess.run(["docker", "exec", host, "sh", "-c", command], capture_output=True, text=True,
                          check=True).stdout.strip()


def python_of(host, python):
    return on(host, f"{python} -c \"import sys; print('%d.%d' % sys.version_info[:2])\"")


def test_each_host_runs_its_own_release():
    assert on(APP, ". /etc/os-release && echo $VERSION_ID") == "13"
    assert on(DB, ". /etc/os-release && echo $VERSION_ID") == "12"
    assert python_of(APP, "/srv/cams/current/venv/bin/python") == "3.13"
    assert on(DB, "pg_lsclusters --no-header").split()[:2] == ["15", "main"]


def test_the_app_on_13_is_ready_on_the_database_on_12():
    body = on(APP, "curl -sS --max-time 10 --cacert /etc/cams/ca.crt https://127.0.0.1/health/ready/")
    assert json.loads(body)["status"] == "ok", body


def test_the_database_on_12_is_backed_up():
    info = json.loads(on(DB, "runuser -u postgres -- pgbackrest --stanza=main --output=json info"))
    assert info[0]["status"]["message"] == "ok", info
    assert info[0]["backup"], info
