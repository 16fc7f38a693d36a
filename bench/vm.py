"""The benchmark's VM and how to act on it: commands on the control node, commands inside the VM, playbook runs,
and bench/loadgen.py run inside the VM against 127.0.0.1 (so load never leaves the VM's loopback)."""
import json
import os
import pathlib
import re
import subprocess
import time

PROJECT = pathlib.Path(__file__).resolve().parents[1]
VM = {"CAMS_LOCAL_NAME": "cams-bench", "CAMS_LOCAL_SSH_PORT": "2299", "CAMS_LOCAL_HTTPS_PORT": "8499"}
NAME = VM["CAMS_LOCAL_NAME"]
ENV = {**os.environ, **VM, "ANSIBLE_ROLES_PATH": str(PROJECT / "roles")}
PUBLIC_HOST = "127.0.0.1"
CA_FILE = "/etc/cams/ca.crt"


def sh(*argv, env=ENV, **kwargs):
    return subprocess.run(argv, check=True, capture_output=True, text=True, env=env, cwd=PROJECT, **kwargs)


def in_vm(*argv):
    return sh("docker", "exec", NAME, *argv)


def timed_playbook(playbook, repo, ref, env=None):
    """Runs a playbook against the VM (with `env` added to the environment); returns its seconds and the recap's
    changed count (all hosts)."""
    started = time.monotonic()
    run = sh(str(PROJECT / ".venv" / "bin" / "ansible-playbook"), "-i", "inventories/local", playbook,
             "-e", f"cams_app_repo_dir={repo}", "-e", f"cams_app_ref={ref}", env={**ENV, **(env or {})})
    return time.monotonic() - started, recap_changed(run.stdout)


def recap_changed(output):
    return sum(int(count) for count in re.findall(r"\bchanged=(\d+)", output.split("PLAY RECAP", 1)[-1]))


def install_loadgen():
    sh("docker", "cp", str(PROJECT / "bench" / "loadgen.py"), f"{NAME}:/tmp/loadgen.py")


def loadgen_argv(url, *options):
    return ("python3", "/tmp/loadgen.py", url, "--host", PUBLIC_HOST, "--cafile", CA_FILE, *options)


def measure(url, seconds, concurrency):
    """Unpaced keep-alive load on url for a bounded time: the loadgen summary (answered/s, p50/p99, failed)."""
    return json.loads(in_vm(*loadgen_argv(url, "--keep-alive", "--concurrency", str(concurrency),
                                          "--max-seconds", str(seconds), "--max-requests", "10000000")).stdout)


def under_paced_load(action):
    """Runs action() while a steady 100 requests/s go to /health/, each on a new connection (as visitors would);
    returns action's result and the load's summary."""
    in_vm("rm", "-f", "/tmp/load.stop", "/tmp/load.json")
    sh("docker", "exec", "-d", NAME, *loadgen_argv(
        "https://127.0.0.1/health/", "--concurrency", "4", "--rate", "100", "--max-seconds", "600",
        "--max-requests", "100000", "--stop-file", "/tmp/load.stop", "--out", "/tmp/load.json"))
    time.sleep(2)
    try:
        result = action()
    finally:
        in_vm("touch", "/tmp/load.stop")
    for _ in range(60):
        if subprocess.run(["docker", "exec", NAME, "test", "-s", "/tmp/load.json"]).returncode == 0:
            break
        time.sleep(0.5)
    return result, json.loads(in_vm("cat", "/tmp/load.json").stdout)
