"""Setting up two-factor authentication in a browser, as an investigator's first sign-in."""

from __future__ import annotations

import time
from base64 import b32decode

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import expect

from tests.accounts.signing_in import DEFAULT_REQUIRED
from tests.browser.pages import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_first_sign_in_sets_up_the_authenticator(page, personas, settings) -> None:
    settings.TWO_FACTOR_REQUIRED_ROLES = DEFAULT_REQUIRED
    sign_in(page, "investigator_a", personas.password)
    page.wait_for_url("**/accounts/two-factor/setup/**")
    expect(page.locator(".qr svg")).to_be_visible()
    screenshot(page, "two-factor-setup")
    # What a person's app does with the key shown under the picture.
    key = b32decode(page.locator("#secret").inner_text().replace(" ", ""))
    totp = TOTP(key)
    totp.time = time.time()
    page.fill("#id_code", f"{totp.token():06d}")
    page.click("#two-factor-setup button[type=submit]")
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.click("#recovery-codes a")
    page.wait_for_url("**/")
    assert page.locator("h1").inner_text() == "Welcome, Investigator A"
