"""Which migrations a code rollback must unapply first, computed with the current (newer) release's code.

Only the project's own apps (those under this release's app/ directory) are compared:
third-party apps such as django.contrib.* come from pinned requirements and are assumed
to be the same in both releases.
"""

import json
from importlib.util import find_spec
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader


class Command(BaseCommand):
    help = (
        "List the applied migrations that the release in --target-app-dir does not have, in unapply order, "
        "and the per-app targets to pass to 'migrate <app> <name>' before switching back to it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--target-app-dir", required=True, type=Path, help="e.g. /srv/cams/releases/<old>/app")
        parser.add_argument("--format", dest="output_format", choices=["text", "json"], default="text")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, target_app_dir, output_format, database, **options):
        if not (target_app_dir / "manage.py").is_file():
            raise CommandError(f"{target_app_dir} is not a release's app directory (no manage.py).")

        executor = MigrationExecutor(connections[database])
        targets = {
            label: self._target_leaf(executor.loader, label, migration_names_in(target_app_dir, label))
            for label in first_party_apps_with_migrations(executor.loader)
        }
        # The plan `migrate` itself would follow, so the order (and any cross-app dependants) match.
        plan = executor.migration_plan([(label, None if name == "zero" else name) for label, name in targets.items()])
        unapply = [
            {"app": migration.app_label, "name": migration.name, "reversible": is_reversible(migration)}
            for migration, backwards in plan
            if backwards
        ]
        result = {
            "unapply": unapply,
            "irreversible": [{"app": step["app"], "name": step["name"]} for step in unapply if not step["reversible"]],
            "targets": targets,
        }
        if output_format == "json":
            self.stdout.write(json.dumps(result, indent=2))
        else:
            self._write_text(result, target_app_dir)

    def _target_leaf(self, loader: MigrationLoader, label: str, target_names: set[str]) -> str:
        """The newest of this app's migrations that the target release has, or "zero"."""
        known = {name for app, name in loader.graph.nodes if app == label}
        unknown = target_names - known
        if unknown:
            raise CommandError(
                f"The target release has {label} migrations this release does not know: {sorted(unknown)}. "
                "Its history diverged (or was squashed); plan the rollback by hand."
            )
        shared = {(label, name) for name in target_names & known}
        leaves = [
            node
            for node in shared
            if not any(child in shared for child in loader.graph.node_map[node].children)
        ]
        if len(leaves) > 1:
            raise CommandError(f"The target release has several {label} leaf migrations: {sorted(leaves)}.")
        return leaves[0][1] if leaves else "zero"

    def _write_text(self, result: dict, target_app_dir: Path):
        if not result["unapply"]:
            self.stdout.write(f"Rolling back to {target_app_dir} needs no migration to be unapplied.")
            return
        self.stdout.write(f"Rolling back to {target_app_dir} must first unapply, in this order:")
        for step in result["unapply"]:
            marker = "reversible" if step["reversible"] else "IRREVERSIBLE"
            self.stdout.write(f"  {step['app']}.{step['name']}  {marker}")
        self.stdout.write("Run with this release's code, before switching:")
        for label, name in result["targets"].items():
            self.stdout.write(f"  python manage.py migrate {label} {name}")
        if result["irreversible"]:
            self.stdout.write(
                self.style.WARNING(
                    f"{len(result['irreversible'])} migration(s) cannot be unapplied: restore the database "
                    "backup taken before they ran instead."
                )
            )


def first_party_apps_with_migrations(loader: MigrationLoader) -> list[str]:
    app_root = Path(settings.BASE_DIR).resolve()
    return [
        config.label
        for config in apps.get_app_configs()
        if config.label in loader.migrated_apps and Path(config.path).resolve().is_relative_to(app_root)
    ]


def migration_names_in(target_app_dir: Path, label: str) -> set[str]:
    """Migration names shipped by the target release, read from its files (its code is never imported)."""
    module_name, _ = MigrationLoader.migrations_module(label)
    current_dir = Path(find_spec(module_name).submodule_search_locations[0]).resolve()
    target_dir = target_app_dir / current_dir.relative_to(Path(settings.BASE_DIR).resolve())
    if not target_dir.is_dir():
        return set()
    return {path.stem for path in target_dir.glob("*.py") if path.stem != "__init__"}


def is_reversible(migration) -> bool:
    return all(operation.reversible for operation in migration.operations)
