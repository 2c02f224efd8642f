"""Participants of a team's trial taken through the services: registered, made eligible,
randomized and on study with Day 0 set, and the SLEDAI-2K of one of their visits entered."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from accounts.models import User
from assessments.services import form_save
from casebook.catalogue import form_type
from ecrf.access import Role
from tests.personas import NOW, Team, member
from trials.definitions import definition_of
from trials.models import Participant, Site
from trials.services import (
    allocation_generate,
    consent_record,
    dsmb_release_grant,
    eligibility_answers,
    eligibility_confirm,
    eligibility_reconfirm,
    participant_randomize,
)
from visits.services import participant_register, participant_set_day0

SEED = "a-secret-seed-of-enough-length-0001"
DAY0 = date(2026, 3, 4)
# The clock of the `after_week24` fixture: forms are first entered at this time.
ENTERED = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)


def later(hours: float) -> datetime:
    return ENTERED + timedelta(hours=hours)


def register(
    team: Team, *, site: Site | None = None, born: date = date(1990, 5, 17), sex: str = "F"
) -> Participant:
    return participant_register(
        actor=team.coordinator if site is None else team.other_coordinator,
        site=site or team.site,
        sex=sex,
        date_of_birth=born,
        now=NOW,
    )


def consented(team: Team) -> Participant:
    """A participant registered and consented at the team's site, in screening."""
    participant = register(team)
    consent_record(
        actor=team.coordinator,
        participant=participant,
        form_version="1.0",
        consent_date=NOW.date(),
        now=NOW,
    )
    return participant


def reconfirm_for_randomization(
    team: Team, participant: Participant, *, now: datetime = NOW, actor: Any = None
) -> None:
    """Confirm again, on the day of `now`, the criteria the protocol asks to hold on the day of
    randomization (each inclusion still met, each exclusion not applying)."""
    eligibility = definition_of(participant.protocol_version).eligibility
    for criterion in (*eligibility.inclusion, *eligibility.exclusion):
        if criterion.reconfirm_at == "randomization":
            eligibility_reconfirm(
                actor=actor
                or (team.coordinator if participant.site == team.site else team.other_coordinator),
                participant=participant,
                criterion_code=criterion.code,
                answer=criterion.code.startswith("IN"),
                now=now,
            )


def make_eligible(
    team: Team, participant: Participant | None = None, *, reconfirm: bool = True
) -> Participant:
    participant = participant or register(team)
    actor = team.coordinator if participant.site == team.site else team.other_coordinator
    consent_record(
        actor=actor, participant=participant, form_version="1.0", consent_date=NOW.date(), now=NOW
    )
    eligibility = definition_of(participant.protocol_version).eligibility
    answered = set(participant.eligibility_answers.values_list("criterion_code", flat=True))
    eligibility_answers(
        actor=actor,
        participant=participant,
        answers={
            c.code: c.code.startswith("IN")
            for c in (*eligibility.inclusion, *eligibility.exclusion)
            if c.code not in answered
        },
        now=NOW,
    )
    investigator = team.investigator
    if participant.site != team.site:
        investigator = member(
            team.trial, Role.INVESTIGATOR, participant.site, f"{team.trial.code.lower()}_inv_other"
        )
    participant = eligibility_confirm(actor=investigator, participant=participant, now=NOW)
    if reconfirm:
        reconfirm_for_randomization(team, participant)
    return participant


def with_allocation(team: Team) -> None:
    allocation_generate(actor=team.unblinded_statistician, trial=team.trial, seed=SEED, now=NOW)


def grant_release(team: Team, *, now: datetime = NOW, expires_at: datetime | None = None) -> Any:
    """A DSMB release for the team's unblinded statistician, granted by its trial admin."""
    return dsmb_release_grant(
        actor=team.trial_admin,
        trial=team.trial,
        recipient=team.unblinded_statistician,
        reason="DSMB meeting (interim safety review)",
        now=now,
        expires_at=expires_at,
    )


def on_study(team: Team, *, day0: date = DAY0) -> Participant:
    """A participant of a trial without dose escalation, randomized and with Day 0 set."""
    if not hasattr(team, "_allocated"):
        with_allocation(team)
        team._allocated = True  # type: ignore[attr-defined]
    participant = make_eligible(team)
    participant = participant_randomize(actor=team.coordinator, participant=participant, now=NOW)
    return participant_set_day0(actor=team.coordinator, participant=participant, day0=day0, now=NOW)


def enter_sledai(
    team: Team,
    participant: Participant,
    code: str = "W4",
    data: dict[str, Any] | None = None,
    *,
    actor: User | None = None,
    now: datetime = ENTERED,
    **kwargs: Any,
) -> Any:
    """Enter (or, with `expected_version` and `reason`, change) the SLEDAI-2K of a visit."""
    from tests.assessments.test_sledai_form import EXAMPLE_1  # a test module: read when used

    return form_save(
        actor=actor or team.investigator,
        ftype=form_type("sledai2k"),
        participant=participant,
        visit=participant.visits.get(code=code),
        data=data if data is not None else {"assessment_date": date(2026, 4, 1), **EXAMPLE_1},
        now=now,
        **kwargs,
    )


def not_of_childbearing_potential(
    team: Team, participant: Participant, *, code: str = "D0", now: datetime = NOW
) -> Any:
    """The pregnancy form of a woman not of childbearing potential: no test is needed before
    her infusion (without any pregnancy form she would not be given it)."""
    return form_save(
        actor=team.coordinator,
        ftype=form_type("pregnancy"),
        participant=participant,
        visit=participant.visits.get(code=code),
        data={"applicable": False},
        now=now,
    )
