"""Treatment failure: a renal flare, chronic dialysis, a kidney transplant, death or a sustained
doubling of creatinine makes every renal response from its date on a non-response."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from assessments.models import RenalAssessment
from ecrf.errors import DomainError, PermissionDeniedError
from tests.assessments.test_renal_form import (
    BASELINE_DAY,
    INACTIVE,
    W24_DAY,
    msvle_with_all_rule_sets,
    prednisone,
    renal,
    save,
    wrong_users,
)
from tests.world import on_study

W12_DAY = date(2026, 5, 27)  # Day 84
W16_DAY = date(2026, 6, 24)  # Day 112: four weeks after week 12
W20_DAY = date(2026, 7, 22)  # Day 140
# Domain table case P1: baseline 3.2 g/g, creatinine 0.97 mg/dL (eGFR 78.1); follow-up
# 0.40 g/g, 0.93 mg/dL (eGFR 81.7), inactive sediment, prednisone 7.5 mg: CRR on its numbers.
GOOD = ("0.40", "g/g", "0.93")
SEDIMENT = {"urine_rbc_hpf": Decimal(3), **INACTIVE}
FAILURE_NOTE = "Treatment failure:"
DEATH_AT_W24 = {"status": "death", "last_contact_date": W24_DAY, "reason": "Sepsis"}


def baseline(team, participant) -> None:
    save(team, participant, "SEL", renal(BASELINE_DAY, "3.2", "g/g", "0.97"))
    save(team, participant, None, prednisone("7.5"), form="conmed")


def follow_up(team, participant, code, day, scr="0.93", **extra) -> RenalAssessment:
    upcr, unit, _ = GOOD
    return save(team, participant, code, renal(day, upcr, unit, scr, **SEDIMENT, **extra))


def w24_with(team, participant, event, on) -> RenalAssessment:
    """Week 24 with P1's numbers and a treatment failure `event` dated `on`."""
    return follow_up(team, participant, "W24", W24_DAY, failure_event=event, failure_event_date=on)


def responses() -> dict[str, tuple[str, bool]]:
    """Each assessment's category and whether its note names a treatment failure."""
    return {
        form.visit.code: (form.response_category, FAILURE_NOTE in form.response_note)
        for form in RenalAssessment.objects.select_related("visit")
        if form.response_category
    }


@pytest.mark.parametrize(
    ("event", "words"), [("renal_flare", "renal flare"), ("kidney_transplant", "kidney transplant")]
)
def test_an_event_makes_the_later_responses_non_response_and_leaves_earlier_ones(
    msvle, participant, event, words
) -> None:
    baseline(msvle, participant)
    follow_up(msvle, participant, "W12", W12_DAY)
    w24 = follow_up(msvle, participant, "W24", W24_DAY)
    assert w24.response_category == "CRR"
    # Recorded at week 16, dated between week 12 and week 16; week 24 was entered before.
    follow_up(
        msvle, participant, "W16", W16_DAY, failure_event=event, failure_event_date=date(2026, 6, 1)
    )
    assert responses() == {"W12": ("CRR", False), "W16": ("NR", True), "W24": ("NR", True)}
    w24.refresh_from_db()
    assert w24.row_version == 2
    assert f"Treatment failure: {words} on 2026-06-01; non-response from 2026-06-01 on." in (
        w24.response_note
    )
    last = w24.response_reasons[-1]
    assert (last["condition"], last["held"]) == ("treatment failure => NR", True)
    assert w24.history.first().history_change_reason == "Recomputed: baseline changed"


@pytest.mark.django_db
def test_every_secondary_rule_set_gives_non_response_too() -> None:
    team = msvle_with_all_rule_sets()
    participant = on_study(team)
    baseline(team, participant)
    form = w24_with(team, participant, "renal_flare", date(2026, 8, 1))
    assert form.response_category == "NR"
    assert {code: item["category"] for code, item in form.secondary_responses.items()} == {
        "kdigo2021": "NR",
        "bliss_ln": "NR",
    }


@pytest.mark.parametrize(
    ("end", "w24"),
    [
        (None, "NR"),  # ongoing: chronic from 2026-07-30, 90 days after its start
        (date(2026, 7, 29), "CRR"),  # 89 days: not chronic
        (date(2026, 7, 30), "NR"),  # 90 days: chronic from that day
    ],
)
def test_dialysis_counts_once_it_has_lasted_the_protocol_days(msvle, participant, end, w24) -> None:
    baseline(msvle, participant)
    follow_up(
        msvle,
        participant,
        "W12",
        W12_DAY,
        failure_event="dialysis",
        failure_event_date=date(2026, 5, 1),
        dialysis_end_date=end,
    )
    follow_up(msvle, participant, "W20", W20_DAY)  # 2026-07-22: 82 days after the start
    follow_up(msvle, participant, "W24", W24_DAY)
    assert responses() == {
        "W12": ("CRR", False),
        "W20": ("CRR", False),
        "W24": (w24, w24 == "NR"),
    }


def test_death_on_the_end_of_study_form_makes_responses_from_that_day_non_response(
    msvle, participant
) -> None:
    baseline(msvle, participant)
    follow_up(msvle, participant, "W20", W20_DAY)
    w24 = follow_up(msvle, participant, "W24", W24_DAY)
    save(
        msvle,
        participant,
        None,
        DEATH_AT_W24,
        form="end_of_study",
    )
    assert responses() == {"W20": ("CRR", False), "W24": ("NR", True)}
    w24.refresh_from_db()
    assert "death on 2026-08-19" in w24.response_note
    assert w24.history.first().history_change_reason.startswith("Recomputed: end of study")


@pytest.mark.parametrize(
    ("second_day", "sustained"),
    [
        (date(2026, 6, 23), False),  # 27 days after the first doubled value
        (W16_DAY, True),  # 28 days: the 4 weeks of the protocol
    ],
)
def test_doubling_of_creatinine_counts_when_confirmed_four_weeks_apart(
    msvle, participant, second_day, sustained
) -> None:
    baseline(msvle, participant)  # creatinine 0.97 mg/dL: doubled from 1.94
    follow_up(msvle, participant, "W12", W12_DAY, scr="1.94")
    follow_up(msvle, participant, "W16", second_day, scr="2.10")
    # Creatinine back to 0.93 at week 24: still a failure once the doubling was sustained.
    follow_up(msvle, participant, "W24", W24_DAY)
    found = responses()
    assert found["W12"] == ("NR", False)  # NR on its eGFR, not as treatment failure
    assert found["W16"] == ("NR", sustained)
    assert found["W24"] == (("NR", True) if sustained else ("CRR", False))


def test_a_single_doubled_creatinine_is_no_treatment_failure(msvle, participant) -> None:
    baseline(msvle, participant)
    follow_up(msvle, participant, "W12", W12_DAY, scr="2.5")
    follow_up(msvle, participant, "W16", W16_DAY, scr="1.90")  # below 1.94: the run ends
    follow_up(msvle, participant, "W20", W20_DAY, scr="2.5")
    follow_up(msvle, participant, "W24", W24_DAY)
    assert responses()["W24"] == ("CRR", False)
    assert not any(failed for _, failed in responses().values())


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"failure_event": "renal_flare"}, "failure_event_date", "Give the date"),
        ({"failure_event_date": date(2026, 8, 1)}, "failure_event", "Say which"),
        (
            {
                "failure_event": "renal_flare",
                "failure_event_date": date(2026, 8, 1),
                "dialysis_end_date": date(2026, 8, 10),
            },
            "dialysis_end_date",
            "needs dialysis",
        ),
        (
            {
                "failure_event": "dialysis",
                "failure_event_date": date(2026, 8, 1),
                "dialysis_end_date": date(2026, 7, 10),
            },
            "dialysis_end_date",
            "cannot end before",
        ),
        (
            {"failure_event": "kidney_transplant", "failure_event_date": date(2026, 9, 5)},
            "failure_event_date",
            "future",
        ),
        ({"failure_event": "nephrectomy"}, "failure_event", "not accepted"),
    ],
)
def test_an_incomplete_event_is_refused_and_nothing_is_written(
    msvle, participant, change, field, message
) -> None:
    with pytest.raises(DomainError) as caught:
        follow_up(msvle, participant, "W24", W24_DAY, **change)
    assert message in caught.value.fields[field][0]
    assert not RenalAssessment.objects.exists()


def test_an_event_before_day0_is_not_counted_and_the_site_is_told(msvle, participant) -> None:
    baseline(msvle, participant)
    form = w24_with(msvle, participant, "renal_flare", date(2026, 3, 1))
    assert form.response_category == "CRR"
    warned = {w["field"]: w["message"] for w in form.warnings}
    assert "precedes Day 0" in warned["failure_event_date"]


def test_wrong_users_cannot_record_a_treatment_failure(msvle, participant) -> None:
    baseline(msvle, participant)
    w24 = follow_up(msvle, participant, "W24", W24_DAY)
    event = {"failure_event": "kidney_transplant", "failure_event_date": date(2026, 8, 1)}
    for actor in wrong_users(msvle):
        with pytest.raises(PermissionDeniedError):
            save(
                msvle,
                participant,
                "W24",
                event,
                actor=actor,
                expected_version=w24.row_version,
                reason="Transplant",
            )
        with pytest.raises(PermissionDeniedError):
            save(
                msvle,
                participant,
                None,
                DEATH_AT_W24,
                form="end_of_study",
                actor=actor,
            )
    w24.refresh_from_db()
    assert (w24.failure_event, w24.response_category, w24.row_version) == ("", "CRR", 1)


def test_the_page_shows_the_treatment_failure_reason(client, msvle, participant) -> None:
    baseline(msvle, participant)
    form = w24_with(msvle, participant, "kidney_transplant", date(2026, 8, 1))
    client.force_login(msvle.monitor)
    page = client.get(f"/casebook/{participant.pk}/renal/{form.pk}/").content.decode()
    assert "treatment failure =&gt; NR: kidney transplant on 2026-08-01\n" in page
    assert "non-response from 2026-08-01 on." in page
