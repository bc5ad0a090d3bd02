"""python manage.py import_batch <kind> <file> --site CODE --user USERNAME [--post]

Uploads the file as a batch, runs the dry run (printing every error with its row and column) and with --post asks
for the post: the batch is posted when another approver of the site approves the CUTOVER_BATCH request."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from cutover.columns import IMPORT_KINDS
from cutover.models import ImportBatch
from cutover.services import create_batch, request_post, validate_batch
from governance.models import Site


class Command(BaseCommand):
    help = "Upload and dry-run a cutover import file; --post asks for its approval."

    def add_arguments(self, parser):
        parser.add_argument("kind", help=", ".join(k.lower() for k in IMPORT_KINDS))
        parser.add_argument("file")
        parser.add_argument("--site", required=True)
        parser.add_argument("--user", required=True, help="Who uploads (an admin of the site)")
        parser.add_argument("--post", action="store_true", help="Ask to post the batch when the dry run passes")

    def handle(self, *args, kind, file, site, user, post, **options):
        kind = kind.upper().replace("-", "_")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No file {file}.")
        site_obj = Site.objects.filter(code=site).first()
        if site_obj is None:
            raise CommandError(f"No site {site!r}.")
        actor = get_user_model().objects.filter(username=user, is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user {user!r}.")
        try:
            batch = create_batch(user=actor, site=site_obj, kind=kind, content=path.read_bytes(), file_name=path.name)
            self.stdout.write(f"{batch.number}: {batch.total_rows} rows uploaded; validating ...")
            batch = validate_batch(user=actor, batch=batch)
        except DomainError as exc:
            details = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in exc.errors) or ""
            raise CommandError(f"{exc.message} {details}".strip())
        self.stdout.write(
            f"{batch.number}: {batch.get_status_display()} in {batch.validation_seconds:.1f} s: "
            f"{batch.valid_rows} valid rows, {batch.error_count} errors"
        )
        for error in batch.errors.order_by("row", "id")[:1000]:
            self.stdout.write(f"  row {error.row} {error.column or '-'} [{error.code}] {error.message}")
        if batch.status == ImportBatch.Status.INVALID:
            raise CommandError(f"{batch.number} has errors; fix the file and import it again.")
        if post:
            try:
                batch, approval = request_post(user=actor, batch=batch)
            except DomainError as exc:
                raise CommandError(exc.message)
            self.stdout.write(f"{batch.number}: waiting for approval {approval.pk} (another approver of {site}).")
        self.stdout.write(batch.number)
