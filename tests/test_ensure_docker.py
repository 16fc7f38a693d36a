"""scripts/ensure-docker.sh installs and starts the Docker engine, tested against stub executables only.

The script runs with PATH = stub dirs + a dir of symlinks to just the real tools it needs (bash, date, sleep, ...),
so the machine's real docker, dockerd, docker-compose, apt-get, systemctl and sudo can never be found:
  * docker     --version works; `info` fails until the engine marker exists; `compose version` fails (no plugin);
  * apt-get    logs its argv; `install` puts stub dockerd/docker-compose (and docker, as docker.io does) in bin/
               (dockerd in sbin/ for Debian's layout, /usr/sbin/dockerd);
  * dockerd    creates the engine marker, so `docker info` then succeeds;
  * systemctl  `enable --now|start docker.service` runs the stub dockerd (fails like a missing unit without it);
  * cat        answers /proc/1/comm with the init the test chooses (systemd or not), real cat otherwise;
  * id         `id -u` is 0 (root) or 1000 (a user with sudo), whatever user runs the tests;
  * sudo       logs and runs its command with root's PATH (sbin included, like secure_path);
  * pgrep      finds no dockerd (the real one would see the machine's own dockerd);
  * rm         logs only (the script may remove /var/run/docker.pid, a real path).
Both init branches (systemd as PID 1 or not) run on every machine, CI included.
"""

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "ensure-docker.sh"
REAL_TOOLS = ("bash", "sh", "env", "date", "sleep", "tail", "nohup")  # what the script runs itself
STUB_HELPERS = ("cat", "cp", "id", "touch")  # what the stubs run, by absolute path
INSTALL_PACKAGES = "install -y -q --no-install-recommends docker.io docker-compose"


def real(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} not found on this machine")
    return path


class Machine:
    """A fake machine: bin/ (stubs, where apt-get installs), tools/ (real tools and fixed stubs), state/ (logs).

    user: "root", or "user" (uid 1000 with sudo, whose PATH has no sbin, as on Debian).
    sbin_dockerd: docker.io puts dockerd in sbin/ as Debian's package does (/usr/sbin/dockerd), else in bin/.
    """

    def __init__(self, tmp: Path, init: str = "init", apt: bool = True, user: str = "root",
                 sbin_dockerd: bool = False):
        self.tmp, self.bin, self.sbin, self.tools = tmp, tmp / "bin", tmp / "sbin", tmp / "tools"
        self.payload, self.state = tmp / "payload", tmp / "state"
        for d in (self.bin, self.sbin, self.tools, self.payload, self.state):
            d.mkdir()
        self.h = {tool: real(tool) for tool in STUB_HELPERS}
        for tool in REAL_TOOLS:
            (self.tools / tool).symlink_to(real(tool))
        self.sh = real("sh")
        self.user = user
        self.marker = self.state / "engine-up"
        self.calls = self.state / "calls.log"
        self.apt_log = self.state / "apt.log"
        self.dockerd_log = self.state / "dockerd.log"
        self.user_path = f"{self.bin}:{self.tools}"
        self.root_path = f"{self.sbin}:{self.bin}:{self.tools}"  # root's PATH and sudo's secure_path

        q = shlex.quote
        bin_, sbin, payload, cp = q(str(self.bin)), q(str(self.sbin)), q(str(self.payload)), q(self.h["cp"])
        dockerd_dir = sbin if sbin_dockerd else bin_
        log = f'printf "%s\\n" "${{0##*/}} $*" >> {q(str(self.calls))}'  # "<tool> <args>"
        self.stubs = {
            "docker": f"""{log}
case "$1" in
  --version) echo "Docker version 99.0.0-stub, build stub"; exit 0 ;;
  info) [ -f {q(str(self.marker))} ] && {{ echo "Server Version: 99.0.0-stub"; exit 0; }}
        echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock" >&2; exit 1 ;;
  version) [ -f {q(str(self.marker))} ] && {{ echo 99.0.0-stub; exit 0; }}; exit 1 ;;
  compose) echo "docker: 'compose' is not a docker command." >&2; exit 1 ;;
esac
exit 1""",
            "dockerd": f"""{log}
{q(self.h['touch'])} {q(str(self.marker))}""",
            "docker-compose": f"""{log}
echo "docker-compose version 1.29.2-stub"
""",
            "apt-get": f"""{log}
printf "%s\\n" "$*" >> {q(str(self.apt_log))}
[ "$1" = install ] || exit 0
for package in "$@"; do
  case "$package" in
    docker.io)
      [ -e {bin_}/docker ] || {cp} {payload}/docker {bin_}/docker
      [ -e {dockerd_dir}/dockerd ] || {cp} {payload}/dockerd {dockerd_dir}/dockerd ;;
    docker-compose) {cp} {payload}/docker-compose {bin_}/docker-compose ;;
  esac
done""",
            "systemctl": f"""{log}
case "$*" in
  "enable --now docker.service"|"start docker.service")
    for dockerd in {sbin}/dockerd {bin_}/dockerd; do [ -x "$dockerd" ] && exec "$dockerd"; done
    echo "Failed to start docker.service: Unit docker.service not found." >&2; exit 5 ;;
esac
exit 1""",
            "cat": f"""[ "$1" = /proc/1/comm ] && {{ echo {q(init)}; exit 0; }}
exec {q(self.h['cat'])} "$@"
""",
            "id": f"""[ "$1" = -u ] && {{ echo {0 if user == "root" else 1000}; exit 0; }}
exec {q(self.h['id'])} "$@"
""",
            "pgrep": f"""{log}
exit 1""",
            "rm": f"""{log}
exit 0""",
            "sudo": f"""{log}
PATH={q(self.root_path)} exec "$@"
""",
        }
        for name in ("docker", "dockerd", "docker-compose"):
            self._write(self.payload / name, self.stubs[name])
        for name in ("cat", "id", "pgrep", "rm", "sudo", "systemctl") + (("apt-get",) if apt else ()):
            self._write(self.tools / name, self.stubs[name])

    def _write(self, path: Path, body: str) -> None:
        path.write_text(f"#!{self.sh}\n{body}\n")
        path.chmod(0o755)

    def install(self, *tools: str) -> None:
        """Tools the machine already has, e.g. the docker client alone."""
        for tool in tools:
            shutil.copy(self.payload / tool, self.bin / tool)

    def run(self) -> subprocess.CompletedProcess:
        env = {
            "PATH": self.root_path if self.user == "root" else self.user_path,
            "HOME": str(self.tmp),
            "LC_ALL": "C",
            "DOCKER_WAIT_SECONDS": "10",
            "DOCKERD_LOG": str(self.dockerd_log),
        }
        # bash is started by the script's shebang (/usr/bin/env bash) from the PATH above, as in real use
        return subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, cwd=self.tmp)

    def calls_of(self, tool: str) -> list[str]:
        if not self.calls.exists():
            return []
        return [line for line in self.calls.read_text().splitlines() if line.split(" ", 1)[0] == tool]

    def apt_calls(self) -> list[str]:
        return self.apt_log.read_text().splitlines() if self.apt_log.exists() else []


def explain(result: subprocess.CompletedProcess, machine: Machine) -> str:
    calls = machine.calls.read_text() if machine.calls.exists() else "(none)\n"
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}--- stderr\n{result.stderr}--- stub calls\n{calls}"


@pytest.fixture(params=["init", "systemd"], ids=["pid1-not-systemd", "pid1-systemd"])
def init(request):
    return request.param


@pytest.fixture(params=["root", "user"], ids=["root", "user-with-sudo"])
def user(request):
    return request.param


def assert_engine_installed_and_started(machine: Machine, result, init: str) -> None:
    why = explain(result, machine)
    assert result.returncode == 0, why
    assert machine.apt_calls() == ["update -q", INSTALL_PACKAGES], why
    assert (machine.bin / "dockerd").exists() and machine.marker.exists(), why
    if init == "systemd":
        assert machine.calls_of("systemctl") == ["systemctl enable --now docker.service"], why
    else:
        assert machine.calls_of("systemctl") == [], why
        assert "starting dockerd in the background" in result.stdout, why
    assert machine.calls_of("dockerd") == ["dockerd "], why
    assert "docker engine is up (99.0.0-stub)" in result.stdout, why
    if machine.user != "root":
        assert [c for c in machine.calls_of("sudo") if c.startswith("sudo apt-get")] == [
            "sudo apt-get update -q", f"sudo apt-get {INSTALL_PACKAGES}"], why


def test_client_without_engine_gets_the_engine_from_apt(tmp_path, init, user):
    """(a) A fresh machine of this kind: /usr/local/bin/docker, the client alone, no dockerd."""
    machine = Machine(tmp_path, init, user=user)
    machine.install("docker")
    result = machine.run()
    assert_engine_installed_and_started(machine, result, init)
    assert "the docker engine (dockerd) is not installed: installing docker.io docker-compose" in result.stdout


def test_no_docker_at_all_gets_the_engine_from_apt(tmp_path, init, user):
    """(b) Nothing docker on the machine."""
    machine = Machine(tmp_path, init, user=user)
    result = machine.run()
    assert_engine_installed_and_started(machine, result, init)
    assert (machine.bin / "docker").exists()


@pytest.mark.parametrize("local_engine", [True, False], ids=["dockerd-installed", "remote-or-desktop-engine"])
def test_engine_already_answering_installs_nothing(tmp_path, init, local_engine):
    """(c) The engine answers (local dockerd, or no local dockerd at all: Docker Desktop, a remote DOCKER_HOST)."""
    machine = Machine(tmp_path, init)
    machine.install("docker", "docker-compose", *(["dockerd"] if local_engine else []))
    machine.marker.touch()
    result = machine.run()
    why = explain(result, machine)
    assert result.returncode == 0, why
    assert machine.apt_calls() == [], why
    assert machine.calls_of("dockerd") == [] and machine.calls_of("systemctl") == [], why
    assert "docker engine is already running" in result.stdout, why


def test_engine_answering_without_compose_installs_only_docker_compose(tmp_path, init):
    """Not the engine: only docker-compose comes from apt when neither it nor the compose plugin is there."""
    machine = Machine(tmp_path, init)
    machine.install("docker", "dockerd")
    machine.marker.touch()
    result = machine.run()
    why = explain(result, machine)
    assert result.returncode == 0, why
    assert machine.apt_calls() == ["update -q", "install -y -q --no-install-recommends docker-compose"], why
    assert machine.calls_of("dockerd") == [], why


def test_installed_but_stopped_engine_is_started_without_apt(tmp_path, init):
    machine = Machine(tmp_path, init)
    machine.install("docker", "dockerd", "docker-compose")
    result = machine.run()
    why = explain(result, machine)
    assert result.returncode == 0, why
    assert machine.apt_calls() == [], why
    assert machine.calls_of("dockerd") == ["dockerd "] and machine.marker.exists(), why


def test_client_without_engine_and_without_apt_fails_clearly(tmp_path):
    machine = Machine(tmp_path, apt=False)
    machine.install("docker")
    result = machine.run()
    assert result.returncode == 1, explain(result, machine)
    assert ("the docker engine (dockerd) is not installed and apt-get is not available: "
            "install the Docker engine (or Docker Desktop) yourself") in result.stderr
    assert machine.calls_of("dockerd") == []


def test_engine_that_never_answers_times_out(tmp_path):
    machine = Machine(tmp_path)
    machine.install("docker", "docker-compose")
    (machine.bin / "dockerd").write_text(f"#!{machine.sh}\necho 'failed to start daemon: stub'\n")  # never answers
    (machine.bin / "dockerd").chmod(0o755)
    result = machine.run()
    assert result.returncode == 1, explain(result, machine)
    assert "docker engine did not answer within 10s" in result.stderr
    assert "failed to start daemon: stub" in result.stderr  # the tail of DOCKERD_LOG


# Debian's docker.io installs /usr/sbin/dockerd, and a non-root user's PATH on Debian has no sbin
# (/etc/login.defs ENV_PATH): the script must find it with root's PATH as well.
def test_debian_non_root_without_systemd_starts_the_engine_it_installed(tmp_path):
    machine = Machine(tmp_path, "init", user="user", sbin_dockerd=True)
    machine.install("docker")
    result = machine.run()
    assert result.returncode == 0, explain(result, machine)


def test_debian_non_root_with_systemd_starts_the_engine_it_installed(tmp_path):
    machine = Machine(tmp_path, "systemd", user="user", sbin_dockerd=True)
    machine.install("docker")
    result = machine.run()
    assert result.returncode == 0, explain(result, machine)
    assert machine.marker.exists()


def test_debian_non_root_does_not_reinstall_a_stopped_engine(tmp_path):
    machine = Machine(tmp_path, "systemd", user="user", sbin_dockerd=True)
    machine.install("docker", "docker-compose")
    shutil.copy(machine.payload / "dockerd", machine.sbin / "dockerd")  # docker.io installed, engine stopped
    result = machine.run()
    assert result.returncode == 0, explain(result, machine)
    assert machine.apt_calls() == [], explain(result, machine)


def test_the_real_tools_are_out_of_reach(tmp_path):
    """The harness itself: nothing docker-, apt-, sudo- or systemd-like resolves outside the tmp dirs."""
    machine = Machine(tmp_path)
    for tool in ("docker", "dockerd", "docker-compose", "apt-get", "systemctl", "sudo", "pgrep", "rm", "id", "cat"):
        found = shutil.which(tool, path=machine.root_path)
        assert found is None or (Path(found).parent in (machine.bin, machine.sbin, machine.tools)
                                 and not Path(found).is_symlink()), found
    assert os.access(SCRIPT, os.X_OK)
