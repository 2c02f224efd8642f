"""Synthetic participants and visits, all due to be flagged missed, for load and benchmark runs."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from simple_history.utils import bulk_create_with_history

from accounts.models import User
from accounts.services import system_actor
from ecrf.access import Role
from ecrf.bulk import history_copy_sql
from ecrf.history import actor_names
from trials.definitions import current_version, definition_of
from trials.models import Membership, Participant, ParticipantStatus, ProtocolVersion, Site, Trial
from visits.models import Visit, VisitStatus
from visits.schedule import visit_window
from visits.services import _visit_row

# Extra sites spread over time zones on both sides of UTC: code, city, country, time zone.
SITES = (
    ("SY01", "Santiago", "CL", "America/Santiago"),
    ("SY02", "New York", "US", "America/New_York"),
    ("SY03", "Tokyo", "JP", "Asia/Tokyo"),
    ("SY04", "Sydney", "AU", "Australia/Sydney"),
    ("SY05", "London", "GB", "Europe/London"),
    ("SY06", "Los Angeles", "US", "America/Los_Angeles"),
    ("SY07", "Mumbai", "IN", "Asia/Kolkata"),
    ("SY08", "Auckland", "NZ", "Pacific/Auckland"),
    ("SY09", "Honolulu", "US", "Pacific/Honolulu"),
    ("SY10", "Berlin", "DE", "Europe/Berlin"),
    ("SY11", "Sao Paulo", "BR", "America/Sao_Paulo"),
)
# Open statuses a visit whose window closed may still have, in turn.
STATUSES = (VisitStatus.SCHEDULED, VisitStatus.OPEN, VisitStatus.OVERDUE)
# Day 0 of the participants is spread over this many days before the latest possible one.
SPREAD_DAYS = 730
CHANGE_REASON = "Synthetic data"


@dataclass(frozen=True)
class Generated:
    visits: int
    participants: int
    sites: int
    now: datetime


def generate_visits(
    *, trial_code: str, count: int, now: datetime, per_participant: int = 0, sites: int = 8
) -> Generated:
    """Create `count` visits of new on-study participants, every window closed before `now`.

    Each participant gets the first `per_participant` visits of the trial's current protocol
    schedule (all of it when 0), the last participant fewer if `count` is not a multiple.
    Participants are spread over `sites` sites (synthetic ones are added with a coordinator and
    an investigator each, so alert e-mails have recipients) and over two years of Day 0.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    trial = Trial.objects.get(code=trial_code)
    version = current_version(trial.pk)
    schedule = definition_of(version).visits
    per = per_participant or len(schedule)
    if not 1 <= per <= len(schedule):
        raise ValueError(f"per_participant must be between 1 and {len(schedule)}")
    schedule = schedule[:per]
    # The latest Day 0 whose last window closes before `now` in any time zone (UTC-12..+14).
    last_close_day = max(spec.day + spec.window_after + 1 for spec in schedule)
    latest_day0 = now.astimezone(UTC).date() - timedelta(days=last_close_day + 2)
    participants = math.ceil(count / per)
    actor = system_actor()
    with transaction.atomic():
        site_rows = _sites(trial, sites, actor=actor)
        if connection.vendor == "postgresql":
            _insert_sql(
                trial=trial,
                version=version,
                site_ids=[site.pk for site in site_rows],
                schedule=schedule,
                count=count,
                participants=participants,
                latest_day0=latest_day0,
                actor=actor,
            )
        else:
            _insert_orm(
                trial=trial,
                version=version,
                sites=site_rows,
                schedule=schedule,
                count=count,
                participants=participants,
                latest_day0=latest_day0,
                actor=actor,
            )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in ("trials_participant", "visits_visit"):
                cursor.execute(f"ANALYZE {table}")
    return Generated(visits=count, participants=participants, sites=len(site_rows), now=now)


def _sites(trial: Trial, wanted: int, *, actor: User) -> list[Site]:
    """The trial's sites, topped up with synthetic ones to `wanted`, each with site staff."""
    rows = list(Site.objects.filter(trial=trial).order_by("pk"))
    for code, city, country, time_zone in SITES:
        if len(rows) >= wanted:
            break
        if any(row.code == code for row in rows):
            continue
        site = Site(
            trial=trial,
            code=code,
            name=f"Synthetic hospital {city}",
            city=city,
            country=country,
            time_zone=time_zone,
        )
        site._history_user = actor  # type: ignore[attr-defined]
        site._change_reason = CHANGE_REASON  # type: ignore[attr-defined]
        site.save()
        rows.append(site)
    rows = rows[: max(wanted, 1)]
    for site in rows:
        for role in (Role.COORDINATOR, Role.INVESTIGATOR):
            username = f"syn-{trial.code}-{site.code}-{role}".lower()
            user, _ = User.objects.get_or_create(
                username=username,
                defaults={"email": f"{username}@example.org", "printed_name": username},
            )
            if not Membership.objects.filter(
                user=user, trial=trial, site=site, role=role, ended_at__isnull=True
            ).exists():
                membership = Membership(user=user, trial=trial, site=site, role=role)
                membership._history_user = actor  # type: ignore[attr-defined]
                membership.save()
    return rows


def _schedule_json(schedule: Any) -> str:
    return json.dumps(
        [
            {
                "idx": index,
                "code": spec.code,
                "name": spec.name,
                "kind": spec.kind,
                "visit_number": spec.order,
                "day": spec.day,
                "wb": spec.window_before,
                "wa": spec.window_after,
                "dosing": spec.dosing,
                "optional": spec.optional,
                "forms": list(spec.forms),
            }
            for index, spec in enumerate(schedule, start=1)
        ]
    )


def _insert_sql(
    *,
    trial: Trial,
    version: ProtocolVersion,
    site_ids: list[int],
    schedule: Any,
    count: int,
    participants: int,
    latest_day0: date,
    actor: User,
) -> None:
    """Set-based inserts on PostgreSQL: participants, their visits, and both histories."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM trials_participant")
        last_id = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM trials_participant WHERE trial_id = %s", [trial.pk])
        offset = cursor.fetchone()[0]
        stage = definition_of(version).stages[0].code if definition_of(version).stages else ""
        cursor.execute(
            """
            INSERT INTO trials_participant (
                trial_id, site_id, protocol_version_id, screening_number, subject_id, sex,
                date_of_birth, status, registered_at, screen_failure_reason,
                eligibility_confirmed_by_id, eligibility_confirmed_at, stage_code,
                randomization_number, randomized_at, cohort_id, day0, ended_at, end_reason,
                unblinded_at)
            SELECT %(trial)s, (%(sites)s::bigint[])[1 + mod(g, %(nsites)s)], %(version)s,
                'SYN' || lpad((%(offset)s + g)::text, 9, '0'),
                'R' || lpad((%(offset)s + g)::text, 9, '0'),
                CASE WHEN mod(g, 2) = 0 THEN 'F' ELSE 'M' END,
                date '1950-01-01' + mod(g * 7919, 18000)::int,
                %(status)s,
                (d.day0 - 35)::timestamp AT TIME ZONE 'UTC' + interval '9 hours',
                '', %(actor)s, (d.day0 - 10)::timestamp AT TIME ZONE 'UTC' + interval '11 hours',
                %(stage)s, lpad((%(offset)s + g)::text, 6, '0'),
                (d.day0 - 7)::timestamp AT TIME ZONE 'UTC' + interval '12 hours',
                NULL, d.day0, NULL, '', NULL
            FROM generate_series(1::bigint, %(n)s) AS g
            CROSS JOIN LATERAL (
                SELECT %(latest)s::date - mod(g * 37, %(spread)s)::int AS day0
            ) AS d
            ORDER BY g
            """,
            {
                "trial": trial.pk,
                "sites": site_ids,
                "nsites": len(site_ids),
                "version": version.pk,
                "offset": offset,
                "status": ParticipantStatus.ON_STUDY,
                "actor": actor.pk,
                "stage": stage,
                "latest": latest_day0,
                "spread": SPREAD_DAYS,
                "n": participants,
            },
        )
        cursor.execute(
            """
            INSERT INTO visits_visit (
                participant_id, protocol_version_id, code, name, kind, visit_number, day,
                target_date, window_opens_at, window_closes_at, overdue_at, flagged_at,
                flag_deferred_until, dosing, optional, forms, parent_id, status, actual_date,
                out_of_window, reason, forms_pending)
            SELECT p.id, p.protocol_version_id, s.code, s.name, s.kind, s.visit_number, s.day,
                p.day0 + s.day,
                (p.day0 + s.day - s.wb)::timestamp AT TIME ZONE t.time_zone,
                (p.day0 + s.day + s.wa + 1)::timestamp AT TIME ZONE t.time_zone,
                (p.day0 + s.day + 1)::timestamp AT TIME ZONE t.time_zone,
                CASE WHEN st.status = 'overdue'
                    THEN (p.day0 + s.day + 1)::timestamp AT TIME ZONE t.time_zone END,
                NULL, s.dosing, s.optional, s.forms, NULL, st.status, NULL, false, '', s.forms
            FROM (
                SELECT id, protocol_version_id, site_id, day0,
                    row_number() OVER (ORDER BY id) AS rank
                FROM trials_participant
                WHERE id > %(last_id)s AND trial_id = %(trial)s
            ) AS p
            JOIN trials_site AS t ON t.id = p.site_id
            CROSS JOIN jsonb_to_recordset(%(schedule)s::jsonb) AS s(
                idx int, code text, name text, kind text, visit_number numeric, day int,
                wb int, wa int, dosing bool, optional bool, forms jsonb)
            CROSS JOIN LATERAL (
                SELECT (%(statuses)s::text[])[1 + mod(p.rank + s.idx, 3)::int] AS status
            ) AS st
            WHERE (p.rank - 1) * %(per)s + s.idx <= %(count)s
            ORDER BY p.id, s.idx
            """,
            {
                "last_id": last_id,
                "trial": trial.pk,
                "schedule": _schedule_json(schedule),
                "statuses": [str(status) for status in STATUSES],
                "per": len(schedule),
                "count": count,
            },
        )
        _copy_history(
            cursor,
            Participant,
            where="id > %(last_id)s AND trial_id = %(trial)s",
            history_date="registered_at",
            params={"last_id": last_id, "trial": trial.pk},
            actor=actor,
        )
        _copy_history(
            cursor,
            Visit,
            where=(
                "participant_id IN (SELECT id FROM trials_participant "
                "WHERE id > %(last_id)s AND trial_id = %(trial)s)"
            ),
            history_date="(target_date - day)::timestamp AT TIME ZONE 'UTC'",
            params={"last_id": last_id, "trial": trial.pk},
            actor=actor,
        )


def _copy_history(
    cursor: Any,
    model: type[Any],
    *,
    where: str,
    history_date: str,
    params: dict[str, Any],
    actor: Any,
) -> None:
    """The creation ("+") history rows of the rows just inserted, as a save would write them."""
    username, full_name = actor_names(actor)
    copy = history_copy_sql(
        model,
        model._meta.db_table,
        {
            "history_date": history_date,
            "history_change_reason": "%(reason)s",
            "history_type": "'+'",
            "history_user_id": "%(actor)s",
            "history_username": "%(username)s",
            "history_user_full_name": "%(full_name)s",
        },
    )
    cursor.execute(
        f"{copy} WHERE {where} ORDER BY id",
        {
            **params,
            "reason": CHANGE_REASON,
            "actor": actor.pk,
            "username": username,
            "full_name": full_name,
        },
    )


def _insert_orm(
    *,
    trial: Trial,
    version: ProtocolVersion,
    sites: list[Site],
    schedule: Any,
    count: int,
    participants: int,
    latest_day0: date,
    actor: User,
    batch: int = 1000,
) -> None:
    """The same rows through the ORM in batches, for databases other than PostgreSQL."""
    offset = Participant.objects.filter(trial=trial).count()
    stages = definition_of(version).stages
    stage = stages[0].code if stages else ""
    remaining = count
    for start in range(1, participants + 1, batch):
        people = []
        for g in range(start, min(start + batch, participants + 1)):
            day0 = latest_day0 - timedelta(days=(g * 37) % SPREAD_DAYS)
            midnight = datetime.combine(day0, time.min, tzinfo=UTC)
            people.append(
                Participant(
                    trial=trial,
                    site=sites[g % len(sites)],
                    protocol_version=version,
                    screening_number=f"SYN{offset + g:09d}",
                    subject_id=f"R{offset + g:09d}",
                    sex="F" if g % 2 == 0 else "M",
                    date_of_birth=date(1950, 1, 1) + timedelta(days=(g * 7919) % 18000),
                    status=ParticipantStatus.ON_STUDY,
                    registered_at=midnight - timedelta(days=35) + timedelta(hours=9),
                    eligibility_confirmed_by=actor,
                    eligibility_confirmed_at=midnight - timedelta(days=10) + timedelta(hours=11),
                    stage_code=stage,
                    randomization_number=f"{offset + g:06d}",
                    randomized_at=midnight - timedelta(days=7) + timedelta(hours=12),
                    day0=day0,
                )
            )
        people = bulk_create_with_history(
            people, Participant, default_user=actor, default_change_reason=CHANGE_REASON
        )
        visits = []
        for rank, person in enumerate(people, start=start):
            assert person.day0 is not None
            for index, spec in enumerate(schedule, start=1):
                if remaining == 0:
                    break
                remaining -= 1
                window = visit_window(
                    day0=person.day0,
                    day=spec.day,
                    window_before=spec.window_before,
                    window_after=spec.window_after,
                    time_zone=person.site.time_zone,
                )
                # The status is the generator's own, whatever the row's initial one would be.
                row = _visit_row(person, spec, window, window.opens_at)
                row.status = STATUSES[(rank + index) % 3]
                if row.status == VisitStatus.OVERDUE:
                    row.flagged_at = window.overdue_at
                visits.append(row)
        bulk_create_with_history(
            visits, Visit, batch_size=batch, default_user=actor, default_change_reason=CHANGE_REASON
        )
