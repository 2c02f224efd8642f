"""Querysets are scoped to the trials and sites of a user's memberships."""

from __future__ import annotations

import pytest

from ecrf.access import Role
from tests.factories import MembershipFactory, SiteFactory, TrialFactory
from trials.access import scope_queryset, user_roles
from trials.models import Site
from trials.services import membership_end, membership_grant


def test_trial_scope_without_site_sees_every_site_of_the_trial(personas) -> None:
    visible = scope_queryset(Site.objects.all(), personas.coordinator_a, site_field=None)
    assert set(visible) == {personas.site_a, personas.site_b}


def test_scope_by_site_relation(personas) -> None:
    from trials.models import Membership

    qs = Membership.objects.all()
    seen_by_b = scope_queryset(qs, personas.coordinator_b)
    assert {m.site_id for m in seen_by_b} == {personas.site_b.pk}
    seen_by_dm = scope_queryset(qs, personas.data_manager)
    assert seen_by_dm.count() == qs.filter(trial=personas.trial).count()


def test_no_membership_sees_nothing(personas) -> None:
    assert scope_queryset(Site.objects.all(), personas.outsider, site_field=None).count() == 0


def test_other_trial_is_invisible(personas) -> None:
    other = TrialFactory(code="OTHER")
    SiteFactory(trial=other, code="Z01")
    visible = scope_queryset(Site.objects.all(), personas.data_manager, site_field=None)
    assert other.pk not in {s.trial_id for s in visible}


def test_roles_filter_limits_memberships_that_count(personas) -> None:
    visible = scope_queryset(
        Site.objects.all(), personas.coordinator_a, site_field=None, roles={Role.MONITOR}
    )
    assert visible.count() == 0


def test_ended_membership_no_longer_counts(personas) -> None:
    membership = personas.coordinator_b.memberships.get()
    membership_end(actor=personas.trial_admin, membership=membership, reason="Left the site")
    assert user_roles(personas.coordinator_b, personas.trial) == set()
    history = membership.history.first()
    assert history.history_user == personas.trial_admin
    assert history.history_change_reason == "Left the site"


def test_only_trial_admin_grants_memberships(personas) -> None:
    from ecrf.errors import PermissionDeniedError

    with pytest.raises(PermissionDeniedError):
        membership_grant(
            actor=personas.investigator_a,
            user=personas.outsider,
            trial=personas.trial,
            role=Role.COORDINATOR,
            site=personas.site_a,
            reason="New nurse",
        )
    granted = membership_grant(
        actor=personas.trial_admin,
        user=personas.outsider,
        trial=personas.trial,
        role=Role.COORDINATOR,
        site=personas.site_a,
        reason="New nurse",
    )
    again = membership_grant(
        actor=personas.trial_admin,
        user=personas.outsider,
        trial=personas.trial,
        role=Role.COORDINATOR,
        site=personas.site_a,
        reason="New nurse",
    )
    assert granted.pk == again.pk
    assert user_roles(personas.outsider, personas.trial, personas.site_a) == {Role.COORDINATOR}
    assert user_roles(personas.outsider, personas.trial, personas.site_b) == set()


def test_trial_admin_of_another_trial_grants_nothing(personas) -> None:
    from ecrf.errors import PermissionDeniedError

    other = TrialFactory(code="OTHER")
    other_admin = MembershipFactory(trial=other, role=Role.TRIAL_ADMIN).user
    with pytest.raises(PermissionDeniedError):
        membership_grant(
            actor=other_admin,
            user=personas.outsider,
            trial=personas.trial,
            role=Role.COORDINATOR,
            site=personas.site_a,
            reason="New nurse",
        )
    assert user_roles(personas.outsider, personas.trial) == set()


def test_site_must_belong_to_the_membership_trial(personas) -> None:
    other_site = SiteFactory(trial=TrialFactory(code="OTHER"), code="Z02")
    with pytest.raises(Exception, match="belongs to another trial"):
        MembershipFactory(trial=personas.trial, site=other_site, role=Role.COORDINATOR)
