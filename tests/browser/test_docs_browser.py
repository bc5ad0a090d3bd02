"""The API docs in a real Chromium under their Content-Security-Policy: Swagger UI and Redoc render the schema,
load nothing from another host, and the browser reports no CSP violation."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.parametrize(
    ("path", "rendered"), [("/api/docs/", ".opblock"), ("/api/redoc/", "[role=menuitem], li[data-item-id]")]
)
def test_an_integrator_reads_the_api_docs_offline_and_within_the_policy(
    open_page, log_in, make_user, site, live_server, path, rendered
):
    make_user("coordinator", site, username="integrator1")
    page = open_page()
    problems: list[str] = []

    def on_console(msg):
        # Redoc's "API docs by Redocly" footer links its logo from cdn.redoc.ly: the policy blocks that image
        # (nothing leaves the machine); anything else blocked means the page is broken under the policy
        if "Content Security Policy" in msg.text and "cdn.redoc.ly/redoc/logo-mini.svg" not in msg.text:
            problems.append(msg.text)

    page.on("console", on_console)
    foreign: list[str] = []
    page.on(
        "requestfinished",
        lambda req: (
            foreign.append(req.url)
            if not req.url.startswith(live_server.url) and not req.url.startswith(("data:", "blob:"))
            else None
        ),
    )
    log_in(page, "integrator1")
    response = page.goto(path)
    assert response.status == 200 and "content-security-policy" in response.headers
    page.wait_for_selector(rendered, timeout=20_000)
    assert problems == []
    assert foreign == []
