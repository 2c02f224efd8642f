"""Staff services: who may grant, end and approve roles, invite and remove people, and how."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, transaction

from accounts.models import ApiToken
from accounts.services import system_actor, token_create
from ecrf.access import Role
from ecrf.errors import ConflictError, DomainError, InvalidTransitionError, PermissionDeniedError
from tests.factories import DEFAULT_PASSWORD
from tests.staff_world import StaffWorld, staff_world
from trials.access import user_roles
from trials.models import Membership, RoleGrantRequest, RoleRequestStatus
from trials.services import (
    membership_end,
    membership_grant,
    role_request_approve,
    role_request_reject,
    staff_invite,
    staff_remove,
)

NOW = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


@pytest.fixture
def w(personas) -> StaffWorld:
    return staff_world(personas)


def grant(actor, user, role, site=None, *, w: StaffWorld, reason="Joins the study team"):
    return membership_grant(
        actor=actor, user=user, trial=w.p.trial, role=role, site=site, reason=reason, now=NOW
    )


# Granting ------------------------------------------------------------------------------------


def test_trial_admin_grants_an_ordinary_role_at_once_with_history(w) -> None:
    made = grant(w.p.trial_admin, w.p.outsider, Role.COORDINATOR, w.p.site_a, w=w)
    assert isinstance(made, Membership)
    assert user_roles(w.p.outsider, w.p.trial, w.p.site_a) == {Role.COORDINATOR}
    record = made.history.get()
    assert record.history_user == w.p.trial_admin
    assert record.history_change_reason == "Joins the study team"


def test_a_person_must_give_a_reason(w) -> None:
    with pytest.raises(DomainError, match="reason"):
        grant(w.p.trial_admin, w.p.outsider, Role.COORDINATOR, w.p.site_a, w=w, reason=" ")
    with pytest.raises(DomainError, match="2000 characters"):
        grant(w.p.trial_admin, w.p.outsider, Role.COORDINATOR, w.p.site_a, w=w, reason="x" * 2001)
    assert not Membership.objects.filter(user=w.p.outsider).exists()


def test_a_long_reason_is_kept_whole_in_the_history(w) -> None:
    reason = "Covers for the study coordinator during parental leave. " * 20
    made = grant(w.p.trial_admin, w.p.outsider, Role.COORDINATOR, w.p.site_a, w=w, reason=reason)
    record = made.history.get()
    assert record.history_change_reason == reason.strip()


@pytest.mark.parametrize(
    "who", ["coordinator_a", "monitor_a", "investigator_a", "data_manager", "medical_monitor"]
)
def test_no_other_role_grants(w, who: str) -> None:
    with pytest.raises(PermissionDeniedError):
        grant(getattr(w.p, who), w.p.outsider, Role.COORDINATOR, w.p.site_a, w=w)
    assert not Membership.objects.filter(user=w.p.outsider).exists()


def test_the_admin_of_another_trial_grants_nothing_here(w) -> None:
    # The reproduction: a trial administrator making themselves unblinded statistician of
    # another trial.
    for role in (Role.UNBLINDED_STATISTICIAN, Role.COORDINATOR):
        site = w.p.site_a if role == Role.COORDINATOR else None
        with pytest.raises(PermissionDeniedError):
            grant(w.other_admin, w.other_admin, role, site, w=w)
    assert user_roles(w.other_admin, w.p.trial) == set()
    assert not RoleGrantRequest.objects.exists()


@pytest.mark.parametrize("role", [Role.PHARMACIST, Role.UNBLINDED_STATISTICIAN, Role.TRIAL_ADMIN])
def test_unblinded_and_admin_roles_wait_for_a_second_person(w, role: str) -> None:
    site = w.p.site_a if role == Role.PHARMACIST else None
    made = grant(w.p.trial_admin, w.p.outsider, role, site, w=w)
    assert isinstance(made, RoleGrantRequest)
    assert made.status == RoleRequestStatus.PENDING
    assert made.requested_by == w.p.trial_admin
    assert user_roles(w.p.outsider, w.p.trial) == set()


def test_a_role_for_oneself_waits_for_a_second_person(w) -> None:
    made = grant(w.p.trial_admin, w.p.trial_admin, Role.INVESTIGATOR, w.p.site_a, w=w)
    assert isinstance(made, RoleGrantRequest)
    assert Role.INVESTIGATOR not in user_roles(w.p.trial_admin, w.p.trial, w.p.site_a)
    with pytest.raises(PermissionDeniedError, match="another administrator"):
        role_request_approve(actor=w.p.trial_admin, role_request=made, reason="Me", now=NOW)


def test_the_system_actor_grants_directly(w) -> None:
    made = membership_grant(
        actor=system_actor(), user=w.p.outsider, trial=w.p.trial, role=Role.UNBLINDED_STATISTICIAN
    )
    assert isinstance(made, Membership)
    assert made.history.get().history_change_reason == "Initial entry"


def test_a_role_already_held_is_returned(w) -> None:
    first = grant(w.p.trial_admin, w.p.outsider, Role.COORDINATOR, w.p.site_a, w=w)
    again = grant(w.p.trial_admin, w.p.outsider, Role.COORDINATOR, w.p.site_a, w=w)
    assert first.pk == again.pk


def test_a_second_identical_request_is_a_conflict(w) -> None:
    grant(w.p.trial_admin, w.p.outsider, Role.UNBLINDED_STATISTICIAN, w=w)
    with pytest.raises(ConflictError):
        grant(w.second_admin, w.p.outsider, Role.UNBLINDED_STATISTICIAN, w=w)


def test_job_accounts_and_closed_accounts_get_no_role(w) -> None:
    with pytest.raises(DomainError, match="job account"):
        grant(w.p.trial_admin, system_actor(), Role.DATA_MANAGER, w=w)
    w.p.outsider.is_active = False
    w.p.outsider.save()
    with pytest.raises(DomainError, match="deactivated"):
        grant(w.p.trial_admin, w.p.outsider, Role.DATA_MANAGER, w=w)


def test_the_site_must_fit_the_role_and_the_trial(w) -> None:
    with pytest.raises(DomainError) as refused:
        grant(w.p.trial_admin, w.p.outsider, Role.COORDINATOR, None, w=w)
    assert refused.value.fields["site"] == ["This role works at a named site."]
    with pytest.raises(DomainError) as refused:
        grant(w.p.trial_admin, w.p.outsider, Role.COORDINATOR, w.other_site, w=w)
    assert refused.value.fields["site"] == ["The site belongs to another trial."]
    assert not Membership.objects.filter(user=w.p.outsider).exists()


# Approving and rejecting --------------------------------------------------------------------


def _pending(w, role=Role.UNBLINDED_STATISTICIAN, user=None, by=None) -> RoleGrantRequest:
    made = grant(by or w.p.trial_admin, user or w.p.outsider, role, w=w)
    assert isinstance(made, RoleGrantRequest)
    return made


def test_another_admin_approves_and_the_membership_is_created(w) -> None:
    request = _pending(w)
    decided = role_request_approve(
        actor=w.second_admin, role_request=request, reason="DSMB charter, signed", now=NOW
    )
    assert decided.status == RoleRequestStatus.APPROVED
    assert decided.decided_by == w.second_admin
    assert decided.membership is not None
    assert user_roles(w.p.outsider, w.p.trial) == {Role.UNBLINDED_STATISTICIAN}
    membership_record = decided.membership.history.get()
    assert membership_record.history_user == w.second_admin
    assert membership_record.history_change_reason == "DSMB charter, signed"
    assert decided.history.first().history_change_reason == "DSMB charter, signed"


def test_an_operator_may_be_the_second_person(w) -> None:
    decided = role_request_approve(
        actor=w.operator, role_request=_pending(w), reason="Sponsor approval", now=NOW
    )
    assert decided.status == RoleRequestStatus.APPROVED


@pytest.mark.parametrize("who", ["trial_admin", "coordinator_a", "monitor_a", "data_manager"])
def test_the_requester_and_other_roles_cannot_approve(w, who: str) -> None:
    request = _pending(w)
    with pytest.raises(PermissionDeniedError):
        role_request_approve(actor=getattr(w.p, who), role_request=request, reason="Ok", now=NOW)
    request.refresh_from_db()
    assert request.status == RoleRequestStatus.PENDING
    assert user_roles(w.p.outsider, w.p.trial) == set()


def test_the_admin_of_another_trial_cannot_approve(w) -> None:
    request = _pending(w)
    with pytest.raises(PermissionDeniedError):
        role_request_approve(actor=w.other_admin, role_request=request, reason="Ok", now=NOW)


def test_the_grantee_cannot_approve_a_role_for_themselves(w) -> None:
    request = _pending(w, role=Role.UNBLINDED_STATISTICIAN, user=w.second_admin)
    with pytest.raises(PermissionDeniedError, match="for you"):
        role_request_approve(actor=w.second_admin, role_request=request, reason="Ok", now=NOW)
    assert Role.UNBLINDED_STATISTICIAN not in user_roles(w.second_admin, w.p.trial)


def test_the_system_actor_does_not_approve(w) -> None:
    with pytest.raises(PermissionDeniedError, match="by a person"):
        role_request_approve(actor=system_actor(), role_request=_pending(w), reason="x", now=NOW)


def test_a_decided_request_is_decided_once(w) -> None:
    request = _pending(w)
    role_request_reject(actor=w.second_admin, role_request=request, reason="Not yet", now=NOW)
    with pytest.raises(InvalidTransitionError, match="already rejected"):
        role_request_approve(actor=w.second_admin, role_request=request, reason="Ok", now=NOW)
    assert user_roles(w.p.outsider, w.p.trial) == set()


def test_the_requester_may_withdraw_by_rejecting(w) -> None:
    request = _pending(w)
    decided = role_request_reject(
        actor=w.p.trial_admin, role_request=request, reason="Wrong person", now=NOW
    )
    assert decided.status == RoleRequestStatus.REJECTED
    assert decided.membership is None


def test_a_coordinator_cannot_reject(w) -> None:
    with pytest.raises(PermissionDeniedError):
        role_request_reject(actor=w.p.coordinator_a, role_request=_pending(w), reason="No", now=NOW)


def test_the_database_refuses_an_approval_by_the_requester(w) -> None:
    request = _pending(w)
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleGrantRequest.objects.filter(pk=request.pk).update(
            status=RoleRequestStatus.APPROVED,
            decided_by=w.p.trial_admin,
            decided_at=NOW,
            membership=w.p.trial_admin.memberships.get(),
        )


def test_an_account_closed_meanwhile_is_not_approved(w) -> None:
    request = _pending(w)
    type(w.p.outsider).objects.filter(pk=w.p.outsider.pk).update(is_active=False)
    with pytest.raises(DomainError, match="deactivated"):
        role_request_approve(actor=w.second_admin, role_request=request, reason="Ok", now=NOW)


# Ending --------------------------------------------------------------------------------------


def test_ending_a_role_keeps_the_row_and_the_reason(w) -> None:
    membership = w.p.coordinator_b.memberships.get()
    ended = membership_end(
        actor=w.p.trial_admin, membership=membership, reason="Left the hospital", now=NOW
    )
    assert ended.ended_at == NOW
    assert user_roles(w.p.coordinator_b, w.p.trial) == set()
    assert ended.history.first().history_change_reason == "Left the hospital"


@pytest.mark.parametrize("who", ["coordinator_a", "monitor_a", "data_manager"])
def test_other_roles_cannot_end_a_role(w, who: str) -> None:
    with pytest.raises(PermissionDeniedError):
        membership_end(
            actor=getattr(w.p, who),
            membership=w.p.coordinator_b.memberships.get(),
            reason="x",
            now=NOW,
        )


def test_the_admin_of_another_trial_cannot_end_a_role_here(w) -> None:
    with pytest.raises(PermissionDeniedError):
        membership_end(
            actor=w.other_admin,
            membership=w.p.coordinator_b.memberships.get(),
            reason="x",
            now=NOW,
        )
    assert user_roles(w.p.coordinator_b, w.p.trial) == {Role.COORDINATOR}


def test_nobody_ends_their_own_admin_role(w) -> None:
    own = w.p.trial_admin.memberships.get()
    with pytest.raises(PermissionDeniedError, match="your own"):
        membership_end(actor=w.p.trial_admin, membership=own, reason="Leaving", now=NOW)
    # Another administrator may.
    membership_end(actor=w.second_admin, membership=own, reason="Left the sponsor", now=NOW)
    assert user_roles(w.p.trial_admin, w.p.trial) == set()


# Removing a person --------------------------------------------------------------------------


def test_removal_ends_every_role_and_closes_an_account_left_with_none(w) -> None:
    victim = w.p.pharmacist_a
    membership_grant(
        actor=system_actor(), user=victim, trial=w.p.trial, role=Role.COORDINATOR, site=w.p.site_a
    )
    pending = _pending(w, role=Role.UNBLINDED_STATISTICIAN, user=victim)
    token, _ = token_create(user=victim, name="script", password=DEFAULT_PASSWORD, now=NOW)
    removal = staff_remove(
        actor=w.p.trial_admin, user=victim, trial=w.p.trial, reason="Left", now=NOW
    )
    assert len(removal.ended) == 2
    assert removal.deactivated
    victim.refresh_from_db()
    assert not victim.is_active
    assert ApiToken.objects.get(pk=token.pk).revoked_at == NOW
    pending.refresh_from_db()
    assert pending.status == RoleRequestStatus.REJECTED
    assert not Membership.objects.filter(user=victim, ended_at__isnull=True).exists()


def test_removal_keeps_an_account_with_a_role_elsewhere(w) -> None:
    membership_grant(
        actor=system_actor(), user=w.p.statistician, trial=w.other_trial, role=Role.STATISTICIAN
    )
    removal = staff_remove(
        actor=w.p.trial_admin, user=w.p.statistician, trial=w.p.trial, reason="Moved", now=NOW
    )
    assert not removal.deactivated
    w.p.statistician.refresh_from_db()
    assert w.p.statistician.is_active
    assert user_roles(w.p.statistician, w.other_trial) == {Role.STATISTICIAN}


def test_removal_never_closes_an_operator_account(w) -> None:
    membership_grant(
        actor=system_actor(), user=w.operator, trial=w.p.trial, role=Role.MONITOR, site=w.p.site_a
    )
    removal = staff_remove(
        actor=w.p.trial_admin, user=w.operator, trial=w.p.trial, reason="x", now=NOW
    )
    assert not removal.deactivated
    w.operator.refresh_from_db()
    assert w.operator.is_active and w.operator.is_superuser


def test_removal_is_refused_to_others_and_for_oneself(w) -> None:
    for actor in (w.p.coordinator_a, w.other_admin):
        with pytest.raises(PermissionDeniedError):
            staff_remove(actor=actor, user=w.p.coordinator_b, trial=w.p.trial, reason="x", now=NOW)
    with pytest.raises(PermissionDeniedError, match="yourself"):
        staff_remove(
            actor=w.p.trial_admin, user=w.p.trial_admin, trial=w.p.trial, reason="x", now=NOW
        )
    w.p.coordinator_b.refresh_from_db()
    assert w.p.coordinator_b.is_active
    assert user_roles(w.p.coordinator_b, w.p.trial) == {Role.COORDINATOR}


def test_removing_somebody_with_no_role_here_is_refused(w) -> None:
    with pytest.raises(InvalidTransitionError):
        staff_remove(
            actor=w.p.trial_admin, user=w.other_admin, trial=w.p.trial, reason="x", now=NOW
        )
    w.other_admin.refresh_from_db()
    assert w.other_admin.is_active


# Inviting ------------------------------------------------------------------------------------


def invite(w, actor=None, **overrides):
    data = {
        "username": "new.nurse",
        "email": "new.nurse@example.org",
        "first_name": "Nadia",
        "last_name": "Nurse",
        "role": Role.COORDINATOR,
        "site": w.p.site_a,
        "reason": "New study nurse",
    } | overrides
    return staff_invite(
        actor=actor or w.p.trial_admin,
        trial=w.p.trial,
        site_url="https://ecrf.example.org/",
        now=NOW,
        **data,
    )


def test_an_invitation_creates_an_account_without_password_and_its_role(
    w, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invite(w)
    user = invitation.user
    assert not user.has_usable_password()
    assert not user.is_superuser and not user.is_staff
    assert user_roles(user, w.p.trial, w.p.site_a) == {Role.COORDINATOR}
    assert [m.to for m in mailoutbox] == [["new.nurse@example.org"]]
    assert "https://ecrf.example.org/accounts/set-password/" in mailoutbox[0].body
    assert "new.nurse" in mailoutbox[0].body


def test_an_invitation_to_an_unblinded_role_files_a_request(w) -> None:
    invitation = invite(w, role=Role.PHARMACIST)
    assert isinstance(invitation.grant, RoleGrantRequest)
    assert user_roles(invitation.user, w.p.trial) == set()


@pytest.mark.parametrize(
    "overrides",
    [
        {"username": "COORDINATOR_A"},
        {"email": "Coordinator_A@example.org"},
    ],
)
def test_an_existing_account_is_not_invited_again(
    w, overrides, django_capture_on_commit_callbacks
) -> None:
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(DomainError, match="give them a role instead"),
    ):
        invite(w, **overrides)
    assert callbacks == []


def test_a_refused_invitation_leaves_no_account_and_sends_nothing(
    w, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(DomainError) as refused:
        invite(w, site=w.other_site)
    assert refused.value.fields["site"] == ["The site belongs to another trial."]
    assert callbacks == []
    assert not type(w.p.outsider).objects.filter(username="new.nurse").exists()


@pytest.mark.parametrize("who", ["coordinator_a", "data_manager"])
def test_only_the_trial_admin_invites(w, who) -> None:
    with pytest.raises(PermissionDeniedError):
        invite(w, actor=getattr(w.p, who))
    with pytest.raises(PermissionDeniedError):
        invite(w, actor=w.other_admin)
    assert not type(w.p.outsider).objects.filter(username="new.nurse").exists()


def test_an_invitation_needs_a_name_and_a_valid_username(w) -> None:
    with pytest.raises(DomainError, match="name"):
        invite(w, first_name="", last_name="")
    with pytest.raises(DomainError, match="username"):
        invite(w, username="has spaces")
    with pytest.raises(DomainError, match="e-mail"):
        invite(w, email="not-an-address")
