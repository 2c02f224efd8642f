"""Typed data is not lost: leaving a form with unsaved changes asks first, a draft kept in the
browser is offered back after a reload and forgotten once saved, and eligibility answers ticked
quickly one after another are all saved; drafts are forgotten on signing out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Dialog, Page, expect

from ecrf.site_time import local_date
from tests.browser.pages import answer_checklist, sign_in
from tests.personas import load, make_team
from tests.world import consented, on_study
from trials.definitions import current_version, definition_of
from trials.models import EligibilityAnswer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_unsaved_entry_asks_before_leaving_keeps_a_draft_and_answers_all_save(
    page: Page, db
) -> None:
    team = make_team(load("nct03673748.yaml"))
    today = local_date(timezone.now(), team.site.time_zone)
    on_trial = on_study(team, day0=today - timedelta(days=10))
    screened = consented(team)
    dialogs: list[str] = []

    def answer(dialog: Dialog) -> None:
        # Stay on the page the first time it asks; leave when asked again.
        dialogs.append(dialog.type)
        if len(dialogs) == 1:
            dialog.dismiss()
        else:
            dialog.accept()

    page.on("dialog", answer)
    sign_in(page, team.investigator.username, team.password)
    expect(page.locator("#id_password")).to_have_count(0)

    # Eligibility: every criterion ticked in quick succession; each row ends "Saved" and every
    # answer is stored.
    page.goto(f"/trials/participants/{screened.pk}/")
    answer_checklist(page, team.trial)
    stored = EligibilityAnswer.objects.filter(participant=screened)
    criteria = definition_of(current_version(team.trial.pk)).eligibility
    assert stored.count() == len(criteria.inclusion) + len(criteria.exclusion)
    assert all(a.answer == a.criterion_code.startswith("IN") for a in stored)
    # Everything saved: leaving asks nothing.
    page.goto("/")
    assert dialogs == []

    # A lab value typed and not saved: "← Casebook" asks first, and staying keeps it.
    visit = on_trial.visits.get(code="SEL")
    entry = f"/casebook/{on_trial.pk}/renal/new/?visit={visit.pk}"
    page.goto(entry)
    page.click("#id_upcr_value")
    page.keyboard.type("3.2")
    page.click("text=← Casebook")
    expect(page.locator("#id_upcr_value")).to_have_value("3.2")
    assert dialogs == ["beforeunload"]

    # Reloading (leaving when asked again) offers the draft back, which restores the value.
    page.reload()
    assert dialogs == ["beforeunload", "beforeunload"]
    offer = page.locator("#draft-offer")
    expect(offer).to_be_visible()
    expect(offer).to_contain_text("Restore unsaved draft from")
    expect(page.locator("#id_upcr_value")).to_have_value("")
    page.click("#draft-offer [data-draft-restore]")
    expect(page.locator("#id_upcr_value")).to_have_value("3.2")
    expect(offer).to_be_hidden()

    # Saved: no question on the way, and no draft offered on return.
    page.fill("#id_assessment_date", (today - timedelta(days=11)).isoformat())
    page.select_option("#id_specimen_type", "24h_urine")
    page.select_option("#id_upcr_unit", "g/g")
    page.fill("#id_serum_creatinine_value", "0.97")
    page.select_option("#id_creatinine_unit", "mg/dL")
    page.click("form.entry-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("saved")
    drafts = "Object.keys(localStorage).filter((key) => key.startsWith('ecrf-draft:'))"
    assert page.evaluate(drafts) == []
    page.goto(entry)
    expect(page.locator("#id_upcr_value")).to_have_value("3.2000")
    expect(page.locator("#draft-offer")).to_be_hidden()
    assert dialogs == ["beforeunload", "beforeunload"]

    # A draft kept of a value typed and not saved is forgotten when the person signs out.
    page.goto(entry)
    page.click("#id_upcr_value")
    page.keyboard.type("4.1")
    assert len(page.evaluate(drafts)) == 1
    page.click("form[data-sign-out] button")
    expect(page.locator("#id_password")).to_be_visible()
    assert page.evaluate(drafts) == []
