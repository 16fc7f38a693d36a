"""ansible-playbook, run for the operator's commands: JSON events in, per host what the playbook handed over out.

A playbook hands a command what it read through set_fact: run_playbook returns, per host, the facts its set_fact
tasks set (merged in task order). Progress goes to stderr as tasks start."""
import json
import os
import pathlib
import shlex
import shutil
import subprocess
import sys
import threading
import time

from ops.environments import REPOSITORY, missing_vault_passwords


class Failed(Exception):
    """A playbook could not do its job. The message ends with the next step to take; `failures` lists (host, task,
    message) for each task that failed."""

    def __init__(self, message, failures=()):
        super().__init__(message)
        self.failures = list(failures)


def executable(name):
    """An Ansible CLI from the venv this Python runs in, else from PATH."""
    beside = pathlib.Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name) or name


def progress(label, started, text):
    print(f"[{label} {time.monotonic() - started:4.0f} s] {text}", file=sys.stderr, flush=True)


def failure_message(result):
    """What a failed task says: a command's stderr (else its stdout), or the module's message."""
    for key in ("stderr", "stdout", "msg"):
        text = str(result.get(key) or "").strip()
        if text:
            return text
    return "failed without a message"


def run_playbook(inventory, playbook, extra_vars=None, limit=None, *, errors_per_host=False, label=None):
    """Runs playbooks/<playbook> (or the path `playbook`) on `inventory` from the repository root and returns
    {host: {fact: value}} for every host the run processed. A host Ansible cannot reach, or a task that fails,
    raises Failed; with `errors_per_host` they are told in the host's entry instead, as "unreachable": why and
    "failed": ["task: message"], beside what the host handed over before (`label` prefixes the progress lines)."""
    inventory = pathlib.Path(inventory)
    label = label or inventory.name
    if not inventory.exists():
        raise Failed(f"there is no inventory at {inventory}. Next: name an existing one (--inventory, or "
                     "CAMS_INVENTORY_<ENV>)")
    missing = missing_vault_passwords(inventory)
    if missing:
        raise Failed(
            f"{inventory} holds a vault (id {', '.join(missing)}) and this machine has no password for it. Next: put "
            f"it in {', '.join(f'.vault/{vault_id}.pass' for vault_id in missing)} (from the password manager) or "
            f"{', '.join(f'CAMS_VAULT_PASSWORD_{vault_id.upper()}' for vault_id in missing)}, then run the command "
            "again.")
    path = pathlib.Path(playbook) if pathlib.Path(playbook).is_absolute() else REPOSITORY / "playbooks" / playbook
    shown = path.relative_to(REPOSITORY) if path.is_relative_to(REPOSITORY) else path
    argv = [executable("ansible-playbook"), "-i", str(inventory), str(path)]
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    if limit:
        argv += ["--limit", limit]
    # ANSIBLE_CONFIG, when set (the tests set Molecule's), wins over the repository's ansible.cfg; the playbooks
    # need the repository's roles whichever configuration names them.
    roles = os.pathsep.join(filter(None, [str(REPOSITORY / "roles"), os.environ.get("ANSIBLE_ROLES_PATH")]))
    env = {**os.environ, "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.jsonl", "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_ROLES_PATH": roles}
    started = time.monotonic()
    progress(label, started, f"ansible-playbook -i {inventory} {shown}")
    process = subprocess.Popen(argv, cwd=REPOSITORY, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    stderr = []
    reader = threading.Thread(target=lambda: stderr.extend(process.stderr), daemon=True)
    reader.start()
    hosts, unreachable, failures, processed = {}, {}, [], None
    for line in process.stdout:
        try:
            event = json.loads(line)
        except ValueError:
            continue  # not an event (a module's stray output)
        kind = event.get("_event")
        if kind == "v2_playbook_on_task_start":
            progress(label, started, event["task"]["name"])
        elif kind in ("v2_runner_on_ok", "v2_runner_on_failed", "v2_runner_on_unreachable"):
            for host, result in event["hosts"].items():
                hosts.setdefault(host, {})
                if kind == "v2_runner_on_unreachable":
                    unreachable[host] = failure_message(result)
                elif kind == "v2_runner_on_failed":
                    failures.append((host, event["task"]["name"], failure_message(result)))
                elif result.get("action", "").endswith("set_fact"):
                    hosts[host].update(result.get("ansible_facts", {}))
        elif kind == "v2_playbook_on_stats":
            processed = event["stats"]
    process.wait()
    reader.join()
    progress(label, started, "done")
    by_hand = f"Next: run it by hand to see the whole output: {shlex.join(argv)}"
    # Ansible stopped before any host (the inventory, the playbook, a vault), or on an error of its own.
    if processed is None or (process.returncode not in (0, 2, 4) and not failures and not unreachable):
        errors = [line.strip() for line in stderr if line.strip()]
        raise Failed(f"ansible-playbook {shown} on {inventory} stopped (exit {process.returncode}): "
                     f"{' '.join(errors[-6:]).rstrip('.') or 'no message'}. {by_hand}")
    if errors_per_host:
        for host, task, message in failures:
            hosts[host].setdefault("failed", []).append(f"{task}: {message}")
        for host, why in unreachable.items():
            hosts[host]["unreachable"] = why
    elif failures:
        raise Failed("; ".join(f"{host}: {task}: {message}" for host, task, message in failures)
                     + f". {by_hand}", failures)
    elif unreachable:
        raise Failed("; ".join(f"{host} is unreachable: {why}" for host, why in unreachable.items())
                     + f". Next: check the host runs and answers: {executable('ansible')} -i {inventory} "
                       f"{','.join(unreachable)} -m ansible.builtin.ping")
    return {host: hosts.get(host, {}) for host in processed}
