"""Protocol deviations: entered by staff, drafted automatically by a job, confirmed or dismissed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from accounts.services import system_actor
from assessments.models import ProtocolDeviation
from assessments.services import form_save
from casebook.catalogue import form_type
from ecrf.access import Role
from ecrf.errors import DomainError, PermissionDeniedError
from tests.factories import MembershipFactory, UserFactory

NOW = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
MANUAL = {
    "occurred_on": date(2026, 4, 9),
    "category": "visit_window",
    "description": "Week 4 visit done on day 36, outside its window.",
    "severity": "minor",
    "state": "confirmed",
}


def save(team, participant, data, *, actor=None, visit=None, **kwargs):
    return form_save(
        actor=actor or team.coordinator,
        ftype=form_type("deviation"),
        participant=participant,
        visit=visit,
        data=data,
        now=NOW,
        **kwargs,
    )


def test_staff_enter_a_confirmed_deviation_about_a_visit(msvle, participant) -> None:
    w4 = participant.visits.get(code="W4")
    form = save(msvle, participant, MANUAL, visit=w4)
    assert (form.origin, form.state, form.visit) == ("manual", "confirmed", w4)
    assert form.warnings == []


def test_a_job_drafts_each_finding_once_and_staff_confirm_it(msvle, participant) -> None:
    job = system_actor()
    draft = {
        "occurred_on": date(2026, 4, 9),
        "category": "visit_window",
        "description": "W4 recorded on 2026-04-09, outside 2026-03-29..2026-04-04.",
        "origin": "automatic",
        "source_key": "visit_window:W4",
    }
    w4 = participant.visits.get(code="W4")
    form = save(msvle, participant, draft, actor=job, visit=w4)
    assert (form.origin, form.state, form.severity) == ("automatic", "draft", "")
    with pytest.raises(DomainError, match="This finding already has a deviation"):
        save(msvle, participant, draft, actor=job, visit=w4)
    assert ProtocolDeviation.objects.count() == 1
    with pytest.raises(DomainError) as unrated:
        save(
            msvle,
            participant,
            {"state": "confirmed"},
            record_id=form.pk,
            expected_version=1,
            reason="Reviewed",
        )
    assert unrated.value.fields == {"severity": ["Give the severity to confirm the deviation."]}
    confirmed = save(
        msvle,
        participant,
        {"state": "confirmed", "severity": "minor"},
        record_id=form.pk,
        expected_version=1,
        reason="Reviewed with the investigator",
    )
    assert (confirmed.state, confirmed.origin, confirmed.row_version) == (
        "confirmed",
        "automatic",
        2,
    )
    with pytest.raises(DomainError) as back:
        save(
            msvle,
            participant,
            {"state": "draft"},
            record_id=form.pk,
            expected_version=2,
            reason="Undo",
        )
    assert back.value.fields["state"] == ["A confirmed deviation does not go back to draft."]


def test_staff_cannot_claim_an_automatic_origin(msvle, participant) -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        save(msvle, participant, {**MANUAL, "origin": "automatic", "source_key": "x"})
    assert set(caught.value.fields) == {"origin", "source_key"}
    assert not ProtocolDeviation.objects.exists()


def test_dismissal_needs_a_note(msvle, participant) -> None:
    form = save(msvle, participant, {**MANUAL, "state": "draft"})
    with pytest.raises(DomainError) as caught:
        save(
            msvle,
            participant,
            {"state": "dismissed"},
            record_id=form.pk,
            expected_version=1,
            reason="Not a deviation",
        )
    assert caught.value.fields == {"resolution_note": ["Say why the deviation is dismissed."]}
    dismissed = save(
        msvle,
        participant,
        {"state": "dismissed", "resolution_note": "Window extended by amendment 2."},
        record_id=form.pk,
        expected_version=1,
        reason="Not a deviation",
    )
    assert dismissed.state == "dismissed"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"occurred_on": date(2026, 9, 2)}, "occurred_on", "in the future"),
        ({"category": "late"}, "category", "late is not accepted here"),
        ({"severity": "critical"}, "severity", "critical is not accepted here"),
        ({"description": ""}, "description", "Required."),
    ],
)
def test_hard_checks_refuse_and_write_nothing(msvle, participant, change, field, message) -> None:
    with pytest.raises(DomainError) as caught:
        save(msvle, participant, {**MANUAL, **change})
    assert message in caught.value.fields[field][0]
    assert not ProtocolDeviation.objects.exists()


def test_soft_checks_are_kept_as_warnings(msvle, participant) -> None:
    form = save(msvle, participant, {**MANUAL, "occurred_on": date(2026, 3, 1)})
    warned = {w["field"]: w["message"] for w in form.warnings}
    assert warned["category"] == "Name the visit this deviation concerns."
    assert "before informed consent (2026-03-02)" in warned["occurred_on"]
    # A consent deviation may well predate consent.
    consent = save(
        msvle,
        participant,
        {**MANUAL, "category": "consent", "occurred_on": date(2026, 3, 1)},
    )
    assert consent.warnings == []


def test_data_management_may_enter_and_monitor_or_other_site_may_not(msvle, participant) -> None:
    data_manager = UserFactory(username="msvle_dm")
    MembershipFactory(user=data_manager, trial=msvle.trial, role=Role.DATA_MANAGER)
    assert save(msvle, participant, {**MANUAL, "category": "procedure"}, actor=data_manager).pk
    for actor in (msvle.monitor, msvle.pharmacist, msvle.other_coordinator, msvle.statistician):
        with pytest.raises(PermissionDeniedError):
            save(msvle, participant, MANUAL, actor=actor)
    assert ProtocolDeviation.objects.count() == 1
