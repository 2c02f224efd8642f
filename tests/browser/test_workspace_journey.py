"""A coordinator starts from the to-do list, finds a participant by number from the top bar,
opens the participant grid and from it the participant's casebook."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from ecrf.site_time import local_date
from tests.browser.pages import screenshot, sign_in
from tests.personas import load, make_team
from tests.world import on_study

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_home_search_grid_casebook(page: Page) -> None:
    team = make_team(load("nct03673748.yaml"))
    # Day 0 four weeks ago: week 4 is due this week, later visits are still to come.
    day0 = local_date(timezone.now(), team.site.time_zone) - timedelta(days=27)
    participant = on_study(team, day0=day0)
    week4 = participant.visits.get(code="W4")

    sign_in(page, team.coordinator.username, team.password)
    expect(page.locator("#todo-visits")).to_contain_text(f"{participant.identifier} · W4")
    expect(
        page.locator(f'#todo-visits a[href="/trials/visits/{week4.pk}/record/"]')
    ).to_be_visible()
    screenshot(page, "workspace-home")

    page.fill("#participant-search", participant.screening_number)
    page.press("#participant-search", "Enter")
    page.wait_for_url(f"**/trials/participants/{participant.pk}/")

    page.click("nav.mainnav >> text=Grid")
    row = page.locator(f'tr[data-participant="{participant.identifier}"]')
    expect(row.locator('a[data-form="sledai2k"][data-visit="W8"]')).to_have_count(0)
    expect(row.locator('[title="SLEDAI-2K: Not yet due"]').first).to_be_visible()
    expect(page.locator(".legend")).to_contain_text("Query open")
    screenshot(page, "workspace-grid")

    row.locator(f'a[href="/casebook/{participant.pk}/"]').click()
    expect(page.locator("h1")).to_contain_text(f"Casebook of {participant.identifier}")
    expect(page.locator('[data-log="adverse_events"]')).to_have_count(1)
    expect(
        page.locator('table.casebook a[data-form="sledai2k"][data-visit="W4"]')
    ).to_have_attribute("data-state", "not_started")
    screenshot(page, "workspace-casebook")
