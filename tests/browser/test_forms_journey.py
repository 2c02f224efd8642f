"""An investigator enters a participant's clinical forms through the casebook pages: the renal
baseline at selection, a SLEDAI-2K at week 4 and the renal assessment at week 24, and reads the
scores and the renal response the server derived, each with its rule."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from assessments.models import RenalAssessment, SledaiAssessment
from assessments.scoring import get_rule_set
from ecrf.site_time import local_date
from tests.browser.pages import screenshot, sign_in
from tests.personas import load, make_team
from tests.world import on_study
from trials.models import Participant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def grid_cell(page: Page, visit_code: str, form_code: str) -> Locator:
    """The form's icon in its row of the casebook, under the visit's column."""
    return page.locator(f'table.casebook a[data-form="{form_code}"][data-visit="{visit_code}"]')


def open_entry(page: Page, participant: Participant, visit_code: str, form_code: str) -> None:
    page.goto(f"/casebook/{participant.pk}/")
    cell = grid_cell(page, visit_code, form_code)
    expect(cell).to_have_attribute("data-state", "not_started")
    cell.click()
    expect(page.locator("h1")).to_contain_text(visit_code)


def save(page: Page) -> None:
    page.click("form.entry-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("saved")


def enter_renal(page: Page, day: date, upcr: str, scr: str, sediment: dict[str, str]) -> None:
    page.fill("#id_assessment_date", day.isoformat())
    page.select_option("#id_specimen_type", "24h_urine")
    page.fill("#id_upcr_value", upcr)
    page.select_option("#id_upcr_unit", "g/g")
    page.fill("#id_serum_creatinine_value", scr)
    page.select_option("#id_creatinine_unit", "mg/dL")
    for name, value in sediment.items():
        if name.endswith("casts"):
            page.select_option(f"#id_{name}", value)
        else:
            page.fill(f"#id_{name}", value)
    save(page)


def test_investigator_enters_renal_and_sledai_and_reads_the_response(page: Page, db) -> None:
    team = make_team(load("nct03673748.yaml"))
    today = local_date(timezone.now(), team.site.time_zone)
    # Day 0 about 200 days ago: week 24 (Day 168) has passed.
    day0 = today - timedelta(days=200)
    participant = on_study(team, day0=day0)
    # Born about a month before Day 0, 35 years earlier: 35 years old at every visit entered.
    birthday = day0 - timedelta(days=30)
    Participant.objects.filter(pk=participant.pk).update(
        sex="F", date_of_birth=date(birthday.year - 35, birthday.month, min(birthday.day, 28))
    )
    baseline_day = day0 - timedelta(days=1)
    week4_day = day0 + timedelta(days=28)
    week24_day = day0 + timedelta(days=168)

    sign_in(page, team.investigator.username, team.password)
    expect(page.locator("#id_password")).to_have_count(0)
    page.goto(f"/casebook/{participant.pk}/")
    expect(page.locator("h1")).to_contain_text(f"Casebook of {participant.identifier}")
    expect(grid_cell(page, "W24", "renal")).to_contain_text("Renal assessment: Not started")

    # Baseline at selection: P1's 3.2 g/g, creatinine 0.97 mg/dL (CKD-EPI 2021, female, 35).
    open_entry(page, participant, "SEL", "renal")
    enter_renal(page, baseline_day, "3.2", "0.97", {})
    derivation = page.locator("#derivation")
    expect(derivation).to_contain_text(
        "eGFR 78.1 mL/min/1.73 m2 by CKD-EPI 2021 (race-free), age 35 years."
    )
    expect(derivation).to_contain_text("precedes Day 0")
    screenshot(page, "forms-renal-baseline")

    # SLEDAI-2K worked example 1, ticked item by item.
    open_entry(page, participant, "W4", "sledai2k")
    page.fill("#id_assessment_date", week4_day.isoformat())
    page.select_option("#id_window_days", "10")
    for item in ("prot", "hemat", "casts", "lowcomp", "dna"):
        page.check(f"#id_{item}")
    page.select_option("#id_hemat_sle", "true")
    save(page)
    sledai = SledaiAssessment.objects.get(participant=participant)
    rule = f"{sledai.calculator} {sledai.calculator_version}, 10-day window: "
    expect(page.locator("#derivation")).to_contain_text(
        rule + "CASTS 4 + HEMAT 4 + PROT 4 + LOWCOMP 2 + DNA 2 = 16"
    )
    assert sledai.total == 16
    screenshot(page, "forms-sledai-week4")

    # Week 24: P1's follow-up, 0.40 g/g, creatinine 0.93 mg/dL, inactive sediment.
    open_entry(page, participant, "W24", "renal")
    enter_renal(
        page,
        week24_day,
        "0.40",
        "0.93",
        {
            "urine_rbc_hpf": "3",
            "urine_wbc_hpf": "1",
            "rbc_casts": "false",
            "cellular_casts": "false",
        },
    )
    eular = get_rule_set("eular2019").calculator
    derivation = page.locator("#derivation")
    expect(derivation).to_contain_text(
        "eGFR 82.2 mL/min/1.73 m2 by CKD-EPI 2021 (race-free), age 35 years."
    )
    expect(derivation).to_contain_text(
        f"{eular.name} {eular.version}, week 24 against the baseline of "
        f"{baseline_day.isoformat()}: CRR."
    )
    # Why: 0.40 g/g below 0.5, and 82.2 at least 90 % of the baseline 78.1.
    expect(derivation).to_contain_text("P1 0.4 < T_CR 0.5: yes")
    screenshot(page, "forms-renal-week24")

    # The grid now shows the three forms entered: complete, or with a query the server opened
    # on a warning it kept.
    page.goto(f"/casebook/{participant.pk}/")
    for visit_code, form_code in (("SEL", "renal"), ("W4", "sledai2k"), ("W24", "renal")):
        expect(grid_cell(page, visit_code, form_code)).to_have_attribute(
            "data-state", re.compile("^(complete|query_open)$")
        )
    screenshot(page, "forms-casebook-grid")
    stored = RenalAssessment.objects.get(participant=participant, visit__code="W24")
    assert (str(stored.egfr), stored.response_category) == ("82.2", "CRR")
