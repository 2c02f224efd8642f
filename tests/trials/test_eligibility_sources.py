"""Eligibility answers checked against the entered screening forms, and the criteria confirmed
again on the day of randomization."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from assessments.services import form_save
from casebook.catalogue import form_type
from ecrf.errors import DomainError, PermissionDeniedError
from tests.personas import NOW
from tests.world import (
    consented,
    make_eligible,
    reconfirm_for_randomization,
    with_allocation,
)
from trials.models import EligibilityReconfirmation, ParticipantStatus
from trials.services import (
    eligibility_answer,
    eligibility_confirm,
    eligibility_reconfirm,
    participant_randomize,
)
from trials.services.participants import eligibility_outcome

UPCR_SENTENCE = (
    "Inclusion 5 answered met, but the screening UPCR is 0.8 g/g (needs at least 1 g/g)."
)


def screened(team, *, answers=None):
    """A consented participant with every criterion answered (inclusions met, exclusions not
    applying, unless `answers` says otherwise)."""
    participant = consented(team)
    for code in eligibility_outcome(participant)["unanswered"]:
        eligibility_answer(
            actor=team.coordinator,
            participant=participant,
            criterion_code=code,
            answer=(answers or {}).get(code, code.startswith("IN")),
            now=NOW,
        )
    return participant


def enter(team, participant, form, visit, data, **kwargs):
    return form_save(
        actor=kwargs.pop("actor", team.coordinator),
        ftype=form_type(form),
        participant=participant,
        visit=participant.visits.get(code=visit),
        data=data,
        now=NOW,
        **kwargs,
    )


def renal(upcr, creatinine="0.8"):
    return {
        "assessment_date": NOW.date(),
        "specimen_type": "24h_urine",
        "upcr_value": Decimal(upcr),
        "upcr_unit": "g/g",
        "serum_creatinine_value": Decimal(creatinine),
        "creatinine_unit": "mg/dL",
    }


def test_a_contradiction_blocks_confirmation_with_the_values(mscrole) -> None:
    participant = screened(mscrole)
    enter(mscrole, participant, "renal", "SCR", renal("0.8"))
    outcome = eligibility_outcome(participant)
    assert outcome["contradictions"] == [UPCR_SENTENCE]
    with pytest.raises(DomainError) as caught:
        eligibility_confirm(actor=mscrole.investigator, participant=participant, now=NOW)
    assert UPCR_SENTENCE in caught.value.message
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.SCREENING


def test_the_limit_itself_agrees_and_passes(mscrole) -> None:
    participant = screened(mscrole)
    # 1 g/g exactly meets "UPC ratio >= 1"; creatinine 0.8 mg/dL gives an eGFR well above 40.
    enter(mscrole, participant, "renal", "SCR", renal("1.0"))
    outcome = eligibility_outcome(participant)
    assert outcome["contradictions"] == []
    assert "IN05" not in outcome["unverified"] and "EX01" not in outcome["unverified"]
    confirmed = eligibility_confirm(actor=mscrole.investigator, participant=participant, now=NOW)
    assert confirmed.status == ParticipantStatus.ELIGIBLE


def test_an_exclusion_the_data_show_applying_blocks(mscrole) -> None:
    participant = screened(mscrole)
    # A creatinine of 3 mg/dL at 35 years gives an eGFR below 40.
    enter(mscrole, participant, "renal", "SCR", renal("2.0", creatinine="3.0"))
    [sentence] = eligibility_outcome(participant)["contradictions"]
    assert sentence.startswith("Exclusion 1 answered not applying, but the screening eGFR is ")
    assert sentence.endswith("ml/min/m2 (it applies when below 40 ml/min/m2).")
    with pytest.raises(DomainError, match="Exclusion 1 answered not applying"):
        eligibility_confirm(actor=mscrole.investigator, participant=participant, now=NOW)


def test_an_answer_without_its_source_value_is_unverified_but_not_blocking(mscrole, client) -> None:
    participant = screened(mscrole)
    outcome = eligibility_outcome(participant)
    assert {"IN02", "IN03", "IN05", "EX01"} <= set(outcome["unverified"])
    assert (
        "Inclusion 5 answered met; not verified: the screening UPCR is not entered."
        in outcome["unverified_notes"]
    )
    client.force_login(mscrole.coordinator)
    answer = client.get(f"/api/v1/participants/{participant.pk}/eligibility/")
    assert answer.status_code == 200
    assert "IN05" in answer.json()["outcome"]["unverified"]
    page = client.get(f"/trials/participants/{participant.pk}/")
    assert "not verified: the screening UPCR is not entered" in page.content.decode()
    confirmed = eligibility_confirm(actor=mscrole.investigator, participant=participant, now=NOW)
    assert confirmed.status == ParticipantStatus.ELIGIBLE


def test_an_ana_titre_proves_inclusion_2_but_a_low_one_does_not_refute_it(mscrole) -> None:
    participant = screened(mscrole, answers={"IN02": False})
    enter(
        mscrole,
        participant,
        "labs",
        "SCR",
        {"sample_date": NOW.date(), "ana_result": "positive", "ana_titre": 160},
    )
    assert eligibility_outcome(participant)["contradictions"] == [
        "Inclusion 2 answered not met, but the screening ANA titre is 1:160 (needs at least 1:80)."
    ]
    other = screened(mscrole)
    # 1:40 is below 1:80, yet anti-DNA antibodies may meet inclusion 2: no contradiction.
    enter(
        mscrole,
        other,
        "labs",
        "SCR",
        {"sample_date": NOW.date(), "ana_result": "positive", "ana_titre": 40},
    )
    outcome = eligibility_outcome(other)
    assert outcome["contradictions"] == [] and "IN02" not in outcome["unverified"]


def test_trial_a_sledai_and_serology_at_selection(msvle) -> None:
    participant = screened(msvle)
    enter(
        msvle,
        participant,
        "sledai2k",
        "SEL",
        {"assessment_date": NOW.date(), "window_days": 10, "prot": True, "casts": True},
        actor=msvle.investigator,
    )
    enter(
        msvle,
        participant,
        "labs",
        "SEL",
        {"sample_date": NOW.date(), "hiv_result": "negative", "hcv_result": "positive"},
    )
    assert eligibility_outcome(participant)["contradictions"] == [
        "Inclusion 5 answered met, but the selection SLEDAI-2K total is 8 points (needs at "
        "least 10 points).",
        "Exclusion 17 answered not applying, but the selection HCV serology is positive (it "
        "applies when positive).",
    ]
    with pytest.raises(DomainError, match="SLEDAI-2K total is 8 points"):
        eligibility_confirm(actor=msvle.investigator, participant=participant, now=NOW)


def test_the_wrong_site_cannot_confirm_or_read_the_checklist(mscrole, client) -> None:
    participant = screened(mscrole)
    enter(mscrole, participant, "renal", "SCR", renal("0.8"))
    with pytest.raises(PermissionDeniedError):
        eligibility_confirm(actor=mscrole.other_coordinator, participant=participant, now=NOW)
    client.force_login(mscrole.other_coordinator)
    answer = client.get(f"/api/v1/participants/{participant.pk}/eligibility/")
    assert answer.status_code == 404
    assert "UPCR" not in answer.content.decode()


# Randomization: trial A's exclusion 10 (ECG) must hold on the day of randomization.


def test_randomization_refuses_until_the_ecg_criterion_is_confirmed_again(msvle) -> None:
    with_allocation(msvle)
    participant = make_eligible(msvle, reconfirm=False)
    with pytest.raises(DomainError) as caught:
        participant_randomize(actor=msvle.coordinator, participant=participant, now=NOW)
    assert caught.value.message == (
        "Exclusion 10 must hold on the day of randomization: confirm it again today "
        "(2026-03-02 at the site) before randomizing."
    )
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.ELIGIBLE
    reconfirm_for_randomization(msvle, participant, now=NOW)
    randomized = participant_randomize(
        actor=msvle.coordinator, participant=participant, now=NOW + timedelta(hours=2)
    )
    assert randomized.status == ParticipantStatus.RANDOMIZED


def test_a_confirmation_of_the_day_before_at_the_site_is_not_enough(msvle) -> None:
    with_allocation(msvle)
    participant = make_eligible(msvle, reconfirm=False)
    # 22:30 UTC on 2 March is 23:30 on 2 March in Madrid; 23:15 UTC is already 3 March there.
    late_evening = datetime(2026, 3, 2, 22, 30, tzinfo=UTC)
    reconfirm_for_randomization(msvle, participant, now=late_evening)
    after_midnight = datetime(2026, 3, 2, 23, 15, tzinfo=UTC)
    with pytest.raises(DomainError, match=r"confirm it again today \(2026-03-03 at the site\)"):
        participant_randomize(actor=msvle.coordinator, participant=participant, now=after_midnight)
    reconfirm_for_randomization(msvle, participant, now=after_midnight)
    randomized = participant_randomize(
        actor=msvle.coordinator, participant=participant, now=after_midnight
    )
    assert randomized.status == ParticipantStatus.RANDOMIZED


def test_an_ecg_criterion_found_applying_that_day_refuses_randomization(msvle) -> None:
    with_allocation(msvle)
    participant = make_eligible(msvle, reconfirm=False)
    eligibility_reconfirm(
        actor=msvle.coordinator,
        participant=participant,
        criterion_code="EX10",
        answer=True,
        comment="New atrial fibrillation",
        now=NOW,
    )
    with pytest.raises(DomainError, match="Exclusion 10 applies on the day of randomization"):
        participant_randomize(actor=msvle.coordinator, participant=participant, now=NOW)
    # A later confirmation the same day that it no longer applies lets randomization go on.
    reconfirm_for_randomization(msvle, participant, now=NOW + timedelta(hours=1))
    assert (
        participant_randomize(
            actor=msvle.coordinator, participant=participant, now=NOW + timedelta(hours=1)
        ).status
        == ParticipantStatus.RANDOMIZED
    )


def test_only_site_staff_of_the_site_confirm_again_and_only_listed_criteria(msvle) -> None:
    participant = make_eligible(msvle, reconfirm=False)
    for actor in (msvle.other_coordinator, msvle.monitor, msvle.statistician):
        with pytest.raises(PermissionDeniedError):
            eligibility_reconfirm(
                actor=actor,
                participant=participant,
                criterion_code="EX10",
                answer=False,
                now=NOW,
            )
    with pytest.raises(DomainError, match="EX09 is not a criterion the protocol asks"):
        eligibility_reconfirm(
            actor=msvle.coordinator,
            participant=participant,
            criterion_code="EX09",
            answer=False,
            now=NOW,
        )
    assert not EligibilityReconfirmation.objects.exists()


def test_trial_b_asks_for_no_confirmation_on_the_day(mscrole) -> None:
    participant = make_eligible(mscrole, reconfirm=False)
    with pytest.raises(DomainError, match="is not a criterion the protocol asks"):
        eligibility_reconfirm(
            actor=mscrole.coordinator,
            participant=participant,
            criterion_code="EX01",
            answer=False,
            now=NOW,
        )


def test_the_api_refuses_confirmation_again_from_another_site(msvle, client) -> None:
    participant = make_eligible(msvle, reconfirm=False)
    client.force_login(msvle.other_coordinator)
    answer = client.post(
        f"/api/v1/participants/{participant.pk}/eligibility/reconfirm/",
        {"criterion_code": "EX10", "answer": False},
        content_type="application/json",
    )
    assert answer.status_code == 404
    client.force_login(msvle.monitor)
    answer = client.post(
        f"/api/v1/participants/{participant.pk}/eligibility/reconfirm/",
        {"criterion_code": "EX10", "answer": False},
        content_type="application/json",
    )
    assert answer.status_code == 403
    assert not EligibilityReconfirmation.objects.exists()
