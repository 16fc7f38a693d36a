"""promote FROM TO: fast-forward the next environment's branch to the tested tip of the previous one (develop ->
staging, staging -> main), after showing what goes with it: the commits, the new migrations and whether each can be
reversed, and whether the release already runs where it was tested. Only `--yes` pushes; nothing here touches the
clone's working tree or current branch."""
import configparser
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

from ops.ansible import progress as shared_progress
from ops.environments import ENVIRONMENTS, REPOSITORY, branch_of, environment_of_branch
from ops.git import Clone, GitError

MIGRATIONS = "app/*/migrations/*.py"
STARTED = time.monotonic()

# Run by the controller's Python in a copy of FROM's app/: Django's own loader (no database) finds the migrations,
# and the rollback's test (cams rollback_plan, as on the hosts) says which of them can be reversed.
REVERSIBILITY_PROBE = """
import json, pathlib, sys
app_dir = pathlib.Path(sys.argv[1]).resolve()
sys.path.insert(0, str(app_dir))
import django
django.setup()
from django.db.migrations.loader import MigrationLoader
from cams.management.commands.rollback_plan import is_reversible
loader = MigrationLoader(None, ignore_no_migrations=True)
found = {}
for (label, name), migration in loader.disk_migrations.items():
    module_file = pathlib.Path(sys.modules[type(migration).__module__].__file__).resolve()
    if module_file.is_relative_to(app_dir):
        found[module_file.relative_to(app_dir.parent).as_posix()] = {
            "app": label, "name": name, "reversible": is_reversible(migration)}
print(json.dumps(found))
"""


def promotions():
    """(FROM, TO) branch pairs: each environment's branch goes to the next one's."""
    branches = [branch_of(env) for env in ENVIRONMENTS]
    return list(zip(branches, branches[1:]))


def add_parser(subparsers):
    allowed = ", ".join(f"{source} {target}" for source, target in promotions())
    parser = subparsers.add_parser(
        "promote", help="fast-forward the next environment's branch to a tested one (shows what goes first)",
        description=f"Fast-forward TO to FROM's tip on origin ({allowed}). Without --yes it only shows what would "
                    "be promoted and the command that does it.")
    parser.add_argument("source", metavar="FROM", help="branch to promote from")
    parser.add_argument("target", metavar="TO", help="branch to fast-forward")
    parser.add_argument("--yes", action="store_true", help="push TO (without it: only show what would be done)")
    parser.add_argument("--repository", type=pathlib.Path, default=REPOSITORY,
                        help="the clone whose origin is promoted on (default: this checkout)")
    parser.add_argument("--inventory", type=pathlib.Path,
                        help="FROM's environment's inventory, where its running release is read "
                             "(default: inventories/<env> or CAMS_INVENTORY_<ENV>)")
    parser.set_defaults(handler=run, parser=parser)


def progress(message):
    shared_progress("promote", STARTED, message)


def run(args) -> int:
    if (args.source, args.target) not in promotions():
        allowed = " or ".join(f"'promote {a} {b}'" for a, b in promotions())
        args.parser.error(f"cannot promote {args.source} to {args.target}: {allowed}")  # exits 2
    clone = Clone(args.repository)
    try:
        return promote(clone, args)
    except GitError as error:
        print(f"{error}\nNext: check the clone and its remote (git -C {clone} remote -v), then try again.",
              file=sys.stderr)
        return 1


def promote(clone, args):
    source, target = args.source, args.target
    progress(f"fetching {clone.remote_url()}")
    clone.fetch()
    tips = {branch: clone.tip(branch) for branch in (source, target)}
    for branch, tip in tips.items():
        if tip is None:
            print(f"origin has no branch {branch}.\nNext: make bootstrap ENV={environment_of_branch(branch)} "
                  "says how to create it.", file=sys.stderr)
            return 1

    promoted = clone.commits(tips[target], tips[source])
    print(f"promote {source} -> {target} on {clone.remote_url()}")
    print(f"  {source}: {tips[source][:12]}   {target}: {tips[target][:12]}")
    print(f"Commits {source} has that {target} has not: {len(promoted)}")
    for sha, subject in promoted:
        print(f"  {sha} {subject}")
    show_migrations(clone, tips[source], tips[target])
    show_release(clone, source, tips[source], args.inventory)

    if not clone.is_ancestor(tips[target], tips[source]):
        hotfixes = clone.commits(tips[source], tips[target])
        print(f"Refused: {target} has {len(hotfixes)} commit(s) {source} lacks (a hotfix?):")
        for sha, subject in hotfixes:
            print(f"  {sha} {subject}")
        env = environment_of_branch(source)
        print(f"Promotion ships only what {env} tested, so it only fast-forwards. Next: merge {target} back into "
              f"{source}, let {env} deploy and test it, then promote again:\n"
              f"  git fetch origin && git switch {source} && git merge origin/{target} && git push origin {source}")
        return 1
    if not promoted:
        print(f"Nothing to promote: {target} is at {source}'s tip.")
        return 0
    push = f"git push origin {tips[source][:12]}:refs/heads/{target}"
    if not args.yes:
        print(f"Would fast-forward {target} to {source}'s tip ({push}).\n"
              f"To do it: {make_command(args)}")
        return 0
    progress(f"pushing {source}'s tip to {target}")
    try:
        clone.push(tips[source], target)
    except GitError as error:
        raise GitError(f"{error}\n{target} moved on origin meanwhile (run the promotion again to see how), or "
                       "pushing to it is not allowed.") from error
    print(f"Promoted: {target} is now at {tips[source][:12]} (was {tips[target][:12]}). CI tests it and deploys "
          f"it to {environment_of_branch(target)}: follow with make status ENV={environment_of_branch(target)}")
    return 0


def make_command(args):
    extra = ["--yes"]
    if args.repository.resolve() != REPOSITORY:
        extra.append(f"--repository {args.repository}")
    if args.inventory:
        extra.append(f"--inventory {args.inventory}")
    quoted = " ".join(extra) if len(extra) == 1 else f"'{' '.join(extra)}'"
    return f"make promote FROM={args.source} TO={args.target} ARGS={quoted}"


def show_migrations(clone, source_tip, target_tip):
    added = [path for path in clone.added_files(target_tip, source_tip, MIGRATIONS)
             if pathlib.PurePosixPath(path).name != "__init__.py"]
    print(f"New migrations: {len(added)}")
    if not added:
        return
    try:
        loaded, unknown = migrations_at(clone, source_tip), "Django does not load it as a migration"
    except RuntimeError as error:
        loaded, unknown = {}, str(error)
    for path in added:
        migration = loaded.get(path)
        if migration is None:
            print(f"  {path}  reversibility not known: {unknown}")
        elif migration["reversible"]:
            print(f"  {migration['app']}.{migration['name']}  reversible")
        else:
            print(f"  {migration['app']}.{migration['name']}  IRREVERSIBLE (a rollback cannot unapply it)")


def migrations_at(clone, commit):
    """{path: {app, name, reversible}} of every migration in `commit`'s app/, as Django loads them."""
    progress("loading the migrations with Django")
    with tempfile.TemporaryDirectory(prefix="cams-promote-") as directory:
        clone.export(commit, "app", directory)
        app_dir = pathlib.Path(directory) / "app"
        environment = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_of_the_tests(app_dir),
                       "PYTHONDONTWRITEBYTECODE": "1"}
        result = subprocess.run([sys.executable, "-c", REVERSIBILITY_PROBE, str(app_dir)], capture_output=True,
                                text=True, cwd=app_dir, env=environment)
    if result.returncode != 0:
        last_line = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"Django could not load them: {last_line}")
    return json.loads(result.stdout)


def settings_of_the_tests(app_dir):
    """The settings module the app's tests use (app/pytest.ini): it loads without a deployment's secrets."""
    config = configparser.ConfigParser()
    config.read(app_dir / "pytest.ini")
    if not config.has_option("pytest", "DJANGO_SETTINGS_MODULE"):
        raise RuntimeError("app/pytest.ini names no DJANGO_SETTINGS_MODULE")
    return config.get("pytest", "DJANGO_SETTINGS_MODULE")


def show_release(clone, branch, tip, inventory):
    env = environment_of_branch(branch)
    release = clone.release_id(tip)
    print(f"Release {release} ({branch}'s app/) in {env}: {running_in(env, release, inventory)}")


def running_in(env, release, inventory):
    progress(f"reading what {env} runs")
    try:
        # Imported here: any reason the environment cannot be read (even a missing module) is an answer, not a crash.
        from ops import status
        state = status.collect(env, inventory=inventory)
    except Exception as error:  # noqa: BLE001 - what promote shows stands without it
        return f"not known: {type(error).__name__}: {error}"
    serving = {name: host["release"]["id"] for name, host in state["hosts"].items() if host.get("release")}
    if not serving:
        return f"not known: {'; '.join(state['problems']) or 'no host runs a release'}"
    if set(serving.values()) == {release}:
        return f"yes, on {', '.join(sorted(serving))}"
    others = ", ".join(f"{name} runs {running}" for name, running in sorted(serving.items()))
    return f"NO ({others}): {env} has not run it yet"
