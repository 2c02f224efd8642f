"""Every audited write names its actor, and changes after first entry carry a reason."""

from __future__ import annotations

import pytest
from django.db import transaction

from accounts.services import system_actor
from ecrf.access import Role
from ecrf.audit import MissingActorError, audited_save
from ecrf.errors import DomainError
from review.locks import LockedError
from review.models import LockLevel
from review.services import lock_apply
from tests.personas import NOW, load, make_team
from tests.world import register
from trials.models import Membership, Participant, Site


@pytest.mark.django_db(transaction=True)
def test_a_write_without_actor_is_refused_and_nothing_is_written(personas) -> None:
    before = Site.objects.count()
    with pytest.raises(MissingActorError, match="names no actor"), transaction.atomic():
        Site.objects.create(
            trial=personas.trial, code="X01", name="X", country="ES", time_zone="UTC"
        )
    assert Site.objects.count() == before
    assert not Site.history.filter(code="X01").exists()


def test_audited_save_refuses_a_missing_actor(personas) -> None:
    site = Site(trial=personas.trial, code="X02", name="X", country="ES", time_zone="UTC")
    with pytest.raises(MissingActorError):
        audited_save(site, actor=None)
    assert site.pk is None


def test_history_records_actor_and_reason(personas) -> None:
    site = audited_save(
        Site(trial=personas.trial, code="X03", name="Old", country="ES", time_zone="UTC"),
        actor=personas.trial_admin,
    )
    site.name = "New"
    audited_save(site, actor=personas.data_manager, reason="Name corrected per contract")
    records = list(site.history.order_by("history_date"))
    assert [(r.history_type, r.history_user, r.name, r.history_change_reason) for r in records] == [
        ("+", personas.trial_admin, "Old", "Initial entry"),
        ("~", personas.data_manager, "New", "Name corrected per contract"),
    ]
    diff = records[1].diff_against(records[0])
    assert [(c.field, c.old, c.new) for c in diff.changes] == [("name", "Old", "New")]


def test_a_change_after_first_entry_needs_a_reason(personas) -> None:
    site = personas.site_a
    site.name = "Renamed"
    with pytest.raises(DomainError, match="reason for the change is required") as caught:
        audited_save(site, actor=personas.data_manager, reason="  ")
    assert caught.value.fields == {"reason": ["Required."]}
    site.refresh_from_db()
    assert site.name == "Hospital A"


def test_audited_save_runs_model_validation(personas) -> None:
    bad = Site(trial=personas.trial, code="X04", name="X", country="ES", time_zone="Mars/Olympus")
    with pytest.raises(Exception, match="not an IANA time zone"):
        audited_save(bad, actor=personas.trial_admin)
    membership = Membership(user=personas.outsider, trial=personas.trial, role=Role.COORDINATOR)
    with pytest.raises(Exception, match="works at a named site"):
        audited_save(membership, actor=personas.trial_admin)


def test_on_locked_data_a_write_naming_no_actor_is_refused_for_that_first(db) -> None:
    """The actor guard runs before the lock guard that review adds: the missing actor is the
    error reported; with an actor, the lock refuses the write."""
    team = make_team(load("nct03673748.yaml"))
    # Read afresh: the instance the service saved still carries its actor.
    participant = Participant.objects.get(pk=register(team).pk)
    lock_apply(
        actor=system_actor(),
        level=LockLevel.TRIAL,
        trial=team.trial,
        reason="Database lock",
        now=NOW,
    )
    participant.sex = "M"
    with pytest.raises(MissingActorError):
        participant.save()
    with pytest.raises(LockedError):
        audited_save(participant, actor=team.coordinator, reason="Sex corrected")
    participant.refresh_from_db()
    assert participant.sex == "F"
