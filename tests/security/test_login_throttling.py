"""Issue 12, findings 2 and 4: every login path is throttled the same way, and the lockout does not lock out the good.

Finding 2: ``/admin/login/`` was not throttled (30 wrong passwords, then the right one logged in).
Finding 4: failures were counted per address and then blocked valid tokens and valid passwords for 300 s; behind
the TLS proxy everyone shares one address. Failed passwords are now counted per (account, client address), with
the client address from a configured trusted proxy header (by default REMOTE_ADDR only), plus a much higher
per-address ceiling against spraying many accounts; a valid token is never blocked.
"""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import reverse

from tests.api.helpers import problem

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"  # tests/factories.py
WEB_LOGIN = "/login/"
ADMIN_LOGIN = "/admin/login/"
A, B = "203.0.113.10", "203.0.113.20"


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    """Dozens of password checks per test: a fast hasher (the lockout does not depend on the hash)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff(make_user, site):
    user = make_user("admin", site, username="siteadmin")
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


@pytest.fixture
def clerk(make_user, site):
    return make_user("supervisor", site, username="clerk")


def login(client, path, username, password, *, remote=A, **extra):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=remote, **extra)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


# --- finding 2: the admin login page ---------------------------------------------------------------------------


def test_admin_login_is_refused_after_30_wrong_passwords_even_with_the_right_one(client, staff):
    statuses = [login(client, ADMIN_LOGIN, "siteadmin", f"wrong-{n}").status_code for n in range(30)]
    assert set(statuses) <= {200, 429} and 429 in statuses
    response = login(client, ADMIN_LOGIN, "siteadmin", PASSWORD)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert b"Too many failed logins" in response.content
    assert not signed_in(client)


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_admin_and_web_login_share_one_counter(client, staff):
    for _ in range(2):
        assert login(client, WEB_LOGIN, "siteadmin", "wrong").status_code == 200
    assert login(client, ADMIN_LOGIN, "siteadmin", "wrong").status_code == 200
    assert login(client, ADMIN_LOGIN, "siteadmin", PASSWORD).status_code == 429
    assert login(client, WEB_LOGIN, "siteadmin", PASSWORD).status_code == 429
    assert not signed_in(client)


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_admin_login_still_works_below_the_limit(client, staff):
    for _ in range(2):
        assert login(client, ADMIN_LOGIN, "siteadmin", "wrong").status_code == 200
    response = login(client, ADMIN_LOGIN, "siteadmin", PASSWORD)
    assert response.status_code == 302 and signed_in(client)


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_authenticate_itself_refuses_a_locked_account_and_address(rf, clerk):
    """The authentication backend enforces the lockout, so no login path can forget it."""
    from django.contrib.auth import authenticate

    request = rf.post("/anything/", REMOTE_ADDR=A)
    for _ in range(3):
        assert authenticate(request, username="clerk", password="wrong") is None
    assert authenticate(request, username="clerk", password=PASSWORD) is None
    assert authenticate(rf.post("/anything/", REMOTE_ADDR=B), username="clerk", password=PASSWORD) == clerk


# --- finding 4: per (account, address) ------------------------------------------------------------------------


@override_settings(LOGIN_FAILURE_LIMIT=3)
@pytest.mark.parametrize("path", [WEB_LOGIN, ADMIN_LOGIN])
def test_a_lockout_blocks_only_that_account_from_that_address(client, make_user, site, staff, path):
    other = make_user("admin", site, username="otheradmin")
    other.is_staff = True
    other.save(update_fields=["is_staff"])
    for _ in range(3):
        assert login(client, path, "siteadmin", "wrong").status_code == 200
    refused = login(client, path, "siteadmin", PASSWORD)
    assert refused.status_code == 429 and not signed_in(client)  # the point of the lockout

    from django.test import Client

    other_account = Client()
    assert login(other_account, path, "otheradmin", PASSWORD).status_code == 302 and signed_in(other_account)
    other_address = Client()
    assert login(other_address, path, "siteadmin", PASSWORD, remote=B).status_code == 302
    assert signed_in(other_address)


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_unknown_and_differently_cased_usernames_count_too(client, clerk):
    for name in ("CLERK", "Clerk", " clerk"):
        login(client, WEB_LOGIN, name, "wrong")
    assert login(client, WEB_LOGIN, "clerk", PASSWORD).status_code == 429
    for _ in range(3):
        assert login(client, WEB_LOGIN, "nobody-at-all", "wrong").status_code == 200
    assert login(client, WEB_LOGIN, "nobody-at-all", "wrong").status_code == 429  # same answer as a real account


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_a_successful_login_clears_the_failures_of_that_account_and_address(client, clerk):
    for _ in range(2):
        login(client, WEB_LOGIN, "clerk", "wrong")
    assert login(client, WEB_LOGIN, "clerk", PASSWORD).status_code == 302
    client.post(reverse("web:logout"))
    for _ in range(2):
        assert login(client, WEB_LOGIN, "clerk", "wrong").status_code == 200
    assert login(client, WEB_LOGIN, "clerk", PASSWORD).status_code == 302


@override_settings(LOGIN_FAILURE_LIMIT=100, LOGIN_FAILURE_ADDRESS_LIMIT=5)
def test_spraying_many_accounts_from_one_address_hits_the_per_address_ceiling(client, make_user, site, api):
    victim = make_user("supervisor", site, username="victim")
    for n in range(5):
        assert login(client, WEB_LOGIN, f"user-{n}", "wrong").status_code == 200
    refused = login(client, WEB_LOGIN, "victim", PASSWORD)
    assert refused.status_code == 429 and not signed_in(client)
    from django.test import Client

    elsewhere = Client()
    assert login(elsewhere, WEB_LOGIN, "victim", PASSWORD, remote=B).status_code == 302
    # a valid token from the sprayed address still works
    good = api(victim)
    assert good.get("/api/v1/sites/", REMOTE_ADDR=A).status_code == 200


# --- finding 4: tokens ---------------------------------------------------------------------------------------


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_bad_tokens_are_slowed_down_but_a_valid_token_from_that_address_is_never_blocked(api, supervisor, site):
    bad = api()
    bad.credentials(HTTP_AUTHORIZATION="Token wrong")
    for _ in range(3):
        problem(bad.get("/api/v1/sites/", REMOTE_ADDR=A), 401)
    slowed = bad.get("/api/v1/sites/", REMOTE_ADDR=A)
    body = problem(slowed, 429)
    assert int(slowed["Retry-After"]) > 0 and "Too many failed" in body["detail"]
    good = api(supervisor)
    assert good.get("/api/v1/sites/", REMOTE_ADDR=A).status_code == 200
    created = good.post(
        "/api/v1/site-memberships/",
        {"user": "supervisor1", "site": "DC1", "role": "operator"},
        format="json",
        REMOTE_ADDR=A,
    )
    problem(created, 403)  # authenticated (a supervisor may not manage memberships), not throttled


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_bad_tokens_do_not_lock_password_logins(api, client, clerk):
    bad = api()
    bad.credentials(HTTP_AUTHORIZATION="Token wrong")
    for _ in range(5):
        bad.get("/api/v1/sites/", REMOTE_ADDR=A)
    assert login(client, WEB_LOGIN, "clerk", PASSWORD).status_code == 302


# --- the client address ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "meta, count, header, expected",
    [
        ({"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}, 0, "X-Forwarded-For", "10.0.0.1"),
        ({"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}, 1, "X-Forwarded-For", "198.51.100.7"),
        # a client's own X-Forwarded-For entries come first: the proxy appends what it saw
        (
            {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 198.51.100.7"},
            1,
            "X-Forwarded-For",
            "198.51.100.7",
        ),
        (
            {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "1.2.3.4,198.51.100.7, 10.0.0.2"},
            2,
            "X-Forwarded-For",
            "198.51.100.7",
        ),
        # fewer hops than trusted proxies, garbage, or no header: the socket's address
        ({"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}, 2, "X-Forwarded-For", "10.0.0.1"),
        ({"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "not-an-ip"}, 1, "X-Forwarded-For", "10.0.0.1"),
        ({"REMOTE_ADDR": "10.0.0.1"}, 1, "X-Forwarded-For", "10.0.0.1"),
        ({"REMOTE_ADDR": "10.0.0.1", "HTTP_X_REAL_IP": "2001:db8::1"}, 1, "X-Real-IP", "2001:db8::1"),
        ({}, 0, "X-Forwarded-For", "unknown"),
    ],
)
def test_client_address(meta, count, header, expected):
    from core import login_throttle

    assert login_throttle.client_address(meta, proxy_count=count, header=header) == expected


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_x_forwarded_for_is_ignored_unless_a_proxy_is_configured(client, clerk):
    """By default an attacker cannot get fresh counters by sending a new X-Forwarded-For each time."""
    for n in range(3):
        login(client, WEB_LOGIN, "clerk", "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    refused = login(client, WEB_LOGIN, "clerk", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert refused.status_code == 429


@override_settings(LOGIN_FAILURE_LIMIT=3, TRUSTED_PROXY_COUNT=1)
def test_behind_the_trusted_proxy_each_client_has_its_own_counter(client, clerk):
    proxy = "10.0.0.1"
    for _ in range(3):
        login(client, WEB_LOGIN, "clerk", "wrong", remote=proxy, HTTP_X_FORWARDED_FOR="198.51.100.7")
    # the client behind the proxy is locked out, even when it prepends made-up addresses
    spoofed = login(client, WEB_LOGIN, "clerk", PASSWORD, remote=proxy, HTTP_X_FORWARDED_FOR="9.9.9.9, 198.51.100.7")
    assert spoofed.status_code == 429
    from django.test import Client

    colleague = Client()
    ok = login(colleague, WEB_LOGIN, "clerk", PASSWORD, remote=proxy, HTTP_X_FORWARDED_FOR="198.51.100.8")
    assert ok.status_code == 302 and signed_in(colleague)


# --- Redis down ------------------------------------------------------------------------------------------------


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_the_counter_works_on_the_memory_fallback_while_redis_is_down(client, clerk):
    from core import cache as failsoft
    from tests.api.test_degraded_mode import closed_port

    location = f"redis://127.0.0.1:{closed_port()}/1"
    caches = {
        "default": {
            "BACKEND": "core.cache.FailSoftRedisCache",
            "LOCATION": location,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    try:
        with override_settings(CACHES=caches):
            for _ in range(3):
                assert login(client, ADMIN_LOGIN, "clerk", "wrong").status_code == 200
            assert login(client, ADMIN_LOGIN, "clerk", PASSWORD).status_code == 429
            from django.test import Client

            assert login(Client(), WEB_LOGIN, "clerk", PASSWORD, remote=B).status_code == 302
    finally:
        failsoft._state.pop(location, None)
