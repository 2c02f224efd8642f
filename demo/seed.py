"""Demo data: both shipped protocols, staff for every role, and synthetic participants in
various states, all written through the services so the audit trail is real."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import system_actor
from assessments.services import form_save
from assessments.services.visits import visit_record
from casebook.catalogue import form_type
from demo.reconfirm import reconfirm_before_randomization
from ecrf.access import SITE_ROLES, Role
from trials.models import AllocationList, Participant, Trial
from trials.protocol import parse_protocol_file
from trials.services import (
    allocation_generate,
    consent_record,
    eligibility_answer,
    eligibility_confirm,
    eligibility_outcome,
    membership_grant,
    participant_enrol,
    participant_randomize,
    participant_screen_fail,
    participant_withdraw,
    protocol_load,
)
from visits.services import participant_register, participant_set_day0

PROTOCOLS = Path(settings.BASE_DIR) / "protocols"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    description: str


def _demo_password() -> str:
    return "demo-" + secrets.token_urlsafe(9)


def _set_password(user: User, password: str) -> None:
    user.set_password(password)
    user.save(update_fields=["password"])


def demo_protocols_load(now: datetime) -> list[str]:
    loaded = []
    for path in sorted(PROTOCOLS.glob("*.yaml")):
        result = protocol_load(
            actor=system_actor(),
            definition=parse_protocol_file(path),
            source_name=path.name,
            now=now,
        )
        loaded.append(f"{result.version.trial.code} v{result.version.label}")
    return loaded


def demo_staff_create() -> list[DemoLogin]:
    """Create (or reset the passwords of) one demo user per role and site; return the logins."""
    actor = system_actor()
    logins: list[DemoLogin] = []
    with transaction.atomic():
        admin, _ = User.objects.get_or_create(
            username="admin", defaults={"is_superuser": True, "is_staff": True}
        )
        password = _demo_password()
        _set_password(admin, password)
        logins.append(DemoLogin("admin", password, "installation administrator"))
        for trial in Trial.objects.order_by("code").prefetch_related("sites"):
            for role in Role:
                sites = list(trial.sites.all()) if role in SITE_ROLES else [None]
                for site in sites:
                    suffix = f".{site.code.lower()}" if site is not None else ""
                    username = f"{trial.code.lower()}.{role.value}{suffix}"
                    user, _ = User.objects.get_or_create(
                        username=username,
                        defaults={
                            "printed_name": f"Demo {role.label}",
                            "email": f"{username}@example.org",
                        },
                    )
                    password = _demo_password()
                    _set_password(user, password)
                    membership_grant(actor=actor, user=user, trial=trial, role=role, site=site)
                    where = site.code if site is not None else "all sites"
                    logins.append(
                        DemoLogin(username, password, f"{trial.code} {role.label}, {where}")
                    )
    return logins


def _staff(trial: Trial, role: str, site_code: str | None = None) -> User:
    suffix = f".{site_code.lower()}" if site_code else ""
    return User.objects.get(username=f"{trial.code.lower()}.{role}{suffix}")


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.get_current_timezone())


def _eligible(trial: Trial, participant: Participant, when: datetime, *, fail: str = "") -> None:
    site = participant.site.code
    coordinator = _staff(trial, Role.COORDINATOR, site)
    # Consent is taken at the first screening visit, the day of registration.
    consent_record(
        actor=coordinator,
        participant=participant,
        form_version="1.0",
        consent_date=participant.registered_at.date(),
        now=when,
    )
    for code in eligibility_outcome(participant)["unanswered"]:
        answer = code.startswith("IN") != (code == fail)
        eligibility_answer(
            actor=coordinator, participant=participant, criterion_code=code, answer=answer, now=when
        )
    if not fail:
        eligibility_confirm(
            actor=_staff(trial, Role.INVESTIGATOR, site), participant=participant, now=when
        )


def demo_participants_create(trial: Trial, *, today: date) -> int:
    """A handful of participants in various states, unless the trial already has some."""
    if trial.participants.exists():
        return 0
    site = trial.sites.order_by("code").first()
    assert site is not None
    coordinator = _staff(trial, Role.COORDINATOR, site.code)
    investigator = _staff(trial, Role.INVESTIGATOR, site.code)
    open_label = trial.cohorts.exists()
    if not open_label and not AllocationList.objects.filter(trial=trial).exists():
        allocation_generate(
            actor=_staff(trial, Role.UNBLINDED_STATISTICIAN),
            trial=trial,
            seed=secrets.token_urlsafe(24),
            now=_at(today - timedelta(days=120)),
        )
    births = [
        date(1984, 2, 11),
        date(1991, 7, 3),
        date(1979, 11, 23),
        date(1996, 5, 30),
        date(1988, 1, 9),
    ]
    created = []
    for index, born in enumerate(births):
        start = today - timedelta(days=100 - index * 15)
        created.append(
            participant_register(
                actor=coordinator,
                site=site,
                sex="F" if index % 3 else "M",
                date_of_birth=born,
                now=_at(start),
            )
        )
    # 1 and 2 reach Day 0 and follow-up; 3 is eligible; 4 screen-failed; 5 still screening.
    for index, participant in enumerate(created[:3]):
        when = _at(today - timedelta(days=98 - index * 15))
        _eligible(trial, participant, when)
        if index == 2:
            continue
        if open_label:
            participant_enrol(actor=coordinator, participant=participant, now=when)
        else:
            reconfirm_before_randomization(actor=coordinator, participant=participant, now=when)
            participant_randomize(actor=coordinator, participant=participant, now=when)
        day0 = (when + timedelta(days=3)).date()
        participant_set_day0(actor=coordinator, participant=participant, day0=day0, now=when)
        _record_visits(participant, coordinator, investigator, today=today)
    failed = created[3]
    when = _at(today - timedelta(days=50))
    _eligible(trial, failed, when, fail="IN02")
    participant_screen_fail(
        actor=coordinator, participant=failed, reason="Inclusion IN02 not met", now=when
    )
    consent_record(
        actor=coordinator,
        participant=created[4],
        form_version="1.0",
        consent_date=today - timedelta(days=39),
        now=_at(today - timedelta(days=39)),
    )
    if not open_label:
        withdrawn = participant_register(
            actor=coordinator,
            site=site,
            sex="F",
            date_of_birth=date(1990, 3, 14),
            now=_at(today - timedelta(days=90)),
        )
        when = _at(today - timedelta(days=88))
        _eligible(trial, withdrawn, when)
        reconfirm_before_randomization(actor=coordinator, participant=withdrawn, now=when)
        participant_randomize(actor=coordinator, participant=withdrawn, now=when)
        participant_withdraw(
            actor=coordinator,
            participant=withdrawn,
            reason="Consent withdrawn",
            now=when + timedelta(days=20),
        )
        created.append(withdrawn)
    return len(created)


def _record_visits(
    participant: Participant, coordinator: User, investigator: User, *, today: date
) -> None:
    """Record the visits whose target date has passed, with a SLEDAI-2K where one is due."""
    for visit in participant.visits.filter(target_date__lt=today - timedelta(days=3)).order_by(
        "visit_number"
    ):
        if visit.status == "completed" or visit.target_date is None:
            continue
        when = _at(visit.target_date, 11)
        visit_record(actor=coordinator, visit=visit, actual_date=visit.target_date, now=when)
        if "sledai2k" in visit.forms:
            form_save(
                actor=investigator,
                ftype=form_type("sledai2k"),
                participant=participant,
                visit=visit,
                data={
                    "assessment_date": visit.target_date,
                    "window_days": 10,
                    # 12 points: at least the 10 trial A asks at selection.
                    "prot": True,
                    "arth": True,
                    "rash": True,
                    "lowcomp": True,
                },
                now=when,
            )


def demo_load() -> tuple[list[str], list[DemoLogin], dict[str, int]]:
    now = timezone.now()
    protocols = demo_protocols_load(now)
    logins = demo_staff_create()
    counts = {
        trial.code: demo_participants_create(trial, today=now.date())
        for trial in Trial.objects.order_by("code")
    }
    return protocols, logins, counts
