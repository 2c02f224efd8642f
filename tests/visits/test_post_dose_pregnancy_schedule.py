"""The protocols schedule pregnancy tests after dosing: the visits made from the schedule
expect the pregnancy form after each infusion, and it is entered there."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from assessments.services import form_save
from casebook.catalogue import form_type
from ecrf.errors import DomainError
from tests.assessments.test_renal_form import enrolled_in_cohort

ENTERED = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)


def expecting_pregnancy(participant) -> list[str]:
    return [
        visit.code
        for visit in participant.visits.order_by("target_date")
        if "pregnancy" in visit.forms
    ]


def test_trial_a_expects_a_pregnancy_test_before_and_after_the_infusion(participant) -> None:
    assert expecting_pregnancy(participant) == ["SEL", "D0", "W4", "W12"]


def test_trial_b_expects_a_pregnancy_test_after_each_infusion(mscrole) -> None:
    participant = enrolled_in_cohort(mscrole)
    assert expecting_pregnancy(participant) == ["SCR", "M0", "M1", "M6", "M9"]


def save_test(team, participant, code: str):
    return form_save(
        actor=team.coordinator,
        ftype=form_type("pregnancy"),
        participant=participant,
        visit=participant.visits.get(code=code),
        data={
            "applicable": True,
            "test_date": date(2026, 4, 1),
            "test_type": "urine",
            "result": "negative",
        },
        now=ENTERED,
    )


def test_the_post_dose_test_is_entered_at_its_visit_and_not_elsewhere(msvle, participant) -> None:
    assert save_test(msvle, participant, "W4").result == "negative"
    with pytest.raises(DomainError, match="Visit W8 does not collect Pregnancy test"):
        save_test(msvle, participant, "W8")
