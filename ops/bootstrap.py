"""bootstrap ENV: bare VMs -> running environment, as an operator did it by hand: the environment's branch must exist
on origin (CI deploys from it), site.yml converges every host, then the public URL must answer /health/. Idempotent:
run again, site.yml changes nothing (the summary says changed=0)."""
import http.client
import json
import os
import pathlib
import re
import socket
import ssl
import subprocess
import sys
import time

from ops.ansible import executable, progress as shared_progress
from ops.environments import ENVIRONMENTS, REPOSITORY, branch_of, inventory_of
from ops.git import REMOTE, Clone, GitError

STARTED = time.monotonic()
RECAP = re.compile(r"^(?P<host>\S+)\s+:\s+ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=\d+\s+failed=\d+")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class StepFailed(Exception):
    """A step of the bootstrap failed; the message ends with the next step."""


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "bootstrap", help="bare VMs -> running environment (site.yml), then wait for /health/",
        description="Check that the environment's branch exists on origin, converge every host with site.yml, wait "
                    "until https://<first of cams_public_hostnames>/health/ reports ok, and say where it lives. "
                    "Running it again changes nothing.")
    parser.add_argument("environment", choices=ENVIRONMENTS)
    parser.add_argument("--inventory", type=pathlib.Path,
                        help="the environment's inventory (default: inventories/<env> or CAMS_INVENTORY_<ENV>)")
    parser.add_argument("--repository", type=pathlib.Path, default=REPOSITORY,
                        help="the clone whose origin must have the environment's branch (default: this checkout)")
    parser.add_argument("--connect-to", metavar="ADDRESS[:PORT]",
                        help="reach the public name there (as curl --connect-to), e.g. while DNS does not point "
                             "at the environment yet")
    parser.add_argument("--cacert", type=pathlib.Path,
                        help="CA certificates to verify the public name's certificate with (default: the system's)")
    parser.add_argument("--timeout", type=int, default=180, metavar="SECONDS",
                        help="how long to wait for /health/ after site.yml (default: %(default)s)")
    parser.set_defaults(handler=run)


def stamp():
    return f"[bootstrap {time.monotonic() - STARTED:4.0f} s]"


def progress(message):
    shared_progress("bootstrap", STARTED, message)


def run(args) -> int:
    env = args.environment
    inventory = args.inventory or inventory_of(env)
    clone = Clone(args.repository)
    again = f"make bootstrap ENV={env}"
    try:
        if not branch_exists(clone, branch_of(env)):
            print(missing_branch(clone, env))
            return 1
        where = inventory_of_hosts(inventory, again)
        changed = converge(inventory, again)
        url = f"https://{where['hostname']}/"
        health = wait_for_health(url, args.connect_to, args.cacert, args.timeout, env)
    except GitError as error:
        print(f"{error}\nNext: check the clone's remote (git -C {clone} remote -v), then {again}.", file=sys.stderr)
        return 1
    except StepFailed as error:
        print(error, file=sys.stderr)
        return 1
    release = health["release"]
    print(f"{env} bootstrapped: site.yml changed={changed}; {url} is healthy and runs release {release['id']} "
          f"(commit {release['sha'][:12]}, branch {release['branch']})")
    for group, hosts in where["groups"].items():
        print(f"  {group}: {', '.join(hosts)}")
    return 0


def branch_exists(clone, branch):
    progress(f"asking {clone.remote_url()} for branch {branch}")
    return clone.remote_has_branch(branch)


def missing_branch(clone, env):
    """What to run when origin lacks the environment's branch: create it from the production branch (from the one
    before it, for production itself), then bootstrap again."""
    branch = branch_of(env)
    source = branch_of(ENVIRONMENTS[-1] if env != ENVIRONMENTS[-1] else ENVIRONMENTS[-2])
    git = "git" if clone.path == REPOSITORY else f"git -C {clone}"
    return (f"{REMOTE} ({clone.remote_url()}) has no branch {branch}, which {env} deploys from. Create it from "
            f"{source} (and locally: site.yml builds the local {branch}), then bootstrap again:\n"
            f"  {git} fetch {REMOTE}\n"
            f"  {git} push {REMOTE} {REMOTE}/{source}:refs/heads/{branch}\n"
            f"  {git} fetch {REMOTE} {branch}:{branch}\n"
            f"  make bootstrap ENV={env}")


def inventory_of_hosts(inventory, again):
    """{hostname: first of cams_public_hostnames, groups: {group: [hosts]}}, as Ansible reads the inventory."""
    progress(f"reading {inventory}")
    if not inventory.exists():
        raise StepFailed(f"There is no inventory {inventory}.\nNext: create it (docs/architecture.md, 'An "
                         f"environment') or name another with --inventory, then {again}")
    result = subprocess.run([executable("ansible-inventory"), "-i", str(inventory), "--list"],
                            capture_output=True, text=True, cwd=REPOSITORY)
    if result.returncode != 0:
        raise StepFailed(f"ansible-inventory -i {inventory} failed:\n{result.stderr.strip()}\n"
                         f"Next: fix the inventory (or its vault password: scripts/new-vault.sh), then {again}")
    listing = json.loads(result.stdout)
    names = [host_vars["cams_public_hostnames"] for host_vars in listing["_meta"]["hostvars"].values()
             if host_vars.get("cams_public_hostnames")]
    if not names:
        raise StepFailed(f"{inventory} sets no cams_public_hostnames.\n"
                         f"Next: set it in the inventory's group_vars/all/main.yml, then {again}")

    def members(group):
        entry = listing.get(group, {})
        return [*entry.get("hosts", []), *(host for child in entry.get("children", []) for host in members(child))]
    groups = {group: sorted(set(members(group))) for group in sorted(listing)
              if group not in ("_meta", "all", "ungrouped") and members(group)}
    return {"hostname": names[0][0], "groups": groups}


def converge(inventory, again):
    """Runs site.yml, its output streamed to stderr; the number of changed tasks, from its recap."""
    argv = [executable("ansible-playbook"), "-i", str(inventory), "site.yml"]
    progress(" ".join(argv[1:]))
    environment = dict(os.environ)
    if sys.stderr.isatty():
        environment["ANSIBLE_FORCE_COLOR"] = "1"
    changed, in_recap = {}, False
    with subprocess.Popen(argv, cwd=REPOSITORY, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, bufsize=1) as playbook:
        for line in playbook.stdout:
            plain = ANSI.sub("", line)
            sys.stderr.write(f"{stamp()} {line}" if plain.startswith(("PLAY ", "TASK ")) else line)
            in_recap = in_recap or plain.startswith("PLAY RECAP")
            recap = RECAP.match(plain) if in_recap else None
            if recap:
                changed[recap["host"]] = int(recap["changed"])
    if playbook.returncode != 0:
        raise StepFailed(f"site.yml failed (exit {playbook.returncode}): its output above says where.\n"
                         f"Next: fix that, then {again} (a re-run is safe)")
    return sum(changed.values())


def wait_for_health(url, connect_to, cacert, timeout, env):
    """The /health/ answer once it reports ok; raises StepFailed when it does not within `timeout` seconds."""
    hostname = url.split("/")[2]
    address, port = connection_target(connect_to or hostname)
    tls = ssl.create_default_context(cafile=cacert)
    progress(f"waiting for {url}health/" + (f" at {address}:{port}" if connect_to else ""))
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = get_health(hostname, address, port, tls)
            if answer.get("status") == "ok":
                return answer
            problem = f"it answered {answer}"
        except ssl.SSLCertVerificationError as error:
            raise StepFailed(f"{url}health/: the certificate does not verify: {error.verify_message}.\n"
                             f"Next: --cacert FILE with the CA that signs it (e.g. .pki/{env}/ca.crt for self_signed),"
                             " or --connect-to the environment's address.") from error
        except (OSError, http.client.HTTPException, ValueError) as error:
            problem = f"{type(error).__name__}: {error}"
        if time.monotonic() > deadline:
            raise StepFailed(f"{url}health/ did not report ok within {timeout} s; last: {problem}.\n"
                             f"Next: make status ENV={env} and make logs ENV={env} say why; where DNS does not point "
                             "there yet, --connect-to the load balancer's address.")
        time.sleep(2)


def connection_target(value):
    """ADDRESS[:PORT] (IPv6 in brackets) -> (address, port); 443 by default."""
    if value.startswith("["):
        address, _, rest = value[1:].partition("]")
        return address, int(rest[1:] or 443)
    address, _, port = value.partition(":") if value.count(":") == 1 else (value, "", "")
    return address, int(port or 443)


class _HTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to `hostname` (TLS server name, certificate, Host header) over a TCP connection to `address`."""

    def __init__(self, hostname, address, port, tls):
        super().__init__(hostname, port, timeout=10, context=tls)
        self._address, self._tls = address, tls

    def connect(self):
        self.sock = self._tls.wrap_socket(socket.create_connection((self._address, self.port), self.timeout),
                                          server_hostname=self.host)


def get_health(hostname, address, port, tls):
    connection = _HTTPSConnection(hostname, address, port, tls)
    try:
        # Host as in the URL, whatever port the connection goes to (as curl --connect-to).
        connection.request("GET", "/health/", headers={"Host": hostname, "Accept": "application/json"})
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status != 200:
        return {"status": f"HTTP {response.status}"}
    return json.loads(body)
