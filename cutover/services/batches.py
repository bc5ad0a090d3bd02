"""Import batches: upload, dry run, post (after one approval per batch), all or nothing and once."""

from __future__ import annotations

import hashlib
import json
import time

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError, NotFound, StateConflict, ValidationFailed
from governance import permissions
from governance.models import ApprovalRequest, Site
from governance.services.approvals import (
    ApprovalHandler,
    approval_kind,
    register_approval_handler,
    request_approval,
)
from governance.services.sequences import next_document_number

from .. import policy
from ..columns import DOCUMENT_KINDS, IMPORT_KINDS, check_header
from ..models import ImportBatch, ImportRowError
from ..parsing import FileProblem, count_rows, detect_format, header_of, iter_rows
from .checks import Outcome, RowError, check_balances, post_balances, run_master
from .documents import run_documents

APPROVAL_KIND = approval_kind("CUTOVER_BATCH", _("Cutover batch post"))
#: the action a user needs at the batch's site to upload, validate and ask to post a batch: the site's admins
#: (a site's cutover lead holds the admin role there during cutover)
ACTION = "site.manage"
MAX_FILE_BYTES = 50 * 1024 * 1024
S = ImportBatch.Status


class PostRefused(ValidationFailed):
    code = "post_refused"
    title = "The batch cannot be posted"


def _lock(batch: ImportBatch) -> ImportBatch:
    return ImportBatch.objects.select_for_update(no_key=True).get(pk=batch.pk)


def create_batch(
    *, user, site: Site, kind: str, content: bytes | None = None, file_name: str = "", rows: list | None = None
) -> ImportBatch:
    """Store an uploaded file (CSV or XLSX) or JSON rows as a DRAFT batch. The header is checked now; the rows
    by the dry run."""
    if not permissions.can_see_site(user, site):
        raise ValidationFailed(
            "No such site.", errors=[{"field": "site", "code": "does_not_exist", "message": "No such site."}]
        )
    permissions.require(user, ACTION, site, what="site")
    if kind not in IMPORT_KINDS:
        raise ValidationFailed(
            f"Unknown kind {kind!r}.",
            errors=[{"field": "kind", "code": "invalid", "message": f"Choose one of: {', '.join(IMPORT_KINDS)}."}],
        )
    if (content is None) == (rows is None):
        raise ValidationFailed(
            "Give a file or rows.", errors=[{"field": "file", "code": "required", "message": "Give a file or rows."}]
        )
    if rows is not None:
        if not isinstance(rows, list) or not rows:
            raise ValidationFailed(
                "rows must be a list of objects.",
                errors=[{"field": "rows", "code": "invalid", "message": "rows must be a non-empty list of objects."}],
            )
        content = json.dumps(rows).encode()
        fmt = "JSON"
    else:
        fmt = detect_format(file_name, content)
        if fmt is None:
            raise ValidationFailed(
                "Upload a .csv or .xlsx file.",
                errors=[{"field": "file", "code": "invalid_format", "message": "Upload a .csv or .xlsx file."}],
            )
    if len(content) > MAX_FILE_BYTES:
        raise ValidationFailed(
            "File too large.",
            errors=[{"field": "file", "code": "too_large", "message": f"At most {MAX_FILE_BYTES:,} bytes."}],
        )
    try:
        problems = check_header(kind, header_of(content, fmt))
        total = count_rows(content, fmt)
    except FileProblem as exc:
        raise ValidationFailed(exc.message, errors=[{"field": "file", "code": exc.code, "message": exc.message}])
    if problems:
        raise ValidationFailed(
            "; ".join(p.message for p in problems),
            errors=[{"field": f"file.{p.column}", "code": p.code, "message": p.message} for p in problems],
        )
    if total == 0:
        raise ValidationFailed(
            "The file has no rows.",
            errors=[{"field": "file", "code": "empty", "message": "The file has a header but no rows."}],
        )
    with transaction.atomic():
        batch = ImportBatch(
            number=next_document_number("IMP"),
            site=site,
            kind=kind,
            file_name=file_name[:200],
            file_format=fmt,
            content=content,
            content_sha256=hashlib.sha256(content).hexdigest(),
            total_rows=total,
            created_by=user,
        )
        batch.save()
    return batch


def _run(batch: ImportBatch, *, user, post: bool, progress=None) -> tuple[Outcome, list]:
    rows = iter_rows(bytes(batch.content), batch.file_format)
    try:
        if batch.kind == ImportBatch.Kind.OPENING_BALANCES:
            balances, outcome = check_balances(site=batch.site, rows=rows, progress=progress)
            return outcome, balances
        if batch.kind in DOCUMENT_KINDS:
            return run_documents(kind=batch.kind, batch=batch, user=user, rows=rows, post=post, progress=progress), []
        return run_master(kind=batch.kind, site=batch.site, user=user, rows=rows, post=post, progress=progress), []
    except FileProblem as exc:
        return Outcome(errors=[RowError(exc.row, "", exc.code, exc.message)]), []


def _store_errors(batch: ImportBatch, errors: list[RowError]) -> None:
    ImportRowError.objects.filter(batch=batch).delete()
    ImportRowError.objects.bulk_create(
        [
            ImportRowError(batch=batch, row=e.row, column=e.column[:60], code=e.code[:40], message=e.message[:500])
            for e in errors
        ],
        batch_size=5000,
    )


def validate_batch(*, user, batch: ImportBatch) -> ImportBatch:
    """The dry run: every row checked through the same rules as live work, every error stored with its row and
    column, nothing else written. The progress (rows done of total) is stored as it goes."""
    permissions.require(user, ACTION, batch.site_id, what="import batch")
    with transaction.atomic():
        locked = _lock(batch)
        if not policy.may_validate(locked.status):
            raise StateConflict(
                f"{locked.number} is {locked.get_status_display().lower()}; it cannot be validated now."
            )
        locked.status = S.VALIDATING
        locked.rows_done = 0
        locked.validation_started_at = timezone.now()
        locked.save(update_fields=["status", "rows_done", "validation_started_at"])
    started = time.monotonic()

    def progress(done: int) -> None:
        ImportBatch.objects.filter(pk=locked.pk).update(rows_done=min(done, locked.total_rows))

    try:
        outcome, _errors = _run(locked, user=user, post=False, progress=progress)
    except BaseException:
        ImportBatch.objects.filter(pk=locked.pk, status=S.VALIDATING).update(status=S.DRAFT)
        raise
    with transaction.atomic():
        locked = _lock(locked)
        _store_errors(locked, outcome.errors)
        locked.status = S.INVALID if outcome.errors else S.VALIDATED
        locked.valid_rows = outcome.valid_rows
        locked.error_count = len(outcome.errors)
        locked.rows_done = locked.total_rows
        locked.validated_at = timezone.now()
        locked.validation_seconds = round(time.monotonic() - started, 3)
        locked.save()
    return locked


@transaction.atomic
def request_post(*, user, batch: ImportBatch) -> tuple[ImportBatch, ApprovalRequest | None]:
    """Ask to post a validated batch: one approval request for the whole batch, decided by another approver of
    the site; the approval posts it. Asking again while it waits returns the same request; a posted batch is
    returned as it is (a batch posts once)."""
    permissions.require(user, ACTION, batch.site_id, what="import batch")
    locked = _lock(batch)
    if locked.status == S.POSTED:
        return locked, locked.approval
    if locked.status == S.AWAITING_APPROVAL:
        return locked, locked.approval
    if not policy.may_request_post(locked.status):
        raise StateConflict(
            f"{locked.number} is {locked.get_status_display().lower()}; only a validated batch is posted."
        )
    approval = request_approval(
        kind=APPROVAL_KIND,
        site=locked.site,
        subject=locked,
        reason=f"Post cutover import {locked.number} ({locked.get_kind_display()}, {locked.valid_rows} rows) "
        f"at {locked.site.code}.",
        requested_by=user,
        value=locked.valid_rows,
    )
    locked.status = S.AWAITING_APPROVAL
    locked.approval = approval
    locked.save(update_fields=["status", "approval"])
    return locked, approval


def post_batch(*, user, batch: ImportBatch) -> ImportBatch:
    """Post an approved batch in one transaction, through the owners' services. Idempotent: the batch row is
    locked first, so a second (or concurrent) post finds it POSTED and posts nothing. Refused (nothing written)
    when a row no longer passes the checks: the errors are stored and the batch is INVALID."""
    started = time.monotonic()
    try:
        with transaction.atomic():
            locked = _lock(batch)
            if locked.status == S.POSTED:
                return locked
            if locked.status not in (S.AWAITING_APPROVAL, S.POSTING):
                raise StateConflict(f"{locked.number} is {locked.get_status_display().lower()}; it cannot be posted.")
            approved = (
                locked.approval_id is not None
                and ApprovalRequest.objects.filter(
                    pk=locked.approval_id, status=ApprovalRequest.Status.APPROVED
                ).exists()
            )
            if not approved:
                raise StateConflict(f"{locked.number} waits for its approval; it is posted when it is approved.")
            locked.status = S.POSTING
            locked.save(update_fields=["status"])
            # the rows are written with the rights of the requester, whose rights the dry run checked (the
            # approver, recorded as posted_by and on the approval, may not maintain master data at all)
            actor = locked.created_by
            outcome, balances = _run(locked, user=actor, post=True)
            if outcome.errors:
                raise PostRefused(
                    f"{locked.number} no longer passes its checks ({len(outcome.errors)} errors); nothing was posted.",
                    errors=[
                        {"field": f"rows[{e.row}].{e.column}", "code": e.code, "message": e.message}
                        for e in outcome.errors[:200]
                    ],
                )
            posted = (
                post_balances(site=locked.site, batch=locked, user=actor, balances=balances)
                if balances
                else outcome.posted_rows
            )
            locked.status = S.POSTED
            locked.posted_rows = posted
            locked.posted_by = user if getattr(user, "is_authenticated", False) else None
            locked.posted_at = timezone.now()
            locked.post_seconds = round(time.monotonic() - started, 3)
            locked.save()
            return locked
    except PostRefused as exc:
        if not transaction.get_connection().in_atomic_block:
            _mark_invalid(batch, exc)
        raise


def _mark_invalid(batch: ImportBatch, exc: PostRefused) -> None:
    with transaction.atomic():
        locked = _lock(batch)
        errors = [
            RowError(int(e["field"][5:].split("]")[0]), e["field"].split(".", 1)[1], e["code"], e["message"])
            for e in exc.errors
        ]
        _store_errors(locked, errors)
        locked.status = S.INVALID
        locked.error_count = len(errors)
        locked.save(update_fields=["status", "error_count"])


def _batch_of(approval: ApprovalRequest) -> ImportBatch:
    batch = ImportBatch.objects.filter(pk=approval.object_id).first()
    if batch is None:
        raise NotFound("The import batch of this approval no longer exists.")
    return batch


def _on_approved(approval: ApprovalRequest, user) -> None:
    # in the decision's transaction: a refused post rolls the approval back too (the approver sees the errors
    # and may reject instead)
    post_batch(user=user, batch=_batch_of(approval))


def _on_rejected(approval: ApprovalRequest, user) -> None:
    locked = _lock(_batch_of(approval))
    if locked.status == S.AWAITING_APPROVAL:
        locked.status = S.REJECTED
        locked.save(update_fields=["status"])


def register_handlers() -> None:
    register_approval_handler(APPROVAL_KIND, ApprovalHandler(on_approved=_on_approved, on_rejected=_on_rejected))


__all__ = ["DomainError", "create_batch", "post_batch", "register_handlers", "request_post", "validate_batch"]
