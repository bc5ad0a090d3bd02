from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.api.scopes import ALL_SCOPES
from core.errors import DomainError
from governance.services.api_tokens import checked_scopes, create_token, expiry_for


class Command(BaseCommand):
    help = (
        "Create an API token for a user. The key is shown once, alone on the last line; only its hash is kept. "
        "The token has the scopes given with --scope (default: read only) and expires after --days "
        "(default: API_TOKEN_DEFAULT_DAYS)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--days",
            "--expires-days",
            dest="days",
            type=int,
            default=None,
            help=f"Days until the token expires (default: API_TOKEN_DEFAULT_DAYS={settings.API_TOKEN_DEFAULT_DAYS})",
        )
        parser.add_argument(
            "--scope",
            action="append",
            default=None,
            help=f"Scopes, comma-separated or repeated: {', '.join(ALL_SCOPES)} (default: read)",
        )
        parser.add_argument("--name", default="", help="A label, e.g. the integration it is for")

    def handle(self, *args, username, days, scope, name, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {username!r}.")
        try:
            scopes = checked_scopes(",".join(scope) if scope else "read")
            expires_at = expiry_for(days)
            token, key = create_token(user=user, name=name, scopes=scopes, expires_at=expires_at)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        when = f"expires {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "does not expire"
        self.stderr.write(
            f"Token {token.prefix}… for {username} (scopes: {', '.join(token.scopes)}; {when}). "
            "Store the key now; it is not shown again."
        )
        self.stdout.write(key)
