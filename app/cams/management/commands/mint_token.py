from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from cams.jwt_auth import mint_token


class Command(BaseCommand):
    help = "Print a bearer token for the dashboard APIs, signed with the HMAC secret (stdout holds only the token)."

    def add_arguments(self, parser):
        parser.add_argument("--subject", required=True, help="The token's sub claim (who is calling).")
        parser.add_argument("--lifetime", type=int, default=3600, help="Seconds until the token expires.")
        parser.add_argument("--audience", help="aud claim; defaults to JWT_AUTH_AUDIENCE.")
        parser.add_argument("--issuer", help="iss claim; defaults to JWT_AUTH_ISSUER.")

    def handle(self, *args, subject, lifetime, audience, issuer, **options):
        if lifetime <= 0:
            raise CommandError("--lifetime must be a positive number of seconds.")
        try:
            token = mint_token(subject, timedelta(seconds=lifetime), audience=audience, issuer=issuer)
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        self.stdout.write(token)
