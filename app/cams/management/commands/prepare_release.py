"""Readies an installed release before any slot runs it, in one Django start-up: collects its static files into
STATIC_ROOT, then runs the system checks; with --deploy, the deployment checks too, and warnings fail (prod). With
--unapplied-migrations it ends with one JSON line, {"unapplied_migrations": ["app.name", ...]}: what `migrate` would
apply to the database, in order, as `migrate --check` would judge it.

The deploy runs it once per release and host (cams_app's release.yml), on the primary with --unapplied-migrations
(schema.yml reads it); as separate commands, collectstatic, check and migrate --check, it paid Django's start-up
three times.
"""

import json

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor


class Command(BaseCommand):
    help = "Collect the release's static files, then run the system checks (--deploy: those too, failing on warnings)."
    requires_system_checks = []  # handle() runs them, with --deploy's options: not twice

    def add_arguments(self, parser):
        parser.add_argument("--deploy", action="store_true", help="also the deployment checks; warnings then fail")
        parser.add_argument("--unapplied-migrations", action="store_true",
                            help="end with a JSON line listing the migrations the database lacks")

    def handle(self, *args, deploy, unapplied_migrations, verbosity, **options):
        call_command("collectstatic", interactive=False, verbosity=verbosity, stdout=self.stdout, stderr=self.stderr)
        call_command("check", deploy=deploy, fail_level="WARNING" if deploy else "ERROR", stdout=self.stdout,
                     stderr=self.stderr)
        if unapplied_migrations:
            executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
            plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
            names = [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]
            self.stdout.write(json.dumps({"unapplied_migrations": names}))
