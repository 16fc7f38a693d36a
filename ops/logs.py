"""logs ENV [--service S] [--since TIME] [--follow]: the journals of the environment's hosts, one stream, each line
`host  time  unit: message`.

Ansible cannot stream, so it only says how it reaches each host (playbooks/connections.yml); journalctl then runs on
every host at once through the same client: ssh (with sudo -n, as Ansible's become), docker exec (Molecule's
containers) or directly (a local connection). Without --follow the journals are merged by time; with it, lines are
printed as they arrive until Ctrl-C."""
import concurrent.futures
import datetime
import heapq
import json
import os
import pathlib
import queue
import shlex
import subprocess
import sys
import threading

from ops.ansible import Failed, run_playbook
from ops.environments import ENVIRONMENTS, inventory_of

# A service: the inventory groups whose hosts run it, and its systemd units (journalctl --unit patterns).
SERVICES = {
    "app": (["appservers"], ["cams@*"]),
    "nginx": (["webservers"], ["nginx.service"]),
    "postgresql": (["dbservers"], ["postgresql@*"]),
    "haproxy": (["loadbalancers"], ["haproxy.service"]),
    # The repository host runs the backups; the database host pushes WAL (in PostgreSQL's journal) and may be it.
    "backups": (["dbservers", "backupservers"], ["pgbackrest-backup@*", "pgbackrest-backup-*.timer"]),
}
DOCKER_CONNECTIONS = ("community.docker.docker", "docker")
# docker exec leaves its process running when the client goes: a following journalctl ends when its stdin, which this
# process holds open, closes (sh gives a background job /dev/null, hence fd 3).
STDIN_BOUND = 'exec 3<&0; "$@" & child=$!; (cat <&3 >/dev/null; kill "$child" 2>/dev/null) & wait "$child"'


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "logs", help="the journals of every host of an environment, interleaved by time",
        description="Reads the systemd journal of every host of ENV (or of the hosts of one service) in parallel, "
                    "over the connection Ansible uses, and prints it as one stream: host, time (UTC), unit, "
                    "message.")
    parser.add_argument("environment", choices=ENVIRONMENTS, metavar="ENV", help=", ".join(ENVIRONMENTS))
    parser.add_argument("--service", choices=sorted(SERVICES),
                        help="only this service's units, on the hosts of its tier (default: every unit, every host)")
    parser.add_argument("--since", metavar="TIME",
                        help="journalctl's --since: '10 min ago', '2024-05-01 12:00', 'today'...")
    parser.add_argument("--lines", type=int, default=20, metavar="N",
                        help="without --since: the last N lines of each host (default: 20)")
    parser.add_argument("--follow", action="store_true", help="keep printing new lines until Ctrl-C")
    parser.add_argument("--inventory", type=pathlib.Path,
                        help="ENV's inventory (default: inventories/<env>, or CAMS_INVENTORY_<ENV>)")
    parser.set_defaults(handler=run)


def run(args):
    env = args.environment
    groups, units = SERVICES[args.service] if args.service else (None, [])
    try:
        commands = journal_commands(args.inventory or inventory_of(env), journalctl(units, args), groups, env)
    except (Failed, ValueError) as error:
        print(f"{env}: {error}", file=sys.stderr)
        return 1
    if not commands:
        print(f"{env}: no host is in {' or '.join(groups)}, where {args.service} runs", file=sys.stderr)
        return 1
    print(f"[{env}] reading the journals of {', '.join(commands)}" + (" (Ctrl-C ends)" if args.follow else ""),
          file=sys.stderr, flush=True)
    return follow(commands) if args.follow else merged(commands)


def journalctl(units, args):
    argv = ["journalctl", "--output=json", "--no-pager", "--quiet"]
    argv += [f"--unit={unit}" for unit in units]
    argv += [f"--since={args.since}"] if args.since else [f"--lines={args.lines}"]
    return argv + (["--follow"] if args.follow else [])


def journal_commands(inventory, journalctl_argv, groups=None, label=None):
    """{host: argv} that runs `journalctl_argv` on each host (of `groups`, else all), reached as Ansible reaches it."""
    read = run_playbook(inventory, "connections.yml", label=label)
    return {host: command_for(facts["connection_settings"], journalctl_argv) for host, facts in sorted(read.items())
            if groups is None or set(groups) & set(facts["connection_settings"]["groups"])}


def command_for(connection, argv):
    """The command that runs `argv` as root on a host Ansible reaches by `connection` (playbooks/connections.yml)."""
    user, kind = connection["user"], connection["connection"]
    if kind == "ssh":
        ssh = ["ssh", *shlex.split(connection["ssh_args"] or ""), *shlex.split(connection["ssh_common_args"] or ""),
               *shlex.split(connection["ssh_extra_args"] or ""), "-o", "BatchMode=yes",
               "-o", f"ConnectTimeout={connection['timeout']}"]
        if connection["port"]:
            ssh += ["-p", str(connection["port"])]
        if connection["private_key_file"]:
            ssh += ["-i", connection["private_key_file"]]
        if user:
            ssh += ["-l", user]
        return [*ssh, connection["host"], shlex.join(argv if user == "root" else ["sudo", "-n", *argv])]
    if kind in DOCKER_CONNECTIONS:
        argv = argv if user in (None, "root") else ["sudo", "-n", *argv]
        if "--follow" in argv:
            return ["docker", "exec", "--interactive", *(["--user", user] if user else []), connection["host"],
                    "sh", "-c", STDIN_BOUND, "sh", *argv]
        return ["docker", "exec", *(["--user", user] if user else []), connection["host"], *argv]
    if kind == "local":
        return argv if os.geteuid() == 0 else ["sudo", "-n", *argv]
    raise ValueError(f"{connection['host']} is reached by the connection {kind}, which logs cannot stream from. "
                     "Next: read that host's journal on it: sudo journalctl")


def line_of(host, width, entry):
    """`host  time  unit: message` of one journal entry (journalctl --output=json)."""
    at = datetime.datetime.fromtimestamp(int(entry["__REALTIME_TIMESTAMP"]) / 1e6, datetime.timezone.utc)
    # UNIT: what systemd (PID 1, whose own unit is init.scope) says a message is about.
    unit = entry.get("UNIT") or entry.get("_SYSTEMD_UNIT") or entry.get("SYSLOG_IDENTIFIER") or entry.get("_COMM") or "?"
    message = entry.get("MESSAGE", "")
    if isinstance(message, list):  # journald keeps non-UTF-8 messages as bytes
        message = bytes(message).decode(errors="replace")
    return f"{host:{width}}  {at.isoformat(timespec='milliseconds').replace('+00:00', 'Z')}  {unit}: {message}"


def entries(lines):
    for line in lines:
        try:
            yield json.loads(line)
        except ValueError:
            continue  # not an entry (a warning of journalctl's)


def merge(journals):
    """The lines of {host: [journal entry]} (each in time order), merged by __REALTIME_TIMESTAMP."""
    width = max((len(host) for host in journals), default=0)
    streams = [[(int(entry["__REALTIME_TIMESTAMP"]), host, entry) for entry in host_entries]
               for host, host_entries in journals.items()]
    return [line_of(host, width, entry) for _, host, entry in heapq.merge(*streams, key=lambda item: item[:2])]


def no_such_unit(returncode, stderr):
    """journalctl (systemd 252) fails when no unit of the host matches a --unit pattern: that host has no such
    journal, which is no failure."""
    return returncode == 1 and "Failed to add filter for units: No data available" in stderr


def failed(host, command, returncode, stderr):
    return (f"{host}: reading its journal failed (exit {returncode}: {stderr.strip() or 'no message'}). Next: try it "
            f"by hand: {shlex.join(command)}")


def merged(commands):
    def read(command):
        return subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace")

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(commands)) as pool:
        results = dict(zip(commands, pool.map(read, commands.values())))
    problems = [failed(host, commands[host], result.returncode, result.stderr)
                for host, result in results.items()
                if result.returncode != 0 and not no_such_unit(result.returncode, result.stderr)]
    for line in merge({host: list(entries(result.stdout.splitlines())) for host, result in results.items()}):
        print(line)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


def follow(commands):
    width = max(len(host) for host in commands)
    lines = queue.Queue()
    # Their stdin stays open, and empty, while they follow (STDIN_BOUND).
    processes = {host: subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, errors="replace", bufsize=1)
                 for host, command in commands.items()}

    def read(host, process):
        for entry in entries(process.stdout):
            lines.put(line_of(host, width, entry))
        process.wait()
        lines.put((host, process.returncode, process.stderr.read().strip()))

    for host, process in processes.items():
        threading.Thread(target=read, args=(host, process), daemon=True).start()
    running, problems = len(processes), []
    try:
        while running:
            item = lines.get()
            if isinstance(item, str):
                print(item, flush=True)
                continue
            host, returncode, err = item
            running -= 1
            if not no_such_unit(returncode, err):
                problems.append(failed(host, commands[host], returncode, err))
                print(problems[-1], file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes.values():
            process.stdin.close()
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
    return 1 if problems else 0
