"""Writes for the participant lifecycle: consent, eligibility, ending (registration: visits)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext, gettext_noop

from ecrf.access import SITE_STAFF_ROLES, Role
from ecrf.audit import audited_save
from ecrf.bulk import Stamp, history_insert
from ecrf.errors import DomainError, InvalidTransitionError
from ecrf.site_time import local_date
from trials.access import require_role
from trials.definitions import definition_of
from trials.models import (
    Consent,
    CriterionKind,
    EligibilityAnswer,
    EligibilityReconfirmation,
    Participant,
    ParticipantStatus,
    Site,
    SiteCounter,
)

S = ParticipantStatus
TRANSITIONS: dict[str, frozenset[str]] = {
    S.SCREENING: frozenset({S.SCREEN_FAILED, S.ELIGIBLE, S.WITHDRAWN}),
    S.ELIGIBLE: frozenset({S.RANDOMIZED, S.ENROLLED, S.SCREEN_FAILED, S.WITHDRAWN}),
    S.RANDOMIZED: frozenset({S.ON_STUDY, S.WITHDRAWN, S.LOST_TO_FOLLOW_UP}),
    S.ENROLLED: frozenset({S.ON_STUDY, S.WITHDRAWN, S.LOST_TO_FOLLOW_UP}),
    S.ON_STUDY: frozenset({S.COMPLETED, S.WITHDRAWN, S.LOST_TO_FOLLOW_UP}),
}
ENDED = frozenset({S.SCREEN_FAILED, S.COMPLETED, S.WITHDRAWN, S.LOST_TO_FOLLOW_UP})


def next_site_number(site: Site, kind: str) -> int:
    """The next number of `kind` at `site`, under a row lock; a number is never handed out twice."""
    counter, _ = SiteCounter.objects.get_or_create(site=site, kind=kind)
    counter = SiteCounter.objects.select_for_update().get(pk=counter.pk)
    counter.last_value += 1
    counter.save(update_fields=["last_value"])
    return counter.last_value


def lock_participant(participant: Participant) -> Participant:
    # Lock the participant row only: joining site and trial must not serialize a whole trial.
    return (
        Participant.objects.select_for_update(of=("self",))
        .select_related("site", "trial")
        .get(pk=participant.pk)
    )


def transition(participant: Participant, target: str) -> None:
    allowed = TRANSITIONS.get(participant.status, frozenset())
    if target not in allowed:
        raise InvalidTransitionError(
            f"{participant.identifier} is {participant.get_status_display().lower()}; "
            f"it cannot become {S(target).label.lower()}."
        )
    participant.status = target


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def consent_record(
    *, actor: Any, participant: Participant, form_version: str, consent_date: date, now: datetime
) -> Consent:
    require_role(
        actor,
        trial=participant.trial,
        site=participant.site,
        roles=SITE_STAFF_ROLES,
        action=gettext_noop("record consent"),
    )
    if not form_version.strip():
        raise DomainError("Name the consent form version.", fields={"form_version": ["Required."]})
    # The consent date is a local date at the site, so compare it with the site's today.
    if consent_date > local_date(now, participant.site.time_zone):
        raise DomainError(
            "Consent date is in the future.", fields={"consent_date": ["In the future."]}
        )
    with transaction.atomic():
        locked = lock_participant(participant)
        if locked.status in ENDED:
            raise InvalidTransitionError(f"{locked.identifier} has left the study.")
        return audited_save(
            Consent(
                participant=locked,
                form_version=form_version.strip(),
                consent_date=consent_date,
                obtained_by=actor,
                recorded_at=now,
            ),
            actor=actor,
        )


def first_consent_date(participant: Participant) -> date | None:
    """The date of the participant's first consent, None before consent: as read with the
    participant (`participant_get_for_update`), or from its consents."""
    if hasattr(participant, "first_consent_date"):
        found: date | None = participant.first_consent_date
        return found
    first = min(participant.consents.all(), key=lambda c: c.consent_date, default=None)
    return first.consent_date if first else None


def require_consent(participant: Participant) -> None:
    if hasattr(participant, "first_consent_date"):
        consented = participant.first_consent_date is not None
    else:
        consented = participant.consents.exists()
    if not consented:
        raise DomainError(
            gettext(
                "Informed consent has not been recorded; no study data may be entered before it."
            )
        )


def _checklist_kinds(participant: Participant, codes: Iterable[str]) -> dict[str, str]:
    """The kind of each criterion of the participant's protocol version; an unknown code is
    refused."""
    eligibility = definition_of(participant.protocol_version).eligibility
    kinds: dict[str, str] = {c.code: CriterionKind.INCLUSION for c in eligibility.inclusion}
    kinds |= {c.code: CriterionKind.EXCLUSION for c in eligibility.exclusion}
    for code in codes:
        if code not in kinds:
            raise DomainError(
                f"{code} is not a criterion of this protocol version.",
                fields={"criterion_code": ["Unknown criterion."]},
            )
    return kinds


def _open_checklist(actor: Any, participant: Participant) -> Participant:
    """The participant, locked, once the actor may answer and the checklist may change."""
    locked = lock_participant(participant)
    require_consent(locked)
    if locked.status != S.SCREENING:
        raise InvalidTransitionError(
            "The checklist can only change during screening; "
            f"{locked.identifier} is {locked.get_status_display().lower()}."
        )
    return locked


def _answer_row(
    locked: Participant,
    row: EligibilityAnswer | None,
    code: str,
    kind: str,
    answer: bool,
    comment: str,
    *,
    actor: Any,
    reason: str,
    now: datetime,
) -> EligibilityAnswer:
    if row is None:
        row = EligibilityAnswer(participant=locked, criterion_code=code, kind=kind)
    elif row.answer == answer and row.comment == comment:
        return row
    row.answer, row.comment, row.answered_at = answer, comment, now
    return audited_save(row, actor=actor, reason=reason)


def eligibility_answer(
    *,
    actor: Any,
    participant: Participant,
    criterion_code: str,
    answer: bool,
    comment: str = "",
    reason: str = "",
    now: datetime,
) -> EligibilityAnswer:
    """Answer one criterion: for an inclusion, is it met; for an exclusion, does it apply."""
    require_role(
        actor,
        trial=participant.trial,
        site=participant.site,
        roles=SITE_STAFF_ROLES,
        action=gettext_noop("answer the eligibility checklist"),
    )
    kinds = _checklist_kinds(participant, [criterion_code])
    with transaction.atomic():
        locked = _open_checklist(actor, participant)
        row = EligibilityAnswer.objects.filter(
            participant=locked, criterion_code=criterion_code
        ).first()
        return _answer_row(
            locked,
            row,
            criterion_code,
            kinds[criterion_code],
            answer,
            comment,
            actor=actor,
            reason=reason,
            now=now,
        )


def eligibility_answers(
    *,
    actor: Any,
    participant: Participant,
    answers: Mapping[str, bool],
    reason: str = "",
    now: datetime,
) -> list[EligibilityAnswer]:
    """Answer several criteria at once (a checklist submitted whole), each recorded with its
    own history as a single answer is; nothing is recorded when one code is unknown."""
    require_role(
        actor,
        trial=participant.trial,
        site=participant.site,
        roles=SITE_STAFF_ROLES,
        action=gettext_noop("answer the eligibility checklist"),
    )
    kinds = _checklist_kinds(participant, answers)
    with transaction.atomic():
        locked = _open_checklist(actor, participant)
        rows = {row.criterion_code: row for row in locked.eligibility_answers.all()}
        first = [
            EligibilityAnswer(
                participant=locked, criterion_code=code, kind=kinds[code], answer=answer
            )
            for code, answer in answers.items()
            if code not in rows
        ]
        # The first new answer is saved as any single answer is, through the write guards
        # (actor, lock); the others, of the same participant by the same actor, are then
        # inserted together, each with its own "+" history row.
        if first:
            rows[first[0].criterion_code] = _answer_row(
                locked,
                None,
                first[0].criterion_code,
                first[0].kind,
                first[0].answer,
                "",
                actor=actor,
                reason=reason,
                now=now,
            )
            rows |= {
                row.criterion_code: row for row in _insert_answers(first[1:], actor, reason, now)
            }
        return [
            _answer_row(
                locked,
                rows[code],
                code,
                kinds[code],
                answer,
                rows[code].comment,
                actor=actor,
                reason=reason,
                now=now,
            )
            for code, answer in answers.items()
        ]


def _insert_answers(
    rows: list[EligibilityAnswer], actor: Any, reason: str, now: datetime
) -> list[EligibilityAnswer]:
    """New answers of one participant inserted in one statement, with their history rows in
    another, stamped as `audited_save` stamps a first entry."""
    for row in rows:
        row.answered_at = now
        row.full_clean(exclude=["participant"], validate_unique=False)
    created = EligibilityAnswer.objects.bulk_create(rows)
    stamp = Stamp(actor=actor, reason=reason.strip() or "Initial entry", now=timezone.now())
    history_insert(EligibilityAnswer, [row.pk for row in created], stamp=stamp, history_type="+")
    return created


def eligibility_verification(
    participant: Participant, *, now: datetime | None = None
) -> dict[str, dict[str, Any]]:
    """Each answer the protocol links to entered data, checked against it: {code: {status,
    sentence}}, status contradicted, unverified or verified. The forms sit above trials, so the
    check is the function the ELIGIBILITY_SOURCE_CHECK setting names."""
    check = getattr(settings, "ELIGIBILITY_SOURCE_CHECK", "")
    if not check:
        return {}
    result: dict[str, dict[str, Any]] = import_string(check)(participant, now=now)
    return result


def eligibility_outcome(participant: Participant, *, now: datetime | None = None) -> dict[str, Any]:
    """Which criteria are unanswered, unmet or applying, which answers the entered data
    contradict or cannot verify yet (as of `now`, the present by default), and whether the
    person is eligible."""
    eligibility = definition_of(participant.protocol_version).eligibility
    answers = {a.criterion_code: a.answer for a in participant.eligibility_answers.all()}
    unanswered = [
        c.code for c in (*eligibility.inclusion, *eligibility.exclusion) if c.code not in answers
    ]
    unmet = [c.code for c in eligibility.inclusion if answers.get(c.code) is False]
    applying = [c.code for c in eligibility.exclusion if answers.get(c.code) is True]
    verification = eligibility_verification(participant, now=now)
    return {
        "complete": not unanswered,
        "eligible": not unanswered and not unmet and not applying,
        "unanswered": unanswered,
        "unmet_inclusions": unmet,
        "applying_exclusions": applying,
        "contradictions": [
            v["sentence"] for v in verification.values() if v["status"] == "contradicted"
        ],
        "unverified": [code for code, v in verification.items() if v["status"] == "unverified"],
        "unverified_notes": [
            v["sentence"] for v in verification.values() if v["status"] == "unverified"
        ],
    }


def eligibility_confirm(*, actor: Any, participant: Participant, now: datetime) -> Participant:
    """An investigator confirms a complete checklist that shows the person eligible."""
    require_role(
        actor,
        trial=participant.trial,
        site=participant.site,
        roles={Role.INVESTIGATOR},
        action=gettext_noop("confirm eligibility"),
    )
    with transaction.atomic():
        locked = lock_participant(participant)
        outcome = eligibility_outcome(locked, now=now)
        if not outcome["complete"]:
            raise DomainError(
                "The checklist is incomplete: " + ", ".join(outcome["unanswered"]) + " unanswered."
            )
        if not outcome["eligible"]:
            failed = outcome["unmet_inclusions"] + outcome["applying_exclusions"]
            raise DomainError(
                "Not eligible: " + ", ".join(failed) + ". Record a screen failure instead."
            )
        if outcome["contradictions"]:
            raise DomainError(
                "The checklist disagrees with the entered data: "
                + " ".join(outcome["contradictions"])
                + " Correct the answer or the data first."
            )
        transition(locked, S.ELIGIBLE)
        locked.eligibility_confirmed_by = actor
        locked.eligibility_confirmed_at = now
        return audited_save(locked, actor=actor, reason="Eligibility confirmed by investigator")


def require_still_eligible(participant: Participant, *, now: datetime) -> None:
    """Refuse allocation while the entered data contradict an answer, for example a
    medication entered since the confirmation that falls within an exclusion's look-back."""
    contradictions = eligibility_outcome(participant, now=now)["contradictions"]
    if contradictions:
        raise DomainError(
            "The checklist disagrees with the entered data: "
            + " ".join(contradictions)
            + " Correct the data, or record a screen failure."
        )


RECONFIRM_AT_RANDOMIZATION = "randomization"


def reconfirmed_criteria(participant: Participant, event: str) -> list[tuple[str, Any]]:
    """(kind, criterion) of each criterion the protocol asks to confirm again at `event`."""
    eligibility = definition_of(participant.protocol_version).eligibility
    return [
        (kind, criterion)
        for kind, criteria in (
            (CriterionKind.INCLUSION, eligibility.inclusion),
            (CriterionKind.EXCLUSION, eligibility.exclusion),
        )
        for criterion in criteria
        if criterion.reconfirm_at == event
    ]


def eligibility_reconfirm(
    *,
    actor: Any,
    participant: Participant,
    criterion_code: str,
    answer: bool,
    comment: str = "",
    now: datetime,
) -> EligibilityReconfirmation:
    """Confirm again, on the day of randomization, a criterion the protocol says must hold
    then: for an inclusion, is it still met; for an exclusion, does it now apply."""
    require_role(
        actor,
        trial=participant.trial,
        site=participant.site,
        roles=SITE_STAFF_ROLES,
        action=gettext_noop("confirm eligibility criteria again"),
    )
    kinds = {
        c.code: kind for kind, c in reconfirmed_criteria(participant, RECONFIRM_AT_RANDOMIZATION)
    }
    if criterion_code not in kinds:
        raise DomainError(
            f"{criterion_code} is not a criterion the protocol asks to confirm again at "
            "randomization.",
            fields={"criterion_code": ["Not confirmed again at randomization."]},
        )
    with transaction.atomic():
        locked = lock_participant(participant)
        if locked.status != S.ELIGIBLE:
            raise InvalidTransitionError(
                "Criteria are confirmed again once eligibility is confirmed and before "
                f"randomization; {locked.identifier} is {locked.get_status_display().lower()}."
            )
        row = EligibilityReconfirmation(
            participant=locked,
            criterion_code=criterion_code,
            kind=kinds[criterion_code],
            answer=answer,
            comment=comment,
            confirmed_at=now,
            site_date=local_date(now, locked.site.time_zone),
            confirmed_by=actor,
        )
        return audited_save(row, actor=actor, reason="Confirmed again on the day of randomization")


def require_reconfirmed(participant: Participant, *, now: datetime) -> None:
    """Refuse randomization until each criterion the protocol asks to confirm again on the day
    of randomization was confirmed on that day (the site's day), and still allows it."""
    today = local_date(now, participant.site.time_zone)
    for kind, criterion in reconfirmed_criteria(participant, RECONFIRM_AT_RANDOMIZATION):
        last = (
            participant.eligibility_reconfirmations.filter(criterion_code=criterion.code)
            .order_by("-confirmed_at", "-pk")
            .first()
        )
        name = f"{CriterionKind(kind).label} {criterion.number}"
        if last is None or last.site_date != today:
            raise DomainError(
                f"{name} must hold on the day of randomization: confirm it again today "
                f"({today:%Y-%m-%d} at the site) before randomizing."
            )
        if last.answer != (kind == CriterionKind.INCLUSION):
            state = "is no longer met" if kind == CriterionKind.INCLUSION else "applies"
            raise DomainError(
                f"{name} {state} on the day of randomization ({today:%Y-%m-%d}): the "
                "participant cannot be randomized."
            )


def participant_screen_fail(
    *, actor: Any, participant: Participant, reason: str, now: datetime
) -> Participant:
    require_role(
        actor,
        trial=participant.trial,
        site=participant.site,
        roles=SITE_STAFF_ROLES,
        action=gettext_noop("record a screen failure"),
    )
    return _end(participant, S.SCREEN_FAILED, actor=actor, reason=reason, now=now)


def participant_withdraw(
    *, actor: Any, participant: Participant, reason: str, now: datetime
) -> Participant:
    """Withdraw the participant; everything collected so far is kept."""
    require_role(
        actor,
        trial=participant.trial,
        site=participant.site,
        roles=SITE_STAFF_ROLES,
        action=gettext_noop("withdraw participants"),
    )
    return _end(participant, S.WITHDRAWN, actor=actor, reason=reason, now=now)


def participant_lost_to_follow_up(
    *, actor: Any, participant: Participant, reason: str, now: datetime
) -> Participant:
    require_role(
        actor,
        trial=participant.trial,
        site=participant.site,
        roles=SITE_STAFF_ROLES,
        action=gettext_noop("record loss to follow-up"),
    )
    return _end(participant, S.LOST_TO_FOLLOW_UP, actor=actor, reason=reason, now=now)


def participant_complete(*, actor: Any, participant: Participant, now: datetime) -> Participant:
    require_role(
        actor,
        trial=participant.trial,
        site=participant.site,
        roles=SITE_STAFF_ROLES,
        action=gettext_noop("complete participants"),
    )
    return _end(participant, S.COMPLETED, actor=actor, reason="Study completed", now=now)


def _end(
    participant: Participant, target: str, *, actor: Any, reason: str, now: datetime
) -> Participant:
    if not reason.strip():
        raise DomainError("Give the reason.", fields={"reason": ["Required."]})
    with transaction.atomic():
        locked = lock_participant(participant)
        transition(locked, target)
        locked.ended_at = now
        if target == S.SCREEN_FAILED:
            locked.screen_failure_reason = reason.strip()
        else:
            locked.end_reason = reason.strip()
        return audited_save(locked, actor=actor, reason=reason)
