"""The API tokens page (/tokens/, issue 12 finding 7): a user creates, lists and revokes their own tokens; a site
admin does so for the users of their sites, an enterprise admin for anyone. The key is shown once, right after
creation; afterwards only its prefix. Another site's admin neither sees nor revokes a token (404)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from governance.api.authentication import hash_key
from governance.models import ApiToken
from governance.services.api_tokens import issue_token

pytestmark = pytest.mark.django_db

KEY = re.compile(r'data-testid="new-key"[^>]*>([^<]+)<')


@pytest.fixture
def site_admin(make_user, site):
    return make_user("admin", site, username="siteadmin")


@pytest.fixture
def other_admin(make_user, other_site):
    return make_user("admin", other_site, username="otheradmin")


def logged_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def create(client, owner, *token_scopes, name="erp-link", days="30"):
    return client.post(
        reverse("web:token-list"), {"owner": owner.pk, "name": name, "scopes": list(token_scopes), "days": days}
    )


def shown_key(response) -> str:
    match = KEY.search(response.content.decode())
    assert match, response.content.decode()[:3000]
    return match.group(1).strip()


def test_a_user_creates_a_token_sees_the_key_once_and_then_only_its_prefix(operator):
    client = logged_in(operator)
    page = client.get(reverse("web:token-list"))
    assert page.status_code == 200 and b'data-testid="token-form"' in page.content
    assert reverse("web:token-list").encode() in page.content  # in the menu

    response = create(client, operator, "read", "inventory")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = shown_key(response)
    token = ApiToken.objects.get()
    assert (token.user, token.name, token.scopes, token.created_by) == (
        operator,
        "erp-link",
        ["read", "inventory"],
        operator,
    )
    assert token.digest == hash_key(key) and token.expires_at is not None

    again = client.get(reverse("web:token-list")).content.decode()
    assert key not in again and token.prefix in again
    assert token.digest not in again

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/stock-levels/").status_code == 200


def test_a_refused_creation_says_why_and_creates_nothing(operator):
    client = logged_in(operator)
    response = create(client, operator)  # no scope chosen
    assert response.status_code == 400
    assert not ApiToken.objects.exists()
    assert b"scope" in response.content
    response = create(client, operator, "read", days="abc")
    assert response.status_code == 400 and not ApiToken.objects.exists()


def test_a_user_revokes_their_token_and_the_key_stops_working(operator):
    token, key = issue_token(actor=operator, owner=operator, scopes=["read"])
    client = logged_in(operator)
    response = client.post(reverse("web:token-revoke", args=[token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == operator
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/sites/").status_code == 401
    listing = client.get(reverse("web:token-list")).content.decode()
    assert "Revoked" in listing


def test_a_user_sees_only_their_own_tokens_and_cannot_revoke_a_colleagues(operator, supervisor):
    theirs, _ = issue_token(actor=supervisor, owner=supervisor, scopes=["read"], name="supervisor-link")
    mine, _ = issue_token(actor=operator, owner=operator, scopes=["read"], name="operator-link")
    client = logged_in(operator)
    listing = client.get(reverse("web:token-list")).content.decode()
    assert mine.prefix in listing and theirs.prefix not in listing
    assert client.post(reverse("web:token-revoke", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    # nor create one for the colleague
    response = create(client, supervisor, "read")
    assert response.status_code == 404
    assert not ApiToken.objects.filter(user=supervisor).exclude(pk=theirs.pk).exists()


def test_a_site_admin_manages_tokens_of_the_users_of_their_site(site_admin, operator):
    client = logged_in(site_admin)
    page = client.get(reverse("web:token-list")).content.decode()
    assert f'value="{operator.pk}"' in page  # the operator can be chosen as the owner
    key = shown_key(create(client, operator, "inventory"))
    token = ApiToken.objects.get(user=operator)
    assert token.created_by == site_admin and token.digest == hash_key(key)
    listing = client.get(reverse("web:token-list")).content.decode()
    assert token.prefix in listing and operator.username in listing
    assert client.post(reverse("web:token-revoke", args=[token.pk])).status_code == 302
    token.refresh_from_db()
    assert token.revoked_by == site_admin


def test_another_sites_admin_cannot_see_create_or_revoke(other_admin, operator):
    token, _ = issue_token(actor=operator, owner=operator, scopes=["read"])
    client = logged_in(other_admin)
    page = client.get(reverse("web:token-list")).content.decode()
    assert token.prefix not in page and operator.username not in page
    assert client.post(reverse("web:token-revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert create(client, operator, "read").status_code == 404
    assert ApiToken.objects.filter(user=operator).count() == 1


def test_a_site_admin_cannot_make_a_key_for_someone_who_also_works_elsewhere(site_admin, make_user, site, other_site):
    """The key would act at the other site too, where the admin has no say: listing and revoking only."""
    both = make_user("operator", site, other_site, username="twosites")
    token, _ = issue_token(actor=both, owner=both, scopes=["read"])
    client = logged_in(site_admin)
    page = client.get(reverse("web:token-list")).content.decode()
    assert token.prefix in page and f'<option value="{both.pk}"' not in page
    assert create(client, both, "read").status_code == 403
    assert ApiToken.objects.filter(user=both).count() == 1
    assert client.post(reverse("web:token-revoke", args=[token.pk])).status_code == 302


def test_a_site_admin_cannot_make_a_key_for_an_enterprise_admin(site_admin, make_user, site):
    boss = make_user("operator", site, username="bigboss", superuser=True)
    client = logged_in(site_admin)
    assert create(client, boss, "read").status_code == 403
    assert not ApiToken.objects.filter(user=boss).exists()


def test_an_enterprise_admin_sees_and_revokes_anyones_tokens(admin_user, operator, outsider):
    a, _ = issue_token(actor=operator, owner=operator, scopes=["read"])
    b, _ = issue_token(actor=outsider, owner=outsider, scopes=["read"])
    client = logged_in(admin_user)
    page = client.get(reverse("web:token-list")).content.decode()
    assert a.prefix in page and b.prefix in page
    assert client.post(reverse("web:token-revoke", args=[b.pk])).status_code == 302
    shown_key(create(client, outsider, "warehouse"))
    assert ApiToken.objects.filter(user=outsider, created_by=admin_user, scopes=["warehouse"]).exists()


def test_the_forms_need_the_csrf_token(operator):
    token, _ = issue_token(actor=operator, owner=operator, scopes=["read"])
    client = logged_in(operator, enforce_csrf_checks=True)
    assert create(client, operator, "read").status_code == 403
    assert client.post(reverse("web:token-revoke", args=[token.pk])).status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None and ApiToken.objects.count() == 1
    page = client.get(reverse("web:token-list"))
    assert b'name="csrfmiddlewaretoken"' in page.content


def test_anonymous_visitors_go_to_the_login_page(db):
    response = Client().get(reverse("web:token-list"))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert Client().post(reverse("web:token-revoke", args=[1])).status_code == 302


def test_revoking_needs_post(operator):
    token, _ = issue_token(actor=operator, owner=operator, scopes=["read"])
    assert logged_in(operator).get(reverse("web:token-revoke", args=[token.pk])).status_code == 405
