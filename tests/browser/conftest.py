"""Real Chromium (Debian's package) driven by Playwright's Python package against pytest-django's live server.

Never `playwright install`: the browser is /usr/bin/chromium. The tests skip, saying why, when it or the Python
package is missing. Screenshots of each step go to test-artifacts/<test name>/NN-<step>.png (gitignored; set
BROWSER_ARTIFACTS to put them elsewhere, e.g. a folder CI keeps)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS") or Path(__file__).resolve().parents[2] / "test-artifacts")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def pytest_collection_modifyitems(config, items):
    reason = None
    if not os.path.exists(CHROMIUM):
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does it)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "Playwright's Python package is not installed (pip install -e '.[dev]')"
    for item in items:
        if "browser" in item.keywords and reason:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def _browser():
    # Playwright's sync API runs an event loop in this thread; Django refuses database calls from a thread with
    # a running loop unless told that it is fine (the test's own queries are synchronous).
    from playwright.sync_api import sync_playwright

    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            yield browser
            browser.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture
def open_page(_browser, live_server, request):
    """open_page(width=1280, height=900) -> a new page in its own context; shot(name) saves a screenshot."""
    contexts = []
    counter = {"n": 0}  # one numbering per test, across its pages

    def _open(width=1280, height=900):
        context = _browser.new_context(viewport={"width": width, "height": height}, base_url=live_server.url)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        test_name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)

        def shot(step: str) -> None:
            counter["n"] += 1
            folder = ARTIFACTS / test_name
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(folder / f"{counter['n']:02d}-{step}.png"), full_page=True)

        page.shot = shot
        return page

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture
def log_in():
    def _log_in(page, username, password="pass-word-123"):
        page.goto("/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state()

    return _log_in
