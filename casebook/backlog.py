"""The review queue's counts kept per participant (casebook.models.ReviewBacklog): counted
afresh for a set of participants, and the job step that stores them for the stale ones."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q

from casebook.models import ReviewBacklog
from casebook.review_selectors.queue import (
    VISIT_COUNTS,
    sdv_plans,
    unverified_by_type,
    visits_to_review,
)
from trials.models import Participant, Trial

COUNTED = ("to_verify", "unsigned_visits", "overdue_visits", "missed_visits")
BATCH = 500


def backlog_counts(trial: Trial, participant_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """What each of these participants of `trial` leaves to review, counted as the queue counts
    it: one statement per form type the SDV plans verify, one for the visits."""
    ids = list(participant_ids)
    counts: dict[int, dict[str, int]] = {pk: dict.fromkeys(COUNTED, 0) for pk in ids}
    if not ids:
        return counts
    where = Q(participant_id__in=ids)
    for _, records in unverified_by_type(where, sdv_plans(trial)):
        for row in records.values("participant_id").annotate(n=Count("pk")):
            counts[row["participant_id"]]["to_verify"] += row["n"]
    visits = (
        visits_to_review(where)
        .order_by()
        .values("participant_id")
        .annotate(**{name: Count("pk", filter=Q(status=s)) for name, s in VISIT_COUNTS.items()})
    )
    for row in visits:
        found: dict[str, Any] = dict(row)
        counts[found["participant_id"]].update({name: found[name] for name in VISIT_COUNTS})
    return counts


def backlog_refresh(participant_ids: Iterable[int], *, now: datetime) -> int:
    """Count these participants' backlog afresh and store it, no longer stale; the number
    stored. Their rows are locked first, so that a write committed meanwhile is counted or
    marks the row stale again after this (the triggers wait for the lock)."""
    ids = sorted(set(participant_ids))
    with transaction.atomic():
        ReviewBacklog.objects.bulk_create(
            [ReviewBacklog(participant_id=pk) for pk in ids], ignore_conflicts=True
        )
        rows = list(
            ReviewBacklog.objects.select_for_update().filter(participant_id__in=ids).order_by("pk")
        )
        by_trial: dict[int, list[int]] = defaultdict(list)
        for pk, trial_id in Participant.objects.filter(pk__in=ids).values_list("pk", "trial_id"):
            by_trial[trial_id].append(pk)
        counts: dict[int, dict[str, int]] = {}
        for trial in Trial.objects.filter(pk__in=by_trial):
            counts |= backlog_counts(trial, by_trial[trial.pk])
        for row in rows:
            for name, value in counts[row.participant_id].items():
                setattr(row, name, value)
            row.stale = False
            row.counted_at = now
        ReviewBacklog.objects.bulk_update(rows, [*COUNTED, "stale", "counted_at"], batch_size=BATCH)
    return len(rows)


def backlog_refresh_next(*, now: datetime, limit: int = BATCH) -> int:
    """One step of the refresh job: up to `limit` stale participants (and any without a row)
    counted and stored; 0 when none is left. Rows another step holds are skipped."""
    with transaction.atomic():
        missing = list(
            Participant.objects.filter(
                ~Exists(ReviewBacklog.objects.filter(participant_id=OuterRef("pk")))
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        stale = list(
            ReviewBacklog.objects.select_for_update(skip_locked=True)
            .filter(stale=True)
            .order_by("pk")
            .values_list("pk", flat=True)[: limit - len(missing)]
        )
        if not missing and not stale:
            return 0
        return backlog_refresh([*missing, *stale], now=now)


def backlog_refresh_all(*, now: datetime, budget_seconds: float = 0) -> int:
    """Steps until no participant is stale, or until `budget_seconds` (0: no limit) is spent;
    the number of participants counted."""
    started = time.monotonic()
    done = 0
    while step := backlog_refresh_next(now=now):
        done += step
        if budget_seconds and time.monotonic() - started > budget_seconds:
            break
    return done
