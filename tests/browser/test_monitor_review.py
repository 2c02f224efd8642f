"""Monitor review in the browser: a query opened beside a field, the data corrected and the
query answered by the site, closed by the monitor, the form verified and the visit signed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from review.models import DataQuery, QueryStatus, ResponseCode, Signature, SourceVerification
from tests.browser.pages import screenshot, sign_in
from tests.personas import load, make_team
from tests.world import enter_sledai, on_study

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in_as(page: Page, username: str, password: str) -> None:
    page.context.clear_cookies()
    sign_in(page, username, password)
    page.wait_for_url("**/")


def test_query_correction_sdv_and_visit_signature(page: Page) -> None:
    team = make_team(load("nct03673748.yaml"))
    participant = on_study(team)
    form = enter_sledai(team, participant)
    review = f"/review/participants/{participant.pk}/sledai2k/{form.pk}/"

    # The monitor finds the form in the queue, opens its review page and queries a field.
    sign_in_as(page, team.monitor.username, team.password)
    page.click("nav >> text=Review")
    expect(page.locator('[data-count="to_verify"]')).to_have_text("1")
    screenshot(page, "review-01-monitor-queue")
    page.click(f"#verify-sledai2k-{form.pk} a")
    expect(page.locator("h1")).to_contain_text("SLEDAI-2K")
    dna = page.locator("#field-dna")
    expect(dna.locator("td.value")).to_have_text("Yes")
    dna.locator("summary").click()
    dna.locator("textarea[name=text]").fill("Anti-dsDNA: the lab report of 28 March is negative.")
    dna.locator("button:has-text('Open query')").click()
    expect(page.locator(".messages")).to_contain_text("Query opened.")
    expect(dna.locator(".query .status")).to_have_text("Open")
    query = DataQuery.objects.get()
    assert (query.field_name, query.status, query.opener_role) == ("dna", "open", "monitor")
    screenshot(page, "review-02-query-opened")

    # The coordinator corrects the value on the entry page, then answers beside the field.
    sign_in_as(page, team.coordinator.username, team.password)
    page.goto(f"/casebook/{participant.pk}/sledai2k/{form.pk}/")
    page.uncheck("#id_dna")
    page.fill("#id_reason", "Anti-dsDNA negative on the lab report of 28 March")
    page.click("form.entry-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("SLEDAI-2K saved.")
    screenshot(page, "review-03-data-corrected")
    page.click("text=Review and queries")
    dna = page.locator("#field-dna")
    expect(dna.locator("td.value")).to_have_text("No")
    dna.locator("select[name=response_code]").select_option(ResponseCode.DATA_CORRECTED)
    dna.locator("textarea[name=text]").fill("data corrected")
    dna.locator("button:has-text('Answer')").click()
    expect(page.locator(".messages")).to_contain_text("Query answered.")
    expect(dna.locator(".query .status")).to_have_text("Answered")
    expect(dna.locator(".query-messages")).to_contain_text("Data corrected")
    expect(page.locator("#history")).to_contain_text(
        "Anti-dsDNA negative on the lab report of 28 March"
    )
    query.refresh_from_db()
    assert (query.status, query.response_code) == (QueryStatus.ANSWERED, "data_corrected")
    assert query.correction_history_id is not None
    screenshot(page, "review-04-query-answered")

    # The monitor closes the query and verifies the form against source.
    sign_in_as(page, team.monitor.username, team.password)
    page.goto(review)
    dna = page.locator("#field-dna")
    dna.locator("button:has-text('Close query')").click()
    expect(page.locator(".messages")).to_contain_text("Query closed.")
    expect(dna.locator(".query .status")).to_have_text("Closed")
    expect(page.locator("#sdv [data-state=not-verified]")).to_be_visible()
    page.click("#sdv button:has-text('Verify against source')")
    expect(page.locator("#sdv [data-state=verified]")).to_contain_text("version 2")
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED
    verification = SourceVerification.objects.get(voided_at__isnull=True)
    assert (verification.verified_by, verification.row_version) == (team.monitor, 2)
    screenshot(page, "review-05-closed-and-verified")

    # The investigator signs the visit, entering the password again.
    sign_in_as(page, team.investigator.username, team.password)
    page.goto(review)
    expect(page.locator("#signature-visit")).to_contain_text("Not signed")
    sign = page.locator("#sign-form")
    expect(sign.locator("input[value=visit]")).to_be_checked()
    sign.locator("#sign-password").fill("not my password")
    sign.locator("button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text("The password is not correct")
    assert not Signature.objects.exists()
    # The visit's other forms are not entered: the investigator sees them and acknowledges.
    sign = page.locator("#sign-form")
    expect(sign.locator("#outstanding-visit")).to_contain_text("Forms missing at visit W4")
    sign.locator("#sign-acknowledged").check()
    sign.locator("#sign-password").fill(team.password)
    sign.locator("button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text("Signed.")
    expect(page.locator("#signature-visit")).to_contain_text("Signed")
    expect(page.locator("#signature-visit")).not_to_contain_text("Not signed")
    signature = Signature.objects.get()
    assert (signature.scope, signature.visit_id, signature.signer) == (
        "visit",
        form.visit_id,
        team.investigator,
    )
    screenshot(page, "review-06-visit-signed")

    # The audit trail shows the correction with its reason, and offers the CSV.
    page.click("text=Audit trail")
    trail = page.locator("#audit-trail")
    expect(trail).to_contain_text("Anti-dsDNA negative on the lab report of 28 March")
    page.select_option("#id_form", "sledai2k")
    page.click("form.filters button[type=submit]")
    expect(page.locator("#audit-trail tbody tr").first).to_contain_text("SLEDAI-2K")
    expect(page.locator("#csv-download")).to_have_attribute("href", re.compile(r"form=sledai2k"))
    screenshot(page, "review-07-audit-trail")
