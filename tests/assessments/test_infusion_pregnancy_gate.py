"""No infusion is recorded as given to a participant of childbearing potential without a
negative pregnancy test in the protocol's window before it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from rest_framework.test import APIClient

from assessments.models import Infusion
from assessments.services import form_save
from casebook.catalogue import form_type
from ecrf.errors import DomainError
from tests.assessments.test_infusion_form import ADMINISTRATION
from tests.assessments.test_infusion_form import save as save_infusion
from tests.world import on_study

NEGATIVE = {"applicable": True, "test_date": date(2026, 3, 4), "test_type": "urine"}
NOT_GIVEN = {
    "weight_kg": ADMINISTRATION["weight_kg"],
    "weight_date": ADMINISTRATION["weight_date"],
    "given": False,
    "not_given_reason": "Positive pregnancy test",
}
# A later Day 0, so that a test can lie after consent (2026-03-02) and outside the 72 hours.
LATE_DAY0 = date(2026, 3, 10)
LATE_NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
LATE_ADMINISTRATION = {
    **ADMINISTRATION,
    "weight_date": LATE_DAY0,
    "start_time": datetime(2026, 3, 10, 9, 0, tzinfo=UTC),
    "stop_time": datetime(2026, 3, 10, 10, 0, tzinfo=UTC),
}


def save_test(team, participant, *, result="negative", code="D0", now=None, **data):
    return form_save(
        actor=team.coordinator,
        ftype=form_type("pregnancy"),
        participant=participant,
        visit=participant.visits.get(code=code),
        data={**NEGATIVE, "result": result, **data} if result else data,
        now=now or datetime(2026, 9, 1, 10, 0, tzinfo=UTC),
    )


def refused(team, participant, data=ADMINISTRATION, **kwargs) -> str:
    with pytest.raises(DomainError) as caught:
        save_infusion(team, participant, data, **kwargs)
    assert not Infusion.objects.exists()
    return caught.value.fields["given"][0]


def test_positive_test_at_day0_refuses_the_infusion_as_given(msvle, participant) -> None:
    save_test(msvle, participant, result="positive")
    assert refused(msvle, participant) == (
        "No negative pregnancy test in the 72 hours before the infusion "
        "(last test: positive on 2026-03-04)."
    )


def test_positive_test_refuses_even_after_a_negative_one_in_the_window(msvle) -> None:
    participant = on_study(msvle, day0=LATE_DAY0)
    save_test(msvle, participant, code="SEL", test_date=date(2026, 3, 8))
    save_test(msvle, participant, result="positive", test_date=date(2026, 3, 10))
    message = refused(msvle, participant, LATE_ADMINISTRATION, now=LATE_NOW)
    assert "(last test: positive on 2026-03-10)" in message


def test_no_test_before_the_infusion_refuses_it(msvle) -> None:
    participant = on_study(msvle, day0=LATE_DAY0)
    # Of childbearing potential, but the only test is dated the day after the infusion.
    save_test(msvle, participant, test_date=date(2026, 3, 11))
    message = refused(msvle, participant, LATE_ADMINISTRATION, now=LATE_NOW)
    assert message == (
        "No negative pregnancy test in the 72 hours before the infusion "
        "(no test before the infusion)."
    )


def test_negative_test_in_the_window_allows_the_infusion(msvle, participant) -> None:
    save_test(msvle, participant)
    form = save_infusion(msvle, participant, ADMINISTRATION)
    assert (form.given, form.warnings) == (True, [])


def test_negative_test_outside_the_window_does_not_count(msvle) -> None:
    participant = on_study(msvle, day0=LATE_DAY0)
    save_test(msvle, participant, code="SEL", test_date=date(2026, 3, 3))
    message = refused(msvle, participant, LATE_ADMINISTRATION, now=LATE_NOW)
    assert message == (
        "No negative pregnancy test in the 72 hours before the infusion "
        "(last test: negative on 2026-03-03)."
    )
    save_test(msvle, participant, test_date=date(2026, 3, 7))
    form = save_infusion(msvle, participant, LATE_ADMINISTRATION, now=LATE_NOW)
    assert form.given is True


def test_not_of_childbearing_potential_is_not_refused(msvle, participant) -> None:
    save_test(msvle, participant, result=None, applicable=False)
    assert save_infusion(msvle, participant, ADMINISTRATION).given is True


def test_infusion_not_given_is_not_refused(msvle, participant) -> None:
    save_test(msvle, participant, result="positive")
    form = save_infusion(msvle, participant, NOT_GIVEN)
    assert (form.given, form.not_given_reason) == (False, "Positive pregnancy test")


def test_the_refusal_reaches_the_client_and_saves_nothing(msvle, participant) -> None:
    save_test(msvle, participant, result="positive")
    api = APIClient()
    api.force_login(msvle.coordinator)
    visit = participant.visits.get(code="D0")
    response = api.post(
        f"/api/v1/participants/{participant.pk}/forms/infusion/",
        {"visit": visit.pk, "data": ADMINISTRATION},
        format="json",
    )
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["fields"]["given"] == [
        "No negative pregnancy test in the 72 hours before the infusion "
        "(last test: positive on 2026-03-04)."
    ]
    assert not Infusion.objects.exists()


def direct_save(team, participant, data=ADMINISTRATION):
    """The infusion saved without any pregnancy form recorded first."""
    return form_save(
        actor=team.coordinator,
        ftype=form_type("infusion"),
        participant=participant,
        visit=participant.visits.get(code="D0"),
        data=data,
        now=datetime(2026, 3, 4, 15, 0, tzinfo=UTC),
    )


def test_a_woman_without_any_pregnancy_form_is_refused(msvle, participant) -> None:
    assert participant.sex == "F"
    with pytest.raises(DomainError) as caught:
        direct_save(msvle, participant)
    assert caught.value.fields["given"] == [
        "No pregnancy form is recorded for this participant: record whether she is of "
        "childbearing potential and, if so, a negative test in the 72 hours before the infusion."
    ]
    assert not Infusion.objects.exists()
    # Not given needs no pregnancy form.
    assert direct_save(msvle, participant, NOT_GIVEN).given is False


def test_a_man_is_given_the_infusion_without_a_pregnancy_form(msvle) -> None:
    from tests.world import make_eligible, register, with_allocation
    from trials.services import participant_randomize
    from visits.services import participant_set_day0

    with_allocation(msvle)
    man = make_eligible(msvle, register(msvle, sex="M"))
    man = participant_randomize(actor=msvle.coordinator, participant=man, now=man.registered_at)
    man = participant_set_day0(
        actor=msvle.coordinator, participant=man, day0=date(2026, 3, 4), now=man.registered_at
    )
    assert direct_save(msvle, man).given is True
