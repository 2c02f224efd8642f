"""The pages run under a strict Content-Security-Policy, and a violation fails a browser test."""

from __future__ import annotations

import pytest

from tests.browser.pages import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_inline_script_is_refused_and_reported(page, personas, csp_violations) -> None:
    sign_in(page, "coordinator_a", personas.password)
    page.wait_for_url("**/")
    header = page.request.get("/").headers["content-security-policy"]
    assert "script-src 'self'" in header
    assert "frame-ancestors 'none'" in header
    # What an injected handler would do: refused by the browser, and seen by the test.
    page.evaluate(
        """() => {
          const img = document.createElement("img");
          img.setAttribute("onerror", "document.title = 'ran'");
          img.src = "/static/none.png";
          document.body.append(img);
          const style = document.createElement("div");
          style.setAttribute("style", "color: red");
          document.body.append(style);
        }"""
    )
    page.wait_for_timeout(500)
    assert page.title() != "ran"
    assert any("script-src" in line for line in csp_violations), csp_violations
    assert any("style-src" in line for line in csp_violations), csp_violations
    csp_violations.clear()


def test_the_api_docs_run_under_their_own_policy(page, personas) -> None:
    sign_in(page, "coordinator_a", personas.password)
    page.wait_for_url("**/")
    page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "eCRF API" in page.locator(".swagger-ui .info .title").inner_text()
    page.wait_for_selector("text=/api/v1/trials/")


def test_the_choices_that_send_their_form_work_without_inline_handlers(page, personas) -> None:
    """The workspace, language and SAE-clock filter send themselves from a static script."""
    from ecrf.access import Role
    from tests.factories import MembershipFactory

    MembershipFactory(
        user=personas.coordinator_a, trial=personas.trial, site=personas.site_b, role=Role.MONITOR
    )
    sign_in(page, "coordinator_a", personas.password)
    page.wait_for_url("**/")
    workspace = page.locator("#membership")
    assert "A01" in workspace.locator("option:checked").inner_text()
    with page.expect_navigation():
        workspace.select_option(label=workspace.locator("option", has_text="B01").inner_text())
    assert "B01" in page.locator("#membership option:checked").inner_text()
    with page.expect_navigation():
        page.select_option("select[name=language]", "es")
    assert page.locator("html").get_attribute("lang") == "es"
    page.goto("/safety/clock/")
    with page.expect_navigation():
        page.check("input[name=pending]")
    assert "pending=1" in page.url
