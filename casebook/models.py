"""The review queue's counts kept per participant (a bookkeeping table, not data: no history)."""

from __future__ import annotations

from django.db import models

from trials.models import Participant


class ReviewBacklog(models.Model):
    """What a participant leaves to review, counted when `stale` was last cleared: the review
    queue adds these up instead of counting every form and visit of the trial on each request.

    Database triggers (migration 0001) set `stale` whenever a row that changes these counts is
    written, by whatever path: a form record entered or set not done, a source verification or a
    signature given or voided, a visit's status, the participant's protocol version or subject
    number (the SDV sample). A stale row is not read; the queue counts that participant afresh,
    and the refresh job (`casebook.backlog.backlog_refresh_next`) stores the new counts."""

    participant = models.OneToOneField(
        Participant, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    stale = models.BooleanField(default=True)
    to_verify = models.PositiveIntegerField(default=0)
    unsigned_visits = models.PositiveIntegerField(default=0)
    overdue_visits = models.PositiveIntegerField(default=0)
    missed_visits = models.PositiveIntegerField(default=0)
    counted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["participant"], name="review_backlog_stale", condition=models.Q(stale=True)
            )
        ]

    def __str__(self) -> str:
        return f"Review backlog of participant {self.participant_id}"
