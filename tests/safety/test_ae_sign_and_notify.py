"""An adverse event is signed and locked only once complete; an event that becomes serious is
e-mailed at once to its trial's safety staff, once per escalation, with no allocation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from assessments.services import form_save
from casebook.catalogue import form_type
from ecrf.access import Role
from review.models import LockLevel, Signature, SignatureScope
from review.services import lock_apply, signature_sign
from review.services.readiness import NotReadyError
from tests.personas import member
from tests.safety.events import NOW, enter, follow_up

LATER = NOW + timedelta(hours=2)
BARE = {"verbatim_term": "Headache"}
COMPLETE = {
    "onset_date": "2026-04-17",
    "ctcae_grade": 1,
    "investigator_causality": "unlikely",
    "outcome": "recovered",
    "end_date": "2026-04-18",
}


def sign(team, participant, scope, **target):
    return signature_sign(
        actor=team.investigator,
        request=None,
        password=team.password,
        participant=participant,
        scope=scope,
        acknowledged=True,
        now=LATER,
        **target,
    )


def lock(team, data_manager, level, **target):
    return lock_apply(
        actor=data_manager,
        level=level,
        trial=team.trial,
        reason="Cut-off",
        now=LATER,
        **target,
    )


def test_an_incomplete_event_is_not_signed_until_completed(msvle, participant) -> None:
    ae = enter(msvle, participant, BARE)
    with pytest.raises(NotReadyError) as error:
        sign(msvle, participant, SignatureScope.FORM, form_code="adverse_events", record=ae)
    assert error.value.message == (
        "This cannot be signed yet. Adverse event 'Headache' lacks the CTCAE grade, the "
        "investigator's causality, the outcome and the onset date."
    )
    with pytest.raises(NotReadyError, match="'Headache' lacks the CTCAE grade"):
        sign(msvle, participant, SignatureScope.CASEBOOK)
    assert not Signature.objects.exists()

    # Recovered needs its end date.
    ae = follow_up(msvle, ae, {**COMPLETE, "end_date": ""})
    with pytest.raises(NotReadyError) as error:
        sign(msvle, participant, SignatureScope.FORM, form_code="adverse_events", record=ae)
    assert error.value.message.endswith("lacks the end date (the outcome is recovered / resolved).")
    ae = follow_up(msvle, ae, {"end_date": "2026-04-18"})
    assert sign(msvle, participant, SignatureScope.FORM, form_code="adverse_events", record=ae)
    assert sign(msvle, participant, SignatureScope.CASEBOOK)


def test_a_visit_is_signed_only_when_its_events_are_complete(msvle, participant) -> None:
    w1 = participant.visits.get(code="W1")
    form_save(
        actor=msvle.coordinator,
        ftype=form_type("adverse_events"),
        participant=participant,
        visit=w1,
        data={**BARE, **COMPLETE},
        now=NOW,
    )
    open_one = form_save(
        actor=msvle.coordinator,
        ftype=form_type("adverse_events"),
        participant=participant,
        visit=w1,
        data={"verbatim_term": "Rash", **COMPLETE, "outcome": ""},
        now=NOW,
    )
    # An incomplete event recorded at no visit does not hold up the visit's signature.
    enter(msvle, participant, {"verbatim_term": "Fatigue"})
    with pytest.raises(NotReadyError) as error:
        sign(msvle, participant, SignatureScope.VISIT, visit=w1)
    assert error.value.message == (
        "This cannot be signed yet. Adverse event 'Rash' lacks the outcome."
    )
    follow_up(msvle, open_one, {"outcome": "recovered"})
    assert sign(msvle, participant, SignatureScope.VISIT, visit=w1)


def test_an_ongoing_event_needs_no_end_date(msvle, participant) -> None:
    ae = enter(
        msvle,
        participant,
        {**BARE, **COMPLETE, "outcome": "recovering", "end_date": "", "ongoing": True},
    )
    assert sign(msvle, participant, SignatureScope.FORM, form_code="adverse_events", record=ae)


def test_an_incomplete_event_is_not_locked_alone_or_with_its_participant(
    msvle, participant, data_manager
) -> None:
    ae = enter(msvle, participant, {**BARE, **COMPLETE, "ctcae_grade": None})
    with pytest.raises(NotReadyError, match=r"cannot be locked yet.*lacks the CTCAE grade\."):
        lock(msvle, data_manager, LockLevel.FORM, form_code="adverse_events", record=ae)
    with pytest.raises(NotReadyError, match="lacks the CTCAE grade"):
        lock(msvle, data_manager, LockLevel.PARTICIPANT, participant=participant)
    ae = follow_up(msvle, ae, {"ctcae_grade": 2})
    assert lock(msvle, data_manager, LockLevel.FORM, form_code="adverse_events", record=ae)
    assert lock(msvle, data_manager, LockLevel.PARTICIPANT, participant=participant)


def test_a_site_or_trial_lock_waits_for_every_event_of_its_participants(
    msvle, participant, data_manager
) -> None:
    ae = enter(msvle, participant, {**BARE, **COMPLETE, "outcome": ""})
    expected = (
        f"This cannot be locked yet. Participant {participant.identifier}: Adverse event "
        "'Headache' lacks the outcome."
    )
    with pytest.raises(NotReadyError) as site_error:
        lock(msvle, data_manager, LockLevel.SITE, site=msvle.site)
    assert site_error.value.message == expected
    with pytest.raises(NotReadyError) as trial_error:
        lock(msvle, data_manager, LockLevel.TRIAL)
    assert trial_error.value.message == expected
    # The other site has nothing incomplete: its lock is not held up by this one.
    assert lock(msvle, data_manager, LockLevel.SITE, site=msvle.other_site)
    follow_up(msvle, ae, {"outcome": "recovered"})
    assert lock(msvle, data_manager, LockLevel.SITE, site=msvle.site)
    assert lock(msvle, data_manager, LockLevel.TRIAL)


def test_the_wrong_user_is_refused_before_readiness(msvle, participant, data_manager) -> None:
    from ecrf.errors import PermissionDeniedError

    ae = enter(msvle, participant, BARE)
    with pytest.raises(PermissionDeniedError):
        lock_apply(
            actor=msvle.coordinator,
            level=LockLevel.FORM,
            trial=msvle.trial,
            reason="x",
            now=LATER,
            form_code="adverse_events",
            record=ae,
        )


# The SAE e-mail ------------------------------------------------------------------------------

AWARE = datetime(2026, 4, 18, 8, 30, tzinfo=UTC)
SERIOUS = {
    "verbatim_term": "Pneumonia",
    "onset_date": "2026-04-17",
    "hospitalisation": True,
    "site_awareness_at": AWARE,
}


def test_a_new_sae_is_emailed_once_to_the_trials_safety_staff(
    msvle, mscrole, participant, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    colleague = member(
        msvle.trial, Role.MEDICAL_MONITOR, None, "msvle_safety2", email="safety2@msvle.org"
    )
    with django_capture_on_commit_callbacks(execute=True):
        ae = enter(msvle, participant, SERIOUS)
    (message,) = mailoutbox
    assert sorted(message.to) == sorted([msvle.medical_monitor.email, colleague.email])
    assert mscrole.medical_monitor.email not in message.to
    assert message.subject == f"[MSVLE] Serious adverse event: {participant.identifier}"
    assert f"Participant: {participant.identifier}" in message.body
    assert "Event: Pneumonia" in message.body
    assert "Seriousness criteria: hospitalisation (new or prolonged)" in message.body
    # 08:30 UTC is 10:30 in Madrid.
    assert "Site aware at: 2026-04-18 10:30 (Europe/Madrid)" in message.body
    assert "SAE report due to the sponsor at: 2026-04-19 10:30 (Europe/Madrid)" in message.body
    for word in ("arm", "allocation", "placebo", "UTC"):
        assert word not in message.body.lower().split()
    # Later saves of the serious event send nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        follow_up(msvle, ae, {"ctcae_grade": 3, "disability": True})
    assert len(mailoutbox) == 1


def test_an_escalation_is_emailed_and_a_mild_event_is_not(
    msvle, other_participant, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        ae = enter(
            msvle,
            other_participant,
            {"verbatim_term": "Cough", "onset_date": "2026-04-17"},
            actor=msvle.other_coordinator,
        )
    assert mailoutbox == []
    with django_capture_on_commit_callbacks(execute=True):
        follow_up(
            msvle,
            ae,
            {"medically_important": True, "site_awareness_at": AWARE},
            actor=msvle.other_coordinator,
        )
    (message,) = mailoutbox
    assert message.to == [msvle.medical_monitor.email]
    # 08:30 UTC is 04:30 in Santiago.
    assert "Site aware at: 2026-04-18 04:30 (America/Santiago)" in message.body


def test_a_save_that_fails_sends_nothing(
    msvle, participant, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    from ecrf.errors import DomainError

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(DomainError):
        enter(msvle, participant, {**SERIOUS, "site_awareness_at": None})
    assert mailoutbox == []
