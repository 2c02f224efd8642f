"""The review queue's stored counts (casebook.models.ReviewBacklog): every kind of write marks
the participant stale, the queue then counts that participant afresh, and the refresh job
stores counts equal to a fresh count."""

from __future__ import annotations

import importlib
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection

from assessments.services import form_not_done
from assessments.services.visits import visit_record
from casebook.backlog import backlog_counts, backlog_refresh_all, backlog_refresh_next
from casebook.catalogue import form_type, form_types
from casebook.models import ReviewBacklog
from casebook.review_selectors import review_queue
from flagging.visits import visits_flag_all
from review.services.sdv import sdv_verify
from review.services.signatures import signature_sign
from tests.assessments.test_renal_form import renal
from tests.world import ENTERED, enter_sledai, register
from trials.models import Participant
from visits.models import Visit

TRIGGERS = importlib.import_module("casebook.migrations.0002_review_backlog_triggers")
COUNTED = ("to_verify", "unsigned_visits", "overdue_visits", "missed_visits")


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(ENTERED, tick=False)
    return time_machine


def stored(participant: Participant) -> dict[str, int] | None:
    """The participant's stored counts; None while they are stale."""
    row = ReviewBacklog.objects.get(participant=participant)
    return None if row.stale else {name: getattr(row, name) for name in COUNTED}


def fresh(participant: Participant) -> dict[str, int]:
    return backlog_counts(participant.trial, [participant.pk])[participant.pk]


def shown(team: Any, participant: Participant) -> dict[str, int]:
    counts = review_queue(team.monitor, trial=team.trial, participant=participant.pk).counts
    return {name: counts[name] for name in COUNTED}


def changed(team: Any, participant: Participant) -> dict[str, int]:
    """After a change: the participant is stale and the queue counts it afresh; the job then
    stores a fresh count, which the queue shows unchanged, and a second run does nothing."""
    expected = fresh(participant)
    assert stored(participant) is None
    assert shown(team, participant) == expected
    assert backlog_refresh_next(now=ENTERED) == 1
    assert stored(participant) == expected
    assert shown(team, participant) == expected
    assert backlog_refresh_next(now=ENTERED) == 0
    return expected


def test_every_form_table_is_watched_by_a_trigger(msvle) -> None:
    watched = {table for table, _ in TRIGGERS.WATCHED}
    tables = {ftype.model._meta.db_table for ftype in form_types().values()}
    assert tables <= watched
    if connection.vendor == "postgresql":
        sql = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    with connection.cursor() as cursor:
        cursor.execute(sql)
        names = {row[0] for row in cursor.fetchall()}
    for table in [*watched, "trials_participant"]:
        assert {f"{table}_backlog_ins", f"{table}_backlog_upd"} <= names


def test_stored_counts_equal_a_fresh_count_after_each_kind_of_change(msvle, participant) -> None:
    backlog_refresh_all(now=ENTERED)
    before = stored(participant)
    assert before == fresh(participant) == shown(msvle, participant)

    # A form entered.
    form = enter_sledai(msvle, participant, "W4")
    assert changed(msvle, participant)["to_verify"] == before["to_verify"] + 1
    # Verified by the monitor.
    sdv_verify(actor=msvle.monitor, form_code="sledai2k", record=form, now=ENTERED)
    assert changed(msvle, participant)["to_verify"] == before["to_verify"]
    # Changed after its verification, which voids it.
    form = enter_sledai(
        msvle,
        participant,
        "W4",
        data={"assessment_date": date(2026, 4, 2)},
        record_id=form.pk,
        expected_version=form.row_version,
        reason="Date corrected",
    )
    assert changed(msvle, participant)["to_verify"] == before["to_verify"] + 1
    # Another form type, then a form recorded as not done.
    w8 = participant.visits.get(code="W8")
    form_save_renal(msvle, participant, w8)
    assert changed(msvle, participant)["to_verify"] == before["to_verify"] + 2
    form_not_done(
        actor=msvle.coordinator,
        ftype=form_type("sledai2k"),
        participant=participant,
        visit=w8,
        reason="Not assessed",
        now=ENTERED,
    )
    assert changed(msvle, participant)["to_verify"] == before["to_verify"] + 2

    # A visit completed, then signed.
    w4 = participant.visits.get(code="W4")
    visit_record(actor=msvle.coordinator, visit=w4, actual_date=date(2026, 4, 1), now=ENTERED)
    unsigned = changed(msvle, participant)["unsigned_visits"]
    assert unsigned == before["unsigned_visits"] + 1
    signature_sign(
        actor=msvle.investigator,
        request=None,
        password=msvle.password,
        participant=participant,
        scope="visit",
        visit=Visit.objects.get(pk=w4.pk),
        acknowledged=True,
        now=ENTERED,
    )
    assert changed(msvle, participant)["unsigned_visits"] == unsigned - 1

    # The visit job's set-based updates: visits gone overdue, then missed.
    visits_flag_all(now=ENTERED + timedelta(days=400))
    after_job = changed(msvle, participant)
    assert after_job["missed_visits"] + after_job["overdue_visits"] > 0

    # The SDV plan: the participant's subject number (the sample) and the protocol's plan.
    Participant.objects.filter(pk=participant.pk).update(subject_id="VA01-999")
    changed(msvle, participant)
    version = participant.protocol_version
    version.definition["sdv_plan"]["sledai2k"] = {"level": "none"}
    version.save(update_fields=["definition"])
    assert changed(msvle, participant)["to_verify"] == before["to_verify"] + 1  # renal only


def form_save_renal(team: Any, participant: Participant, visit: Visit) -> Any:
    from assessments.services import form_save

    return form_save(
        actor=team.investigator,
        ftype=form_type("renal"),
        participant=participant,
        visit=visit,
        data=renal(visit.target_date, "0.4", "g/g", "0.9"),
        now=ENTERED,
    )


def test_a_new_participant_is_counted_afresh_until_the_job_stores_it(
    msvle, participant, data_manager
) -> None:
    backlog_refresh_all(now=ENTERED)
    newcomer = register(msvle)
    assert stored(newcomer) is None
    everyone = review_queue(data_manager, trial=msvle.trial).counts
    assert backlog_refresh_all(now=ENTERED) == 1
    assert stored(newcomer) == fresh(newcomer)
    assert review_queue(data_manager, trial=msvle.trial).counts == everyone


def test_the_refresh_job_is_scheduled(msvle, participant) -> None:
    from casebook.tasks import refresh_review_backlog
    from ecrf.celery import app

    schedule = app.conf.beat_schedule["refresh-review-backlog"]
    assert schedule["task"] == refresh_review_backlog.name
    assert refresh_review_backlog() >= 1
    assert stored(participant) == fresh(participant)
    assert refresh_review_backlog() == 0


def test_the_command_stores_every_stale_participant(msvle, participant) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("review_backlog_refresh", stdout=out)
    assert stored(participant) == fresh(participant)
    assert "participants counted" in out.getvalue()
