from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from distribution_erp.api.authentication import generate_token


class Command(BaseCommand):
    help = "Create an API token for a user. The key is shown once, alone on the last line; only its hash is kept."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--expires-days", type=int, default=None, help="Days until the token expires")
        parser.add_argument("--name", default="", help="A label, e.g. the integration it is for")

    def handle(self, *args, username, expires_days, name, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {username!r}.")
        if expires_days is not None and expires_days <= 0:
            raise CommandError("--expires-days must be a positive number of days.")
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        token, key = generate_token(user=user, name=name, expires_at=expires_at)
        when = f"expires {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "does not expire"
        self.stderr.write(f"Token {token.prefix}… for {username} ({when}). Store the key now; it is not shown again.")
        self.stdout.write(key)
