"""History records keep who made each change by username and full name as they were then."""

from __future__ import annotations

from datetime import UTC, datetime

from django.apps import apps
from django.contrib.auth import authenticate, login
from django.test import RequestFactory
from simple_history.utils import bulk_create_with_history

from ecrf.audit import audited_save
from ecrf.bulk import HISTORY_FIELDS, Stamp, history_columns, insert_from, update_from
from ecrf.history import backfill_actor_names
from tests.factories import DEFAULT_PASSWORD
from trials.models import Membership, Site

NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


def test_a_saved_change_keeps_the_actor_names_of_that_moment(personas) -> None:
    site = audited_save(
        Site(trial=personas.trial, code="X10", name="New site", country="ES", time_zone="UTC"),
        actor=personas.trial_admin,
    )
    admin = personas.trial_admin
    admin.username, admin.printed_name = "someone_else", "Another Person"
    admin.save()

    record = site.history.get()
    assert (record.history_username, record.history_user_full_name) == (
        "trial_admin",
        "Trial Admin",
    )
    assert record.history_actor() == "Trial Admin (trial_admin)"
    assert record.history_user == admin  # the link still says which account it was


def test_without_a_printed_name_the_full_name_is_kept(personas) -> None:
    personas.outsider.first_name, personas.outsider.last_name = "Olga", "Ruiz"
    personas.outsider.save()
    site = audited_save(
        Site(trial=personas.trial, code="X11", name="S", country="ES", time_zone="UTC"),
        actor=personas.outsider,
    )
    assert site.history.get().history_actor() == "Olga Ruiz (outsider)"


def test_set_based_writes_keep_the_actor_names(personas) -> None:
    stamp = Stamp(actor=personas.data_manager, reason="Renamed in bulk", now=NOW)
    update_from(Site.objects.filter(pk=personas.site_a.pk), {"name": "Renamed"}, stamp=stamp)
    changed = personas.site_a.history.filter(history_type="~").get()
    assert (changed.name, changed.history_username, changed.history_user_full_name) == (
        "Renamed",
        "data_manager",
        "Data Manager",
    )
    assert changed.history_change_reason == "Renamed in bulk"

    source = Site.objects.filter(pk=personas.site_b.pk)
    [(membership_id,)] = insert_from(
        Membership,
        source,
        {
            "trial_id": personas.trial.pk,
            "site_id": personas.site_b.pk,
            "role": "monitor",
            "user_id": personas.outsider.pk,
            "created_at": NOW,
        },
        stamp=stamp,
    )
    created = Membership.history.get(id=membership_id)
    assert (created.history_type, created.history_username, created.history_actor()) == (
        "+",
        "data_manager",
        "Data Manager (data_manager)",
    )


def test_a_history_field_the_set_based_copy_does_not_know_is_refused() -> None:
    # Every field of a history table is either copied from the row or one of the stamp's.
    history = Site.history.model
    own = {field.column for field in Site._meta.concrete_fields}
    extra = {field.column for field in history._meta.concrete_fields} - own - {"history_id"}
    assert extra == set(HISTORY_FIELDS)
    assert set(history_columns(Site)) == own


def test_changes_to_an_account_are_versioned_without_the_password(personas) -> None:
    user = personas.coordinator_a
    user.email = "new@example.org"
    user._change_reason = "E-mail address changed at the person's request"
    user._history_user = personas.trial_admin
    user.save()
    record = user.history.latest("history_date")
    assert (record.email, record.history_change_reason, record.history_username) == (
        "new@example.org",
        "E-mail address changed at the person's request",
        "trial_admin",
    )
    assert not hasattr(record, "password")


def test_signing_in_is_not_a_version_of_the_account(personas) -> None:
    user = personas.coordinator_a
    versions = user.history.count()
    request = RequestFactory().post("/accounts/login/")
    request.session = __import__(
        "django.contrib.sessions.backends.db", fromlist=["x"]
    ).SessionStore()
    signed_in = authenticate(request, username=user.username, password=DEFAULT_PASSWORD)
    assert signed_in is not None
    login(request, signed_in)
    user.refresh_from_db()
    assert user.last_login is not None
    assert user.history.count() == versions


def test_the_migration_names_the_actors_of_earlier_records(personas) -> None:
    site = audited_save(
        Site(trial=personas.trial, code="X12", name="S", country="ES", time_zone="UTC"),
        actor=personas.monitor_a,
    )
    Site.history.filter(id=site.pk).update(history_username="", history_user_full_name="")
    backfill_actor_names("trials")(apps, None)
    record = site.history.get()
    assert record.history_actor() == "Monitor A (monitor_a)"
    # Records of no one (a command-line change) stay unnamed.
    assert not Site.history.filter(history_user__isnull=True).exclude(history_username="")


def test_history_written_by_the_bulk_helpers_names_the_actor(personas) -> None:
    sites = [
        Site(trial=personas.trial, code=f"Y{n}", name="S", country="ES", time_zone="UTC")
        for n in range(3)
    ]
    bulk_create_with_history(sites, Site, default_user=personas.medical_monitor)
    records = Site.history.filter(code__startswith="Y")
    assert records.count() == 3
    assert {r.history_actor() for r in records} == {"Medical Monitor (medical_monitor)"}
