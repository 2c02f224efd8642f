"""Headless Chromium (Debian's) driven by Playwright against the live test server."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make around
# it are still synchronous and sequential.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


# Runs in every page before its own scripts: each Content-Security-Policy violation (an inline
# script, handler or style refused, a resource from elsewhere) is reported to the test.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation(
    `${event.violatedDirective} refused ${event.blockedURI || "inline"} ` +
      `at ${event.sourceFile || document.location.href}:${event.lineNumber}`
  );
});
"""


@pytest.fixture
def csp_violations() -> list[str]:
    """The Content-Security-Policy violations seen in the browser during the test."""
    return []


@pytest.fixture
def page(browser: Browser, live_server, csp_violations: list[str]) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.expose_function("reportCspViolation", lambda text: csp_violations.append(text))
    context.add_init_script(REPORT_VIOLATIONS)
    page = context.new_page()
    # Chromium also logs each violation to the console, including those met before any script
    # of the page runs (a refused inline style element, say).
    page.on(
        "console",
        lambda message: (
            csp_violations.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    page.on("pageerror", lambda error: csp_violations.append(f"script error: {error}"))
    page.set_default_timeout(15_000)
    yield page
    context.close()
    # A page that breaks the policy fails the test that showed it.
    assert csp_violations == [], "\n".join(csp_violations)
