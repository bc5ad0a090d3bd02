"""Authentication: hashed tokens from the management commands, sessions, 401 and the 429 slow-down."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from governance.api.authentication import generate_token, hash_key
from governance.models import ApiToken, Site

from .helpers import problem

pytestmark = pytest.mark.django_db


def test_anonymous_request_gets_401_problem_with_www_authenticate(api, site):
    response = api().get("/api/v1/sites/")
    problem(response, 401)
    assert response["WWW-Authenticate"] == "Token"


def test_unknown_token_gets_401_problem(api, site):
    client = api()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    problem(client.get("/api/v1/sites/"), 401)
    client.credentials(HTTP_AUTHORIZATION="Token")
    problem(client.get("/api/v1/sites/"), 401)


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_repeated_failed_token_logins_are_slowed_down_with_429_and_retry_after(api, admin_user):
    client = api()
    client.credentials(HTTP_AUTHORIZATION="Token wrong")
    for _ in range(3):
        problem(client.get("/api/v1/sites/"), 401)
    response = client.get("/api/v1/sites/")
    problem(response, 429)
    assert int(response["Retry-After"]) > 0
    # a good token from that address is never slowed down by other clients' bad ones (issue 12, finding 4)
    good = api(admin_user)
    created = good.post("/api/v1/sites/", {"code": "X9", "name": "x", "region": "r"}, format="json")
    assert created.status_code == 201, created.json()
    assert Site.objects.filter(code="X9").exists()


def test_create_api_token_prints_the_key_alone_on_its_last_line_and_stores_only_its_hash(api, supervisor):
    out = StringIO()
    call_command("create_api_token", supervisor.username, "--expires-days", "5", stdout=out, stderr=StringIO())
    key = out.getvalue().strip().splitlines()[-1]
    token = ApiToken.objects.get(user=supervisor)
    assert " " not in key and len(key) >= 32
    assert token.digest == hash_key(key) and key not in (token.digest, token.prefix)
    assert timedelta(days=4) < token.expires_at - timezone.now() <= timedelta(days=5)
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/sites/").status_code == 200


def test_create_api_token_refuses_unknown_users_and_non_positive_expiry(supervisor):
    with pytest.raises(CommandError):
        call_command("create_api_token", "nobody", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError):
        call_command("create_api_token", supervisor.username, "--expires-days", "0", stdout=StringIO())
    assert not ApiToken.objects.exists()


def test_revoked_tokens_are_refused(api, supervisor, operator):
    token, key = generate_token(user=supervisor)
    _, other_key = generate_token(user=operator)
    call_command("revoke_api_token", token.prefix, stdout=StringIO())
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    problem(client.get("/api/v1/sites/"), 401)
    client.credentials(HTTP_AUTHORIZATION=f"Token {other_key}")
    assert client.get("/api/v1/sites/").status_code == 200
    call_command("revoke_api_token", "--user", operator.username, stdout=StringIO())
    problem(client.get("/api/v1/sites/"), 401)
    with pytest.raises(CommandError):
        call_command("revoke_api_token", "--user", operator.username, stdout=StringIO())


def test_revoking_records_who_revoked_from_the_command_line_and_in_admin(client, admin_user, supervisor):
    token, _ = generate_token(user=supervisor)
    call_command("revoke_api_token", token.prefix, "--by", admin_user.username, stdout=StringIO())
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == admin_user
    with pytest.raises(CommandError):
        call_command("revoke_api_token", "--user", supervisor.username, "--by", "nobody", stdout=StringIO())
    second, _ = generate_token(user=supervisor, name="second")
    client.force_login(admin_user)
    response = client.post(
        "/admin/governance/apitoken/", {"action": "revoke", "_selected_action": [second.pk]}, follow=True
    )
    assert response.status_code == 200
    second.refresh_from_db()
    assert second.revoked_at is not None and second.revoked_by == admin_user
    listing = client.get("/admin/governance/apitoken/").content.decode()
    assert "scopes" in listing.lower() and admin_user.username in listing


def test_keys_never_start_with_a_dash_and_an_older_dashed_prefix_can_still_be_revoked(supervisor):
    """A leading '-' would read as an option to revoke_api_token (1 key in 64 had one)."""
    keys = [generate_token(user=supervisor)[1] for _ in range(400)]
    assert not [key for key in keys if key.startswith("-")]
    old = ApiToken.objects.first()
    ApiToken.objects.filter(pk=old.pk).update(prefix="-6Xn_1CS")
    call_command("revoke_api_token", "--prefix=-6Xn_1CS", stdout=StringIO())
    old.refresh_from_db()
    assert old.revoked_at is not None
    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 399


def test_expired_tokens_are_refused(api, supervisor):
    _, key = generate_token(user=supervisor, expires_at=timezone.now() - timedelta(seconds=1))
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    problem(client.get("/api/v1/sites/"), 401)


def test_browser_session_authenticates_too(client, supervisor, site):
    client.force_login(supervisor)
    response = client.get("/api/v1/sites/")
    assert response.status_code == 200 and response.json()["results"][0]["code"] == "DC1"


def test_schema_and_docs_are_served_locally_without_a_cdn(client):
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/adjustments/{id}/approve/" in paths and "/api/v1/site-rules/{key}/" in paths
    docs = client.get("/api/docs/")
    html = docs.content.decode()
    assert docs.status_code == 200 and "drf_spectacular_sidecar" in html
    assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html
