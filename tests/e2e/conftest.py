"""End-to-end harness: Playwright's sync API drives Debian's Chromium against live_server.

Every test here gets the `e2e` mark. A failing test leaves a full-page screenshot of each
page it opened under .artifacts/.
"""

import os
import re
from pathlib import Path

import pytest

# The sync Playwright API runs an event loop in the test thread; Django's ORM calls made
# from the test (factories, assertions) would otherwise raise SynchronousOnlyOperation.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
E2E_DIR = Path(__file__).resolve().parent
ARTIFACTS_DIR = E2E_DIR.parents[1] / ".artifacts"
DEFAULT_TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    # rep_setup / rep_call / rep_teardown: fixtures read them to know whether the test failed.
    setattr(item, f"rep_{report.when}", report)


def _test_failed(node) -> bool:
    return any(
        getattr(node, f"rep_{when}", None) is not None and getattr(node, f"rep_{when}").failed
        for when in ("setup", "call")
    )


def _artifact_name(node) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", node.name).strip("_") or "test"


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)."
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def _watch_errors(page) -> None:
    """Collect console errors (CSP violations included) and uncaught exceptions on the page."""
    page.console_errors = []

    def on_console(message):
        if message.type == "error":
            page.console_errors.append(f"console: {message.text} ({message.location.get('url')})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: page.console_errors.append(f"pageerror: {error}"))


@pytest.fixture
def browser_context_factory(browser, live_server, request):
    """new_context(**kwargs): a fresh context (own cookies) aimed at live_server.

    Every page opened in it has a `console_errors` list. Contexts close after the test.
    """
    contexts = []

    def new_context(**kwargs):
        kwargs.setdefault("base_url", live_server.url)
        kwargs.setdefault("locale", "en-US")
        context = browser.new_context(**kwargs)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.on("page", _watch_errors)
        contexts.append(context)
        return context

    yield new_context

    if _test_failed(request.node):
        ARTIFACTS_DIR.mkdir(exist_ok=True)
        base = _artifact_name(request.node)
        pages = [page for context in contexts for page in context.pages if not page.is_closed()]
        for index, page in enumerate(pages):
            suffix = "" if index == 0 else f"-{index + 1}"
            try:
                page.screenshot(path=str(ARTIFACTS_DIR / f"{base}{suffix}.png"), full_page=True)
            except Exception as error:  # A screenshot must never hide the real failure.
                print(f"Could not save a screenshot of {page.url}: {error}")
    for context in contexts:
        context.close()


@pytest.fixture
def page(browser_context_factory):
    """A page in a fresh context; `page.console_errors` lists JS errors and CSP violations."""
    return browser_context_factory().new_page()
