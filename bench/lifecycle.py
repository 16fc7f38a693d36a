#!/usr/bin/env python3
"""Times the operator's path on one fresh local VM, all in one run, and prints the ratios:

fresh converge (site.yml on a bare VM), idempotent re-run (and its ratio to fresh), code-only deploy of a changed
app (playbooks/deploy.yml, artifact pre-built and timed apart), and the requests sent and failed during that
deploy by a bounded, paced load generator inside the VM (a steady 100 requests/s against 127.0.0.1, so the
deploy time is not mostly CPU contention on a small machine). It fails unless the load lasted the whole deploy and
no request failed.

    .venv/bin/python bench/lifecycle.py        (or: make bench)

The VM is a container of its own (cams-bench, SSH 127.0.0.1:2299, HTTPS 127.0.0.1:8499), removed at the end.
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

PROJECT = pathlib.Path(__file__).resolve().parents[1]
VM = {"CAMS_LOCAL_NAME": "cams-bench", "CAMS_LOCAL_SSH_PORT": "2299", "CAMS_LOCAL_HTTPS_PORT": "8499"}
ENV = {**os.environ, **VM, "ANSIBLE_ROLES_PATH": str(PROJECT / "roles")}
PUBLIC_HOST = "127.0.0.1"


def sh(*argv, **kwargs):
    return subprocess.run(argv, check=True, capture_output=True, text=True, env=ENV, cwd=PROJECT, **kwargs)


def timed_playbook(playbook, repo, ref):
    started = time.monotonic()
    sh(str(PROJECT / ".venv" / "bin" / "ansible-playbook"), "-i", "inventories/local", playbook,
       "-e", f"cams_app_repo_dir={repo}", "-e", f"cams_app_ref={ref}")
    return time.monotonic() - started


def in_vm(*argv):
    return sh("docker", "exec", VM["CAMS_LOCAL_NAME"], *argv)


def scratch_versions(workdir):
    """A clone of this repository's HEAD (v1) plus a commit that changes the app (v2)."""
    repo = pathlib.Path(workdir) / "repo"
    sh("git", "clone", "--quiet", "--local", str(PROJECT), str(repo))
    git = ("git", "-C", str(repo), "-c", "user.name=bench", "-c", "user.email=bench@localhost")
    v1 = sh(*git, "rev-parse", "HEAD").stdout.strip()
    with open(repo / "app" / "backend" / "__init__.py", "a") as init:
        init.write(f"# bench change {time.time()}\n")
    sh(*git, "commit", "--quiet", "-am", "bench: change the app")
    v2 = sh(*git, "rev-parse", "HEAD").stdout.strip()
    return repo, v1, v2


def deploy_under_load(repo, ref):
    in_vm("rm", "-f", "/tmp/load.stop", "/tmp/load.json")
    sh("docker", "cp", str(PROJECT / "bench" / "loadgen.py"), f"{VM['CAMS_LOCAL_NAME']}:/tmp/loadgen.py")
    sh("docker", "exec", "-d", VM["CAMS_LOCAL_NAME"], "python3", "/tmp/loadgen.py", "https://127.0.0.1/health/",
       "--host", PUBLIC_HOST, "--cafile", "/etc/cams/ca.crt", "--concurrency", "4", "--rate", "100",
       "--max-seconds", "600",
       "--max-requests", "100000", "--stop-file", "/tmp/load.stop", "--out", "/tmp/load.json")
    time.sleep(2)
    try:
        seconds = timed_playbook("playbooks/deploy.yml", repo, ref)
    finally:
        in_vm("touch", "/tmp/load.stop")
    for _ in range(60):
        if subprocess.run(["docker", "exec", VM["CAMS_LOCAL_NAME"], "test", "-s", "/tmp/load.json"]).returncode == 0:
            break
        time.sleep(0.5)
    return seconds, json.loads(in_vm("cat", "/tmp/load.json").stdout)


def main():
    sh("scripts/new-vault.sh", "local")  # creates it, or adds the secrets it lacks
    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        repo, v1, v2 = scratch_versions(workdir)
        sh("scripts/local-vm.sh", "down")
        sh("scripts/local-vm.sh", "up")
        try:
            results["artifact_build_v1_s"] = timed_playbook("playbooks/build.yml", repo, v1)
            results["fresh_converge_s"] = timed_playbook("site.yml", repo, v1)
            results["idempotent_rerun_s"] = timed_playbook("site.yml", repo, v1)
            results["artifact_build_v2_s"] = timed_playbook("playbooks/build.yml", repo, v2)
            results["code_only_deploy_s"], load = deploy_under_load(repo, v2)
        finally:
            sh("scripts/local-vm.sh", "down")
    results["requests_during_deploy"] = load["sent"]
    results["failed_during_deploy"] = load["failed"]
    results["load_lasted_the_deploy"] = load["stopped_by"] == "stop_file"
    results["rerun_to_fresh_ratio"] = results["idempotent_rerun_s"] / results["fresh_converge_s"]
    results["deploy_to_fresh_ratio"] = results["code_only_deploy_s"] / results["fresh_converge_s"]

    out_dir = PROJECT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / f"lifecycle-{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"{'measure':28}value")
    for name, value in results.items():
        print(f"{name:28}{value:.2f}" if isinstance(value, float) else f"{name:28}{value}")
    return 0 if load["failed"] == 0 and results["load_lasted_the_deploy"] else 1


if __name__ == "__main__":
    sys.exit(main())
