"""API tokens page (issue 12, finding 7): create, list and revoke API tokens.

A user manages their own tokens; a site admin those of the users of their sites, an enterprise admin anyone's
(who may do what is ``governance.services.api_tokens``, which also writes the rows). A new key is shown once, in
the answer to the creating POST (never stored, never in a redirect or a message, not cached); the list shows
only its prefix. A token the user may not manage is a 404.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from core.api.scopes import ALL_SCOPES, SCOPES
from core.errors import DomainError, NotFound
from governance.models import ApiToken
from governance.services.api_tokens import issuable_owners, issue_token, revoke_token, visible_tokens

from ..token_forms import TokenForm
from ..workspace import field_errors, flash_refusal, site_page


def _status(token: ApiToken, now) -> str:
    if token.revoked_at is not None:
        return "Revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "Expired"
    return "Active"


def _page(request, *, status=200, new_key=None, new_token=None, errors=None, form=None):
    now = timezone.now()
    tokens = list(visible_tokens(request.user).order_by("-created_at", "-pk")[:500])
    for token in tokens:
        token.status = _status(token, now)
        token.mine = token.user_id == request.user.pk
    response = render(
        request,
        "web/tokens/list.html",
        {
            "tokens": tokens,
            "owners": issuable_owners(request.user),
            "scope_choices": [(name, SCOPES[name]) for name in ALL_SCOPES],
            "default_days": settings.API_TOKEN_DEFAULT_DAYS,
            "max_days": settings.API_TOKEN_MAX_DAYS,
            "new_key": new_key,
            "new_token": new_token,
            "errors": errors or {},
            "form": form or {"owner": str(request.user.pk), "scopes": ["read"], "days": "", "name": ""},
            "crumbs": [("API tokens", None)],
        },
        status=status,
    )
    response["Cache-Control"] = "no-store"  # the page may carry a key shown once
    return response


@require_http_methods(["GET", "HEAD", "POST"])
@site_page("view")
def token_list(request, *, site):
    if request.method != "POST":
        return _page(request)
    form = TokenForm(request.POST)
    typed = form.typed()
    if not form.is_valid():
        if "owner" in form.errors:
            raise Http404("No such user.")
        return _page(request, status=400, errors=dict(form.errors), form=typed)
    data = form.cleaned_data
    owner = get_user_model().objects.filter(pk=data["owner"] or request.user.pk).first()
    if owner is None:
        raise Http404("No such user.")
    days, form = data["days"], typed
    try:
        token, key = issue_token(actor=request.user, owner=owner, name=data["name"], scopes=data["scopes"], days=days)
    except NotFound:
        raise Http404("No such user.")
    except DomainError as exc:
        flash_refusal(request, exc)
        return _page(request, status=exc.status_code, errors=field_errors(exc), form=form)
    return _page(request, new_key=key, new_token=token)


@require_POST
@site_page("view")
def token_revoke(request, pk, *, site):
    token = visible_tokens(request.user).filter(pk=pk).first()
    if token is None:
        raise Http404("No such token.")
    try:
        revoke_token(actor=request.user, token=token)
    except NotFound:
        raise Http404("No such token.")
    except DomainError as exc:
        flash_refusal(request, exc)
    else:
        messages.success(request, f"Token {token.prefix}… of {token.user.username} revoked.")
    return redirect("web:token-list")
