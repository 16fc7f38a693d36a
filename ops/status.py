"""status [ENV]: where an environment stands, host by host, and whether it is healthy (exit 1 when not); without ENV,
the three environments side by side: which commit runs where, and what each branch has that the next has not.

playbooks/status.yml reads the hosts (read-only); this module judges what it read."""
import concurrent.futures
import datetime
import json
import pathlib
import sys

from ops.ansible import Failed, run_playbook
from ops.environments import ENVIRONMENTS, REPOSITORY, branch_of, inventory_of
from ops.git import REMOTE, Clone, GitError

# A deploy's lock older than this outlived its run: deploys take minutes, and so does a restore, which holds it too
# (docs/backups.md: RTO). Planned work's lock has no age limit: an operator releases it.
STALE_DEPLOY_LOCK_SECONDS = 2 * 3600


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "status", help="where an environment stands (no ENV: all three, with git)",
        description="For each host of ENV: the running release, /health/ and readiness, nginx, the balancers' view, "
                    "the deploy lock, the last deploys and the backups; exit 1 when something is unhealthy. Without "
                    "ENV: every environment's branch tip on origin against the commit it runs, and what each branch "
                    "has that the next environment's has not.")
    parser.add_argument("environment", nargs="?", choices=ENVIRONMENTS, metavar="ENV",
                        help=f"one of {', '.join(ENVIRONMENTS)}; none: all of them")
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    parser.add_argument("--inventory", type=pathlib.Path,
                        help="ENV's inventory (default: inventories/<env>, or CAMS_INVENTORY_<ENV>)")
    parser.add_argument("--repository", type=pathlib.Path, default=REPOSITORY,
                        help="without ENV: the clone whose origin is compared (default: this checkout)")
    parser.set_defaults(handler=run, parser=parser)


def run(args):
    if args.environment is None:
        if args.inventory:
            args.parser.error("--inventory needs an ENV")
        view = all_environments(args.repository)
        print(json.dumps(view, indent=2) if args.json else render_all(view))
        return 0 if view["healthy"] else 1
    try:
        status = collect(args.environment, args.inventory)
    except Failed as error:
        status = unreachable(args.environment, error)
    print(json.dumps(status, indent=2) if args.json else render(status))
    return 0 if status["healthy"] else 1


# ---------------------------------------------------------------- one environment


def collect(env, inventory=None):
    """What `status ENV --json` prints. Raises Failed when the environment cannot be read at all (no vault password,
    an inventory Ansible refuses); hosts it cannot reach are in the answer, as problems."""
    inventory = pathlib.Path(inventory or inventory_of(env))
    return judge(env, inventory, run_playbook(inventory, "status.yml", errors_per_host=True, label=env))


def unreachable(env, error):
    """An environment that could not be read, in collect()'s shape."""
    return {"environment": env, "branch": branch_of(env), "reachable": False, "error": str(error), "hosts": {},
            "lock": None, "lock_known": False, "backups": None, "alerts": None, "healthy": False, "problems": [str(error)],
            "summary": f"{env}: cannot be read: {error}"}


def judge(env, inventory, read):
    if not read:
        return unreachable(env, f"{inventory} names no host. Next: add the environment's hosts to it "
                                "(docs/topologies.md)")
    if all("unreachable" in facts for facts in read.values()):
        first = min(read)
        others = f" (and {plural(len(read) - 1, 'other host')})" if len(read) > 1 else ""
        return unreachable(env, f"no host answers: {first}: {reason(read[first]['unreachable'])}{others}. Next: "
                                f"check the way to them (network, VPN), then {check_host(inventory, 'all')}")
    problems, locks, balancers, backups, alerts = [], [], {}, None, None
    hosts = {}
    for name, facts in sorted(read.items()):
        # Every host has the keys of collect()'s contract; what a host is not (an app host) stays None.
        host = {"groups": facts.get("status_groups", []), "reachable": "unreachable" not in facts,
                "release": None, "health": None, "ready": None}
        if "unreachable" in facts:
            problems.append(f"{name} is unreachable: {reason(facts['unreachable'])}. Next: "
                            f"{check_host(inventory, name)}")
        problems += [f"{name}: {failure}" for failure in facts.get("failed", [])]
        if "status_app" in facts:
            host.update(judge_app_host(env, name, facts["status_app"], problems, locks))
        if "status_nginx" in facts:
            host["nginx"] = facts["status_nginx"]
            if host["nginx"] != "active":
                problems.append(f"{name}: nginx is {host['nginx'] or 'unknown'}. Next: look at its journal: "
                                f"make logs ENV={env} ARGS='--service nginx --since \"1 hour ago\"'")
        if "status_balancer" in facts:
            balancers[name] = judge_balancer(name, facts["status_balancer"], problems)
        if "backup_status" in facts:
            backups = facts["backup_status"]
            problems += [f"backups: {problem}" for problem in backups["problems"]]
        if "status_alerts" in facts:
            alerts = judge_alerts(name, facts["status_alerts"], problems)
        hosts[name] = host

    for name, host in hosts.items():
        if "webservers" in host["groups"] and balancers:
            host["balancers"] = {lb: view.get(name, "not in its backend")
                                 for lb, view in balancers.items() if view is not None}
            problems += [f"{lb} has {name} {state} (HAProxy, cams_https/{name})"
                         for lb, state in host["balancers"].items() if state != "UP"]

    releases = {}
    for name, host in hosts.items():
        if host.get("release"):
            releases.setdefault(host["release"]["id"], []).append(name)
    if len(releases) > 1:
        problems.append("the app hosts run different releases: " + "; ".join(
            f"{release} on {', '.join(names)}" for release, names in releases.items())
            + f". Next: deploy one release everywhere: make deploy ENV={env}")

    lock = judge_locks(env, locks, problems)
    status = {"environment": env, "branch": branch_of(env), "inventory": str(inventory), "reachable": True,
              "hosts": hosts, "lock": lock, "lock_known": any("status_app" in facts for facts in read.values()),
              "backups": backups, "alerts": alerts, "healthy": not problems, "problems": problems}
    status["summary"] = summary(status, releases)
    return status


def reason(message):
    """Ansible's message on one line, without its prefix."""
    return " ".join(message.removeprefix("Task failed: ").split())


def check_host(inventory, name):
    return f".venv/bin/ansible -i {inventory} {name} -m ansible.builtin.ping"


def judge_app_host(env, name, app, problems, locks):
    host = {"release": None, "health": None, "ready": None, "readiness": None, "last_deploys": []}
    for line in app["ledger"]:
        try:
            host["last_deploys"].insert(0, json.loads(line))
        except ValueError:
            continue  # a line cut by a crash: the ledger goes on after it
    if int(app["current"]["rc"]) == 0:
        current = json.loads(app["current"]["stdout"])
        ran = next((entry for entry in host["last_deploys"]
                    if entry["release_id"] == current["id"] and entry["outcome"] == "success"), {})
        host["release"] = {**current, "deployed_at": ran.get("finished_at"), "deployed_by": ran.get("deployed_by")}
    else:
        problems.append(f"{name}: no current release ({last_line(app['current']['stderr'])}). Next: make deploy "
                        f"ENV={env} (a new host: make bootstrap ENV={env})")

    health = app["health"]
    if int(health["status"]) == 200 and (health["json"] or {}).get("status") == "ok":
        host["health"] = health["json"]
        if host["release"] is not None:
            host["release"]["deployed_at"] = host["release"]["deployed_at"] or health["json"]["release"]["deployed_at"]
            if health["json"]["release"]["id"] != host["release"]["id"]:
                problems.append(f"{name}: the live slot serves release {health['json']['release']['id']}, its "
                                f"current release is {host['release']['id']}")
    else:
        problems.append(f"{name}: /health/ of the live slot: {answer_of(health)}. Next: look at the app's journal: "
                        f"make logs ENV={env} ARGS='--service app --since \"1 hour ago\"'")

    ready = app["ready"]
    host["readiness"] = ready["json"]
    if int(ready["status"]) in (200, 503) and ready["json"]:
        host["ready"] = int(ready["status"]) == 200
        if not host["ready"]:
            checks = ready["json"].get("checks", {})
            problems.append(f"{name}: not ready: " + ", ".join(
                f"{check} {result.get('status')}" + (f" ({result['detail']})" if result.get("detail") else "")
                + (f" ({result['pending']} pending)" if result.get("pending") else "")
                for check, result in checks.items()))
    elif host["health"] is not None:  # no /health/ answer is a problem already
        problems.append(f"{name}: /health/ready/ of the live slot: {answer_of(ready)}")

    if int(app["lock"]["rc"]) == 0:
        if app["lock"]["stdout"].strip() != "free":
            locks.append({**json.loads(app["lock"]["stdout"]), "host": name})
    else:
        problems.append(f"{name}: cannot read the deploy lock ({last_line(app['lock']['stderr'])}); a deploy "
                        f"installs the cams-release that can: make deploy ENV={env}")
    return host


def answer_of(response):
    if int(response["status"]) == -1:
        return f"no answer ({response['msg']})"
    return f"HTTP {response['status']} {json.dumps(response['json']) if response['json'] else response['msg']}"


def last_line(text):
    lines = [line for line in str(text).splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def judge_balancer(name, balancer, problems):
    """{web host: state} from HAProxy's show stat (CSV; a header line, then a row per proxy and server)."""
    stat = balancer["stat"]
    if int(stat["rc"]) != 0 or not stat["stdout"].startswith("#"):
        problems.append(f"{name}: HAProxy's runtime API does not answer: "
                        f"{last_line(stat['stderr'] or stat['stdout'])}")
        return None
    header, *rows = stat["stdout"].lstrip("# ").splitlines()
    fields = header.split(",")
    return {row["svname"]: row["status"] for row in (dict(zip(fields, line.split(","))) for line in rows if line)
            if row["pxname"] == balancer["backend"] and row["svname"] not in ("FRONTEND", "BACKEND")}


def judge_alerts(name, answer, problems):
    """The firing alerts Alertmanager on the monitoring host has for the environment, oldest first; a paging one is a
    problem, a ticket is shown only. None when Alertmanager does not answer (a problem too: nothing would page). The
    heartbeat is not shown, but its absence is a problem: Prometheus is not alerting."""
    if int(answer["status"]) != 200 or not isinstance(answer["json"], list):
        problems.append(f"{name}: Alertmanager does not answer ({answer_of(answer)}): alerts cannot be read, nor "
                        f"sent. Next: systemctl status prometheus-alertmanager on {name}")
        return None
    heartbeats = [alert for alert in answer["json"] if alert["labels"].get("severity") == "heartbeat"]
    if not heartbeats:
        problems.append(f"{name}: CamsWatchdog is not firing: Prometheus does not evaluate the rules or does not reach "
                        f"Alertmanager, so nothing would page. Next: systemctl status prometheus on {name}")
    alerts = sorted(({"name": alert["labels"].get("alertname", "?"),
                      "severity": alert["labels"].get("severity", "?"),
                      "instance": alert["labels"].get("instance"),
                      "since": alert.get("startsAt"),
                      "summary": alert.get("annotations", {}).get("summary", ""),
                      "runbook": alert.get("annotations", {}).get("runbook")}
                     for alert in answer["json"] if alert not in heartbeats), key=lambda alert: alert["since"] or "")
    problems += [f"alert {describe_alert(alert)}" for alert in alerts if alert["severity"] == "page"]
    return alerts


def describe_alert(alert):
    where = f" on {alert['instance']}" if alert["instance"] else ""
    runbook = f" Next: {alert['runbook']}" if alert["runbook"] else ""
    return f"{alert['name']} ({alert['severity']}){where} firing since {alert['since']}: {alert['summary']}.{runbook}"


def judge_locks(env, locks, problems):
    if not locks:
        return None
    if len(locks) > 1:
        problems.append("deploy locks on several hosts: " + ", ".join(lock["host"] for lock in locks))
    lock = {**locks[0], "planned": bool(locks[0].get("message"))}
    lock["stale"] = not lock["planned"] and lock["age_seconds"] > STALE_DEPLOY_LOCK_SECONDS
    if lock["stale"]:
        problems.append(
            f"the deploy lock of run {lock['run_id']} ({lock['holder']}) on {lock['host']} is "
            f"{duration(lock['age_seconds'])} old, longer than any run takes. Next: if that run is dead: "
            f"make lock ENV={env} ARGS='release --force'")
    return lock


def plural(count, noun):
    return f"{count} {noun}{'' if count == 1 else 's'}"


def duration(seconds):
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"


def describe_lock(lock, env):
    if lock is None:
        return "free"
    if lock["planned"]:
        return (f"held on {lock['host']} by {lock['holder']} for planned work since {lock['acquired_at']} "
                f"({duration(lock['age_seconds'])}): {lock['message']}; deploys refuse until: "
                f"make lock ENV={env} ARGS=release")
    return (f"held on {lock['host']} by {lock['holder']}'s run {lock['run_id']} since {lock['acquired_at']} "
            f"({duration(lock['age_seconds'])}){': STALE' if lock['stale'] else ', a deploy is running'}")


def describe_backups(backups):
    if backups is None:
        return "unknown (the database host did not answer)"
    archiver = backups["archiver"] or {}
    wal = ("WAL archiving unknown" if not archiver else
           f"WAL {'archiving FAILS' if archiver.get('failing') else 'archived'} "
           f"{duration(archiver['seconds_since_archived']) + ' ago' if archiver.get('seconds_since_archived') is not None else '(none yet)'}")
    last = f"last {backups['last']}, {backups['age_hours']} h ago" if backups["last"] else "no backup"
    return f"{last} on {backups['repository']}; {wal}" + "".join(f"; {w}" for w in backups["warnings"])


def summary(status, releases):
    env = status["environment"]
    app_hosts = [name for name, host in status["hosts"].items() if "appservers" in host["groups"]]
    if len(releases) == 1:
        (release, names), = releases.items()
        sha = next(status["hosts"][n]["release"]["sha"] for n in names)
        running = f"release {release} ({sha[:7]}) on {len(names)}/{len(app_hosts)} app hosts"
    elif releases:
        running = f"{len(releases)} releases on {len(app_hosts)} app hosts"
    else:
        running = "no release known"
    state = "healthy" if status["healthy"] else f"UNHEALTHY ({plural(len(status['problems']), 'problem')})"
    lock = status["lock"]
    locked = ("lock unknown" if not status["lock_known"] else "lock free" if lock is None else "locked for planned work" if lock["planned"]
              else "STALE deploy lock" if lock["stale"] else "a deploy is running")
    backups = status["backups"]
    backed = "" if backups is None else (
        f"; last backup {backups['age_hours']} h ago" if backups["last"] else "; no backup")
    alerts = status["alerts"]
    alerting = "" if alerts is None else f"; {plural(len(alerts), 'alert')} firing"
    return f"{env}: {state}; {running}; {locked}{backed}{alerting}"


def render(status):
    if not status["reachable"]:
        return status["summary"]
    env = status["environment"]
    lines = [f"{env} (branch {status['branch']}, inventory {status['inventory']})"]
    width = max((len(name) for name in status["hosts"]), default=0)
    for name, host in status["hosts"].items():
        lines.append(f"  {name:{width}}  {' '.join(host['groups'])}" + ("" if host["reachable"] else "  UNREACHABLE"))
        release = host.get("release")
        if release:
            lines.append(f"  {'':{width}}    release {release['id']}  commit {release['sha'][:12]}  branch "
                         f"{release['branch']}  deployed {release['deployed_at'] or '?'} by "
                         f"{release['deployed_by'] or '?'}")
        if "appservers" in host["groups"] and host["reachable"]:
            health = "ok" if host["health"] else "FAILING"
            ready = {True: "yes", False: "NO", None: "unknown"}[host["ready"]]
            lines.append(f"  {'':{width}}    health {health}  ready {ready}")
        if "nginx" in host or "balancers" in host:
            seen = "  ".join(f"{lb}: {state}" for lb, state in host.get("balancers", {}).items())
            lines.append(f"  {'':{width}}    nginx {host.get('nginx', '?')}" + (f"  balancers {seen}" if seen else ""))
    lines.append(f"  lock     {describe_lock(status['lock'], env) if status['lock_known'] else 'unknown (no app host answered)'}")
    lines.append(f"  backups  {describe_backups(status['backups'])}")
    if status["alerts"] is not None:
        firing = f"{len(status['alerts'])} firing:" if status["alerts"] else "none firing"
        lines.append(f"  alerts   {firing}")
        lines += [f"    {describe_alert(alert)}" for alert in status["alerts"]]
    deploys = next(((name, host["last_deploys"]) for name, host in status["hosts"].items()
                    if host.get("last_deploys")), None)
    if deploys:
        lines.append(f"  last deploys on {deploys[0]}:")
        for entry in deploys[1][:5]:
            lines.append(f"    {entry['finished_at']}  {entry['action']:9} {entry['outcome']:11} "
                         f"{entry['release_id']:13} {(entry.get('sha') or '')[:7]:8} {entry.get('deployed_by') or ''}"
                         + (f"  {entry['message']}" if entry.get("message") else ""))
    if status["problems"]:
        lines.append("problems:")
        lines += [f"  - {problem}" for problem in status["problems"]]
    lines.append(status["summary"])
    return "\n".join(lines)


# ---------------------------------------------------------------- all environments


def all_environments(repository):
    """Every environment's status (read in parallel; one that cannot be read is shown as such) and the branches."""
    branches = branches_view(pathlib.Path(repository))
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(ENVIRONMENTS)) as pool:
        futures = {env: pool.submit(collect, env) for env in ENVIRONMENTS}
    environments = {}
    for env, future in futures.items():
        try:
            environments[env] = future.result()
        except Failed as error:
            environments[env] = unreachable(env, error)
    return {"environments": environments, "branches": branches,
            "healthy": all(status["healthy"] for status in environments.values())}


def branches_view(repository):
    """Each environment's branch tip on origin (after a fetch) and, for each environment but the last, the commits its
    branch has that the next one's has not: what a promotion would carry."""
    clone = Clone(repository)
    view = {"remote": REMOTE, "fetched": False, "note": None, "tips": {}, "differences": []}
    try:
        clone.remote_url()
    except GitError:
        view.update(remote=None, note=(
            f"{repository} has no remote '{REMOTE}': the branches' tips on it and what each has that the next has not "
            f"are unknown. Next: git -C {repository} remote add {REMOTE} <url>"))
        return view
    print(f"[git] fetching {REMOTE}", file=sys.stderr, flush=True)
    try:
        clone.fetch()
        view["fetched"] = True
    except GitError as error:
        view["note"] = (f"git fetch {REMOTE} failed ({last_line(str(error))}): what follows is as last fetched. "
                        f"Next: git -C {repository} fetch {REMOTE}")
    for env in ENVIRONMENTS:
        view["tips"][env] = clone.tip(branch_of(env))
    for env, next_env in zip(ENVIRONMENTS, ENVIRONMENTS[1:]):
        ahead, behind = branch_of(env), branch_of(next_env)
        difference = {"branch": ahead, "not_in": behind, "commits": None}
        if view["tips"][env] and view["tips"][next_env]:
            difference["commits"] = [" ".join(commit) for commit in
                                     clone.commits(f"{REMOTE}/{behind}", f"{REMOTE}/{ahead}")]
        view["differences"].append(difference)
    return view


def running_commits(status):
    return sorted({host["release"]["sha"] for host in status["hosts"].values() if host.get("release")})


def render_all(view):
    branches = view["branches"]
    lines = [f"{'ENV':9}{'BRANCH':10}{'ORIGIN TIP':12}{'RUNNING':12}STATE"]
    for env, status in view["environments"].items():
        tip = branches["tips"].get(env)
        running = running_commits(status)
        shown = ",".join(sha[:10] for sha in running) or "-"
        state = status["summary"].split(": ", 1)[1]
        if tip and running and running != [tip]:
            state = f"not the tip; {state}"
        lines.append(f"{env:9}{status['branch']:10}{(tip or '-')[:10]:12}{shown:12}{state}")
        if not status["reachable"]:
            continue
        lines += [f"{'':9}- {problem}" for problem in status["problems"]]
    lines.append("")
    if branches["note"]:
        lines.append(branches["note"])
    for difference in branches["differences"]:
        title = f"{difference['branch']} has, {difference['not_in']} has not"
        if difference["commits"] is None:
            if branches["remote"]:
                lines.append(f"{title}: unknown (origin lacks one of them)")
            continue
        lines.append(f"{title}: {plural(len(difference['commits']), 'commit')}" + (":" if difference["commits"] else ""))
        lines += [f"  {commit}" for commit in difference["commits"]]
    healthy = sum(status["healthy"] for status in view["environments"].values())
    lines.append(f"all environments: {healthy}/{len(view['environments'])} healthy")
    return "\n".join(lines)
