"""Reads other apps make of governance's approvals and exception cases (ARCHITECTURE.md, "One owner per row":
reads across apps go through selectors). Writes are in ``governance.services``.

A subject is either a model instance (``subject=``) or a model class and an id (``model=``, ``object_id=``).
Functions returning a QuerySet stay lazy, so callers may filter, annotate, aggregate and ``select_related``
further without an extra query.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet

from governance.models import ApprovalRequest, ExceptionCase, Site

APPROVAL_PENDING = ApprovalRequest.Status.PENDING
APPROVAL_DECIDED = (ApprovalRequest.Status.APPROVED, ApprovalRequest.Status.REJECTED)
EXCEPTION_RESOLVED = ExceptionCase.Status.RESOLVED


def _subject_filter(subject=None, model=None, object_id=None) -> dict:
    if subject is not None:
        model, object_id = type(subject), subject.pk
    if model is None or object_id is None:
        raise TypeError("Give subject=, or model= and object_id=.")
    return {"content_type": ContentType.objects.get_for_model(model), "object_id": object_id}


def _kinds(qs: QuerySet, kinds: str | Iterable[str] | None) -> QuerySet:
    if kinds is None:
        return qs
    if isinstance(kinds, str):
        return qs.filter(kind=kinds)
    return qs.filter(kind__in=list(kinds))


# --- approvals ------------------------------------------------------------------------------------------------


def approval(pk) -> ApprovalRequest | None:
    """One approval request by id (the caller checks the user may see its site)."""
    return ApprovalRequest.objects.filter(pk=pk).first()


def approvals_of(
    *, subject=None, model=None, object_id=None, kinds: str | Iterable[str] | None = None, related: Iterable[str] = ()
) -> QuerySet[ApprovalRequest]:
    """Every approval request of a subject (of ``kinds``), oldest first."""
    qs = _kinds(ApprovalRequest.objects.filter(**_subject_filter(subject, model, object_id)), kinds)
    if related:
        qs = qs.select_related(*related)
    return qs.order_by("requested_at", "pk")


def pending_approval(
    *, subject=None, model=None, object_id=None, kinds: str | Iterable[str] | None = None, related: Iterable[str] = ()
) -> ApprovalRequest | None:
    """The pending approval request of a subject (of one of ``kinds``), or None."""
    qs = _kinds(
        ApprovalRequest.objects.filter(**_subject_filter(subject, model, object_id), status=APPROVAL_PENDING), kinds
    )
    if related:
        qs = qs.select_related(*related)
    return qs.first()


def latest_approval(
    *, subject=None, model=None, object_id=None, kinds: str | Iterable[str] | None = None, related: Iterable[str] = ()
) -> ApprovalRequest | None:
    """The most recent approval request of a subject, whatever its status, or None."""
    qs = _kinds(ApprovalRequest.objects.filter(**_subject_filter(subject, model, object_id)), kinds)
    if related:
        qs = qs.select_related(*related)
    return qs.order_by("-requested_at", "-pk").first()


def approval_kinds(site: Site) -> list[str]:
    """The kinds of approval request a site has had, sorted."""
    return list(ApprovalRequest.objects.filter(site=site).order_by("kind").values_list("kind", flat=True).distinct())


def pending_approvals(site: Site) -> QuerySet[ApprovalRequest]:
    return ApprovalRequest.objects.filter(site=site, status=APPROVAL_PENDING)


def decided_approvals(
    site: Site | None = None, *, kinds: str | Iterable[str] | None = None
) -> QuerySet[ApprovalRequest]:
    """Requests that are no longer pending (approved, rejected or cancelled), of one site or of every site."""
    qs = ApprovalRequest.objects.exclude(status=APPROVAL_PENDING)
    if site is not None:
        qs = qs.filter(site=site)
    return _kinds(qs, kinds)


def approved_or_rejected(*, kinds: str | Iterable[str] | None = None) -> QuerySet[ApprovalRequest]:
    """Requests someone decided (approved or rejected, not cancelled), every site: reporting filters the sites."""
    return _kinds(ApprovalRequest.objects.filter(decided_at__isnull=False, status__in=APPROVAL_DECIDED), kinds)


# --- exception cases ------------------------------------------------------------------------------------------


def exception_case(pk, *, related: Iterable[str] = ()) -> ExceptionCase | None:
    """One exception case by id (the caller checks the user may see its site)."""
    qs = ExceptionCase.objects.filter(pk=pk)
    if related:
        qs = qs.select_related(*related)
    return qs.first()


def exception_cases() -> QuerySet[ExceptionCase]:
    """Every exception case of every site, for reporting (which scopes it to its sites and period)."""
    return ExceptionCase.objects.all()


def site_exceptions(site: Site) -> QuerySet[ExceptionCase]:
    """Every exception case of a site, whatever its status."""
    return ExceptionCase.objects.filter(site=site)


def open_exceptions(site: Site) -> QuerySet[ExceptionCase]:
    """The cases of a site that are not resolved (open or acknowledged)."""
    return ExceptionCase.objects.filter(site=site).exclude(status=EXCEPTION_RESOLVED)


def _open_cases(*, model, code: str, object_ids=None) -> QuerySet[ExceptionCase]:
    qs = ExceptionCase.objects.filter(code__code=code, content_type=ContentType.objects.get_for_model(model))
    if object_ids is not None:
        qs = qs.filter(object_id__in=object_ids)
    return qs.exclude(status=EXCEPTION_RESOLVED)


def open_exception_subject_ids(*, model, code: str, object_ids=None) -> set[int]:
    """Ids of the subjects of ``model`` (among ``object_ids``: a list or a values("pk") QuerySet) with an
    unresolved case of ``code``. One query."""
    return set(_open_cases(model=model, code=code, object_ids=object_ids).values_list("object_id", flat=True))


def open_exception_ids(*, model, code: str, object_ids=None) -> list[int]:
    """Ids of the unresolved cases of ``code`` about subjects of ``model`` (among ``object_ids``). One query."""
    return list(_open_cases(model=model, code=code, object_ids=object_ids).values_list("pk", flat=True))


def latest_exceptions_by_subject(*, model, object_ids, related: Iterable[str] = ()) -> dict[int, ExceptionCase]:
    """The latest case (any code and status) of each subject of ``model`` among ``object_ids``. One query."""
    qs = ExceptionCase.objects.filter(content_type=ContentType.objects.get_for_model(model), object_id__in=object_ids)
    if related:
        qs = qs.select_related(*related)
    out: dict[int, ExceptionCase] = {}
    for case in qs.order_by("opened_at", "pk"):
        out[case.object_id] = case
    return out
