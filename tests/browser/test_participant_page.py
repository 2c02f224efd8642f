"""The participant page on a laptop screen: what staff need first is above the fold, and the
participant's charts draw."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.pages import screenshot, sign_in
from tests.personas import load, make_team
from tests.world import enter_sledai, on_study

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOLD = 768


def test_summary_is_above_the_fold_and_the_chart_draws(page: Page, db) -> None:
    team = make_team(load("nct03673748.yaml"))
    participant = on_study(team)
    enter_sledai(team, participant, "W4")
    page.set_viewport_size({"width": 1366, "height": FOLD})
    sign_in(page, team.coordinator.username, team.password)
    page.goto(f"/trials/participants/{participant.pk}/")

    for selector in ("h1", "#status dl", "#next-visit", "#status nav"):
        box = page.locator(selector).bounding_box()
        assert box is not None, selector
        assert box["y"] + box["height"] <= FOLD, selector
    expect(page.locator("#next-visit")).to_contain_text("Next visit:")
    # The rarely used actions stay folded until asked for.
    expect(page.locator("#withdraw form")).to_be_hidden()
    screenshot(page, "participant-page-1366x768")

    page.click("#status nav >> text=Charts")
    chart = page.locator("#chart-sledai img")
    expect(chart).to_be_visible()
    page.wait_for_function(
        "() => { const i = document.querySelector('#chart-sledai img');"
        " return i.complete && i.naturalWidth > 0; }"
    )
    expect(page.locator("#chart-sledai table")).to_contain_text("16")
    screenshot(page, "participant-charts")
