"""Signing in through the real login page in a browser."""

from __future__ import annotations

import pytest

from tests.browser.pages import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_reaches_the_home_page(page, personas) -> None:
    sign_in(page, "investigator_a", personas.password)
    page.wait_for_url("**/")
    assert page.locator("h1").inner_text() == "Welcome, Investigator A"
    assert "Sign forms and casebooks" in page.content()
    path = screenshot(page, "login-home")
    assert path.stat().st_size > 10_000


def test_wrong_password_is_refused_with_a_message(page, personas) -> None:
    sign_in(page, "investigator_a", "not the password at all")
    alert = page.locator("[role=alert]")
    assert "Please enter a correct username and password" in alert.inner_text()
    assert page.url.endswith("/accounts/login/")
    screenshot(page, "login-refused")
