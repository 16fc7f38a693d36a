"""Prod as it runs, step by step, on molecule/prod's hosts (the tests run in order and build on each other): the
operator's bootstrap (site.yml a second time: the idempotence check), the topology, TLS and the firewall, the balancer,
monitoring and its drill, backups, failover, the release lifecycle, the restore drills and secret rotation.

v1 is what converge deployed (this working tree). From a scratch git repository holding copies of app/:
v2 adds a reversible migration; v3-migration adds a failing one; v3-boot cannot boot; v4 adds an irreversible
migration. Each step runs the real playbooks against the Molecule inventory.
"""
import calendar
import concurrent.futures
import json
import threading
import os
import pathlib
import queue
import re
import shutil
import signal
import ssl
import subprocess
import time
import urllib.request

import pytest
import yaml

PROJECT = pathlib.Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", pathlib.Path(__file__).parents[3]))
# Molecule's inventory directory: its hosts, the linked inventories/<environment>/group_vars and the test secrets.
INVENTORY = os.path.dirname(os.environ.get("MOLECULE_INVENTORY_FILE", ""))
# The scenario is named after the environment whose inventory it converges; its platforms after that inventory's hosts.
SCENARIO = pathlib.Path(os.environ.get("MOLECULE_SCENARIO_DIRECTORY", pathlib.Path(__file__).parents[1]))
ENVIRONMENT = SCENARIO.name
PLATFORMS = yaml.safe_load((SCENARIO / "molecule.yml").read_text())["platforms"]
HOSTS = {group: [p["name"] for p in PLATFORMS if group in p["groups"]]
         for group in ("loadbalancers", "appservers", "dbservers", "backupservers", "monitoringservers")}
BALANCER, APP_HOSTS, DB_HOST, BACKUP_HOST, MONITOR = (HOSTS["loadbalancers"][0], HOSTS["appservers"],
                                                      HOSTS["dbservers"][0], HOSTS["backupservers"][0],
                                                      HOSTS["monitoringservers"][0])


def inventory_vars(environment):
    return yaml.safe_load((PROJECT / "inventories" / environment / "group_vars" / "all" / "main.yml").read_text())


PUBLIC_HOST = inventory_vars(ENVIRONMENT)["cams_public_hostnames"][0]
OTHER_ENVIRONMENT = "staging" if ENVIRONMENT == "prod" else "prod"
DATABASE = f"cams_{ENVIRONMENT}"
ROOT = "/srv/cams"
SECRETS = {name: value for name, value in yaml.safe_load(
    (PROJECT / "molecule" / "resources" / "outside-the-repository.yml").read_text())["all"]["vars"].items()
    if name.startswith("vault_")}
MARKER = "marker-inserted-at-v1"
CONFIRMED = f"cams_confirm_restore={ENVIRONMENT}"  # what a restore of prod needs
PEBBLE = pathlib.Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent")) / "pebble"  # prepare.yml
# Where `docker cp` puts files on the hosts: not /tmp, which systemd mounts a tmpfs over on Debian 13, hiding them.
HOST_SCRATCH = "/root"
ACME_ROOT = f"{HOST_SCRATCH}/acme-root.pem"  # pebble's root on the web hosts and the balancer, for curl and loadgen.py
CURL = f"curl -sS --max-time 10 --cacert {ACME_ROOT} --resolve {PUBLIC_HOST}:443:127.0.0.1"

pytestmark = pytest.mark.skipif(not INVENTORY, reason="runs as the verifier of molecule/prod")


def sh(*argv, check=True, **kwargs):
    result = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def on(host, command, check=True):
    return sh("docker", "exec", host, "sh", "-c", command, check=check)


# site.yml's plays a change of the app hosts' configuration goes through, as site.yml runs them: the build, the facts,
# the app tier (set up, then deploy) and the database's rotated password after it. The others change nothing there,
# and the bootstrap test shows site.yml as a whole changes nothing it need not.
APP_TIER_OF_SITE = ("build.yml", "facts.yml", "rollout.yml", "database_password.yml")


def playbook(name, repo, *extra_vars, check=True, options=()):
    """ansible-playbook PROJECT/playbooks/<name> (or PROJECT/<name>; a tuple of names: those in turn, APP_TIER_OF_SITE
    as site.yml runs them) against the scenario, building artifacts from `repo`."""
    if name == APP_TIER_OF_SITE:
        extra_vars = ("cams_app_entry_point=main", *extra_vars)
    paths = [PROJECT / "playbooks" / each if (PROJECT / "playbooks" / each).exists() else PROJECT / each
             for each in (name if isinstance(name, tuple) else (name,))]
    argv = ["ansible-playbook", *options, "-i", INVENTORY, *map(str, paths),
            "-e", f"cams_app_repo_dir={repo}", "-e", f"cams_app_artifact_dir={PROJECT / '.artifacts'}"]
    for extra in extra_vars:
        argv += ["-e", extra]
    # Plain output to match on (Molecule forces colour), with failures (stderr) in place.
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=PROJECT, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}")
    return result


@pytest.fixture(scope="module", autouse=True)
def acme_root():
    """pebble's root CA (it makes a new one at every start), which the hosts' certificates chain to."""
    context = ssl.create_default_context(cafile=PEBBLE / "listener-ca.crt")
    pem = urllib.request.urlopen("https://127.0.0.1:15000/roots/0", context=context, timeout=10).read()
    (PEBBLE / "root.pem").write_bytes(pem)
    for host in (*APP_HOSTS, BALANCER):
        sh("docker", "cp", str(PEBBLE / "root.pem"), f"{host}:{ACME_ROOT}")
    return PEBBLE / "root.pem"


def health(host):
    return json.loads(on(host, f"{CURL} https://{PUBLIC_HOST}/health/").stdout)


def serving(host):
    return health(host)["release"]["id"]


def ledger(host):
    return [json.loads(line) for line in on(host, f"cat {ROOT}/ledger.jsonl").stdout.splitlines()]


def api(host, path):
    token = on(host, "cams-manage mint_token --subject lifecycle --lifetime 300").stdout.strip()
    answer = on(host, f"{CURL} -H 'Authorization: Bearer {token}' https://{PUBLIC_HOST}{path}")
    return json.loads(answer.stdout)


def marker_is_kept():
    deployments = api(APP_HOSTS[0], "/api/deployments/?limit=200")["results"]
    return any(row["release_id"] == MARKER for row in deployments)


def table_exists(name):
    query = f"select to_regclass('public.{name}') is not null"
    return psql(query) == "t"


def release_id_of(repo, ref):
    return sh("git", "-C", str(repo), "rev-parse", f"{ref}:app").stdout.strip()[:12]


def address_of(host):
    return sh("docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", host).stdout.strip()


def reachable(source, host, port):
    """Whether a TCP connection from `source` (a host, or None for this machine) to host:port is accepted."""
    probe = f"timeout 1 bash -c '</dev/tcp/{address_of(host)}/{port}'"
    if source is None:
        return subprocess.run(["bash", "-c", probe], capture_output=True).returncode == 0
    return on(source, probe, check=False).returncode == 0


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A scratch repository: v1 = this working tree's app/, then the versions the steps deploy."""
    root = tmp_path_factory.mktemp("versions")
    files = sh("git", "-C", str(PROJECT), "ls-files", "-co", "--exclude-standard", "--", "app").stdout.split()
    for relative in files:
        if (PROJECT / relative).is_file():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT / relative, root / relative)
    git = ("git", "-C", str(root), "-c", "user.name=lifecycle", "-c", "user.email=lifecycle@test")
    sh(*git, "init", "-q", "-b", "main")
    migrations = root / "app" / "cams" / "migrations"
    latest = sorted(p.stem for p in migrations.glob("[0-9][0-9][0-9][0-9]_*.py"))[-1]

    def commit(tag, base=None, files=()):
        if base:
            sh(*git, "checkout", "-q", "-B", "main", base)
        for relative, text in files:
            path = root / relative
            path.write_text(path.read_text() + text if path.exists() else text)
        sh(*git, "add", "-A")
        sh(*git, "commit", "-q", "-m", tag)
        sh(*git, "tag", tag)

    def migration(name, depends_on, operation):
        return (f"app/cams/migrations/{name}.py",
                "from django.db import migrations\n\n\ndef noop(apps, schema_editor):\n    pass\n\n\n"
                f"class Migration(migrations.Migration):\n    dependencies = [('cams', '{depends_on}')]\n"
                f"    operations = [{operation}]\n")

    commit("v1")
    commit("v2", files=[migration("9001_lifecycle_v2", latest,
                                  "migrations.RunSQL('CREATE TABLE lifecycle_v2 (id serial PRIMARY KEY)', "
                                  "reverse_sql='DROP TABLE lifecycle_v2')")])
    commit("v2b", files=[("app/backend/wsgi.py", "\n# lifecycle v2b: v2's schema, another release\n")])
    commit("v3-migration", base="v2", files=[migration("9002_lifecycle_broken", "9001_lifecycle_v2",
                                            "migrations.RunSQL('SELECT 1/0')")])
    commit("v3-boot", base="v2", files=[("app/backend/wsgi.py",
                                         "\nraise RuntimeError('lifecycle v3-boot: this release cannot boot')\n")])
    commit("v4", base="v2", files=[migration("9002_lifecycle_irreversible", "9001_lifecycle_v2",
                                             "migrations.RunPython(noop)")])
    commit("v5", base="v1", files=[migration("9003_lifecycle_v5", latest,
                                             "migrations.RunSQL('CREATE TABLE lifecycle_v5 (id int)', "
                                             "reverse_sql='DROP TABLE lifecycle_v5')")])
    return root


@pytest.fixture(scope="module")
def v1(repo):
    return release_id_of(repo, "v1")


def test_converged_release_is_v1_on_every_host(v1):
    assert [serving(host) for host in APP_HOSTS] == [v1] * len(APP_HOSTS)


def debian(host):
    return on(host, ". /etc/os-release && echo $VERSION_ID").stdout.strip()


def debian_and_python(host):
    return [debian(host), on(host, "/srv/cams/current/venv/bin/python -c "
                                   "\"import sys; print('%d.%d' % sys.version_info[:2])\"").stdout.strip()]


def test_a_mixed_environment_runs_each_host_on_its_own_release():
    """app-02, the balancer and the monitoring host run Debian 13 beside the others' 12 (molecule.yml), as an
    environment upgraded one host at a time: each app host runs the release on its own Python, from the artifact's
    wheelhouse for it, against the database on Debian 12, behind HAProxy 3.0, watched by Prometheus 2.53 (every other
    test here goes through them). The backup host stays with the database host: pgBackRest only talks to its own
    version, and each release ships its own."""
    assert [debian_and_python(host) for host in APP_HOSTS] == [["12", "3.11"], ["13", "3.13"]]
    assert on(DB_HOST, "pg_lsclusters --no-header").stdout.split()[:2] == ["15", "main"]
    assert {host: debian(host) for host in (DB_HOST, BACKUP_HOST, BALANCER, MONITOR)} == {
        DB_HOST: "12", BACKUP_HOST: "12", BALANCER: "13", MONITOR: "13"}
    assert on(BALANCER, "haproxy -v").stdout.startswith("HAProxy version 3.0.")
    assert "version 2.53." in on(MONITOR, "prometheus --version 2>&1").stdout


# The operator's bootstrap (ops/bootstrap.py, `make bootstrap ENV=...`), for real on the converged environment ----


def changed_tasks(output):
    """The tasks of an ansible-playbook output that changed something, with the hosts they changed."""
    task, changed = None, []
    for line in output.splitlines():
        if "TASK [" in line:
            task = line[line.index("TASK [") + 6:].split("]")[0]
        elif line.startswith("changed: "):
            changed.append(f"{task}: {line.split()[1]}")
    return changed


def test_bootstrap_of_the_converged_environment_changes_nothing_and_says_where_it_lives(acme_root, repo, v1, tmp_path):
    """`python -m ops bootstrap <env>` as an operator runs it, its inventory the scenario's: the environment's branch is
    on origin (a bare copy of the scratch repository), site.yml changes nothing on the environment converge made, and
    /health/ answers ok through the balancer with pebble's certificate verified. The summary names the URL, the
    release running and the hosts of each group. First, on what converge made: this is the scenario's idempotence
    check (site.yml a second time, changed=0), run as the operator runs it."""
    origin, clone = tmp_path / "origin.git", tmp_path / "operator"
    sh("git", "clone", "-q", "--bare", str(repo), str(origin))
    for branch in ("develop", "staging", "main"):  # whichever the environment deploys from
        sh("git", "-C", str(origin), "update-ref", f"refs/heads/{branch}", "v1")
    sh("git", "clone", "-q", str(origin), str(clone))

    bootstrap = ops("bootstrap", ENVIRONMENT, "--repository", str(clone), "--connect-to", address_of(BALANCER),
                    "--cacert", str(acme_root))

    assert bootstrap.returncode == 0, f"{bootstrap.stdout}\n{bootstrap.stderr}"
    summary = bootstrap.stdout.splitlines()
    assert summary[0].startswith(f"{ENVIRONMENT} bootstrapped: site.yml changed=0; https://{PUBLIC_HOST}/ is healthy "
                                 f"and runs release {v1} "), (bootstrap.stdout, changed_tasks(bootstrap.stderr))
    assert f"  appservers: {', '.join(sorted(APP_HOSTS))}" in summary
    assert f"  loadbalancers: {BALANCER}" in summary


def listening_ports(host):
    """TCP ports listened on, but Docker's embedded DNS (127.0.0.11), which only the test bed has."""
    local_addresses = [line.split()[3] for line in on(host, "ss -Htln").stdout.splitlines()]
    return {int(address.rsplit(":", 1)[1]) for address in local_addresses if not address.startswith("127.0.0.11:")}


def test_each_host_listens_only_where_its_tier_needs():
    """Besides its tier's: the node exporter (9100) everywhere, and each tier's exporter (docs/monitoring.md)."""
    assert listening_ports(BALANCER) == {22, 80, 443, 8405, 9100}
    assert listening_ports(DB_HOST) == {22, 5432, 9100, 9187}
    assert listening_ports(BACKUP_HOST) == {22, 9100}, "pgBackRest reaches its repository over SSH"
    assert listening_ports(MONITOR) == {22, 9090, 9093, 9100, 9115}
    for host in APP_HOSTS:
        assert listening_ports(host) == {22, 80, 443, 8080, 8443, 9100, 9113, 9180}, "gunicorn: unix sockets only"


def test_the_firewall_lets_through_only_what_each_tier_needs():
    """From every host, and from this machine (outside the environment), to every host's service ports."""
    everyone = {BALANCER, DB_HOST, BACKUP_HOST, MONITOR, *APP_HOSTS, None}
    expected = {  # (target, port): sources that get through; None is this machine
        (BALANCER, 80): everyone - {BALANCER},
        (BALANCER, 443): everyone - {BALANCER},
        (DB_HOST, 5432): {*APP_HOSTS},
        (DB_HOST, 22): everyone - {DB_HOST},
        (BACKUP_HOST, 22): everyone - {BACKUP_HOST},
        (MONITOR, 22): everyone - {MONITOR},
        (APP_HOSTS[0], 22): everyone - {APP_HOSTS[0]},
        # Alertmanager answers the app hosts (the dashboard's alerts); Prometheus and blackbox their loopback only.
        (MONITOR, 9093): {*APP_HOSTS},
        (MONITOR, 9090): set(),
        (MONITOR, 9115): set(),
        # The exporters answer the monitoring host only.
        (DB_HOST, 9187): {MONITOR},
        (BALANCER, 8405): {MONITOR},
    }
    for host in everyone - {None, MONITOR}:
        expected[(host, 9100)] = {MONITOR}
    for host in APP_HOSTS:
        # Web hosts answer the balancer, and each other (ACME challenges), never clients directly.
        expected[(host, 80)] = expected[(host, 443)] = {BALANCER, *APP_HOSTS} - {host}
        expected[(host, 8080)] = expected[(host, 8443)] = {BALANCER}
        expected[(host, 9113)] = expected[(host, 9180)] = {MONITOR}
    probes = [(source, target, port) for target, port in expected for source in everyone if source != target]
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        through = dict(zip(probes, pool.map(lambda probe: reachable(*probe), probes)))
    seen = {(target, port): {source for source, *to in probes if to == [target, port] and through[(source, *to)]}
            for target, port in expected}
    assert seen == expected
    assert "policy drop" in on(DB_HOST, "nft list chain inet firewall input").stdout


def connect_to_the_database(host, sslmode, password=SECRETS["vault_cams_database_password"]):
    """A connection from `host` to the database as the app's role, with libpq's `sslmode`."""
    code = ("import psycopg2; psycopg2.connect(host=%r, dbname=%r, user=%r, password=%r, "
            "sslmode=%r, sslrootcert='/etc/cams/ca.crt', connect_timeout=5).close()"
            % (address_of(DB_HOST), DATABASE, DATABASE, password, sslmode))
    return sh("docker", "exec", host, f"{ROOT}/current/venv/bin/python", "-c", code, check=False)


def test_app_hosts_reach_the_database_only_over_verified_tls():
    for host in APP_HOSTS:
        plain = connect_to_the_database(host, "disable")
        assert plain.returncode != 0 and "no encryption" in plain.stderr, plain.stderr
        verified = connect_to_the_database(host, "verify-full")
        assert verified.returncode == 0, verified.stderr
    assert on(APP_HOSTS[0], "grep -x PGSSLMODE=verify-full /etc/cams/cams.env", check=False).returncode == 0


def served_certificate(host):
    """The SHA-256 of the certificate nginx on `host` serves for the public name, verified against pebble's root, from
    the balancer: only it and the other web hosts reach a web host."""
    code = ("import hashlib, socket, ssl; tls = ssl.create_default_context(cafile=%r).wrap_socket("
            "socket.create_connection((%r, 443), timeout=10), server_hostname=%r); "
            "print(hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest())"
            % (ACME_ROOT, address_of(host), PUBLIC_HOST))
    return sh("docker", "exec", BALANCER, "python3", "-c", code).stdout.strip()


def test_every_web_host_serves_a_certificate_from_the_acme_ca(acme_root):
    certificates = {host: served_certificate(host) for host in APP_HOSTS}
    assert len(set(certificates.values())) == len(APP_HOSTS), "each web host got its own from certbot"
    for host in APP_HOSTS:
        assert on(host, "systemctl is-active certbot.timer").stdout.strip() == "active", "renewal is scheduled"
        assert "server = https://" in on(host, "cat /etc/letsencrypt/renewal/cams.conf").stdout


def test_https_answers_carry_hsts_once():
    for path in ("/health/", "/api/overview/", "/"):
        head = on(APP_HOSTS[0], f"{CURL} -o /dev/null -D - https://{PUBLIC_HOST}{path}").stdout.lower()
        assert head.count("strict-transport-security: max-age=63072000") == 1, (path, head)


def through_the_balancer(path, name=PUBLIC_HOST, host_header=None, *curl_args):
    """curl from this machine (outside the environment) to the balancer, the name resolved to it as DNS would."""
    port = 443 if path.startswith("https") else 80
    argv = ["curl", "-sS", "--max-time", "10", "--cacert", str(PEBBLE / "root.pem"),
            "--resolve", f"{name}:{port}:{address_of(BALANCER)}", *curl_args]
    if host_header:
        argv += ["-H", f"Host: {host_header}"]
    return sh(*argv, path.replace("NAME", name), check=False)


def balancer_stat():
    """HAProxy's `show stat` on the balancer, by (backend, server)."""
    answer = on(BALANCER, "echo 'show stat' | socat stdio unix-connect:/run/haproxy/admin.sock").stdout
    header, *rows = answer.lstrip("# ").splitlines()
    fields = header.split(",")
    return {(row["pxname"], row["svname"]): row
            for row in (dict(zip(fields, line.split(","))) for line in rows if line)}


def balancer_status(host):
    return balancer_stat()[("cams_https", host)]["status"]


def test_every_app_host_serves_through_the_balancer(acme_root):
    before = {host: int(balancer_stat()[("cams_https", host)]["stot"]) for host in APP_HOSTS}
    for _ in range(10):
        answer = through_the_balancer("https://NAME/health/")
        assert json.loads(answer.stdout)["status"] == "ok", answer.stderr
    after = {host: int(balancer_stat()[("cams_https", host)]["stot"]) for host in APP_HOSTS}
    assert all(after[host] > before[host] for host in APP_HOSTS), (before, after)
    assert [balancer_status(host) for host in APP_HOSTS] == ["UP"] * len(APP_HOSTS)


def test_the_environment_has_its_own_database_role_and_settings(acme_root):
    assert json.loads(through_the_balancer("https://NAME/health/").stdout)["environment"] == ENVIRONMENT
    databases = set(psql("select datname from pg_database where not datistemplate").split())
    roles = set(psql("select rolname from pg_roles where rolname like 'cams%'").split())
    assert databases == {"postgres", DATABASE} and roles == {DATABASE}, (databases, roles)
    for host in APP_HOSTS:
        assert on(host, f"grep -x DJANGO_SETTINGS_MODULE=backend.settings.{ENVIRONMENT} /etc/cams/cams.env",
                  check=False).returncode == 0


def test_the_balancer_refuses_another_environments_name(acme_root):
    other = inventory_vars(OTHER_ENVIRONMENT)["cams_public_hostnames"][0]
    refused = through_the_balancer("https://NAME/health/", other)
    assert refused.returncode != 0 and refused.stdout == "", f"no TLS handshake for a name that is not {ENVIRONMENT}'s"
    # The right server name but another Host: nginx holds no other name.
    misdirected = through_the_balancer("https://NAME/health/", PUBLIC_HOST, other,
                                       "-o", "/dev/null", "-w", "%{http_code}")
    assert misdirected.stdout == "421"


def test_the_client_address_and_scheme_come_from_the_connection_not_from_headers(acme_root):
    """nginx takes the client's address from the balancer's PROXY protocol header; what a client claims in
    X-Forwarded-For or X-Forwarded-Proto is ignored."""
    claimed = through_the_balancer("http://NAME/api/overview/", PUBLIC_HOST, None, "-o", "/dev/null", "-w",
                                   "%{http_code}", "-H", "X-Forwarded-Proto: https")
    assert claimed.stdout == "301", "plain http is redirected, whatever the client says"
    marker = f"/health/?client-address-{time.time_ns()}"
    through_the_balancer(f"https://NAME{marker}", PUBLIC_HOST, None, "-H", "X-Forwarded-For: 203.0.113.9")
    gateway = sh("docker", "network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", f"molecule-{ENVIRONMENT}").stdout.strip()
    logged = [line for host in APP_HOSTS
              for line in on(host, f"grep -F '{marker}' /var/log/nginx/access.log", check=False).stdout.splitlines()]
    assert [line.split()[0] for line in logged] == [gateway], logged


# --- Monitoring (roles cams_monitoring, prometheus_exporters; docs/monitoring.md): Prometheus and Alertmanager on the
# monitoring host scrape every host's exporters and probe the public URL as a user would ----------------------------


def prometheus(query):
    """The result of an instant PromQL query to Prometheus on the monitoring host (it listens on its loopback only)."""
    answer = on(MONITOR, f"curl -sS --max-time 10 --get --data-urlencode 'query={query}' "
                         "http://127.0.0.1:9090/api/v1/query").stdout
    return json.loads(answer)["data"]["result"]


def targets():
    """{(job, instance): health} of every target Prometheus scrapes, and the labels of each."""
    answer = on(MONITOR, "curl -sS --max-time 10 'http://127.0.0.1:9090/api/v1/targets?state=active'").stdout
    return {(t["labels"]["job"], t["labels"]["instance"]): t for t in json.loads(answer)["data"]["activeTargets"]}


def eventually(condition, what, seconds, every=2):
    """condition()'s first true answer within `seconds`, else a failure that says what did not happen."""
    deadline = time.monotonic() + seconds
    while not (answer := condition()):
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(every)
    return answer


def test_prometheus_scrapes_every_exporter_of_every_host_and_probes_the_public_url(acme_root):
    """After a converge every target is up: node everywhere, PostgreSQL, nginx and the app on their tiers, HAProxy's
    own exporter; the blackbox exporter reaches /health/ and /health/ready/ through the balancer, TLS verified."""
    expected = ({("node", platform["name"]) for platform in PLATFORMS} | {("postgresql", DB_HOST), ("haproxy", BALANCER)}
                | {(job, host) for host in APP_HOSTS for job in ("nginx", "app")})

    def all_up():
        seen = targets()
        return seen if all(target["health"] == "up" for target in seen.values()) else None
    try:
        seen = eventually(all_up, "every target up", 90)
    except AssertionError:
        down = {key: target["lastError"] for key, target in targets().items() if target["health"] != "up"}
        raise AssertionError(f"targets not up: {down}") from None
    assert {key for key in seen if key[0] != "blackbox"} == expected
    assert {seen[key]["labels"]["probe"] for key in seen if key[0] == "blackbox"} == {"health", "readiness"}
    assert {target["labels"].get("environment", ENVIRONMENT) for target in seen.values()} == {ENVIRONMENT}

    def value(query):
        return {sample["metric"].get("instance", ""): float(sample["value"][1]) for sample in prometheus(query)}
    assert set(value('probe_success{job="blackbox"} == 1').values()) == {1.0} and len(value("probe_success")) == 2
    assert min(value("probe_ssl_earliest_cert_expiry - time()").values()) > 0, "a valid certificate, verified"
    assert value('pg_up') == {DB_HOST: 1.0} and value("nginx_up") == {host: 1.0 for host in APP_HOSTS}
    assert value('haproxy_server_status{proxy="cams_https",state="UP"}') == {BALANCER: 1.0}, "one series per host"
    assert set(value("cams_database_reachable")) == set(APP_HOSTS) and set(value("cams_database_reachable").values()) == {1.0}
    releases = {sample["metric"]["instance"]: sample["metric"]["release_id"] for sample in prometheus("cams_release_info")}
    assert releases == {host: serving(host) for host in APP_HOSTS}, "the deploy mark: the release each host serves"
    assert set(value("cams_gunicorn_workers")) == set(APP_HOSTS) and min(value("cams_gunicorn_workers").values()) >= 1
    assert value("cams_backup_last_success_timestamp_seconds") and value("cams_wal_archive_last_success_timestamp_seconds")


WEBHOOK_LOG = "/tmp/webhook.jsonl"
# The paging service of the scenario (outside-the-repository.yml's webhook URL): every notification, a line each.
WEBHOOK = f"""
import http.server
class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open("{WEBHOOK_LOG}", "ab") as log:
            log.write(body.replace(b"\\n", b" ") + b"\\n")
        self.send_response(200)
        self.end_headers()
http.server.HTTPServer(("127.0.0.1", 9099), Receiver).serve_forever()
"""


def notified(alertname, status):
    """The alerts named `alertname` the paging webhook got with `status` (firing, resolved)."""
    lines = on(MONITOR, f"cat {WEBHOOK_LOG} 2>/dev/null || true").stdout.splitlines()
    return [alert for line in lines for alert in json.loads(line)["alerts"]
            if alert["labels"]["alertname"] == alertname and alert["status"] == status]


def firing_in_alertmanager(alertname):
    answer = on(MONITOR, "curl -sS --max-time 10 'http://127.0.0.1:9093/api/v2/alerts?active=true'").stdout
    return [alert for alert in json.loads(answer) if alert["labels"]["alertname"] == alertname]


def monitoring_play(*extra_vars):
    """playbooks/monitoringservers.yml as site.yml runs it (after the facts of every host), with `extra_vars`."""
    argv = ["ansible-playbook", "-i", INVENTORY, str(PROJECT / "playbooks" / "facts.yml"),
            str(PROJECT / "playbooks" / "monitoringservers.yml")]
    for extra in extra_vars:
        argv += ["-e", extra]
    return sh(*argv, cwd=PROJECT)


def test_the_environment_down_pages_then_resolves_and_alerts_show_in_status_and_the_dashboard(acme_root):
    """The app stops on every app host: CamsEnvironmentDown reaches the paging webhook (measured), `make status` lists
    it as a problem; the app starts: the page resolves. A disk alert made to fire by lowering its threshold (a ticket)
    shows in the dashboard and in `make status` without making the environment unhealthy."""
    on(MONITOR, f"rm -f {WEBHOOK_LOG}")
    sh("docker", "exec", "-d", MONITOR, "python3", "-c", WEBHOOK)
    monitoring_play("cams_monitoring_disk_free_min_ratio=1.0", "cams_monitoring_disk_space_low_for=0s")
    slots = {host: live_slot(host) for host in APP_HOSTS}
    stopped = time.monotonic()
    for host, slot in slots.items():
        on(host, f"systemctl stop cams@{slot}.socket cams@{slot}.service")
    try:
        paged = eventually(lambda: notified("CamsEnvironmentDown", "firing"), "CamsEnvironmentDown paged", 300)
        paged_after = time.monotonic() - stopped
        assert paged[0]["labels"]["environment"] == ENVIRONMENT and paged[0]["labels"]["severity"] == "page"
        assert paged[0]["annotations"]["runbook"].endswith("monitoring.md#camsenvironmentdown")
        assert not notified("CamsReadinessFailing", "firing"), "held back while the environment is down: one page"
        returncode, status = ops_status()
        assert returncode == 1 and any(problem.startswith("alert CamsEnvironmentDown (page)")
                                       for problem in status["problems"]), status["problems"]
    finally:
        for host, slot in slots.items():
            on(host, f"systemctl start cams@{slot}.socket cams@{slot}.service")
    started = time.monotonic()
    eventually(lambda: notified("CamsEnvironmentDown", "resolved"), "CamsEnvironmentDown resolved", 240)
    resolved_after = time.monotonic() - started
    print(f"\n[monitoring] app stopped on {len(APP_HOSTS)} app host(s): CamsEnvironmentDown paged after "
          f"{paged_after:.0f} s; app started: resolved after {resolved_after:.0f} s")
    try:
        eventually(lambda: firing_in_alertmanager("CamsDiskSpaceLow"), "CamsDiskSpaceLow firing", 120)
        shown = api(APP_HOSTS[0], "/api/alerts/")
        assert shown["status"] == "ok" and "CamsDiskSpaceLow" in {alert["name"] for alert in shown["alerts"]}, shown
        returncode, status = ops_status()
        assert "CamsDiskSpaceLow" in {alert["name"] for alert in status["alerts"]}
        assert not any("CamsDiskSpaceLow" in problem for problem in status["problems"]), "a ticket, not a problem"
    finally:
        monitoring_play()  # the threshold back
    eventually(lambda: not firing_in_alertmanager("CamsDiskSpaceLow"), "CamsDiskSpaceLow resolved", 120)
    # The heartbeat reached its receiver meanwhile (the dead man's switch's), again every minute.
    assert len([alert for alert in notified("CamsWatchdog", "firing") if alert["labels"]["severity"] == "heartbeat"]) >= 2
    eventually(lambda: all(balancer_status(host) == "UP" for host in APP_HOSTS), "every web host back in the balancer", 60)


def test_a_killed_web_host_leaves_the_balancer_and_the_other_serves_without_a_failed_request(acme_root):
    """nginx on app-02 is killed under load: the balancer takes it out after its failed checks (measured); from
    then on no request fails. nginx comes back and so does the host."""
    victim = APP_HOSTS[1]
    detected = []

    def crash():
        on(victim, "systemctl kill --signal=KILL nginx")
        killed = time.monotonic()
        while not balancer_status(victim).startswith("DOWN"):
            assert time.monotonic() - killed < 30, "the balancer never took the host out"
            time.sleep(0.1)
        detected.append(time.monotonic() - killed)

    try:
        during = under_load(crash, check=False)[0]
        after = under_load(lambda: time.sleep(5))[0]
    finally:
        on(victim, "systemctl start nginx")
    print(f"failover: {victim}'s nginx killed, out of the balancer after {detected[0]:.1f} s; "
          f"{during['failed']} of {during['sent']} requests failed meanwhile, {after['failed']} of {after['sent']} after")
    assert after["sent"] > 50 and after["failed"] == 0, after
    for _ in range(30):
        if balancer_status(victim) == "UP":
            break
        time.sleep(1)
    assert balancer_status(victim) == "UP", "the host is back once its checks pass"


def test_certbot_renews_and_nginx_reloads_onto_the_new_certificate_under_load(acme_root):
    before = {host: served_certificate(host) for host in APP_HOSTS}

    def renew_everywhere():
        for host in APP_HOSTS:  # as the timer would, forced: pebble's certificates are years from expiry
            on(host, "REQUESTS_CA_BUNDLE=/etc/letsencrypt/cams-acme-server-ca.pem "
                     "certbot renew --quiet --force-renewal --no-random-sleep-on-renew")

    for load in under_load(renew_everywhere):
        assert load["sent"] > 20, load
    after = {host: served_certificate(host) for host in APP_HOSTS}
    assert all(after[host] != before[host] for host in APP_HOSTS), "the deploy hook reloaded nginx"


def pgbackrest_info():
    answer = on(BACKUP_HOST, "runuser -u pgbackrest -- pgbackrest --stanza=cams --output=json info").stdout
    return json.loads(answer)[0]


def test_wal_and_backups_go_to_the_backup_host_encrypted():
    info = pgbackrest_info()
    assert info["status"]["message"] == "ok", info
    assert [backup["type"] for backup in info["backup"]][:1] == ["full"], "the first full backup is taken at once"
    assert info["archive"][0]["max"], "WAL reaches the repository"
    assert info["cipher"] == "aes-256-cbc"
    # Checked from the database host's side too: it pushes WAL over SSH and keeps no repository of its own.
    on(DB_HOST, "runuser -u postgres -- pgbackrest --stanza=cams check")
    assert on(DB_HOST, "ls /var/lib/pgbackrest").stdout.strip() == ""
    # The differential timer, made to fire now: a differential backup on top of the full one.
    backup_by_timer("diff")
    assert [backup["type"] for backup in pgbackrest_info()["backup"]] == ["full", "diff"]
    assert "backup command end: completed successfully" in on(
        BACKUP_HOST, "journalctl --unit pgbackrest-backup@diff --no-pager --output cat").stdout
    assert "pgbackrest-backup-full.timer" in on(BACKUP_HOST, "systemctl list-timers --no-pager").stdout


def wait_for_a_backup_after(count, starter):
    """Waits until the repository holds more than `count` backups (`starter` names what should have started one)."""
    for _ in range(120):
        if len(pgbackrest_info()["backup"]) > count:
            return
        time.sleep(1)
    raise AssertionError(f"{starter} started no backup in 120 s")


def backup_by_timer(kind):
    """Makes the backup timer of `kind` fire now (a runtime drop-in, removed after) and waits for its backup."""
    timer, dropin = f"pgbackrest-backup-{kind}.timer", f"/run/systemd/system/pgbackrest-backup-{kind}.timer.d"
    before = len(pgbackrest_info()["backup"])
    on(BACKUP_HOST, f"mkdir -p {dropin} && printf '[Timer]\\nOnActiveSec=1\\n' > {dropin}/now.conf "
                    f"&& systemctl daemon-reload && systemctl restart {timer}")
    try:
        wait_for_a_backup_after(before, timer)
    finally:
        on(BACKUP_HOST, f"rm -r {dropin} && systemctl daemon-reload && systemctl restart {timer}")
    assert on(BACKUP_HOST, f"systemctl is-active {timer}").stdout.strip() == "active"


def test_the_backup_keys_run_pgbackrest_and_nothing_else():
    for source, user, target in ((DB_HOST, "postgres", BACKUP_HOST), (BACKUP_HOST, "pgbackrest", DB_HOST)):
        peer_user = "pgbackrest" if user == "postgres" else "postgres"
        shell = on(source, f"runuser -u {user} -- ssh -o BatchMode=yes {peer_user}@{address_of(target)} id",
                   check=False)
        assert "uid=" not in shell.stdout, shell.stdout
    # Nor from anywhere else: the key is bound to its host's address.
    key = on(DB_HOST, "cat /var/lib/postgresql/.ssh/id_ed25519").stdout
    on(APP_HOSTS[0], f"install -m 600 /dev/null /tmp/stolen && printf '%s' '{key}' > /tmp/stolen")
    stolen = on(APP_HOSTS[0], "ssh -i /tmp/stolen -o BatchMode=yes -o StrictHostKeyChecking=no "
                              f"pgbackrest@{address_of(BACKUP_HOST)} pgbackrest version", check=False)
    on(APP_HOSTS[0], "rm -f /tmp/stolen")
    assert stolen.returncode != 0 and "pgBackRest" not in stolen.stdout, stolen.stdout


def test_a_backup_host_of_another_pgbackrest_version_stops_the_backup_play_naming_both(repo):
    """pgBackRest's hosts only work with the very same version (Debian 12 ships 2.45, 13 2.55.1): the backup play
    stops at its version check, naming both, rather than at the first WAL segment the database host cannot archive.
    The backup host's pgbackrest answers `version` as Debian 13's does; everything else goes to the real one."""
    binary = "/usr/bin/pgbackrest"
    database_hosts_version = on(DB_HOST, f"{binary} version").stdout.strip()
    on(BACKUP_HOST, f"mv {binary} {binary}.real && cat > {binary} <<'EOF'\n#!/bin/sh\n"
                    f"[ \"$1\" = version ] && {{ echo 'pgBackRest 2.55.1'; exit 0; }}\nexec {binary}.real \"$@\"\nEOF\n"
                    f"chmod 0755 {binary}")
    try:
        run = playbook(("facts.yml", "backupservers.yml"), repo, check=False)
    finally:
        on(BACKUP_HOST, f"mv {binary}.real {binary}")
    assert run.returncode != 0, run.stdout
    assert (f"{DB_HOST} has {database_hosts_version} and {BACKUP_HOST} has pgBackRest 2.55.1: pgBackRest only works "
            "between hosts of the same version") in " ".join(run.stdout.split()), run.stdout
    assert re.search(rf"{DB_HOST} +: ok=\d+ +changed=\d+ +unreachable=0 +failed=1", run.stdout), run.stdout
    # The run changed nothing: the database host still archives to the backup host.
    on(DB_HOST, "runuser -u postgres -- pgbackrest --stanza=cams check")


def test_unchanged_app_content_is_the_same_release_and_rebuilds_nothing(repo, v1):
    """Promotion: the same app content from another branch (staging's) is the artifact already tested and live."""
    run = playbook("deploy.yml", repo, "cams_app_ref=v1", "cams_app_branch=staging")
    assert re.search(r"TASK \[cams_app : Build the artifact of release " + v1 + r"\][^\n]*\nskipping", run.stdout)
    assert [serving(host) for host in APP_HOSTS] == [v1] * len(APP_HOSTS)


def test_insert_data_at_v1():
    on(APP_HOSTS[0], f"cams-manage record_deployment --release-id {MARKER} --sha none --branch none "
                     "--deployed-by lifecycle --outcome success")
    assert marker_is_kept()


def under_load(action, check=True, path="/health/", options=()):
    """Runs `action` while the balancer sends itself a steady https load for the public name (as clients would reach
    it) on `path`, with more loadgen.py `options`; returns [the load's summary], checked to have lasted the whole
    action and, with `check`, to have no failed request."""
    sh("docker", "cp", str(PROJECT / "bench" / "loadgen.py"), f"{BALANCER}:{HOST_SCRATCH}/loadgen.py")
    on(BALANCER, "rm -f /tmp/load.stop /tmp/load.json")
    sh("docker", "exec", "-d", BALANCER, "python3", f"{HOST_SCRATCH}/loadgen.py", f"https://127.0.0.1{path}",
       "--host", PUBLIC_HOST, "--cafile", ACME_ROOT, "--concurrency", "2", "--max-seconds", "900",
       "--max-requests", "200000", "--stop-file", "/tmp/load.stop", "--out", "/tmp/load.json", *options)
    time.sleep(2)
    try:
        action()
    finally:
        on(BALANCER, "touch /tmp/load.stop")
    for _ in range(60):
        if on(BALANCER, "test -s /tmp/load.json", check=False).returncode == 0:
            break
        time.sleep(0.5)
    load = json.loads(on(BALANCER, "cat /tmp/load.json").stdout)
    assert load["stopped_by"] == "stop_file", f"the load must last the whole action: {load}"
    assert not check or load["failed"] == 0, load
    return [load]


class BalancerStates(threading.Thread):
    """Samples each web host's state in the balancer (UP, DRAIN, DOWN...) until stopped; `seen` lists the changes."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop, self.seen = threading.Event(), []

    def run(self):
        while not self.stop.is_set():
            states = tuple(balancer_status(host) for host in APP_HOSTS)
            if not self.seen or self.seen[-1] != states:
                self.seen.append(states)
            self.stop.wait(0.2)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *_):
        self.stop.set()
        self.join()


def test_v2_rolls_out_through_the_balancer_without_a_failed_request(repo, v1):
    """Each host leaves the balancer only while it switches, one after the other; the other one serves meanwhile."""
    v2 = release_id_of(repo, "v2")
    with BalancerStates() as states:
        loads = under_load(lambda: playbook("deploy.yml", repo, "cams_app_ref=v2"))
    for load in loads:
        assert load["sent"] > 100, load
        assert load["releases_seen"] == [v1, v2], load
        assert load["last_release"] == v2, load
    print(f"rolling deploy of v2 through the balancer: {loads[0]['failed']} of {loads[0]['sent']} requests failed; "
          f"states {states.seen}")
    assert states.seen == [("UP", "UP"), ("DRAIN", "UP"), ("UP", "UP"), ("UP", "DRAIN"), ("UP", "UP")], states.seen
    assert [serving(host) for host in APP_HOSTS] == [v2, v2]
    assert table_exists("lifecycle_v2")
    assert marker_is_kept()


def test_one_release_id_for_all_hosts_switched_one_after_the_other(repo):
    v2 = release_id_of(repo, "v2")
    last = [ledger(host)[-1] for host in APP_HOSTS]
    assert [entry["release_id"] for entry in last] == [v2, v2]
    assert last[0]["started_at"] == last[1]["started_at"], "one run"
    assert last[0]["finished_at"] <= last[1]["finished_at"], "app1 switched first (serial: 1)"
    assert last[0]["backup"].startswith(f"before-{v2}-"), "the restore point taken before v2's migration"
    assert last[0]["duration_seconds"] > 0
    history = api(APP_HOSTS[0], "/api/deployments/")["results"]
    assert (history[0]["release_id"], history[0]["outcome"], history[0]["backup"]) == (v2, "success", last[0]["backup"])


def live_slot(host):
    return on(host, f"readlink {ROOT}/live.sock").stdout.strip().rsplit("/", 1)[1].removesuffix(".sock")


def idle_slot(host):
    return "green" if live_slot(host) == "blue" else "blue"


def dropin(host, unit, text):
    """A runtime drop-in for `unit` (gone at reboot); returns the command that removes it."""
    directory = f"/run/systemd/system/{unit}.d"
    on(host, f"mkdir -p {directory} && printf '{text}' > {directory}/lifecycle.conf && systemctl daemon-reload")
    return f"rm -r {directory} && systemctl daemon-reload"


def refuse_to_stop_the_live_slot(host):
    return dropin(host, f"cams@{live_slot(host)}.socket", "[Unit]\\nRefuseManualStop=yes\\n")


def make_the_ledger_read_only(host):
    on(host, f"mount --bind {ROOT}/ledger.jsonl {ROOT}/ledger.jsonl && mount -o remount,ro,bind {ROOT}/ledger.jsonl")
    return f"umount {ROOT}/ledger.jsonl"


# Steps after the switch on a host, and how each is made to fail there.
AFTER_THE_SWITCH = {
    "Stop the previous slot (gunicorn drains in-flight requests)": refuse_to_stop_the_live_slot,
    "Record the outcome in this host's ledger for release": make_the_ledger_read_only,
}


def failing_deploy_under_load(repo, host, undo):
    """deploy.yml of v2b under load, with a failure injected on `host` (`undo` removes it after); returns the run and
    the load, checked to have no failed request."""
    try:
        runs = []
        loads = under_load(lambda: runs.append(playbook("deploy.yml", repo, "cams_app_ref=v2b", check=False)))
    finally:
        on(host, undo)
    assert runs[0].returncode != 0
    return runs[0], loads[0]


@pytest.mark.parametrize("step", AFTER_THE_SWITCH)
def test_a_failure_after_the_switch_returns_the_host_to_the_previous_release(repo, step):
    v2, v2b = release_id_of(repo, "v2"), release_id_of(repo, "v2b")
    slot = live_slot(APP_HOSTS[0])
    run, _ = failing_deploy_under_load(repo, APP_HOSTS[0], AFTER_THE_SWITCH[step](APP_HOSTS[0]))
    assert f"Release {v2b} FAILED on {APP_HOSTS[0]} at '{step}" in run.stdout, run.stdout
    assert f"Traffic returned to release {v2} after the switch." in run.stdout, run.stdout
    assert [serving(host) for host in APP_HOSTS] == [v2, v2] and live_slot(APP_HOSTS[0]) == slot
    # Recorded as failed, or not at all when the ledger is what failed: never good, never a rollback target.
    assert on(APP_HOSTS[0], f"cams-release state {v2b}").stdout.strip() in ("failed", "unknown")
    assert all(entry["release_id"] != v2b for entry in ledger(APP_HOSTS[1])), "app2 never started it"
    assert on(APP_HOSTS[0], f"test -e {ROOT}/deploy.lock", check=False).returncode != 0


def make_a_release_directory_unremovable(host):
    """A directory under releases/ with a read-only mount in it: pruning fails on it."""
    mountpoint = f"{ROOT}/releases/unremovable/mountpoint"
    on(host, f"mkdir -p {mountpoint} && mount -t tmpfs -o ro tmpfs {mountpoint}")
    return f"umount {mountpoint} && rm -r {ROOT}/releases/unremovable"


def test_a_failure_after_the_rollout_returns_the_host_and_releases_the_lock(repo):
    """Pruning fails on app1 once it switched and went back into the balancer, outside the rollout's rescue: the run
    fails naming the step, app1 returns to the previous release like any host a failed run switched, app2 never
    starts the release, and the deploy lock is gone, so that the next run needs no cams_app_break_lock."""
    v2, v2b = release_id_of(repo, "v2"), release_id_of(repo, "v2b")
    run, _ = failing_deploy_under_load(repo, APP_HOSTS[0], make_a_release_directory_unremovable(APP_HOSTS[0]))
    assert f"Release {v2b} FAILED on {APP_HOSTS[0]} at 'Prune releases beyond the newest good ones" in run.stdout, run.stdout
    assert [serving(host) for host in APP_HOSTS] == [v2, v2]
    assert all(entry["release_id"] != v2b for entry in ledger(APP_HOSTS[1])), "app2 never started it"
    assert on(APP_HOSTS[0], f"test -e {ROOT}/deploy.lock", check=False).returncode != 0


def test_a_run_that_fails_on_the_second_host_returns_the_first(repo):
    """app2 cannot start the release; app1 switched already and goes back through the readiness gate."""
    v2, v2b = release_id_of(repo, "v2"), release_id_of(repo, "v2b")
    run, load = failing_deploy_under_load(repo, APP_HOSTS[1], dropin(
        APP_HOSTS[1], f"cams@{idle_slot(APP_HOSTS[1])}.service", "[Service]\\nExecStartPre=/bin/false\\n"))
    assert f"Release {v2b} FAILED on {APP_HOSTS[1]} at 'Start the release in the idle slot'" in run.stdout, run.stdout
    assert f"Traffic stays on release {v2}." in run.stdout
    assert [serving(host) for host in APP_HOSTS] == [v2, v2]
    assert v2b in load["releases_seen"], "app1 served the new release before it went back"
    first = ledger(APP_HOSTS[0])
    assert [(e["release_id"], e["action"], e["outcome"]) for e in first[-3:]] == [
        (v2b, "deploy", "success"), (v2, "rollback", "success"), (v2b, "rollback", "rolled_back")]
    assert f"returned, the run failed on {APP_HOSTS[1]}" in first[-2]["message"]
    assert on(APP_HOSTS[1], f"cams-release state {v2b}").stdout.strip() == "failed"
    assert on(APP_HOSTS[0], f"test -e {ROOT}/deploy.lock", check=False).returncode != 0


def test_a_configuration_that_cannot_start_never_takes_traffic(repo):
    """site.yml (its app tier) with a gunicorn setting gunicorn refuses: the current release starts with it in the
    idle slot, fails there, and traffic stays on the slot with the configuration that works."""
    v2 = release_id_of(repo, "v2")
    slots = [live_slot(host) for host in APP_HOSTS]
    run = playbook(APP_TIER_OF_SITE, repo, "cams_app_ref=v2", "cams_app_gunicorn_threads=-1", check=False)
    assert run.returncode != 0
    assert f"FAILED on {APP_HOSTS[0]} at 'Start the release in the idle slot'" in run.stdout, run.stdout
    assert f"Traffic stays on release {v2}." in run.stdout
    assert [live_slot(host) for host in APP_HOSTS] == slots
    assert [serving(host) for host in APP_HOSTS] == [v2, v2]
    assert [health(host)["status"] for host in APP_HOSTS] == ["ok", "ok"]
    for host in APP_HOSTS:  # what the next deploy starts with and cams-manage runs with: the serving configuration
        assert on(host, f"cmp /etc/cams/gunicorn.conf.py /etc/cams/slots/{live_slot(host)}/gunicorn.conf.py",
                  check=False).returncode == 0


def slot_environment(host):
    pid = on(host, f"systemctl show --property MainPID --value cams@{live_slot(host)}.service").stdout.strip()
    return on(host, f"tr '\\0' '\\n' < /proc/{pid}/environ").stdout.splitlines()


def test_a_deploy_whose_backup_fails_stops_before_migrating(repo):
    """The backup host is unreachable: no restore point can be archived, so the schema must not change."""
    v2, migrating = release_id_of(repo, "v2"), release_id_of(repo, "v3-migration")
    on(BACKUP_HOST, "systemctl stop ssh.socket ssh.service")
    try:
        run = playbook("deploy.yml", repo, "cams_app_ref=v3-migration", check=False)
        # A write and a WAL switch: the archiver tries to push that segment and cannot.
        on(DB_HOST, "runuser -u postgres -- psql -Atc 'select txid_current()' -c 'select pg_switch_wal()'")
        time.sleep(3)
        failing = playbook("backup-status.yml", repo, check=False)
    finally:
        on(BACKUP_HOST, "systemctl start ssh.service")
    assert failing.returncode != 0
    assert "FAILING NOW" in failing.stdout and "the repository is not usable" in failing.stdout, failing.stdout
    assert table_exists("lifecycle_v2"), "the database keeps serving"
    # PostgreSQL retries the segment; once the host is back it catches up, and the status says so.
    for _ in range(30):
        status = playbook("backup-status.yml", repo, check=False)
        if status.returncode == 0:
            break
        time.sleep(5)
    assert status.returncode == 0 and "state: ok" in status.stdout, status.stdout
    assert run.returncode != 0
    assert (f"Release {migrating} FAILED on {APP_HOSTS[0]} at 'Check that the database's WAL reaches the backup "
            "repository, before the schema changes'") in run.stdout
    assert "division by zero" not in run.stdout, "migrate never ran"
    assert f"Traffic stays on release {v2}" in run.stdout
    assert [serving(host) for host in APP_HOSTS] == [v2, v2]


def test_a_failing_migration_never_takes_traffic(repo):
    v2, broken = release_id_of(repo, "v2"), release_id_of(repo, "v3-migration")
    run = playbook("deploy.yml", repo, "cams_app_ref=v3-migration", check=False)
    assert run.returncode != 0
    assert f"Release {broken} FAILED on {APP_HOSTS[0]}" in run.stdout
    assert f"Traffic stays on release {v2}" in run.stdout
    assert "division by zero" in run.stdout
    assert [serving(host) for host in APP_HOSTS] == [v2, v2]
    assert (ledger(APP_HOSTS[0])[-1]["release_id"], ledger(APP_HOSTS[0])[-1]["outcome"]) == (broken, "failed")
    assert all(entry["release_id"] != broken for entry in ledger(APP_HOSTS[1])), "the failure must stop the rest"
    assert on(APP_HOSTS[0], f"test -e {ROOT}/deploy.lock", check=False).returncode != 0
    assert marker_is_kept()


def test_a_release_that_cannot_boot_never_takes_traffic_and_its_logs_are_shown(repo):
    v2, broken = release_id_of(repo, "v2"), release_id_of(repo, "v3-boot")
    run = playbook("deploy.yml", repo, "cams_app_ref=v3-boot", check=False)
    assert run.returncode != 0
    assert f"Release {broken} FAILED" in run.stdout
    assert "this release cannot boot" in run.stdout, "the play must show the new release's last log lines"
    assert [serving(host) for host in APP_HOSTS] == [v2, v2]
    assert on(APP_HOSTS[0], "cams-release state " + broken).stdout.strip() == "failed"
    assert marker_is_kept()


def test_a_failed_release_is_never_a_rollback_target(repo):
    broken = release_id_of(repo, "v3-boot")
    run = playbook("rollback.yml", repo, f"cams_app_rollback_to={broken}", check=False)
    assert run.returncode != 0
    assert "a failed release" in run.stdout
    assert on(APP_HOSTS[0], "cams-release previous-good").stdout.strip() == release_id_of(repo, "v1")


def test_the_deploy_lock_names_its_holder_and_can_be_broken(repo):
    v2 = release_id_of(repo, "v2")
    on(APP_HOSTS[0], "cams-release lock acquire --holder someone@elsewhere --run-id stale-run")
    refused = playbook("deploy.yml", repo, "cams_app_ref=v2", check=False)
    assert refused.returncode != 0
    assert "deploy lock held by someone@elsewhere" in refused.stdout
    playbook("deploy.yml", repo, "cams_app_ref=v2", "cams_app_break_lock=true")
    assert on(APP_HOSTS[0], f"test -e {ROOT}/deploy.lock", check=False).returncode != 0
    assert [serving(host) for host in APP_HOSTS] == [v2, v2]


def test_rollback_returns_to_the_previous_good_release_in_one_command(repo, v1):
    v2 = release_id_of(repo, "v2")
    v1_ran_as = [e["sha"] for e in ledger(APP_HOSTS[0]) if e["release_id"] == v1 and e["outcome"] == "success"][-1]
    playbook("rollback.yml", repo)
    assert [serving(host) for host in APP_HOSTS] == [v1] * len(APP_HOSTS)
    assert health(APP_HOSTS[0])["release"]["sha"] == v1_ran_as, "the commit v1 last ran as (ledger), not its build's"
    assert not table_exists("lifecycle_v2"), "v2's reversible migration is reversed"
    assert on(APP_HOSTS[0], f"cams-release state {v2}").stdout.strip() == "rolled_back"
    history = api(APP_HOSTS[0], "/api/deployments/")["results"]
    assert (history[0]["release_id"], history[0]["outcome"]) == (v1, "rolled_back")
    assert marker_is_kept()


def test_rollback_across_an_irreversible_migration_needs_confirmation(repo, v1):
    v4 = release_id_of(repo, "v4")
    playbook("deploy.yml", repo, "cams_app_ref=v4")
    assert [serving(host) for host in APP_HOSTS] == [v4, v4]
    refused = playbook("rollback.yml", repo, check=False)
    assert refused.returncode != 0
    assert "cannot be reversed" in refused.stdout and "9002_lifecycle_irreversible" in refused.stdout
    assert [serving(host) for host in APP_HOSTS] == [v4, v4]
    confirmed = playbook("rollback.yml", repo, "cams_app_confirm_irreversible=true")
    assert "WARNING: confirmed rollback across irreversible migrations" in confirmed.stdout
    assert [serving(host) for host in APP_HOSTS] == [v1] * len(APP_HOSTS)
    assert marker_is_kept()


def test_failed_releases_are_pruned_and_good_ones_kept(repo, v1):
    releases = on(APP_HOSTS[0], f"ls {ROOT}/releases").stdout.split()
    assert v1 in releases and release_id_of(repo, "v4") in releases
    assert release_id_of(repo, "v3-boot") not in releases
    assert release_id_of(repo, "v3-migration") not in releases


def psql(sql):
    return on(DB_HOST, f"runuser -u postgres -- psql -d {DATABASE} -Atc \"{sql}\"").stdout.strip()


def test_point_in_time_restore_undoes_a_drop_behind_a_maintenance_page(repo):
    """The drill: rows written, the time noted, more rows, the table dropped; restored to the noted time, exactly
    the first rows are back."""
    live = serving(APP_HOSTS[0])
    psql("create table drill (id int primary key)")
    psql("insert into drill select generate_series(1, 100)")
    noted = psql("select clock_timestamp()")
    time.sleep(1)
    psql("insert into drill select generate_series(101, 200)")
    psql("drop table drill")
    backups = len(pgbackrest_info()["backup"])
    argv = ["ansible-playbook", "-i", INVENTORY, str(PROJECT / "playbooks" / "restore.yml"),
            "-e", json.dumps({"cams_restore_target": noted, "cams_confirm_restore": ENVIRONMENT})]
    restore = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=PROJECT,
                               env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"})
    maintenance = None
    while restore.poll() is None and maintenance is None:
        answer = on(APP_HOSTS[0], f"{CURL} -D - https://{PUBLIC_HOST}/health/", check=False).stdout
        if answer.startswith("HTTP/2 503"):
            maintenance = answer.lower()
        time.sleep(0.5)
    output = restore.communicate(timeout=600)[0]
    assert restore.returncode == 0, output
    assert maintenance and "retry-after: 300" in maintenance and '"status": "maintenance"' in maintenance, maintenance
    assert psql("select count(*), min(id), max(id) from drill") == "100|1|100", "exactly the rows before the time"
    assert [serving(host) for host in APP_HOSTS] == [live, live]
    assert [health(host)["status"] for host in APP_HOSTS] == ["ok", "ok"]
    entry = ledger(APP_HOSTS[0])[-1]
    assert (entry["action"], entry["release_id"], entry["backup"]) == ("restore", live, noted)
    history = api(APP_HOSTS[0], "/api/deployments/")["results"][0]
    assert (history["release_id"], history["backup"]) == (live, noted)
    wait_for_a_backup_after(backups, "the restore")
    psql("drop table drill")


def test_a_restore_of_prod_needs_its_name_as_confirmation(repo):
    refused = playbook("restore.yml", repo, "cams_restore_target=latest", check=False)
    assert refused.returncode != 0 and "-e cams_confirm_restore=prod" in refused.stdout, refused.stdout
    assert [health(host)["status"] for host in APP_HOSTS] == ["ok", "ok"], "nothing was touched"


def test_a_restore_point_is_reached_past_newer_backups(repo, v1):
    """The drill after a bad migration: v5's deploy took a restore point before migrating; rows written after it
    are damage. Restored to the point named in the ledger, though a newer backup exists: exactly the rows before
    it are back. v5 does not fit that schema, so maintenance stays on until the rollback the playbook names."""
    v5 = release_id_of(repo, "v5")
    psql("create table drill (id int primary key)")
    psql("insert into drill select generate_series(1, 10)")
    playbook("deploy.yml", repo, "cams_app_ref=v5")
    point = ledger(APP_HOSTS[0])[-1]["backup"]
    assert point.startswith(f"before-{v5}-") and table_exists("lifecycle_v5"), point
    psql("insert into drill select generate_series(11, 20)")
    backup_by_timer("diff")
    point_time = calendar.timegm(time.strptime(point.rsplit("-", 1)[1], "%Y%m%dT%H%M%SZ"))
    assert pgbackrest_info()["backup"][-1]["timestamp"]["start"] > point_time, "a backup newer than the point"
    backups = len(pgbackrest_info()["backup"])
    refused = playbook("restore.yml", repo, f"cams_restore_target={point}", CONFIRMED, check=False)
    assert refused.returncode != 0 and f"predates migrations of release {v5}" in refused.stdout, refused.stdout
    # A backup of the restored cluster: the newer one is of the timeline the restore left.
    wait_for_a_backup_after(backups, "the restore")
    assert psql("select count(*), min(id), max(id) from drill") == "10|1|10", "exactly the rows before the point"
    assert not table_exists("lifecycle_v5")
    assert on(APP_HOSTS[0], f"{CURL} -o /dev/null -w '%{{http_code}}' https://{PUBLIC_HOST}/health/",
              check=False).stdout == "503", "maintenance stays on"
    playbook("rollback.yml", repo, f"cams_app_rollback_to={v1}")  # the lock was released for it
    playbook("maintenance.yml", repo)
    assert [serving(host) for host in APP_HOSTS] == [v1] * len(APP_HOSTS)
    assert [health(host)["status"] for host in APP_HOSTS] == ["ok", "ok"]
    assert psql("select count(*) from drill") == "10"
    assert marker_is_kept()
    psql("drop table drill")


def recreate(host):
    """Destroys the container `host` and creates a new one in its place, as Molecule's create does (a new, empty
    host: nothing of the old one's disk is left)."""
    platform = next(p for p in yaml.safe_load((pathlib.Path(__file__).parents[1] / "molecule.yml").read_text())[
        "platforms"] if p["name"] == host)
    sh("docker", "rm", "--force", "--volumes", host)
    config = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "recreated-instance-config.yml"
    sh("ansible-playbook", str(PROJECT / "molecule" / "resources" / "create.yml"), "-e", json.dumps({
        "molecule_yml": {"platforms": [platform], "scenario": {"name": ENVIRONMENT}},
        "molecule_no_log": False, "molecule_instance_config": str(config)}), cwd=PROJECT)


def test_a_lost_database_host_is_rebuilt_and_restored_from_the_backup_host(repo):
    """The drill: writes every second; the database host is then destroyed and a new, empty one takes its place:
    site.yml sets it up and restore.yml brings the data back from the backup host. Measured: the writes lost (RPO:
    at most archive_timeout, 60 s) and the time from the restore command to ready (RTO)."""
    psql("create table drill (id serial primary key, at timestamptz not null default clock_timestamp())")
    psql("do \\$\\$ begin for i in 1..75 loop insert into drill default values; commit; perform pg_sleep(1); "
         "end loop; end \\$\\$")
    written = int(psql("select count(*) from drill"))
    on(DB_HOST, "systemctl kill --signal=KILL postgresql@15-main")
    lost_at = time.time()
    recreate(DB_HOST)
    # site.yml on the new host sets it up, then stops before the app tier: its empty cluster is not the one the
    # repository holds, and must be restored.
    rebuilt = playbook("site.yml", repo, "cams_app_ref=v1", check=False)
    assert rebuilt.returncode != 0 and "not the cluster stanza cams holds" in rebuilt.stdout, rebuilt.stdout
    assert "PLAY [App servers" not in rebuilt.stdout, "the app tier never ran on the empty database"
    assert not table_exists("drill"), "a fresh, empty cluster"
    started = time.monotonic()
    playbook("restore.yml", repo, "cams_restore_target=latest", CONFIRMED)
    rto = time.monotonic() - started
    restored, last_at = psql("select count(*), extract(epoch from max(at)) from drill").split("|")
    rpo = lost_at - float(last_at)
    print(f"host lost: {written} rows written, {restored} restored; RPO {rpo:.0f} s of writes, RTO {rto:.0f} s")
    assert 0 < int(restored) <= written
    assert rpo <= 60 + 5, f"at most archive_timeout of writes is lost (RPO {rpo:.0f} s)"
    assert [health(host)["status"] for host in APP_HOSTS] == ["ok", "ok"]
    assert marker_is_kept()
    on(DB_HOST, "runuser -u postgres -- pgbackrest --stanza=cams check")  # archiving goes on from the restored cluster
    psql("drop table drill")


def signed_by_django(value):
    return on(APP_HOSTS[0], f"cams-manage shell --verbosity 0 -c \"from django.core import signing; print(signing.dumps('{value}'))\"").stdout.strip()


def unsigned_by_django(signed):
    return on(APP_HOSTS[0], f"cams-manage shell --verbosity 0 -c \"from django.core import signing; print(signing.loads('{signed}'))\"",
              check=False)


def test_secrets_rotate_and_a_setting_changes_behind_the_gate_and_no_secret_reaches_the_output_or_a_journal(repo):
    """Last, so that the journals hold everything the tests did. A verbose site.yml, under a steady load of API calls
    with a token signed before it: SECRET_KEY, the JWT secret and the database password are rotated (the previous
    values as SECRET_KEY_FALLBACKS, the previous JWT secret with a window, the previous database password) and a
    setting changes; each host starts the new configuration in its idle slot, gates it and switches, without a failed
    request (this run also converges the rest of the environment after the lost database host was restored). A
    verbose site.yml then closes the JWT window and ends the database rotation: the old token is refused. Neither
    output, nor any host's journal, holds a secret of the environment, old or new."""
    v1, v2 = release_id_of(repo, "v1"), release_id_of(repo, "v2")
    old = SECRETS
    new = {name: f"{value}-rotated" for name, value in old.items() if name != "vault_cams_backup_cipher_pass"}
    rotation = {
        **new,
        "vault_cams_app_secret_key_fallbacks": [old["vault_cams_app_secret_key"]],
        "vault_cams_app_jwt_auth_previous_secret": old["vault_cams_app_jwt_auth_secret"],
        "vault_cams_app_jwt_auth_previous_secret_expires": "2099-01-01T00:00:00+00:00",
        "vault_cams_database_previous_password": old["vault_cams_database_password"],
        "cams_app_extra_env": {"CAMS_PROD_TEST_SETTING": "on"},
    }
    signed = signed_by_django("signed before the rotation")
    old_token = on(APP_HOSTS[0], "cams-manage mint_token --subject rotation --lifetime 3600").stdout.strip()
    slots = [live_slot(host) for host in APP_HOSTS]
    runs = []
    # Within nginx's API rate per client: every call must succeed.
    loads = under_load(lambda: runs.append(playbook("site.yml", repo, "cams_app_ref=v1", json.dumps(rotation),
                                                    options=("-v",))),
                       path="/api/deployments/?limit=1",
                       options=("--rate", "10", "--header", f"Authorization: Bearer {old_token}"))
    print(f"rotation of SECRET_KEY, the JWT secret and the database password through site.yml: "
          f"{loads[0]['failed']} of {loads[0]['sent']} API calls with a token signed before it failed")
    assert loads[0]["sent"] > 100, loads
    assert [live_slot(host) for host in APP_HOSTS] == ["green" if slot == "blue" else "blue" for slot in slots]
    assert all("CAMS_PROD_TEST_SETTING=on" in slot_environment(host) for host in APP_HOSTS)
    assert [serving(host) for host in APP_HOSTS] == [v1] * len(APP_HOSTS)
    assert [(e["release_id"], e["message"]) for e in (ledger(host)[-1] for host in APP_HOSTS)] == [
        (v1, "configuration changed")] * 2
    assert unsigned_by_django(signed).stdout.strip() == "signed before the rotation", "SECRET_KEY_FALLBACKS"
    new_password = connect_to_the_database(APP_HOSTS[0], "verify-full", new["vault_cams_database_password"])
    assert new_password.returncode == 0, new_password.stderr
    assert connect_to_the_database(APP_HOSTS[0], "verify-full", old["vault_cams_database_password"]).returncode != 0

    # The JWT window ends and the database rotation is over: the previous values go, through site.yml's app tier (the
    # hosts' configuration, the database's password), with a deploy of v2.
    closed = {**rotation, "vault_cams_app_jwt_auth_previous_secret_expires": "2000-01-01T00:00:00+00:00",
              "vault_cams_database_previous_password": ""}
    output = runs[0].stdout + playbook(APP_TIER_OF_SITE, repo, "cams_app_ref=v2", json.dumps(closed),
                                       options=("-v",)).stdout
    assert [serving(host) for host in APP_HOSTS] == [v2, v2]
    refused = through_the_balancer("https://NAME/api/deployments/", PUBLIC_HOST, None, "-H",
                                   f"Authorization: Bearer {old_token}")
    assert json.loads(refused.stdout)["error"] == "invalid_token", refused.stdout
    assert api(APP_HOSTS[0], "/api/deployments/?limit=1")["results"], "a token signed with the new secret works"
    journals = {host: on(host, "journalctl --no-pager --output cat").stdout
                for host in (BALANCER, DB_HOST, BACKUP_HOST, *APP_HOSTS)}
    for secret in [*old.values(), *new.values()]:
        assert secret not in output, f"a secret is in the playbook output, near: {output[output.index(secret) - 300:][:400]}"
        for host, journal in journals.items():
            assert secret not in journal, f"a secret is in {host}'s journal"


# make status, lock and logs (python -m ops) on the scenario's hosts, as an operator runs them ----------------------


def ops(*args, **popen):
    """`.venv/bin/python -m ops ARGS` on the scenario's inventory (CAMS_INVENTORY_<ENV>), with Molecule's ANSIBLE_CONFIG.
    With `popen`, the started process."""
    argv = [str(PROJECT / ".venv" / "bin" / "python"), "-m", "ops", *args]
    env = {**os.environ, f"CAMS_INVENTORY_{ENVIRONMENT.upper()}": INVENTORY}
    if popen:
        return subprocess.Popen(argv, cwd=PROJECT, env=env, text=True, **popen)
    return subprocess.run(argv, cwd=PROJECT, env=env, capture_output=True, text=True)


def ops_status():
    answer = ops("status", ENVIRONMENT, "--json")
    return answer.returncode, json.loads(answer.stdout)


def test_status_is_healthy_with_the_release_on_every_app_host():
    returncode, status = ops_status()
    assert returncode == 0 and status["healthy"], status["problems"]
    assert set(status["hosts"]) == {BALANCER, DB_HOST, BACKUP_HOST, MONITOR, *APP_HOSTS}
    assert status["alerts"] is not None and not [alert for alert in status["alerts"] if alert["severity"] == "page"]
    releases = [status["hosts"][host]["release"] for host in APP_HOSTS]
    assert [release["id"] for release in releases] == [serving(host) for host in APP_HOSTS], "what nginx serves"
    assert len({release["id"] for release in releases}) == 1
    assert all(release["sha"] and release["deployed_at"] and release["deployed_by"] for release in releases)
    for host in APP_HOSTS:
        seen = status["hosts"][host]
        assert (seen["health"]["status"], seen["ready"], seen["nginx"], seen["balancers"]) == (
            "ok", True, "active", {BALANCER: "UP"})
        assert releases[0]["id"] in [entry["release_id"] for entry in seen["last_deploys"]], "from the ledger"
    assert status["lock"] is None
    assert status["backups"]["last"] and status["backups"]["problems"] == [] and status["backups"]["off_host"]
    assert status["summary"].startswith(f"{ENVIRONMENT}: healthy; release {releases[0]['id']}")


def test_status_names_a_stopped_nginx_and_a_stale_deploy_lock_until_they_are_gone():
    web = APP_HOSTS[0]
    dead_run = {"holder": "someone@elsewhere", "run_id": "dead-run", "acquired_at": "2020-01-01T00:00:00+00:00"}
    on(APP_HOSTS[0], f"echo '{json.dumps(dead_run)}' > {ROOT}/deploy.lock")
    on(web, "systemctl stop nginx")
    try:
        eventually(lambda: balancer_status(web).startswith("DOWN"), f"{BALANCER} takes {web} out", 60, every=0.5)
        returncode, status = ops_status()
        problems = "\n".join(status["problems"])
        assert returncode == 1 and not status["healthy"]
        assert f"{web}: nginx is inactive" in problems
        assert f"{BALANCER} has {web} DOWN" in problems
        assert "the deploy lock of run dead-run (someone@elsewhere)" in problems and "release --force" in problems
        assert status["hosts"][web]["ready"], "the app itself still answers: the failure names its component"
    finally:
        on(web, "systemctl start nginx")
    kept = ops("lock", ENVIRONMENT, "release")
    assert kept.returncode == 1 and "dead-run" in kept.stderr and "--force" in kept.stderr, "a deploy's lock"
    assert ops("lock", ENVIRONMENT, "release", "--force").returncode == 0
    eventually(lambda: balancer_status(web) == "UP", f"{BALANCER} takes {web} back", 60, every=0.5)
    returncode, status = ops_status()
    assert returncode == 0, status["problems"]


def test_a_lock_for_planned_work_refuses_deploys_with_its_message_until_released():
    taken = ops("lock", ENVIRONMENT, "acquire", "-m", "db maintenance")
    assert taken.returncode == 0 and "for planned work" in taken.stdout and "db maintenance" in taken.stdout, taken
    # What a deploy's first step runs (cams_app's lock.yml).
    refused = on(APP_HOSTS[0], "cams-release lock acquire --holder ci@runner --run-id deploy-run", check=False)
    assert refused.returncode == 3
    assert "db maintenance" in refused.stderr and f"make lock ENV={ENVIRONMENT} ARGS=release" in refused.stderr
    released = ops("lock", ENVIRONMENT, "release")
    assert released.returncode == 0 and released.stdout.strip() == f"{ENVIRONMENT}: deploy lock released: free"
    assert on(APP_HOSTS[0], "cams-release lock status").stdout.strip() == "free"


def test_logs_interleave_every_hosts_journal_by_time():
    marker = f"ops-logs-{time.time_ns()}"
    hosts = [BALANCER, *APP_HOSTS, DB_HOST, BACKUP_HOST]
    for host in hosts:
        on(host, f"logger --tag ops-test {marker}")
    answer = ops("logs", ENVIRONMENT, "--since", "2 min ago")
    assert answer.returncode == 0, answer.stderr
    lines = [line for line in answer.stdout.splitlines() if line.split(" ", 1)[0] in hosts]
    assert sorted(line.split()[0] for line in lines if line.endswith(f": {marker}")) == sorted(hosts)
    times = [line.split()[1] for line in lines]
    assert times == sorted(times), "one stream, in time order"


def test_logs_follow_prints_new_lines_as_they_arrive_until_interrupted():
    follower = ops("logs", ENVIRONMENT, "--service", "app", "--follow", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in follower.stdout], daemon=True).start()
    marker = f"ops-follow-{time.time_ns()}"

    def first_line(matches, what, seconds=120):
        # One deadline for the whole wait: a busy journal must not keep the test waiting line after line.
        deadline = time.monotonic() + seconds
        while not matches(line := lines.get(timeout=max(deadline - time.monotonic(), 0.1))):
            assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        return line

    try:
        # Once a first line of the host's app journal arrived, its journalctl follows; then a request, which gunicorn's
        # access log writes to that journal.
        first_line(lambda line: line.startswith(APP_HOSTS[0]), f"a line from {APP_HOSTS[0]}")
        on(APP_HOSTS[0], f"{CURL} -o /dev/null https://{PUBLIC_HOST}/health/?{marker}")
        line = first_line(lambda line: marker in line, "the marker request's access log line")
        assert line.startswith(APP_HOSTS[0])
    finally:
        follower.send_signal(signal.SIGINT)
        follower.wait(timeout=30)
    assert follower.returncode == 0, follower.stderr.read()
