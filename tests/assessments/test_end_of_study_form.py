"""End of study: once per participant, reason when not completed, agreement with the status."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from assessments.models import EndOfStudy
from assessments.services import form_save
from casebook.catalogue import form_type
from casebook.grid import casebook_grid
from ecrf.errors import ConflictError, DomainError, PermissionDeniedError
from trials.services import participant_complete, participant_withdraw

NOW = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
COMPLETED = {"status": "completed", "last_contact_date": date(2026, 8, 19)}


def save(team, participant, data, *, actor=None, **kwargs):
    return form_save(
        actor=actor or team.investigator,
        ftype=form_type("end_of_study"),
        participant=participant,
        data=data,
        now=NOW,
        **kwargs,
    )


def test_completion_agreeing_with_the_participant_status(msvle, participant) -> None:
    participant = participant_complete(actor=msvle.coordinator, participant=participant, now=NOW)
    form = save(msvle, participant, COMPLETED)
    assert (form.status, form.warnings) == ("completed", [])
    cells = {
        (row.visit.code, cell.form_code): cell.status
        for row in casebook_grid(participant)
        for cell in row.cells
    }
    assert cells[("FU52", "end_of_study")] == "entered"


def test_disagreement_with_the_participant_status_warns(msvle, participant) -> None:
    still_on_study = save(msvle, participant, COMPLETED)
    assert "still 'On study'" in still_on_study.warnings[0]["message"]
    participant = participant_withdraw(
        actor=msvle.coordinator, participant=participant, reason="Consent withdrawn", now=NOW
    )
    form = save(
        msvle,
        participant,
        {"reason": "Study visits completed before withdrawal of consent"},
        expected_version=1,
        reason="Re-checked",
    )
    assert "'Withdrawn', which does not agree with 'Completed'" in form.warnings[0]["message"]
    agreeing = save(
        msvle,
        participant,
        {"status": "withdrawn"},
        expected_version=2,
        reason="Participant withdrew",
    )
    assert agreeing.warnings == []


def test_once_per_participant(msvle, participant) -> None:
    save(msvle, participant, COMPLETED)
    with pytest.raises(ConflictError):
        save(msvle, participant, COMPLETED)
    assert EndOfStudy.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({**COMPLETED, "status": "withdrawn"}, "reason", "did not complete"),
        ({**COMPLETED, "last_contact_date": date(2026, 9, 3)}, "last_contact_date", "future"),
        ({**COMPLETED, "status": "discharged"}, "status", "discharged is not accepted here"),
        ({"status": "completed"}, "last_contact_date", "Required."),
    ],
)
def test_hard_checks_refuse_and_write_nothing(msvle, participant, data, field, message) -> None:
    with pytest.raises(DomainError) as caught:
        save(msvle, participant, data)
    assert message in caught.value.fields[field][0]
    assert not EndOfStudy.objects.exists()


def test_wrong_roles_and_other_site_cannot_enter(msvle, participant) -> None:
    for actor in (msvle.pharmacist, msvle.monitor, msvle.other_coordinator, msvle.statistician):
        with pytest.raises(PermissionDeniedError):
            save(msvle, participant, COMPLETED, actor=actor)
    assert not EndOfStudy.objects.exists()
