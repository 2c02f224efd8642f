"""Locks at form, participant, site and trial level hold on every write path: services, a
direct save, the visit job and the API; only a data manager locks and unlocks, with reasons."""

from __future__ import annotations

from datetime import date

import pytest
from rest_framework.test import APIClient

from alerts.models import Alert
from assessments.models import SledaiAssessment
from assessments.services import form_not_done
from assessments.services.visits import visit_record
from casebook.catalogue import form_type
from ecrf.audit import audited_save
from ecrf.errors import DomainError, InvalidTransitionError, PermissionDeniedError
from flagging.visits import visits_flag_all
from review.locks import LockedError
from review.models import DataQuery, Lock, QueryStatus, ResponseCode
from review.services import (
    lock_apply,
    lock_release,
    query_answer,
    query_close,
    query_open,
    query_reopen,
    query_requery,
    trial_is_locked,
)
from tests.world import ENTERED, enter_sledai, later, on_study, register
from trials.models import Consent, EligibilityAnswer, Participant, ParticipantStatus
from trials.services import (
    consent_record,
    eligibility_answer,
    participant_unblind,
    participant_withdraw,
)
from trials.services.participants import eligibility_outcome
from visits.models import Visit, VisitStatus

pytestmark = pytest.mark.usefixtures("after_week24")

W8_DATA = {"assessment_date": date(2026, 4, 29)}


def lock(msvle, data_manager, level, *, reason="Interim analysis cut-off", at=1, **target):
    return lock_apply(
        actor=data_manager, level=level, trial=msvle.trial, reason=reason, now=later(at), **target
    )


def unlock(lock_row, data_manager, *, reason="Late lab result to enter", at=5):
    return lock_release(actor=data_manager, lock=lock_row, reason=reason, now=later(at))


def change_w4(msvle, participant, *, version=1, at=2, actor=None):
    return enter_sledai(
        msvle,
        participant,
        data={"dna": version % 2 == 0},
        expected_version=version,
        reason="Anti-dsDNA was normal",
        actor=actor,
        now=later(at),
    )


def not_done(msvle, participant, code, *, version=None, at=0):
    return form_not_done(
        actor=msvle.coordinator,
        ftype=form_type("sledai2k"),
        participant=participant,
        visit=participant.visits.get(code=code),
        reason="Patient too unwell for a full exam",
        expected_version=version,
        now=later(at),
    )


def screening(msvle, *, site=None):
    """A registered participant with consent, whose eligibility checklist is still open."""
    person = register(msvle, site=site)
    consent_record(
        actor=msvle.coordinator if site is None else msvle.other_coordinator,
        participant=person,
        form_version="1.0",
        consent_date=date(2026, 3, 2),
        now=ENTERED,
    )
    return person


def answer_first_criterion(msvle, person, *, at=2):
    return eligibility_answer(
        actor=msvle.coordinator if person.site == msvle.site else msvle.other_coordinator,
        participant=person,
        criterion_code=eligibility_outcome(person)["unanswered"][0],
        answer=True,
        now=later(at),
    )


def snapshot(participant):
    participant.refresh_from_db()
    return (
        participant.status,
        participant.end_reason,
        tuple(participant.visits.order_by("pk").values_list("status", "actual_date")),
        participant.consents.count(),
        SledaiAssessment.objects.filter(participant=participant).count(),
    )


# Form lock ----------------------------------------------------------------------------------


def test_a_form_lock_holds_that_form_only(msvle, participant, data_manager) -> None:
    w4 = enter_sledai(msvle, participant)
    lock(msvle, data_manager, "form", form_code="sledai2k", record=w4)
    with pytest.raises(LockedError, match="form lock"):
        change_w4(msvle, participant)
    # The record as the form service saved it, saved again behind its back: the guard holds.
    w4.dna, w4._history_user = False, msvle.trial_admin
    with pytest.raises(LockedError, match="form lock"):
        w4.save()
    w4.refresh_from_db()
    assert (w4.row_version, w4.dna) == (1, True)
    # Other forms of the same participant still change.
    assert enter_sledai(msvle, participant, "W8", W8_DATA).row_version == 1
    assert not_done(msvle, participant, "W12").entry_status == "not_done"


def test_a_form_lock_holds_a_form_recorded_as_not_done(msvle, participant, data_manager) -> None:
    w4 = not_done(msvle, participant, "W4")
    lock(msvle, data_manager, "form", form_code="sledai2k", record=w4)
    with pytest.raises(LockedError):
        not_done(msvle, participant, "W4", version=1, at=2)
    # Locked, not stale: reloading would not help, so the lock is what the user is told.
    with pytest.raises(LockedError):
        not_done(msvle, participant, "W4", at=2)
    with pytest.raises(LockedError):
        enter_sledai(
            msvle,
            participant,
            data={"assessment_date": date(2026, 4, 1)},
            expected_version=1,
            reason="Exam done after all",
            now=later(2),
        )
    w4.refresh_from_db()
    assert (w4.row_version, w4.entry_status) == (1, "not_done")
    other = not_done(msvle, participant, "W8")
    assert not_done(msvle, participant, "W8", version=other.row_version, at=2).row_version == 2


def test_a_query_on_a_locked_form_is_still_opened_and_answered(
    msvle, participant, data_manager
) -> None:
    w4 = enter_sledai(msvle, participant)
    lock(msvle, data_manager, "form", form_code="sledai2k", record=w4)
    query = query_open(
        actor=msvle.monitor,
        ftype=form_type("sledai2k"),
        record=w4,
        field_name="dna",
        text="Source?",
        now=later(2),
    )
    answered = query_answer(
        actor=msvle.investigator,
        query=query,
        response_code=ResponseCode.CONFIRMED,
        text="In the lab report of 12 March.",
        now=later(3),
    )
    assert answered.status == QueryStatus.ANSWERED
    assert query_close(actor=msvle.monitor, query=answered, now=later(4)).status == "closed"


def test_the_api_answers_423_for_a_change_to_a_locked_form(msvle, participant, data_manager):
    w4 = enter_sledai(msvle, participant)
    lock(msvle, data_manager, "form", form_code="sledai2k", record=w4, reason="SDV complete")
    api = APIClient()
    api.force_login(msvle.investigator)
    response = api.put(
        f"/api/v1/participants/{participant.pk}/forms/sledai2k/{w4.pk}/",
        {"version": 1, "reason": "Anti-dsDNA was normal", "data": {"dna": False}},
        format="json",
    )
    assert response.status_code == 423
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == "locked"
    assert "form lock: SDV complete" in error["message"]
    assert "data manager must unlock" in error["message"]
    w4.refresh_from_db()
    assert (w4.row_version, w4.dna) == (1, True)


# Participant lock ---------------------------------------------------------------------------


def test_a_participant_lock_holds_every_write_to_that_participant(
    msvle, participant, data_manager
) -> None:
    w4 = enter_sledai(msvle, participant)
    other = on_study(msvle)
    lock(msvle, data_manager, "participant", participant=participant)
    before = snapshot(participant)
    writes = {
        "form change": lambda: change_w4(msvle, participant),
        "new form": lambda: enter_sledai(msvle, participant, "W8", W8_DATA),
        "form not done": lambda: not_done(msvle, participant, "W12"),
        "visit": lambda: visit_record(
            actor=msvle.coordinator,
            visit=participant.visits.get(code="W4"),
            actual_date=date(2026, 4, 1),
            now=later(2),
        ),
        "withdrawal": lambda: participant_withdraw(
            actor=msvle.coordinator, participant=participant, reason="Moved away", now=later(2)
        ),
        "consent": lambda: consent_record(
            actor=msvle.coordinator,
            participant=participant,
            form_version="2.0",
            consent_date=date(2026, 8, 31),
            now=later(2),
        ),
    }
    for name, write in writes.items():
        with pytest.raises(LockedError, match="participant lock"):
            write()
        assert snapshot(participant) == before, name
    w4.refresh_from_db()
    assert w4.row_version == 1
    # Another participant is not held.
    assert enter_sledai(msvle, other, "W8", W8_DATA).participant_id == other.pk
    assert (
        visit_record(
            actor=msvle.coordinator,
            visit=other.visits.get(code="W4"),
            actual_date=date(2026, 4, 1),
            now=later(2),
        ).status
        == VisitStatus.COMPLETED
    )


def test_a_participant_lock_holds_the_eligibility_checklist(msvle, data_manager) -> None:
    person = screening(msvle)
    lock(msvle, data_manager, "participant", participant=person)
    with pytest.raises(LockedError):
        answer_first_criterion(msvle, person)
    assert not EligibilityAnswer.objects.filter(participant=person).exists()
    unlock(Lock.objects.get(), data_manager)
    assert answer_first_criterion(msvle, person, at=6).participant_id == person.pk


def test_a_direct_save_of_locked_data_is_refused(msvle, participant, data_manager) -> None:
    """Whatever the path (admin, shell, a forgotten service), the pre-save guard holds."""
    row = Participant.objects.get(pk=participant.pk)
    row._history_user = msvle.trial_admin
    row.save()  # unlocked: the guard lets it through
    lock(msvle, data_manager, "participant", participant=participant)
    row.end_reason = "Edited behind the services' back"
    row._history_user = msvle.trial_admin
    with pytest.raises(LockedError):
        row.save()
    visit = participant.visits.get(code="W4")
    visit.status, visit._history_user = VisitStatus.MISSED, msvle.trial_admin
    with pytest.raises(LockedError):
        visit.save()
    participant.refresh_from_db()
    assert participant.end_reason == ""
    assert participant.visits.get(code="W4").status != VisitStatus.MISSED


# Site lock ----------------------------------------------------------------------------------


def test_a_site_lock_holds_that_sites_participants_only(msvle, participant, data_manager) -> None:
    waiting = screening(msvle)
    at_b = screening(msvle, site=msvle.other_site)
    lock(msvle, data_manager, "site", site=msvle.site)
    with pytest.raises(LockedError, match="site lock"):
        enter_sledai(msvle, participant)
    with pytest.raises(LockedError):
        answer_first_criterion(msvle, waiting)
    with pytest.raises(LockedError):
        register(msvle)
    # Not even a participant saved directly, without the screening visits of a registration.
    newcomer = Participant(
        trial=msvle.trial,
        site=msvle.site,
        protocol_version=participant.protocol_version,
        screening_number="S-DIRECT-1",
        sex="F",
        date_of_birth=date(1990, 5, 17),
        registered_at=later(2),
    )
    newcomer._history_user = msvle.trial_admin
    with pytest.raises(LockedError, match="site lock"):
        newcomer.save()
    assert Participant.objects.filter(site=msvle.site).count() == 2
    assert not SledaiAssessment.objects.exists()
    # Site B carries on.
    assert answer_first_criterion(msvle, at_b).participant_id == at_b.pk
    assert register(msvle, site=msvle.other_site).site == msvle.other_site


# Trial lock ---------------------------------------------------------------------------------


def test_a_trial_lock_holds_everything_and_freezes_queries(
    msvle, participant, data_manager
) -> None:
    w4 = enter_sledai(msvle, participant)
    open_one = query_open(
        actor=msvle.monitor, ftype=form_type("sledai2k"), record=w4, text="Source?", now=later(1)
    )
    answered = query_open(
        actor=msvle.monitor, ftype=form_type("sledai2k"), record=w4, text="Date?", now=later(1)
    )
    answered = query_answer(
        actor=msvle.coordinator,
        query=answered,
        response_code=ResponseCode.CONFIRMED,
        text="As in the notes.",
        now=later(1.5),
    )
    at_b = screening(msvle, site=msvle.other_site)
    trial_lock = lock(msvle, data_manager, "trial", reason="Database lock", at=2)
    assert trial_is_locked(msvle.trial)

    with pytest.raises(LockedError, match="trial"):
        change_w4(msvle, participant, at=3)
    with pytest.raises(LockedError):
        answer_first_criterion(msvle, at_b, at=3)
    with pytest.raises(LockedError):
        register(msvle, site=msvle.other_site)
    with pytest.raises(LockedError, match="queries are frozen"):
        query_open(
            actor=msvle.monitor,
            ftype=form_type("sledai2k"),
            record=w4,
            text="Another?",
            now=later(3),
        )
    with pytest.raises(LockedError):
        query_answer(
            actor=msvle.investigator,
            query=open_one,
            response_code=ResponseCode.CONFIRMED,
            text="Fine.",
            now=later(3),
        )
    with pytest.raises(LockedError):
        query_close(actor=msvle.monitor, query=answered, now=later(3))
    with pytest.raises(LockedError):
        query_requery(actor=msvle.monitor, query=answered, text="More?", now=later(3))
    assert DataQuery.objects.count() == 2
    assert {q.status for q in DataQuery.objects.all()} == {QueryStatus.OPEN, QueryStatus.ANSWERED}

    unlock(trial_lock, data_manager, reason="Database unlocked for a late correction")
    assert not trial_is_locked(msvle.trial)
    assert change_w4(msvle, participant, at=6).row_version == 2
    closed = query_close(actor=msvle.monitor, query=answered, now=later(6))
    lock(msvle, data_manager, "trial", reason="Database lock, second time", at=7)
    with pytest.raises(LockedError):
        query_reopen(actor=data_manager, query=closed, text="Again", now=later(8))


def test_emergency_unblinding_passes_a_trial_lock_but_clinical_data_stay_locked(
    msvle, participant, data_manager
) -> None:
    lock(msvle, data_manager, "trial", reason="Database lock", at=1)

    unblinding = participant_unblind(
        actor=msvle.investigator,
        participant=participant,
        reason="Anaphylaxis",
        password=msvle.password,
        now=later(2),
    )

    assert unblinding.arm_code
    participant.refresh_from_db()
    assert participant.unblinded_at == later(2)
    assert participant.history.first().history_change_reason == "Emergency unblinding"
    # Anything beyond the unblinded mark is still refused.
    participant.status = ParticipantStatus.WITHDRAWN
    with pytest.raises(LockedError):
        audited_save(participant, actor=data_manager, reason="x", update_fields=["status"])
    with pytest.raises(LockedError):
        change_w4(msvle, participant, at=3)


# The visit job ------------------------------------------------------------------------------


def test_the_visit_job_leaves_locked_participants_alone(msvle, participant, data_manager) -> None:
    other = on_study(msvle)
    lock(msvle, data_manager, "participant", participant=participant)
    before = list(participant.visits.order_by("pk").values_list("pk", "status", "flagged_at"))
    history_before = Visit.history.filter(participant_id=participant.pk).count()
    other_before = dict(other.visits.values_list("pk", "status"))

    result = visits_flag_all(now=ENTERED)

    assert list(participant.visits.order_by("pk").values_list("pk", "status", "flagged_at")) == (
        before
    )
    assert Visit.history.filter(participant_id=participant.pk).count() == history_before
    assert not Alert.objects.filter(participant=participant).exists()
    flagged = {pk for pk, status in other.visits.values_list("pk", "status") if status == "missed"}
    assert flagged and flagged <= set(other_before)
    assert set(result.missed) == flagged
    assert not set(result.missed) & {pk for pk, *_ in before}
    # A second run changes nothing.
    assert visits_flag_all(now=ENTERED).changed == 0


def test_the_visit_job_flags_nothing_in_a_locked_trial(msvle, participant, data_manager) -> None:
    lock(msvle, data_manager, "trial")
    before = list(Visit.objects.order_by("pk").values_list("status", flat=True))
    assert visits_flag_all(now=ENTERED).changed == 0
    assert list(Visit.objects.order_by("pk").values_list("status", flat=True)) == before


# Who locks, with which reasons, and the audit -----------------------------------------------


@pytest.mark.parametrize(
    "name", ["monitor", "investigator", "coordinator", "medical_monitor", "trial_admin"]
)
def test_only_a_data_manager_locks_and_unlocks(request, msvle, participant, data_manager, name):
    actor = getattr(msvle, name)
    with pytest.raises(PermissionDeniedError):
        lock_apply(
            actor=actor,
            level="participant",
            trial=msvle.trial,
            participant=participant,
            reason="Mine",
            now=later(1),
        )
    assert not Lock.objects.exists()
    held = lock(msvle, data_manager, "participant", participant=participant)
    with pytest.raises(PermissionDeniedError):
        lock_release(actor=actor, lock=held, reason="Let me in", now=later(2))
    held.refresh_from_db()
    assert held.unlocked_at is None


def test_lock_and_unlock_need_reasons_and_are_audited(msvle, participant, data_manager) -> None:
    with pytest.raises(DomainError, match="reason"):
        lock(msvle, data_manager, "participant", participant=participant, reason="  ")
    with pytest.raises(DomainError, match="Lock a form"):
        lock(msvle, data_manager, "visit", participant=participant)
    assert not Lock.objects.exists()

    held = lock(msvle, data_manager, "participant", participant=participant, reason="Completed")
    # Locking what is already locked returns the lock in force.
    assert lock(msvle, data_manager, "participant", participant=participant, at=2) == held
    assert Lock.objects.count() == 1
    with pytest.raises(DomainError, match="reason"):
        unlock(held, data_manager, reason="")
    held.refresh_from_db()
    assert held.unlocked_at is None
    with pytest.raises(LockedError):
        enter_sledai(msvle, participant)

    released = unlock(held, data_manager, reason="Late lab result", at=5)
    assert (released.unlocked_by, released.unlocked_at, released.unlock_reason) == (
        data_manager,
        later(5),
        "Late lab result",
    )
    with pytest.raises(InvalidTransitionError):
        unlock(held, data_manager, reason="Again", at=6)
    # Saving works again once unlocked.
    assert enter_sledai(msvle, participant).row_version == 1

    rows = list(held.history.order_by("history_id"))
    assert [(r.history_type, r.history_user, r.history_change_reason) for r in rows] == [
        ("+", data_manager, "Completed"),
        ("~", data_manager, "Late lab result"),
    ]
    assert (rows[0].locked_by, rows[0].locked_at, rows[0].unlocked_at) == (
        data_manager,
        later(1),
        None,
    )
    assert (rows[1].unlocked_by, rows[1].unlocked_at) == (data_manager, later(5))


def test_the_withdrawn_status_is_reached_once_unlocked(msvle, participant, data_manager) -> None:
    held = lock(msvle, data_manager, "participant", participant=participant)
    with pytest.raises(LockedError):
        participant_withdraw(
            actor=msvle.coordinator, participant=participant, reason="Moved away", now=later(2)
        )
    unlock(held, data_manager)
    withdrawn = participant_withdraw(
        actor=msvle.coordinator, participant=participant, reason="Moved away", now=later(6)
    )
    assert withdrawn.status == ParticipantStatus.WITHDRAWN
    assert Consent.objects.filter(participant=participant).count() == 1


def test_the_lock_read_with_a_record_is_the_one_active_lock_finds(
    msvle, participant, data_manager
) -> None:
    # A save reads the lock holding a record in the statement that locks the record
    # (`active_lock_of_records`): at every level, and after an unlock, it is the lock
    # `active_lock` finds, and a lock of another form, participant or site is none.
    from review.locks import active_lock, active_lock_of_records

    w4 = enter_sledai(msvle, participant)
    w8 = enter_sledai(msvle, participant, "W8", W8_DATA)
    other = screening(msvle)

    def read_with(record):
        return (
            SledaiAssessment.objects.filter(pk=record.pk)
            .annotate(lock_id=active_lock_of_records(participant, SledaiAssessment))
            .values_list("lock_id", flat=True)
            .get()
        )

    def found(record):
        held = active_lock(
            trial_id=participant.trial_id,
            site_id=participant.site_id,
            participant_id=participant.pk,
            record=record,
        )
        return held.pk if held else None

    def both():
        pairs = [(read_with(record), found(record)) for record in (w4, w8)]
        assert all(read == expected for read, expected in pairs), pairs
        return [read for read, _ in pairs]

    assert both() == [None, None]
    w8_lock = lock(msvle, data_manager, "form", form_code="sledai2k", record=w8)
    lock(msvle, data_manager, "participant", participant=other)
    lock(msvle, data_manager, "site", site=msvle.other_site)
    assert both() == [None, w8_lock.pk]
    held = lock(msvle, data_manager, "participant", participant=participant)
    assert both() == [held.pk, w8_lock.pk]
    unlock(held, data_manager)
    unlock(w8_lock, data_manager)
    assert both() == [None, None]
    site = lock(msvle, data_manager, "site", site=msvle.site)
    assert both() == [site.pk, site.pk]
