from argparse import ArgumentTypeError
from datetime import UTC, timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from cams.models import Deployment


def aware_datetime(value: str):
    """argparse type: an ISO 8601 timestamp; one without an offset is taken as UTC."""
    parsed = parse_datetime(value)
    if parsed is None:
        raise ArgumentTypeError(f"not an ISO 8601 timestamp: {value!r}")
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Record one deploy attempt in the release ledger and print the new row's id."
    requires_system_checks = []  # prepare_release checks each release before it serves: a record waits for nothing

    def add_arguments(self, parser):
        parser.add_argument("--release-id", required=True)
        parser.add_argument("--sha", required=True)
        parser.add_argument("--branch", required=True)
        parser.add_argument("--deployed-by", required=True)
        parser.add_argument("--outcome", required=True, choices=Deployment.Outcome.values)
        parser.add_argument("--started-at", type=aware_datetime, help="Defaults to --finished-at minus --duration.")
        parser.add_argument("--finished-at", type=aware_datetime, help="Defaults to now.")
        parser.add_argument("--duration", type=float, help="Seconds; defaults to finished minus started when both are known.")
        parser.add_argument("--message", default="")
        parser.add_argument("--backup", default="", help="The restore point taken before the schema changed.")

    def handle(self, *args, **options):
        finished_at = options["finished_at"] or timezone.now()
        started_at = options["started_at"]
        duration = options["duration"]
        if duration is None and started_at is not None:
            duration = (finished_at - started_at).total_seconds()
        if started_at is None:
            started_at = finished_at - timedelta(seconds=duration or 0)

        deployment = Deployment(
            release_id=options["release_id"],
            sha=options["sha"],
            branch=options["branch"],
            deployed_by=options["deployed_by"],
            outcome=options["outcome"],
            started_at=started_at,
            finished_at=finished_at,
            duration_seconds=duration,
            message=options["message"],
            backup=options["backup"],
        )
        try:
            deployment.full_clean()
        except ValidationError as error:
            raise CommandError(f"Invalid deployment record: {error.message_dict}") from error
        deployment.save()
        self.stdout.write(str(deployment.pk))
