"""Registration: the site's next screening number, screening visits, age limits, who registers."""

from __future__ import annotations

from datetime import date

import pytest

from ecrf.errors import DomainError, PermissionDeniedError
from tests.personas import NOW, Team, load, make_team
from tests.world import register
from trials.models import ParticipantStatus
from visits.models import Visit
from visits.services import participant_register


@pytest.fixture
def msvle(db) -> Team:
    return make_team(load("nct03673748.yaml"))


def test_registration_gives_sequential_site_screening_numbers_and_screening_visit(msvle) -> None:
    first, second = register(msvle), register(msvle)
    assert (first.screening_number, second.screening_number) == ("VA01-S001", "VA01-S002")
    assert first.status == ParticipantStatus.SCREENING
    visit = Visit.objects.get(participant=first)
    assert (visit.code, visit.status) == ("SEL", "open")
    history = first.history.get()
    assert history.history_user == msvle.coordinator


def test_registration_refuses_age_below_protocol_minimum(msvle) -> None:
    with pytest.raises(DomainError, match="Age 17 is below the protocol minimum of 18") as caught:
        register(msvle, born=date(2008, 6, 1))
    assert "date_of_birth" in caught.value.fields
    assert not msvle.trial.participants.exists()


def test_wrong_site_and_wrong_role_cannot_register(msvle) -> None:
    for actor in (msvle.other_coordinator, msvle.monitor, msvle.statistician, msvle.pharmacist):
        with pytest.raises(PermissionDeniedError):
            participant_register(
                actor=actor, site=msvle.site, sex="F", date_of_birth=date(1990, 1, 1), now=NOW
            )


def test_age_is_judged_on_the_site_calendar(msvle) -> None:
    from datetime import UTC, datetime

    # 23:30 UTC on 31 May is already 1 June in Madrid: she turns 18 there that day.
    late_evening = datetime(2026, 5, 31, 23, 30, tzinfo=UTC)
    participant = participant_register(
        actor=msvle.coordinator,
        site=msvle.site,
        sex="F",
        date_of_birth=date(2008, 6, 1),
        now=late_evening,
    )
    assert participant.screening_number == "VA01-S001"
    with pytest.raises(DomainError, match="Age 17"):
        participant_register(
            actor=msvle.coordinator,
            site=msvle.site,
            sex="F",
            date_of_birth=date(2008, 6, 2),
            now=late_evening,
        )
