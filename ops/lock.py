"""lock ENV acquire -m WHY | release [--force] | status: the environment's deploy lock, for planned work.

Planned work holds the lock deploys take (playbooks/lock.yml, cams-release on the app hosts) with a message; deploys
refuse it and print who, why, since when and how to release it."""
import pathlib
import sys

from ops.ansible import Failed, run_playbook
from ops.environments import ENVIRONMENTS, inventory_of
from ops.status import describe_lock, judge_locks


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "lock", help="hold the deploy lock for planned work, release it, or show it",
        description="acquire -m WHY: take ENV's deploy lock for planned work (deploys refuse it with WHY); release: "
                    "end it (a deploy's lock only with --force: that run must be dead); status: who holds it.")
    parser.add_argument("environment", choices=ENVIRONMENTS, metavar="ENV", help=", ".join(ENVIRONMENTS))
    parser.add_argument("action", choices=["acquire", "release", "status"])
    parser.add_argument("-m", "--message", help="acquire: why (shown to every deploy the lock refuses)")
    parser.add_argument("--force", action="store_true", help="release: a deploy's lock too (its run must be dead)")
    parser.add_argument("--inventory", type=pathlib.Path,
                        help="ENV's inventory (default: inventories/<env>, or CAMS_INVENTORY_<ENV>)")
    parser.set_defaults(handler=run, parser=parser)


def run(args):
    if args.action == "acquire" and not (args.message or "").strip():
        args.parser.error('acquire needs -m "why" (deploys print it when they refuse)')
    if args.action != "acquire" and args.message:
        args.parser.error("-m goes with acquire")
    if args.force and args.action != "release":
        args.parser.error("--force goes with release")
    env = args.environment
    extra_vars = {"lock_action": args.action, "lock_message": (args.message or "").strip(), "lock_force": args.force}
    try:
        read = run_playbook(args.inventory or inventory_of(env), "lock.yml", extra_vars, label=env)
    except Failed as error:
        refusals = [message for _, _, message in error.failures if "deploy lock held by" in message]
        print(f"{env}: {refusals[0] if refusals else error}", file=sys.stderr)
        return 1
    lock = judge_locks(env, [{**facts["lock_held"], "host": host} for host, facts in read.items()
                             if facts.get("lock_held")], problems=[])
    if args.action == "release" and lock is None:
        print(f"{env}: deploy lock released: free")
    else:
        print(f"{env}: deploy lock {describe_lock(lock, env)}")
    done = {"acquire": lock is not None, "release": lock is None, "status": True}[args.action]
    return 0 if done else 1
