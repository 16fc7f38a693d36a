#!/usr/bin/env python3
"""Times the operator's path on one fresh local VM, all in one run, and writes what it measured:

fresh converge (site.yml on a bare VM) and its idempotent re-run; requests/s and p50/p99 latency next to their
baselines on the converged release (throughput.py); four deploys (playbooks/deploy.yml, end to end) of a Python
change with the build cache cleared and another with it warm, a dependency change and a frontend change, each under
a paced load that counts failed requests (vm.under_paced_load). Prints the tables and writes
bench/results/lifecycle-<time>.json, docs/benchmarks.md and docs/benchmarks.png (report.py). It reports times, it
does not judge them; it fails only if a request failed during a deploy or the load ended before a deploy did.

    .venv/bin/python bench/lifecycle.py        (or: make bench)

The VM is a container of its own (cams-bench, SSH 127.0.0.1:2299, HTTPS 127.0.0.1:8499), removed at the end.
"""
import json
import os
import pathlib
import platform
import shutil
import sys
import tempfile
import time

import report
import throughput
from vm import PROJECT, install_loadgen, sh, timed_playbook, under_paced_load

LOAD_SECONDS = 10
LOAD_CONCURRENCY = 4


class ScratchRepo:
    """A clone of this repository's HEAD, to which each scenario commits its change."""

    def __init__(self, workdir):
        self.path = pathlib.Path(workdir) / "repo"
        sh("git", "clone", "--quiet", "--local", str(PROJECT), str(self.path))
        self.head = self.git("rev-parse", "HEAD").stdout.strip()

    def git(self, *argv):
        return sh("git", "-C", str(self.path), "-c", "user.name=bench", "-c", "user.email=bench@localhost", *argv)

    def commit(self, message, relative_path, edit):
        path = self.path / relative_path
        path.write_text(edit(path.read_text()))
        self.git("commit", "--quiet", "-am", f"bench: {message}")
        self.head = self.git("rev-parse", "HEAD").stdout.strip()
        return self.head


def python_change(text):
    return text + f"# bench change {time.time()}\n"


def dependency_change(text):
    return text + "six==1.17.0\n"


def frontend_change(text):
    return text.replace('"app-title">CAMS<', '"app-title">CAMS (bench)<', 1)


# Ansible's own strategy instead of ansible.cfg's Mitogen: what Mitogen buys, measured in the same run.
WITHOUT_MITOGEN = {"ANSIBLE_STRATEGY": "linear"}
# An empty cache for the strategy's memo of Mitogen's work on module sources (plugins/strategy/mitogen_linear.py):
# what the memo buys. A new directory each time it is used, under the run's own temporary directory.
COLD_MITOGEN_MEMO = "cold Mitogen memo"

# (name, file changed, change, whether the build cache is cleared first, environment of the run)
DEPLOYS = [
    ("code-only deploy, cold build cache", "app/backend/__init__.py", python_change, True, None),
    ("code-only deploy, warm build cache", "app/backend/__init__.py", python_change, False, None),
    ("code-only deploy, warm build cache, without Mitogen", "app/backend/__init__.py", python_change, False,
     WITHOUT_MITOGEN),
    ("code-only deploy, warm build cache, cold Mitogen memo", "app/backend/__init__.py", python_change, False,
     COLD_MITOGEN_MEMO),
    ("dependency change deploy", "app/requirements.txt", dependency_change, False, None),
    ("frontend change deploy", "app/frontend/src/components/Dashboard.jsx", frontend_change, False, None),
]


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "nproc": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "load_samples": [os.getloadavg()[0]]}


def cpu_ticks():
    """(stolen, all) CPU time since boot, in ticks: steal is time the hypervisor gave this VM's CPUs to others."""
    user, nice, system, idle, iowait, irq, softirq, steal = map(int, pathlib.Path("/proc/stat").read_text().split()[1:9])
    return steal, user + nice + system + idle + iowait + irq + softirq + steal


def stolen_share(before, after):
    """The share of the CPUs' time the hypervisor took between two cpu_ticks(): on a shared host, a slower run."""
    return (after[0] - before[0]) / max(after[1] - before[1], 1)


def sample_load(results):
    """The 1-minute load average after each step: whether the machine was shared while it was measured."""
    results["machine"]["load_samples"].append(os.getloadavg()[0])


def run(repo):
    results = {"machine": machine(), "load_seconds": LOAD_SECONDS, "load_concurrency": LOAD_CONCURRENCY}
    run_started = cpu_ticks()
    timed_playbook("playbooks/build.yml", repo.path, repo.head)  # the first artifact, not part of the converge
    fresh_s, fresh_changed = timed_playbook("site.yml", repo.path, repo.head)
    sample_load(results)
    rerun_s, rerun_changed = timed_playbook("site.yml", repo.path, repo.head)
    sample_load(results)
    rerun_without_mitogen_s, _ = timed_playbook("site.yml", repo.path, repo.head, WITHOUT_MITOGEN)
    sample_load(results)
    results["converge"] = {"fresh_s": fresh_s, "fresh_changed": fresh_changed, "rerun_s": rerun_s,
                           "rerun_changed": rerun_changed, "rerun_without_mitogen_s": rerun_without_mitogen_s}
    install_loadgen()
    results["throughput"], results["gunicorn_settings"] = throughput.measure_all(LOAD_SECONDS, LOAD_CONCURRENCY)
    sample_load(results)
    results["deploys"] = []
    for name, relative_path, change, clear_cache, env in DEPLOYS:
        ref = repo.commit(name, relative_path, change)
        if clear_cache:  # the wheelhouses, the React build and its node_modules
            shutil.rmtree(repo.path / ".artifacts" / "cache", ignore_errors=True)
            for wheelhouse in (repo.path / ".artifacts").glob("wheels-*.tar"):
                wheelhouse.unlink()
        if env == COLD_MITOGEN_MEMO:
            env = {"XDG_CACHE_HOME": tempfile.mkdtemp(dir=repo.path.parent)}
        deploy_started = cpu_ticks()
        (seconds, changed), load = under_paced_load(
            lambda: timed_playbook("playbooks/deploy.yml", repo.path, ref, env))
        results["deploys"].append({"name": name, "seconds": seconds, "changed": changed, "sent": load["sent"],
                                   "failed": load["failed"], "load_lasted": load["stopped_by"] == "stop_file",
                                   "failures": load["failures"][:5],
                                   "stolen_cpu": stolen_share(deploy_started, cpu_ticks())})
        sample_load(results)
    results["machine"]["stolen_cpu"] = stolen_share(run_started, cpu_ticks())
    return results


def main():
    sh("scripts/new-vault.sh", "local")  # creates it, or adds the secrets it lacks
    with tempfile.TemporaryDirectory() as workdir:
        repo = ScratchRepo(workdir)
        sh("scripts/local-vm.sh", "down")
        sh("scripts/local-vm.sh", "up")
        try:
            results = run(repo)
        finally:
            sh("scripts/local-vm.sh", "down")

    out_dir = PROJECT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / f"lifecycle-{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(json.dumps(results, indent=2) + "\n")
    report.write(results)
    return 0 if all(deploy["failed"] == 0 and deploy["load_lasted"] for deploy in results["deploys"]) else 1


if __name__ == "__main__":
    sys.exit(main())
