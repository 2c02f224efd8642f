"""Medical history at selection: partial diagnosis date, ISN/RPS class, biopsy look-back."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from assessments.models import MedicalHistory
from assessments.services import form_save
from casebook.catalogue import form_type
from ecrf.errors import DomainError, PermissionDeniedError
from tests.assessments.test_renal_form import enrolled_in_cohort

NOW = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
# The selection visit opened at registration, 2 March 2026.
HISTORY = {
    "sle_diagnosis_date": "2019-06",
    "classification": "both",
    "ln_biopsy_date": date(2026, 1, 10),
    "isn_rps_class": "IV+V",
    "relapse": False,
}


def save(team, participant, data, *, code="SEL", actor=None, **kwargs):
    return form_save(
        actor=actor or team.investigator,
        ftype=form_type("medical_history"),
        participant=participant,
        visit=participant.visits.get(code=code),
        data=data,
        now=NOW,
        **kwargs,
    )


def test_history_within_the_look_back(msvle, participant) -> None:
    form = save(msvle, participant, HISTORY)
    assert (form.sle_diagnosis_date, form.isn_rps_class) == ("2019-06", "IV+V")
    assert form.biopsy_months_before_selection == 1
    assert form.warnings == []


@pytest.mark.parametrize(
    ("biopsy", "relapse", "warned"),
    [
        (date(2025, 9, 1), False, True),  # 6 months and a day before selection
        (date(2025, 9, 2), False, False),  # exactly 6 months
        (date(2025, 7, 1), True, False),  # a relapse may use a biopsy up to 12 months old
        (date(2025, 3, 1), True, True),
    ],
)
def test_biopsy_older_than_the_protocol_look_back_warns(
    msvle, participant, biopsy, relapse, warned
) -> None:
    form = save(msvle, participant, {**HISTORY, "ln_biopsy_date": biopsy, "relapse": relapse})
    messages = [w["message"] for w in form.warnings if w["field"] == "ln_biopsy_date"]
    assert bool(messages) is warned
    if warned:
        limit = "12 months for a relapse" if relapse else "6 months."
        assert limit in messages[0]


def test_trial_b_look_back_is_twelve_months(mscrole) -> None:
    participant = enrolled_in_cohort(mscrole)
    kept = save(mscrole, participant, {**HISTORY, "ln_biopsy_date": date(2025, 7, 1)}, code="SCR")
    assert kept.warnings == []
    old = save(
        mscrole,
        participant,
        {"ln_biopsy_date": date(2025, 1, 15)},
        code="SCR",
        expected_version=1,
        reason="Biopsy date from the pathology report",
    )
    assert "at most 12 months" in old.warnings[0]["message"]
    assert old.biopsy_months_before_selection == 13


def test_biopsy_before_the_diagnosis_is_questioned(msvle, participant) -> None:
    form = save(msvle, participant, {**HISTORY, "sle_diagnosis_date": "2026-02"})
    assert "precedes the SLE diagnosis" in form.warnings[0]["message"]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"sle_diagnosis_date": "2019-13"}, "sle_diagnosis_date", "YYYY, YYYY-MM or YYYY-MM-DD"),
        ({"sle_diagnosis_date": "1980"}, "sle_diagnosis_date", "before the participant's birth"),
        ({"ln_biopsy_date": date(2026, 9, 5)}, "ln_biopsy_date", "in the future"),
        ({"isn_rps_class": "VII"}, "isn_rps_class", "VII is not accepted here"),
        ({"classification": "acr1982"}, "classification", "acr1982 is not accepted here"),
        ({"relapse": None}, "relapse", "Required."),
    ],
)
def test_hard_checks_refuse_and_write_nothing(msvle, participant, change, field, message) -> None:
    with pytest.raises(DomainError) as caught:
        save(msvle, participant, {**HISTORY, **change})
    assert message in caught.value.fields[field][0]
    assert not MedicalHistory.objects.exists()


def test_only_at_selection_and_only_by_site_staff(msvle, participant) -> None:
    with pytest.raises(DomainError, match="does not collect Medical history"):
        save(msvle, participant, HISTORY, code="W4")
    for actor in (msvle.pharmacist, msvle.monitor, msvle.other_coordinator):
        with pytest.raises(PermissionDeniedError):
            save(msvle, participant, HISTORY, actor=actor)
    assert not MedicalHistory.objects.exists()
