"""The casebook pages in a browser: the checks and derived values appear while a SLEDAI-2K is
typed and nothing is saved; the top bar keeps to one line on a laptop and nothing makes the
page scroll sideways on a tablet; paper shows no navigation; and axe-core finds nothing serious
on the home page, the participant page, the casebook and the SLEDAI-2K form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import Page, expect

from assessments.models import SledaiAssessment
from ecrf.site_time import local_date
from tests.browser.pages import screenshot, sign_in
from tests.personas import load, make_team
from tests.world import on_study

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def serious_violations(page: Page) -> list[str]:
    """What axe-core (vendored by axe-playwright-python) finds of serious or critical impact."""
    found = Axe().run(page).response["violations"]
    return [
        f"{page.url}: {v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:5])
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def test_live_checks_layout_and_accessibility(page: Page, db) -> None:
    team = make_team(load("nct03673748.yaml"))
    today = local_date(timezone.now(), team.site.time_zone)
    participant = on_study(team, day0=today - timedelta(days=60))
    week4 = participant.visits.get(code="W4")
    problems: list[str] = []

    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, team.investigator.username, team.password)
    expect(page.locator("#id_password")).to_have_count(0)
    # One line: every item of the top bar stands at the height of the first.
    tops = page.eval_on_selector_all(
        ".topbar > *", "items => items.map(item => Math.round(item.getBoundingClientRect().top))"
    )
    assert max(tops) - min(tops) < 12, tops
    problems += serious_violations(page)
    page.goto(f"/trials/participants/{participant.pk}/")
    problems += serious_violations(page)
    page.goto(f"/casebook/{participant.pk}/")
    problems += serious_violations(page)

    page.goto(f"/casebook/{participant.pk}/sledai2k/new/?visit={week4.pk}")
    page.fill("#id_assessment_date", (today - timedelta(days=32)).isoformat())
    for item in ("prot", "hemat", "casts", "lowcomp", "dna"):
        page.check(f"#id_{item}")
    preview = page.locator("#live-preview")
    expect(preview).to_contain_text("Say whether haematuria is attributable to SLE.")
    page.select_option("#id_hemat_sle", "true")
    expect(preview.locator("[data-preview=values]")).to_contain_text("SLEDAI-2K total")
    expect(preview.locator("[data-preview=values]")).to_contain_text("16 points")
    expect(preview.locator("[data-preview=contributions]")).to_contain_text("Haematuria")
    expect(preview).to_contain_text("CASTS 4 + HEMAT 4 + PROT 4 + LOWCOMP 2 + DNA 2 = 16")
    problems += serious_violations(page)
    assert not SledaiAssessment.objects.exists()
    screenshot(page, "entry-live-preview")

    # On paper: no navigation and no buttons, the form's values kept.
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.locator("form.entry-form button[type=submit]")).to_be_hidden()
    expect(page.locator("#id_assessment_date")).to_be_visible()
    page.emulate_media(media="screen")

    # A tablet: the grids scroll inside their boxes, the page itself not sideways (a visually
    # hidden label inside a grid once widened the page).
    page.set_viewport_size({"width": 820, "height": 1180})
    for url in (f"/casebook/{participant.pk}/", f"/trials/participants/{participant.pk}/"):
        page.goto(url)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (url, overflow)
    screenshot(page, "participant-tablet")
    assert problems == [], "\n".join(problems)
