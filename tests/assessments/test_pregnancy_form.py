"""Pregnancy test: required when applicable, a positive result and a male participant warn."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from assessments.models import PregnancyTest
from assessments.services import form_save
from casebook.catalogue import form_type
from ecrf.errors import DomainError, PermissionDeniedError
from tests.personas import NOW as SETUP_NOW
from tests.world import DAY0, make_eligible, register, with_allocation
from trials.services import participant_randomize
from visits.services import participant_set_day0

NOW = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
NEGATIVE = {
    "applicable": True,
    "test_date": date(2026, 3, 4),
    "test_type": "urine",
    "result": "negative",
}


def save(team, participant, data, *, code="D0", actor=None, **kwargs):
    return form_save(
        actor=actor or team.coordinator,
        ftype=form_type("pregnancy"),
        participant=participant,
        visit=participant.visits.get(code=code),
        data=data,
        now=NOW,
        **kwargs,
    )


def test_negative_test_of_a_woman_of_childbearing_potential(msvle, participant) -> None:
    form = save(msvle, participant, NEGATIVE)
    assert (form.result, form.warnings) == ("negative", [])


def test_not_applicable_needs_no_test(msvle, participant) -> None:
    form = save(msvle, participant, {"applicable": False})
    assert (form.applicable, form.result) == (False, "")


def test_positive_result_warns_and_says_not_to_dose(msvle, participant) -> None:
    form = save(msvle, participant, {**NEGATIVE, "result": "positive"})
    assert form.warnings[0]["field"] == "result"
    assert "Do not give the study infusion" in form.warnings[0]["message"]
    at_selection = save(
        msvle,
        participant,
        {**NEGATIVE, "test_date": date(2026, 3, 2), "result": "positive"},
        code="SEL",
    )
    assert "Do not give" not in at_selection.warnings[0]["message"]


@pytest.mark.django_db
def test_male_participant_with_childbearing_potential_warns(msvle) -> None:
    with_allocation(msvle)
    participant = participant_randomize(
        actor=msvle.coordinator,
        participant=make_eligible(msvle, register(msvle, sex="M")),
        now=SETUP_NOW,
    )
    participant = participant_set_day0(
        actor=msvle.coordinator, participant=participant, day0=DAY0, now=SETUP_NOW
    )
    form = save(msvle, participant, NEGATIVE)
    assert [w["field"] for w in form.warnings] == ["applicable"]
    assert "recorded as male" in form.warnings[0]["message"]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"applicable": True, "test_date": date(2026, 3, 4)}, "result", "Required for a"),
        ({**NEGATIVE, "applicable": False}, "applicable", "leave the test empty"),
        ({**NEGATIVE, "test_type": "saliva"}, "test_type", "saliva is not accepted here"),
        ({**NEGATIVE, "test_date": date(2026, 2, 1)}, "test_date", "before informed consent"),
        ({**NEGATIVE, "applicable": None}, "applicable", "Required."),
    ],
)
def test_hard_checks_refuse_and_write_nothing(msvle, participant, data, field, message) -> None:
    with pytest.raises(DomainError) as caught:
        save(msvle, participant, data)
    assert message in caught.value.fields[field][0]
    assert not PregnancyTest.objects.exists()


def test_wrong_roles_and_other_site_cannot_enter(msvle, participant) -> None:
    for actor in (msvle.pharmacist, msvle.monitor, msvle.other_coordinator, msvle.statistician):
        with pytest.raises(PermissionDeniedError):
            save(msvle, participant, NEGATIVE, actor=actor)
    assert not PregnancyTest.objects.exists()
