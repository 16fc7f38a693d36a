"""Readies an installed release before any slot runs it, in one Django start-up: collects its static files into
STATIC_ROOT, then runs the system checks; with --deploy, the deployment checks too, and warnings fail (prod).

The deploy runs it once per release and host (cams_app's release.yml); as two commands, collectstatic and check,
it paid Django's start-up twice.
"""

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Collect the release's static files, then run the system checks (--deploy: those too, failing on warnings)."

    def add_arguments(self, parser):
        parser.add_argument("--deploy", action="store_true", help="also the deployment checks; warnings then fail")

    def handle(self, *args, deploy, verbosity, **options):
        call_command("collectstatic", interactive=False, verbosity=verbosity, stdout=self.stdout, stderr=self.stderr)
        call_command("check", deploy=deploy, fail_level="WARNING" if deploy else "ERROR", stdout=self.stdout,
                     stderr=self.stderr)
