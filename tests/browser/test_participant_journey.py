"""One participant of each trial from registration to Day 0 through the real pages."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from ecrf.site_time import local_date
from tests.browser.pages import answer_checklist, screenshot, sign_in
from tests.personas import load, make_team
from tests.world import with_allocation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def register_and_consent(page: Page, today: str) -> None:
    page.click("nav >> text=Participants")
    page.check("input[name=sex][value=F]")
    page.fill("input[name=date_of_birth]", "1988-09-14")
    page.click("#register button[type=submit]")
    expect(page.locator("h1")).to_contain_text("-S001")
    page.fill("input[name=form_version]", "1.0")
    page.fill("input[name=consent_date]", today)
    page.click("#consent button[type=submit]")
    expect(page.locator("#consent li")).to_contain_text("Form version 1.0")


def set_day0_and_check_schedule(page: Page, day0: str, first_visit: str) -> None:
    page.fill("input[name=day0]", day0)
    page.click("#day0 button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("Day 0 set")
    expect(page.locator("h1 .status")).to_have_text("On study")
    row = page.locator(f"#visit-{first_visit}")
    expect(row).to_contain_text(f"{day0} \N{EN DASH} {day0}")
    page.locator("#schedule").scroll_into_view_if_needed()


def test_msvle_participant_is_randomized_and_gets_a_schedule(page: Page, db) -> None:
    team = make_team(load("nct03673748.yaml"))
    with_allocation(team)
    today = local_date(timezone.now(), team.site.time_zone).isoformat()

    sign_in(page, team.investigator.username, team.password)
    register_and_consent(page, today)
    answer_checklist(page, team.trial)
    # Changing an answer without a reason is refused, and the message shows in the row.
    page.check("input[name='EX01-answer'][value=yes]")
    expect(page.locator("#criterion-EX01 .error")).to_contain_text(
        "A reason for the change is required."
    )
    page.click("#eligibility-outcome button[type=submit]")
    expect(page.locator("h1 .status")).to_have_text("Eligible")

    # The ECG criterion must hold on the day of randomization: confirmed again first.
    page.check("#allocation form.reconfirm input[value=no]")
    page.click("#allocation button:has-text('Confirm again today')")
    # Randomization is confirmed first: the button asks for the box that states what it does.
    page.click("#randomize summary")
    page.check("input[name=randomize-confirm]")
    page.click("#randomize button[type=submit]")
    expect(page.locator("#allocation")).to_contain_text("Randomization number R0001")
    expect(page.locator("body")).not_to_contain_text("Placebo")

    set_day0_and_check_schedule(page, today, "D0")
    # Week 4 is day 28 +/- 3 from Day 0, shown as local dates at the site.
    target = date.fromisoformat(today) + timedelta(days=28)
    week4 = page.locator("#visit-W4")
    expect(week4).to_contain_text("Week 4")
    expect(week4).to_contain_text(target.isoformat())
    window = f"{target - timedelta(days=3)} \N{EN DASH} {target + timedelta(days=3)}"
    expect(week4).to_contain_text(window)
    expect(page.locator("#visit-RAND")).to_contain_text("Completed")
    screenshot(page, "journey-msvle-schedule")


def test_mscrole_participant_is_enrolled_in_cohort_c1_and_gets_a_schedule(page: Page, db) -> None:
    team = make_team(load("nct03917797.yaml"))
    with_allocation(team)
    today = local_date(timezone.now(), team.site.time_zone).isoformat()

    sign_in(page, team.investigator.username, team.password)
    register_and_consent(page, today)
    answer_checklist(page, team.trial)
    page.click("#eligibility-outcome button[type=submit]")
    expect(page.locator("h1 .status")).to_have_text("Eligible")

    enrol = page.locator("#allocation button")
    expect(enrol).to_have_text(
        "Enrol in cohort C1 at 1\N{MULTIPLICATION SIGN}10\N{SUPERSCRIPT SIX} cells/kg"
    )
    screenshot(page, "journey-mscrole-enrol")
    enrol.click()
    expect(page.locator("#allocation")).to_contain_text("Enrolled in cohort C1")

    set_day0_and_check_schedule(page, today, "M0")
    expect(page.locator("#visit-M12")).to_contain_text("Month 12 (primary endpoint)")
    expect(page.locator("#schedule tbody tr")).to_have_count(7)
    screenshot(page, "journey-mscrole-schedule")
