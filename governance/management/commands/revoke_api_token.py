from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from governance.models import ApiToken
from governance.services.api_tokens import revoke_token


class Command(BaseCommand):
    help = "Revoke API tokens: by key prefix (first 8 characters) or every token of a user (--user)."

    def add_arguments(self, parser):
        parser.add_argument("prefix", nargs="?", help="The key's first 8 characters")
        parser.add_argument(
            "--prefix", dest="prefix_option", help="The same, for an older key starting with '-': --prefix=-abc1234"
        )
        parser.add_argument("--user", help="Revoke every active token of this username")
        parser.add_argument("--by", help="Username of the person revoking (recorded as revoked_by)")

    def handle(self, *args, prefix=None, prefix_option=None, user=None, by=None, **options):
        prefix = prefix or prefix_option
        if not prefix and not user:
            raise CommandError("Give a key prefix or --user USERNAME.")
        tokens = ApiToken.objects.filter(revoked_at__isnull=True)
        tokens = tokens.filter(prefix=prefix) if prefix else tokens.filter(user__username=user)
        actor = None
        if by:
            actor = get_user_model().objects.filter(username=by).first()
            if actor is None:
                raise CommandError(f"No user {by!r} (--by).")
        count = 0
        for token in tokens.order_by("pk"):
            revoke_token(actor=None, token=token, revoked_by=actor)  # the shell may revoke any token
            count += 1
        if not count:
            raise CommandError("No active token matched.")
        self.stdout.write(f"Revoked {count} token(s).")
