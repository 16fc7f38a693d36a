"""python -m ops logs, where no host is needed: each host's connection as Ansible renders it, turned into the client
that streams its journal; the journals merged by time; a host that cannot be read. Real journals of real hosts:
molecule/prod/tests/test_prod.py."""
import json
import os
import pathlib
import shlex
import subprocess
import sys

import yaml

from ops.logs import journal_commands, merge

REPOSITORY = pathlib.Path(__file__).resolve().parents[1]
JOURNALCTL = ["journalctl", "--output=json"]


def inventory(path, hosts, groups=None):
    path.mkdir()
    (path / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts, "children": groups or {}}}))
    return path


def test_each_host_is_reached_as_ansible_renders_its_connection(tmp_path):
    commands = journal_commands(inventory(tmp_path / "inventory", {
        "web-1": {"ansible_host": "192.0.2.7", "ansible_port": "{{ 2200 + 22 }}", "ansible_user": "alice",
                  "ansible_ssh_private_key_file": "{{ inventory_dir }}/keys/alice",
                  "ansible_ssh_common_args": "-o StrictHostKeyChecking=accept-new"},
        "box": {"ansible_connection": "community.docker.docker", "ansible_user": "root"},
        "here": {"ansible_connection": "local"},
    }), JOURNALCTL)
    ssh = commands["web-1"]
    assert ssh[0] == "ssh" and ssh[-2] == "192.0.2.7"
    assert ssh[ssh.index("-p") + 1] == "2222" and ssh[ssh.index("-l") + 1] == "alice"
    assert ssh[ssh.index("-i") + 1] == str(tmp_path / "inventory" / "keys" / "alice")
    assert "StrictHostKeyChecking=accept-new" in ssh and "ControlPersist=60s" in ssh, "inventory and ansible.cfg"
    assert shlex.split(ssh[-1]) == ["sudo", "-n", *JOURNALCTL], "an operator reads journals through sudo"
    assert commands["box"] == ["docker", "exec", "--user", "root", "box", *JOURNALCTL]
    assert commands["here"][-2:] == JOURNALCTL


def test_a_service_reads_only_the_hosts_of_its_tier(tmp_path):
    hosts = inventory(tmp_path / "inventory", {"lb": {}, "app": {}, "db": {}},
                      {"loadbalancers": {"hosts": {"lb": None}}, "appservers": {"hosts": {"app": None}},
                       "dbservers": {"hosts": {"db": None}}, "backupservers": {"hosts": {}}})
    assert list(journal_commands(hosts, JOURNALCTL, ["loadbalancers"])) == ["lb"]
    assert list(journal_commands(hosts, JOURNALCTL, ["dbservers", "backupservers"])) == ["db"]


def entry(at_seconds, message, unit="cams@blue.service"):
    return {"__REALTIME_TIMESTAMP": str(int(at_seconds * 1e6)), "_SYSTEMD_UNIT": unit, "MESSAGE": message}


def test_journals_are_merged_by_time_and_prefixed_by_host():
    start = 1_800_000_000
    lines = merge({
        "app-01": [entry(start + 1, "booting"), entry(start + 4, "ready")],
        "db": [entry(start + 2, "checkpoint", "postgresql@15-main.service"), entry(start + 3, "more")],
        "quiet": [],
    })
    assert [line.split()[0] for line in lines] == ["app-01", "db", "db", "app-01"]
    assert lines[0] == "app-01  2027-01-15T08:00:01.000Z  cams@blue.service: booting"
    assert lines[1].startswith("db      2027-01-15T08:00:02.000Z  postgresql@15-main.service: checkpoint")


def test_a_message_journald_kept_as_bytes_is_printed_as_text():
    [line] = merge({"h": [{**entry(0, None), "MESSAGE": list("caf\u00e9".encode())}]})
    assert line.endswith("cams@blue.service: caf\u00e9")


def test_a_host_whose_journal_cannot_be_read_fails_with_the_command_to_try(tmp_path):
    hosts = inventory(tmp_path / "inventory", {"gone": {"ansible_host": "192.0.2.1",
                                                        "ansible_ssh_common_args": "-o ConnectTimeout=3"}})
    answer = subprocess.run([sys.executable, "-m", "ops", "logs", "dev", "--since", "10 min ago"], capture_output=True,
                            text=True, cwd=REPOSITORY, env={**os.environ, "CAMS_INVENTORY_DEV": str(hosts)})
    assert answer.returncode == 1
    assert "gone: reading its journal failed" in answer.stderr
    assert "Next: try it by hand: ssh " in answer.stderr and "--since=10 min ago" in answer.stderr
    assert answer.stdout == ""


def test_a_message_of_systemd_about_a_unit_is_shown_as_that_units():
    [line] = merge({"h": [{**entry(0, "Started backups."), "_SYSTEMD_UNIT": "init.scope",
                           "UNIT": "pgbackrest-backup-diff.timer"}]})
    assert line.endswith("pgbackrest-backup-diff.timer: Started backups.")
