"""Visit services: the schedule from Day 0, rescheduling and unscheduled visits."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from assessments.services.visits import visit_record
from ecrf.errors import DomainError, InvalidTransitionError, PermissionDeniedError
from tests.personas import NOW, Team, load, make_team
from tests.world import make_eligible, reconfirm_for_randomization, with_allocation
from trials.definitions import definition_of
from trials.models import Participant, ParticipantStatus
from trials.services import participant_enrol, participant_randomize
from visits.models import Visit, VisitStatus
from visits.services import participant_set_day0, visit_add_unscheduled


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def msvle(db, clock) -> Team:
    return make_team(load("nct03673748.yaml"))


@pytest.fixture
def mscrole(db, clock) -> Team:
    return make_team(load("nct03917797.yaml"))


def randomized(team: Team, *, at: datetime = NOW) -> Participant:
    with_allocation(team)
    participant = make_eligible(team, reconfirm=False)
    reconfirm_for_randomization(team, participant, now=at)
    return participant_randomize(actor=team.coordinator, participant=participant, now=at)


def set_day0(team: Team, participant: Participant, day0: date, reason: str = "") -> Participant:
    return participant_set_day0(
        actor=team.coordinator,
        participant=participant,
        day0=day0,
        reason=reason,
        now=timezone.now(),
    )


def visits(participant: Participant) -> dict[str, Visit]:
    return {v.code: v for v in Visit.objects.filter(participant=participant)}


def record(team: Team, visit: Visit, day: date, reason: str = "") -> Visit:
    return visit_record(
        actor=team.coordinator, visit=visit, actual_date=day, reason=reason, now=timezone.now()
    )


MSVLE_CODES = ["SEL", "RAND", "D0", "W1", "W4", "W8", "W12", "W16", "W20", "W24", "FU52"]


def test_registration_opens_the_screening_visit_for_28_local_days(msvle) -> None:
    participant = randomized(msvle)
    screening = visits(participant)["SEL"]
    assert (screening.kind, screening.day, screening.target_date) == ("screening", None, NOW.date())
    assert screening.window_opens_at == utc(2026, 3, 1, 23)  # 2 March 00:00 CET
    assert screening.window_closes_at == utc(2026, 3, 29, 22)  # 30 March 00:00 CEST


def test_day0_creates_the_schedule_of_the_protocol_version(msvle) -> None:
    participant = set_day0(msvle, randomized(msvle), date(2026, 3, 20))
    assert (participant.status, participant.day0) == (ParticipantStatus.ON_STUDY, date(2026, 3, 20))
    assert participant.history.first().history_change_reason == "Day 0 set"
    rows = list(Visit.objects.filter(participant=participant).order_by("visit_number"))
    assert [v.code for v in rows] == MSVLE_CODES
    assert [v.visit_number for v in rows] == [Decimal(n) for n in range(1, 12)]
    assert {v.protocol_version_id for v in rows} == {participant.protocol_version_id}
    by_code = {v.code: v for v in rows}
    assert by_code["W24"].target_date == date(2026, 9, 4)  # Day 0 + 168
    assert by_code["W1"].target_date == date(2026, 3, 27)
    assert by_code["FU52"].target_date == date(2027, 3, 19)
    assert by_code["RAND"].target_date == date(2026, 3, 13)
    definition = definition_of(participant.protocol_version)
    for spec in definition.visits[1:]:
        assert by_code[spec.code].target_date == date(2026, 3, 20) + timedelta(days=spec.day)
        assert by_code[spec.code].day == spec.day
    assert [v.code for v in rows if v.dosing] == ["D0"]
    assert [v.code for v in rows if v.optional] == ["FU52"]
    assert by_code["D0"].status == VisitStatus.SCHEDULED  # its window opens on 20 March


def test_each_visit_expects_the_forms_of_the_protocol(msvle) -> None:
    participant = set_day0(msvle, randomized(msvle), date(2026, 3, 20))
    by_code = visits(participant)
    assert by_code["D0"].forms == [
        "vitals",
        "labs",
        "pregnancy",
        "infusion",
        "conmed",
        "adverse_events",
    ]
    assert by_code["W1"].forms == ["labs", "conmed", "adverse_events"]
    assert by_code["W24"].forms == [
        "sledai2k",
        "renal",
        "labs",
        "vitals",
        "conmed",
        "adverse_events",
    ]
    assert by_code["FU52"].forms[-1] == "end_of_study"
    definition = definition_of(participant.protocol_version)
    assert {code: v.forms for code, v in by_code.items()} == {
        spec.code: list(spec.forms) for spec in definition.visits
    }


def test_madrid_windows_are_local_days_stored_in_utc(msvle) -> None:
    participant = set_day0(msvle, randomized(msvle), date(2026, 3, 20))
    by_code = visits(participant)
    expected = {
        "D0": (utc(2026, 3, 19, 23), utc(2026, 3, 20, 23)),
        "W1": (utc(2026, 3, 24, 23), utc(2026, 3, 29, 22)),  # across the last Sunday of March
        "W24": (utc(2026, 8, 27, 22), utc(2026, 9, 11, 22)),
        "FU52": (utc(2027, 3, 4, 23), utc(2027, 4, 2, 22)),  # across 28 March 2027
    }
    for code, (opens, closes) in expected.items():
        visit = by_code[code]
        assert (visit.window_opens_at, visit.window_closes_at) == (opens, closes), code
        assert visit.window_opens_at.utcoffset() == timedelta(0)


def test_santiago_windows_follow_chilean_summer_time(mscrole) -> None:
    participant = make_eligible(mscrole)
    participant = participant_enrol(actor=mscrole.coordinator, participant=participant, now=NOW)
    participant = set_day0(mscrole, participant, date(2026, 3, 5))
    by_code = visits(participant)
    assert list(by_code) == ["SCR", "M0", "M1", "M3", "M6", "M9", "M12"]
    expected = {
        "M0": (date(2026, 3, 5), utc(2026, 3, 5, 3), utc(2026, 3, 6, 3)),
        "M1": (date(2026, 4, 4), utc(2026, 3, 28, 3), utc(2026, 4, 12, 4)),  # across 5 April
        "M6": (date(2026, 9, 1), utc(2026, 8, 18, 4), utc(2026, 9, 16, 3)),  # across 6 September
        "M12": (date(2027, 3, 5), utc(2027, 2, 19, 3), utc(2027, 3, 20, 3)),
    }
    for code, (target, opens, closes) in expected.items():
        visit = by_code[code]
        assert (visit.target_date, visit.window_opens_at, visit.window_closes_at) == (
            target,
            opens,
            closes,
        ), code
    assert by_code["M0"].dosing and by_code["M6"].dosing


def test_day0_before_the_local_randomization_date_is_refused(msvle) -> None:
    # 23:30 UTC on 2 March is already 3 March in Valladolid.
    participant = randomized(msvle, at=utc(2026, 3, 2, 23, 30))
    with pytest.raises(DomainError, match="Day 0 cannot be before randomization") as caught:
        set_day0(msvle, participant, date(2026, 3, 2))
    assert "day0" in caught.value.fields
    participant.refresh_from_db()
    assert (participant.day0, participant.status) == (None, ParticipantStatus.RANDOMIZED)
    assert list(visits(participant)) == ["SEL"]
    set_day0(msvle, participant, date(2026, 3, 3))
    rand = visits(participant)["RAND"]
    assert rand.actual_date == date(2026, 3, 3)


def test_day0_needs_a_randomized_or_enrolled_participant(msvle) -> None:
    participant = make_eligible(msvle)
    with pytest.raises(InvalidTransitionError, match="must be randomized or enrolled"):
        set_day0(msvle, participant, date(2026, 3, 20))
    participant.refresh_from_db()
    assert participant.day0 is None
    assert list(visits(participant)) == ["SEL"]


def test_only_site_staff_set_day0(msvle) -> None:
    participant = randomized(msvle)
    for actor in (msvle.other_coordinator, msvle.monitor, msvle.pharmacist):
        with pytest.raises(PermissionDeniedError):
            participant_set_day0(actor=actor, participant=participant, day0=NOW.date(), now=NOW)
    assert list(visits(participant)) == ["SEL"]


def test_randomization_visit_is_created_completed_on_the_randomization_date(msvle) -> None:
    participant = set_day0(msvle, randomized(msvle), date(2026, 3, 5))
    rand = visits(participant)["RAND"]
    assert (rand.status, rand.actual_date, rand.out_of_window) == ("completed", NOW.date(), False)
    assert (rand.window_opens_at, rand.window_closes_at) == (
        utc(2026, 2, 25, 23),
        utc(2026, 3, 5, 23),
    )
    late = set_day0(msvle, randomized_again(msvle), date(2026, 3, 20))
    assert visits(late)["RAND"].out_of_window is True  # randomized 18 days before Day 0


def randomized_again(team: Team) -> Participant:
    return participant_randomize(actor=team.coordinator, participant=make_eligible(team), now=NOW)


def test_rescheduling_day0_moves_every_visit_and_needs_a_reason(msvle) -> None:
    participant = set_day0(msvle, randomized(msvle), date(2026, 3, 20))
    before = {code: (v.target_date, v.window_opens_at) for code, v in visits(participant).items()}
    with pytest.raises(DomainError, match="Give the reason for rescheduling") as caught:
        set_day0(msvle, participant, date(2026, 3, 23))
    assert "reason" in caught.value.fields
    assert {c: (v.target_date, v.window_opens_at) for c, v in visits(participant).items()} == before
    moved = set_day0(msvle, participant, date(2026, 3, 23), reason="Product release delayed")
    assert moved.day0 == date(2026, 3, 23)
    assert moved.history.first().history_change_reason == "Product release delayed"
    after = visits(participant)
    for code in MSVLE_CODES[1:]:
        assert after[code].target_date == before[code][0] + timedelta(days=3), code
        assert after[code].history.first().history_change_reason == "Product release delayed"
    assert after["SEL"].target_date == before["SEL"][0]
    assert (after["W1"].window_opens_at, after["W1"].window_closes_at) == (
        utc(2026, 3, 27, 23),  # 28 March 00:00 CET
        utc(2026, 4, 1, 22),  # 2 April 00:00 CEST
    )
    assert after["RAND"].status == VisitStatus.COMPLETED
    assert after["RAND"].actual_date == NOW.date()
    # Setting the same Day 0 again is not a change and needs no reason.
    set_day0(msvle, participant, date(2026, 3, 23))


def test_rescheduling_a_postponed_infusion_reopens_visits_marked_missed(msvle, clock) -> None:
    participant = set_day0(msvle, randomized(msvle), date(2026, 3, 2))
    clock.move_to(utc(2026, 3, 4, 9), tick=False)
    # The missed-visit job closed the Day 0 visit: the infusion did not happen that day.
    Visit.objects.filter(participant=participant, code="D0").update(status=VisitStatus.MISSED)
    set_day0(msvle, participant, date(2026, 3, 4), reason="Infusion postponed")
    dosing = visits(participant)["D0"]
    assert (dosing.target_date, dosing.status) == (date(2026, 3, 4), VisitStatus.OPEN)
    set_day0(msvle, participant, date(2026, 3, 9), reason="Postponed again")
    assert visits(participant)["D0"].status == VisitStatus.SCHEDULED


def test_rescheduling_is_refused_once_a_dose_is_recorded(msvle, clock) -> None:
    participant = set_day0(msvle, randomized(msvle), date(2026, 3, 2))
    dosing = visits(participant)["D0"]
    assert dosing.status == VisitStatus.OPEN
    record(msvle, dosing, date(2026, 3, 2))
    with pytest.raises(InvalidTransitionError, match="A dose has already been given"):
        set_day0(msvle, participant, date(2026, 3, 4), reason="Wrong date entered")
    participant.refresh_from_db()
    assert participant.day0 == date(2026, 3, 2)
    assert visits(participant)["W24"].target_date == date(2026, 8, 17)


def test_unscheduled_visits_are_numbered_after_their_parent(msvle, clock) -> None:
    participant = set_day0(msvle, randomized(msvle), date(2026, 3, 2))
    clock.move_to(utc(2026, 3, 12, 9), tick=False)
    parent = visits(participant)["W1"]
    added = [
        visit_add_unscheduled(
            actor=msvle.coordinator,
            parent=parent,
            actual_date=date(2026, 3, 10 + n),
            reason="Flare",
            forms=["labs", "sledai2k"],
            now=timezone.now(),
        )
        for n in range(2)
    ]
    stored = [Visit.objects.get(pk=v.pk) for v in added]
    assert [(v.code, v.visit_number, v.kind) for v in stored] == [
        ("W1.U01", Decimal("4.01"), "unscheduled"),
        ("W1.U02", Decimal("4.02"), "unscheduled"),
    ]
    assert all(v.parent_id == parent.pk and v.is_unscheduled for v in stored)
    assert [(v.status, v.actual_date, v.forms) for v in stored] == [
        ("completed", date(2026, 3, 10), ["labs", "sledai2k"]),
        ("completed", date(2026, 3, 11), ["labs", "sledai2k"]),
    ]
    assert visits(participant)["W4"].visit_number == Decimal(5)


def test_unscheduled_visits_refuse_unknown_forms_future_dates_and_no_reason(msvle) -> None:
    participant = set_day0(msvle, randomized(msvle), date(2026, 3, 2))
    parent = visits(participant)["D0"]

    def add(**changes):
        values = {"actual_date": date(2026, 3, 2), "reason": "Reaction", "forms": ["vitals"]}
        values.update(changes)
        return visit_add_unscheduled(actor=msvle.coordinator, parent=parent, now=NOW, **values)

    with pytest.raises(DomainError, match="Unknown form\\(s\\): xray, mri") as caught:
        add(forms=["vitals", "xray", "mri"])
    assert "forms" in caught.value.fields
    with pytest.raises(DomainError, match="in the future"):
        add(actual_date=date(2026, 3, 3))
    with pytest.raises(DomainError, match="Say why"):
        add(reason=" ")
    with pytest.raises(PermissionDeniedError):
        visit_add_unscheduled(
            actor=msvle.monitor,
            parent=parent,
            actual_date=date(2026, 3, 2),
            reason="x",
            forms=[],
            now=NOW,
        )
    assert not Visit.objects.filter(parent=parent).exists()
    first = add()
    with pytest.raises(DomainError, match="scheduled visit"):
        visit_add_unscheduled(
            actor=msvle.coordinator,
            parent=first,
            actual_date=date(2026, 3, 2),
            reason="Again",
            forms=[],
            now=NOW,
        )
    assert Visit.objects.filter(kind="unscheduled").count() == 1
    assert add().visit_number == Decimal("3.02")
