from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from governance.models import ApiToken


class Command(BaseCommand):
    help = "Revoke API tokens: by key prefix (first 8 characters) or every token of a user (--user)."

    def add_arguments(self, parser):
        parser.add_argument("prefix", nargs="?", help="The key's first 8 characters")
        parser.add_argument(
            "--prefix", dest="prefix_option", help="The same, for an older key starting with '-': --prefix=-abc1234"
        )
        parser.add_argument("--user", help="Revoke every active token of this username")

    def handle(self, *args, prefix=None, prefix_option=None, user=None, **options):
        prefix = prefix or prefix_option
        if not prefix and not user:
            raise CommandError("Give a key prefix or --user USERNAME.")
        tokens = ApiToken.objects.filter(revoked_at__isnull=True)
        tokens = tokens.filter(prefix=prefix) if prefix else tokens.filter(user__username=user)
        count = tokens.update(revoked_at=timezone.now())
        if not count:
            raise CommandError("No active token matched.")
        self.stdout.write(f"Revoked {count} token(s).")
